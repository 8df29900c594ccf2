"""Role checks as aiogram filters: evaluated on every update, buttons included."""

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.services.roles import Role, Viewer, role_of


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
