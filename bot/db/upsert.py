"""INSERT … ON CONFLICT for SQLite and PostgreSQL alike: double taps and concurrent workers
write the same row once.

The statements run on the session's connection, in its transaction, without the ORM's
statement handling: they touch no loaded object, and the ORM layer costs more than the
statement. Pending objects a row points at must be flushed first."""

from typing import Any

from sqlalchemy import Row, bindparam, inspect
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from bot.db.models import Base

# Built once per shape (dialect, table, columns given, conflict target, columns updated,
# returned): building a statement costs more than running it. The values come with each
# execution; the update's are bound under their column's name with this prefix.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}
SET_PREFIX = "set_"


def _statement(
    session: AsyncSession,
    model: type[Base],
    values: dict[str, Any],
    conflict: list[str],
    update: dict[str, Any] | None,
    returning: tuple[QueryableAttribute[Any], ...] = (),
) -> Any:
    dialect = session.get_bind().dialect.name
    shape = (dialect, model, tuple(values), tuple(conflict), tuple(update or ()), returning)
    statement = _STATEMENTS.get(shape)
    if statement is None:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(model)
        columns = inspect(model).columns
        if update:
            statement = statement.on_conflict_do_update(
                index_elements=conflict,
                set_={
                    name: bindparam(SET_PREFIX + name, type_=columns[name].type) for name in update
                },
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=conflict)
        if returning:
            statement = statement.returning(*returning)
        _STATEMENTS[shape] = statement
    return statement


def _parameters(values: dict[str, Any], update: dict[str, Any] | None) -> dict[str, Any]:
    return {**values, **{SET_PREFIX + name: value for name, value in (update or {}).items()}}


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
    statement = _statement(session, model, values, conflict, update)
    result = await connection.execute(statement, _parameters(values, update))
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
    statement = _statement(session, model, values, conflict, update, tuple(returning))
    connection = await session.connection()
    return (await connection.execute(statement, _parameters(values, update))).one()
