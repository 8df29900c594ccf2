"""Secrets the bot generates for itself, once, and keeps in the database."""

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Secret, utcnow
from bot.db.upsert import upsert

PSEUDONYM_KEY = "pseudonym_key"
SECRET_BYTES = 32


async def stored_secret(session: AsyncSession, name: str) -> str:
    """The secret kept under `name`, made (random) the first time it is asked for.

    A new one is written in the session's transaction, for the caller to commit; when two
    workers make one at once, the first insert wins and both return its value.
    """
    query = select(Secret.value).where(Secret.name == name)
    value = await session.scalar(query)
    if value is None:
        made = {"name": name, "value": secrets.token_urlsafe(SECRET_BYTES), "created_at": utcnow()}
        await upsert(session, Secret, made, ["name"])
        value = await session.scalar(query)
    if value is None:
        raise LookupError(f"secret {name!r} was neither found nor stored")
    return value
