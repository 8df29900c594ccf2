"""An aiogram session that talks to the in-memory FakeTelegram instead of the network."""

from collections.abc import AsyncGenerator
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile

from bot.standin.telegram import NO_ANSWER, FakeTelegram
from bot.telegram_client import json_params


class StandInSession(BaseSession):
    def __init__(self, telegram: FakeTelegram | None = None) -> None:
        super().__init__()
        self.telegram = telegram or FakeTelegram()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        params, files = json_params(self, bot, method)
        file_bytes = {name: await _read(file, bot) for name, file in files.items()}
        names = {name: file.filename for name, file in files.items() if file.filename}
        body = self.telegram.handle(method.__api_method__, params, file_bytes, names)
        status = body.pop("status")
        if status == NO_ANSWER:
            raise TelegramNetworkError(method=method, message="Request timeout error")
        response = self.check_response(bot, method, status, self.json_dumps(body))
        return response.result  # type: ignore[return-value]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def close(self) -> None:
        return None


async def _read(file: InputFile, bot: Bot) -> bytes:
    chunks = [chunk async for chunk in file.read(bot)]
    return b"".join(chunks)
