"""Program leads, granted and revoked by admins (in the bot or with `careerbot lead`)."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Staff

NAME_LIMIT = 64


async def grant_lead(
    session: AsyncSession, telegram_id: int, name: str, granted_by: int | None
) -> bool:
    """Makes someone a program lead; False if they already were one."""
    existing = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
    if existing is not None:
        return False
    session.add(Staff(telegram_id=telegram_id, name=name[:NAME_LIMIT], granted_by=granted_by))
    await session.commit()
    return True


async def revoke_lead(session: AsyncSession, telegram_id: int) -> bool:
    result = await session.execute(delete(Staff).where(Staff.telegram_id == telegram_id))
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def list_leads(session: AsyncSession) -> list[Staff]:
    return list((await session.execute(select(Staff).order_by(Staff.name))).scalars())
