"""INSERT … ON CONFLICT for SQLite and PostgreSQL alike: double taps and concurrent workers
write the same row once."""

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Base


async def upsert(
    session: AsyncSession,
    model: type[Base],
    values: dict[str, Any],
    conflict: list[str],
    update: dict[str, Any] | None = None,
) -> bool:
    """Inserts `values`; on a conflict on `conflict` applies `update` (or does nothing).

    Returns whether a row was inserted or changed.
    """
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(values)
    if update:
        statement = statement.on_conflict_do_update(index_elements=conflict, set_=update)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=conflict)
    result = await session.execute(statement)
    return bool(getattr(result, "rowcount", 0))
