"""Per-update plumbing: one database session, and the student behind the update."""

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.students import Visitor, touch_student

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DatabaseSessionMiddleware(BaseMiddleware):
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            return await handler(event, data)


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
        if state is not None and moved_on and await state.get_state() is not None:
            await state.set_state(None)
        return await handler(event, data)
