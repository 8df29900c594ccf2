"""Each Telegram update is handled once, however often it is delivered.

An update is claimed by the first statement of its first transaction: a row keyed by its
update_id, committed with the update's first effects. On PostgreSQL a second delivery that
arrives meanwhile waits on the row's key until that commit (or rollback), then finds the
claim. If handling fails, the claim is released and the next delivery handles the update. A
claim left by a worker that died mid-update is taken again once it is older than CLAIM_STALE,
or sooner: each claim names its holder, the process slot (host, port and worker number, or
polling) that took it, and the process that next starts in that slot (the supervisor starts a
worker only once the one before it has died) releases the claims it left (`release_held`).

Once handled, the claim is marked done. An update's last commit usually comes before its
last Bot API call, so there is seldom a transaction left to carry the mark, and a
transaction of its own for each update cost about 7% more CPU per update (measured). So the
marks wait in `DoneMarks` for DONE_MARK_DELAY and are written together, one transaction for
all the updates a worker finished meanwhile. A delivery again to the same worker finds the
update among them; one to another worker finds it in hand and is answered 503, to be
delivered again later. A worker that dies with marks unwritten leaves claims that Telegram
never delivers again (they were answered 200): they go stale, then are pruned.

The statements are built once per dialect and run on the session's connection: this is on
every update's path.
"""

import asyncio
import enum
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import HandledUpdate

logger = logging.getLogger(__name__)

# Longer than an update can take (Telegram gives up on an answer after 60 s, a stopping
# worker finishes within 30 s): an older claim not done belongs to a worker that died.
CLAIM_STALE = timedelta(minutes=2)
# Telegram keeps an undelivered update for 24 hours; a day more is a safe margin.
KEEP_HANDLED = timedelta(days=2)
# Pruning runs every PRUNE_EVERY claims of a process, PRUNE_BATCH rows at most a time: twice
# the rate rows are added, in steps small enough not to hold up the update that runs it.
PRUNE_EVERY = 500
PRUNE_BATCH = 1000
# Seconds the done marks of a worker wait to be written together.
DONE_MARK_DELAY = 0.2


class Claim(enum.Enum):
    TAKEN = "taken"  # this delivery handles the update
    DONE = "done"  # handled already: nothing to do
    IN_HAND = "in hand"  # being handled by another delivery: try again later


_CLAIMS: dict[str, Any] = {}
KEY = "key"
KEYS = "keys"
MARK_DONE = (
    update(HandledUpdate)
    .where(HandledUpdate.update_id.in_(bindparam(KEYS, expanding=True)))
    .values(done=True)
)
RELEASE = delete(HandledUpdate).where(
    HandledUpdate.update_id == bindparam(KEY), HandledUpdate.done.is_(False)
)
RELEASE_HELD = delete(HandledUpdate).where(
    HandledUpdate.holder == bindparam("holder"), HandledUpdate.done.is_(False)
)
IS_DONE = select(HandledUpdate.done).where(HandledUpdate.update_id == bindparam(KEY))
PRUNE = delete(HandledUpdate).where(
    HandledUpdate.update_id.in_(
        select(HandledUpdate.update_id)
        .where(HandledUpdate.claimed_at < bindparam("before"))
        .limit(PRUNE_BATCH)
        .scalar_subquery()
    )
)


def _claim_statement(dialect: str) -> Any:
    """Inserts the claim, or takes over a stale one; returns a row only when claimed."""
    statement = _CLAIMS.get(dialect)
    if statement is None:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        values = insert(HandledUpdate).values(
            update_id=bindparam("update_id"),
            claimed_at=bindparam("now"),
            done=False,
            holder=bindparam("holder"),
        )
        statement = _CLAIMS[dialect] = values.on_conflict_do_update(
            index_elements=[HandledUpdate.update_id],
            set_={"claimed_at": values.excluded.claimed_at, "holder": values.excluded.holder},
            where=HandledUpdate.done.is_(False)
            & (HandledUpdate.claimed_at < bindparam("stale_before")),
        ).returning(HandledUpdate.update_id)
    return statement


async def claim(
    session: AsyncSession, update_id: int, now: datetime, holder: str | None = None
) -> Claim:
    """Claims the update in the session's transaction (not committed here)."""
    connection = await session.connection()
    statement = _claim_statement(connection.dialect.name)
    parameters = {
        "update_id": update_id,
        "now": now,
        "stale_before": now - CLAIM_STALE,
        "holder": holder,
    }
    if (await connection.execute(statement, parameters)).first() is not None:
        return Claim.TAKEN
    # Only a repeated delivery gets here: the second statement is off the common path.
    done = (await connection.execute(IS_DONE, {KEY: update_id})).scalar()
    return Claim.DONE if done else Claim.IN_HAND


async def mark_done(session: AsyncSession, update_ids: list[int]) -> None:
    """Marks the updates handled, in the session's transaction (not committed here)."""
    await (await session.connection()).execute(MARK_DONE, {KEYS: update_ids})


class DoneMarks:
    """The done marks of one process not written yet (see the module's docstring)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory
        self.pending: set[int] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._writing: set[asyncio.Task[None]] = set()

    def add(self, update_ids: Iterable[int]) -> None:
        self.pending.update(update_ids)
        if self.pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(DONE_MARK_DELAY, self._write_soon)

    def _write_soon(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self.write())
        self._writing.add(task)
        task.add_done_callback(self._writing.discard)

    async def write(self) -> None:
        """Writes the pending marks in a transaction of their own (also at shut-down)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        marks = list(self.pending)
        if not marks:
            return
        try:
            async with self.session_factory() as session:
                await mark_done(session, marks)
                await session.commit()
        except Exception as exc:
            logger.warning("could not mark %d update(s) done: %s", len(marks), type(exc).__name__)
            self.add([])  # try again later
            return
        # Kept in `pending` until stored: a delivery again meanwhile is known to be done.
        self.pending.difference_update(marks)


async def release(session: AsyncSession, update_id: int) -> None:
    """Gives up a claim not done, so that the next delivery handles the update. Commits."""
    await (await session.connection()).execute(RELEASE, {KEY: update_id})
    await session.commit()


async def release_held(session: AsyncSession, holder: str) -> int:
    """Releases the claims not done that `holder` left (its process died). Commits."""
    released = await (await session.connection()).execute(RELEASE_HELD, {"holder": holder})
    await session.commit()
    return int(getattr(released, "rowcount", 0) or 0)


async def prune(session: AsyncSession, now: datetime) -> None:
    """Deletes up to PRUNE_BATCH claims older than KEEP_HANDLED. Commits."""
    await (await session.connection()).execute(PRUNE, {"before": now - KEEP_HANDLED})
    await session.commit()
