"""INSERT … ON CONFLICT for SQLite and PostgreSQL alike: double taps and concurrent workers
write the same row once.

The statements run on the session's connection, in its transaction, without the ORM's
statement handling: they touch no loaded object, and the ORM layer costs more than the
statement. Pending objects a row points at must be flushed first."""

from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from bot.db.models import Base


def _statement(
    session: AsyncSession,
    model: type[Base],
    values: dict[str, Any],
    conflict: list[str],
    update: dict[str, Any] | None,
) -> Any:
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(model).values(values)
    if update:
        return statement.on_conflict_do_update(index_elements=conflict, set_=update)
    return statement.on_conflict_do_nothing(index_elements=conflict)


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
    connection = await session.connection()
    result = await connection.execute(_statement(session, model, values, conflict, update))
    return bool(result.rowcount)


async def upsert_returning(
    session: AsyncSession,
    model: type[Base],
    values: dict[str, Any],
    conflict: list[str],
    update: dict[str, Any],
    returning: list[QueryableAttribute[Any]],
) -> Row[Any]:
    """Inserts `values`, or applies `update` on a conflict; returns the row as it now is."""
    statement = _statement(session, model, values, conflict, update).returning(*returning)
    return (await (await session.connection()).execute(statement)).one()
