"""The bot's aiogram filters.

Every filter here is a coroutine. aiogram runs a plain (synchronous) filter in a worker thread,
magic filters and bare FSM states included, and routers check their filters on every update
that passes them: 2.4 thread hops per update in the throughput benchmark's visit, each waiting
for the busy event loop to let go of the GIL. As coroutines, careerbot on SQLite went from
about 150 to 220 updates/s there. `tests/test_routing.py` keeps it so.
"""

from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.content.models import Profile
from bot.db.models import Student
from bot.features.tour.service import TourService
from bot.services.roles import Role, Viewer, role_of


class PrivateChat(Filter):
    """Passes updates from a private chat; for a button, the chat of the message it is on."""

    async def __call__(self, event: TelegramObject, event_chat: Chat | None = None) -> bool:
        return event_chat is not None and event_chat.type == ChatType.PRIVATE


class SlashCommand(Filter):
    """A message that is a command, known or not."""

    async def __call__(self, message: Message) -> bool:
        return (message.text or "").startswith("/")


class PlainText(Filter):
    """Typed text that is not a command."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and not (message.text or "").startswith("/")


class IsStaff(Filter):
    """Passes leads and admins (or admins only), handing the handler a `viewer`.

    Anyone else falls through to the fallback router, which treats the update like any
    unknown command or button: a student learns nothing about staff features.
    """

    def __init__(self, *, admin_only: bool = False) -> None:
        self.admin_only = admin_only

    async def __call__(
        self, event: Message | CallbackQuery, session: AsyncSession, settings: Settings
    ) -> bool | dict[str, Viewer]:
        user = event.from_user
        if user is None:
            return False
        role = await role_of(session, user.id, settings.admin_ids)
        if role is Role.STUDENT or (self.admin_only and role is not Role.ADMIN):
            return False
        return {"viewer": Viewer(user.id, role)}


class OfCareer(Filter):
    """Passes a student who is on a career, handing the handler its `profile`.

    A button of a career's screens pressed by a student with none (an old button, or a
    forged one) falls through to the fallback: the menu has changed.
    """

    async def __call__(
        self, event: TelegramObject, tour: TourService, student: Student | None = None
    ) -> bool | dict[str, Profile]:
        profile = tour.profile_of(student) if student is not None else None
        return False if profile is None else {"profile": profile}
