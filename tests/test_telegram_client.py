"""The Bot API client (bot/telegram_client.py) over HTTP against the stand-in Bot API server:
parameters arrive whole as JSON, files still go as multipart, network failures are aiogram's."""

import asyncio
import gc
import json
import re
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.app import create_bot
from bot.config import Settings
from bot.standin.server import LocalBotApiServer
from bot.telegram_client import JsonAiohttpSession

CHAT_ID = 777002
TEXT = "<b>Ein Tag</b> im Studio 🎧 — 10:00 Mixing, «Feedback» & Café ☕"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, bot_token="123:TEST", telegram_api_url=url)


async def test_a_message_with_a_keyboard_arrives_whole(bot_api: LocalBotApiServer) -> None:
    bot = create_bot(settings_for(bot_api.url))
    assert isinstance(bot.session, JsonAiohttpSession)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="🕘 Ein Tag", callback_data="n:day")]]
    )
    try:
        sent = await bot.send_message(CHAT_ID, TEXT, reply_markup=keyboard)
        [call] = [c for c in bot_api.telegram.calls if c.method == "sendMessage"]
        assert call.params["text"] == TEXT
        assert call.params["parse_mode"] == "HTML"
        assert call.params["reply_markup"] == {
            "inline_keyboard": [[{"text": "🕘 Ein Tag", "callback_data": "n:day"}]]
        }
        assert sent.chat.id == CHAT_ID
        with pytest.raises(TelegramBadRequest, match="not modified"):
            await bot.edit_message_text(
                TEXT, chat_id=CHAT_ID, message_id=sent.message_id, reply_markup=keyboard
            )
    finally:
        await bot.session.close()


async def test_a_photo_still_goes_as_a_file(bot_api: LocalBotApiServer) -> None:
    bot = create_bot(settings_for(bot_api.url))
    try:
        await bot.send_photo(CHAT_ID, BufferedInputFile(PNG, "chart.png"), caption="Stats 📊")
        [call] = [c for c in bot_api.telegram.calls if c.method == "sendPhoto"]
        assert call.params["caption"] == "Stats 📊"
        reference = call.params["photo"]
        assert reference.startswith("attach://")
        assert call.files[reference.removeprefix("attach://")] == PNG
    finally:
        await bot.session.close()


async def test_an_unreachable_server_is_a_network_error(bot_api: LocalBotApiServer) -> None:
    url = bot_api.url
    await bot_api.stop()
    bot = create_bot(settings_for(url))
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(CHAT_ID, TEXT)
    finally:
        await bot.session.close()


async def test_response_models_outlive_garbage_collection(bot_api: LocalBotApiServer) -> None:
    """pydantic keeps `Response[...]` models only weakly; rebuilt after every collection, they
    cost milliseconds per Bot API call under load."""
    bot = create_bot(settings_for(bot_api.url))
    try:
        await bot.send_message(CHAT_ID, TEXT)
    finally:
        await bot.session.close()
    model = weakref.ref(Response[Message])
    gc.collect()
    assert model() is not None


class DroppingServer:
    """A Bot API that hangs up on the first `drops` requests without an answer, as a server
    does to a kept-alive connection it has just closed, and answers the rest."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: (\d+)", head)[1])  # type: ignore[index]
        await reader.readexactly(length)
        self.requests += 1
        if self.requests <= self.drops:
            writer.close()
            return
        body = json.dumps(
            {
                "ok": True,
                "result": {"message_id": 1, "date": 0, "chat": {"id": CHAT_ID, "type": "private"}},
            }
        ).encode()
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


@asynccontextmanager
async def bot_against(dropping: DroppingServer) -> AsyncIterator[Bot]:
    server = await asyncio.start_server(dropping.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bot = create_bot(settings_for(f"http://127.0.0.1:{port}"))
    try:
        yield bot
    finally:
        await bot.session.close()
        server.close()


async def test_a_server_hanging_up_once_is_tried_once_more() -> None:
    dropping = DroppingServer(drops=1)
    async with bot_against(dropping) as bot:
        sent = await bot.send_message(CHAT_ID, TEXT)
    assert sent.message_id == 1 and dropping.requests == 2


async def test_a_server_that_keeps_hanging_up_is_a_network_error() -> None:
    dropping = DroppingServer(drops=10)
    async with bot_against(dropping) as bot:
        with pytest.raises(TelegramNetworkError, match="ServerDisconnected"):
            await bot.send_message(CHAT_ID, TEXT)
    assert dropping.requests == 2, "one more try, not a loop"
