"""The Bot API client session: aiogram's aiohttp session, sending requests as JSON."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import ClientError, ClientTimeout, ServerDisconnectedError

from bot.config import Settings
from bot.failures import Backoff, Failure

logger = logging.getLogger(__name__)
T = TypeVar("T")

JSON_HEADERS = {"Content-Type": "application/json"}


def json_params(
    session: BaseSession, bot: Bot, method: TelegramMethod[Any]
) -> tuple[dict[str, Any], dict[str, InputFile]]:
    """A method's parameters as JSON values, and the files it uploads (named in the parameters
    as `attach://<name>`)."""
    files: dict[str, InputFile] = {}
    params: dict[str, Any] = {}
    for key, value in method.model_dump(warnings=False).items():
        prepared = session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
        if prepared is not None:
            params[key] = prepared
    return params, files


class JsonAiohttpSession(AiohttpSession):
    """Sends requests without files as a JSON body; those with files as aiogram does.

    aiogram sends every request as a form, which aiohttp URL-encodes byte by byte in Python:
    about half a millisecond for a screen of text with emoji and its keyboard (seen in the
    throughput benchmark's profile). The Bot API takes the same parameters as JSON.
    """

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
    ) -> TelegramType:
        params, files = json_params(self, bot, method)
        if files:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        body = self.json_dumps(params)
        total = ClientTimeout(total=self.timeout if timeout is None else timeout)
        try:
            try:
                async with session.post(url, data=body, headers=JSON_HEADERS, timeout=total) as r:
                    response, raw_result = r, await r.text()
            except ServerDisconnectedError:
                # Nearly always a kept-alive connection the server had just closed, so the
                # request never reached it: sent once more, on a fresh connection (aiohttp
                # does so itself only for idempotent methods, and Bot API calls are POSTs).
                async with session.post(url, data=body, headers=JSON_HEADERS, timeout=total) as r:
                    response, raw_result = r, await r.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise TelegramNetworkError(method=method, message=message) from exc
        checked = self.check_response(
            bot=bot, method=method, status_code=response.status, content=raw_result
        )
        return cast(TelegramType, checked.result)


async def call_at_start(what: str, call: Callable[[], Awaitable[T]], settings: Settings) -> T:
    """A Bot API call that start-up needs (getMe, setWebhook, setMyCommands).

    Telegram out of reach (no network, a timeout, a 5xx, a 429) is waited out: tried again
    after 1 s, 2 s, 4 s … 30 s, one log line per failed try, for STARTUP_RETRY_SECONDS; then
    the command fails with one line (and a service manager restarts it). A refusal (a bad
    token, a bad webhook URL) fails at once: trying again would not change the answer.
    """
    token = settings.bot_token.get_secret_value() if settings.bot_token else None
    backoff = Backoff()
    deadline = time.monotonic() + settings.startup_retry_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return await call()
        except TelegramUnauthorizedError as exc:
            raise Failure(
                f"telegram: {what}: the Bot API refused the token ({exc.message}): check BOT_TOKEN"
            ) from None
        except TelegramRetryAfter as exc:
            reason, delay = "too many requests", float(exc.retry_after)
        except (TelegramNetworkError, TelegramServerError) as exc:
            reason, delay = exc.message, backoff.next()
        except TelegramAPIError as exc:
            raise Failure(f"telegram: {what} was refused: {exc.message}") from None
        if token:
            reason = reason.replace(token, "…")
        if time.monotonic() + delay > deadline:
            raise Failure(
                f"telegram: {what} failed ({reason}) for {settings.startup_retry_seconds} s: "
                f"is {settings.telegram_api_url} reachable? check the network and "
                "TELEGRAM_API_URL"
            )
        logger.warning(
            "telegram: %s failed (%s), try %d: trying again in %g s", what, reason, attempt, delay
        )
        await asyncio.sleep(delay)
