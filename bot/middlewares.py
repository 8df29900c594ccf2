"""Per-update plumbing: one database session, the student behind the update, and the
transaction ended before the bot talks to Telegram, a call Telegram failed retried once; and
the models of Bot API responses."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.fsm.context import FSMContext
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User
from aiohttp import ClientConnectorError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.engine import update_session
from bot.services.students import Visitor, touch_student

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
RETRY_PAUSE_SECONDS = 0.5


class DatabaseSessionMiddleware(BaseMiddleware):
    """One session per update. What the update wrote is committed when it has been handled
    (and before each Bot API call, below); an update that failed is rolled back."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            token = update_session.set(session)
            try:
                result = await handler(event, data)
                if session.in_transaction():
                    await session.commit()
                return result
            finally:
                update_session.reset(token)


class CommitBeforeTelegramMiddleware(BaseRequestMiddleware):
    """Ends the update's transaction before each Bot API call.

    What the student did is stored before they see the answer to it, and no database
    connection waits on Telegram: on SQLite there is one, shared by every update.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        session = update_session.get()
        if session is not None and session.in_transaction():
            await session.commit()
        return await make_request(bot, method)


@cache
def response_model(result_type: Any) -> type[Response[Any]]:
    return Response[result_type]


class KeepResponseModelsMiddleware(BaseRequestMiddleware):
    """Holds on to the response model of every Bot API method the bot calls.

    aiogram looks up `Response[<result type>]` on every call, and pydantic keeps such models
    only weakly: after a garbage collection the next call builds the model again, a few
    milliseconds of schema building. Seen as a quarter of the CPU per update with the
    in-memory stand-in; a registered middleware covers every session (webhook, polling, chat).
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        response_model(method.__returning__)
        return await make_request(bot, method)


class RetryOnceMiddleware(BaseRequestMiddleware):
    """Makes a Bot API call of an update's handling a second time, once, after a moment, when
    Telegram answered with a server error (5xx) or no connection to it could be made.

    Such failures are nearly always momentary, and without a retry the student's tap or
    message would get no answer. A timeout or a connection lost mid-request is not retried:
    the message may have reached the student, and a retry could show it twice. Calls outside
    an update are left to their sender: announcements have retries of their own, with back-off.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if update_session.get() is None:
            return await make_request(bot, method)
        try:
            return await make_request(bot, method)
        except (TelegramServerError, TelegramNetworkError) as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(exc, TelegramNetworkError) and not isinstance(
                cause, ClientConnectorError
            ):
                raise
            logger.info("%s: %s; trying once more", method.__api_method__, exc.message)
        await asyncio.sleep(RETRY_PAUSE_SECONDS)
        return await make_request(bot, method)


class StudentMiddleware(BaseMiddleware):
    """Loads (or creates) the student for updates from a private chat with a person."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is not None and not user.is_bot and chat is not None and chat.type == "private":
            session: AsyncSession = data["session"]
            visitor = Visitor(user.id, user.first_name, user.language_code)
            data["student"] = await touch_student(session, visitor)
        return await handler(event, data)


class PendingInputMiddleware(BaseMiddleware):
    """A button press or a command means the user moved on: stop waiting for typed input.

    The flow's data stays, so a multi-step flow (name, then a button) can read it back.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        moved_on = isinstance(event, CallbackQuery) or (
            isinstance(event, Message) and (event.text or "").startswith("/")
        )
        # aiogram's FSM middleware has read the state already (raw_state): no second read.
        if state is not None and moved_on and data.get("raw_state") is not None:
            await state.set_state(None)
            data["raw_state"] = None
        return await handler(event, data)
