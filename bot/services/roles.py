"""Who may do what: admins (ADMIN_IDS), program leads (granted by an admin), students."""

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Cohort, Staff


class Role(StrEnum):
    STUDENT = "student"
    LEAD = "lead"
    ADMIN = "admin"


@dataclass(frozen=True)
class Viewer:
    """A member of staff, checked afresh on every update: what they may see and change."""

    telegram_id: int
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def owns(self, cohort: Cohort) -> bool:
        return self.is_admin or cohort.lead_id == self.telegram_id


async def role_of(session: AsyncSession, telegram_id: int, admin_ids: frozenset[int]) -> Role:
    if telegram_id in admin_ids:
        return Role.ADMIN
    found = await session.scalar(select(Staff.id).where(Staff.telegram_id == telegram_id))
    return Role.LEAD if found is not None else Role.STUDENT
