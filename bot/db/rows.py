"""Writing a few columns of a loaded row at once, on the update's connection.

For the columns that most updates change (the student's position, the checklist's cursor):
setting the attribute leaves the write to the unit of work's flush at commit, and that flush
costs more than the statement. Here the UPDATE runs in the session's transaction straight
away, and the loaded object takes the values as already stored, so commit has nothing to
flush for them.
"""

from typing import Any

from sqlalchemy import Update, bindparam, inspect, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from bot.db.models import Base

# One statement per model, built on first use; the SET clause comes from the columns named
# when it runs.
_UPDATES: dict[type[Base], Update] = {}
ROW_KEY = "row_key"


def _update_by_key(model: type[Base]) -> Update:
    statement = _UPDATES.get(model)
    if statement is None:
        (key,) = inspect(model).primary_key
        statement = _UPDATES[model] = update(model).where(key == bindparam(ROW_KEY))
    return statement


async def write_columns(session: AsyncSession, row: Base, **values: Any) -> None:
    """Stores `values` in `row` now. Columns that already hold their value are left out, and
    nothing runs when none is left. The row must already be in the database (flushed)."""
    changed = {name: value for name, value in values.items() if getattr(row, name) != value}
    if not changed:
        return
    identity = inspect(row).identity
    if identity is None:
        raise ValueError(f"{type(row).__name__} is not stored yet: flush it first")
    (key,) = identity
    statement = _update_by_key(type(row))
    await (await session.connection()).execute(statement, {ROW_KEY: key, **changed})
    for name, value in changed.items():
        set_committed_value(row, name, value)
