"""Per-update plumbing: one database session, each update handled once, the student behind
the update and the `ui` of their chat; a call Telegram failed retried once; and the models of
Bot API responses."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from typing import Any, cast

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
from aiogram.fsm.context import FSMContext
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, Update, User
from aiohttp import ClientConnectorError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.engine import update_session
from bot.db.handled import (
    PRUNE_EVERY,
    Claim,
    DoneMarks,
    claim,
    mark_done,
    prune,
    release,
    release_held,
)
from bot.db.models import utcnow
from bot.outage import UpdateInHand
from bot.services.students import Visitor, touch_student
from bot.ui import Ui

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
RETRY_PAUSE_SECONDS = 0.5


class DatabaseSessionMiddleware(BaseMiddleware):
    """One session per update, and each update handled once (`bot.db.handled`).

    The update is claimed by the first statement of its first transaction; a delivery of an
    update handled already does nothing, and one of an update in hand elsewhere raises
    UpdateInHand (the webhook answers 503: try later). What the update wrote is committed
    when it has been handled (and before each Bot API call: bot/ui.py), its done mark soon
    after (`DoneMarks`); an update that failed is rolled back and its claim released, so
    that the next delivery handles it.
    """

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], holder: str | None = None
    ) -> None:
        self.session_factory = session_factory
        # The process slot that claims updates (see bot.db.handled); None: claims go stale.
        self.holder = holder
        self.done_marks = DoneMarks(session_factory)
        self.claims = 0

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update_id = cast(Update, event).update_id
        if update_id in self.done_marks.pending:
            logger.info("update %s was handled already: delivered again", update_id)
            return None
        async with self.session_factory() as session:
            data["session"] = session
            token = update_session.set(session)
            try:
                now = utcnow()
                claimed = await claim(session, update_id, now, self.holder)
                if claimed is Claim.DONE:
                    logger.info("update %s was handled already: delivered again", update_id)
                    return None
                if claimed is Claim.IN_HAND:
                    raise UpdateInHand(f"update {update_id} is being handled")
                try:
                    result = await handler(event, data)
                except Exception:
                    await self._release(session, update_id)
                    raise
                if session.in_transaction():
                    await mark_done(session, [update_id])
                    await session.commit()
                else:
                    self.done_marks.add([update_id])
            finally:
                update_session.reset(token)
            self.claims += 1
            if self.claims % PRUNE_EVERY == 0:
                await self._prune(session, now)
            return result

    async def release_predecessor(self) -> None:
        """At start: the updates the process before this one in its slot had in hand when it
        died are delivered again by Telegram; release them now rather than after CLAIM_STALE."""
        if self.holder is None:
            return
        async with self.session_factory() as session:
            released = await release_held(session, self.holder)
        if released:
            logger.warning("released %d update(s) left in hand by %s", released, self.holder)

    @staticmethod
    async def _release(session: AsyncSession, update_id: int) -> None:
        try:
            await session.rollback()
            await release(session, update_id)
        except Exception as exc:
            # The database is down: the claim is taken again once stale (CLAIM_STALE).
            logger.warning("could not release update %s: %s", update_id, type(exc).__name__)

    @staticmethod
    async def _prune(session: AsyncSession, now: datetime) -> None:
        try:
            await prune(session, now)
        except Exception as exc:
            logger.warning("could not prune handled updates: %s", type(exc).__name__)


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
    """Loads (or creates) the student for updates from a private chat with a person, and
    hands handlers the `ui` of their chat."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        if user is not None and not user.is_bot and chat is not None and chat.type == "private":
            session: AsyncSession = data["session"]
            visitor = Visitor(user.id, user.first_name, user.language_code)
            student = await touch_student(session, visitor)
            data["student"] = student
            if isinstance(event, (Message, CallbackQuery)):
                data["ui"] = Ui(event, data["bot"], session, student, data["tour"])
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
