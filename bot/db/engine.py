"""Engine and session factory: SQLite in WAL mode with one connection run on the event loop's
thread, or PostgreSQL via asyncpg; sessions for reports; and the session of the update being
handled."""

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.db.sqlite_inline import inline_connector

SQLITE_BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class PoolLimits:
    """The PostgreSQL pool: connections kept, extra ones allowed under load, and how long an
    update waits for one before the pool gives up (a TimeoutError, an outage to the bot).
    SQLite keeps its one connection and uses only the timeout."""

    size: int = 10
    overflow: int = 10
    timeout: float = 10.0


DEFAULT_POOL = PoolLimits()

# The database session of the update being handled, set by the session middleware: the FSM
# storage works inside it, and the Bot API middleware ends its transaction before each call.
update_session: ContextVar[AsyncSession | None] = ContextVar("update_session", default=None)


def _sqlite_pragmas(foreign_keys: bool) -> Callable[[Any, Any], None]:
    def apply(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return apply


def create_engine(
    database_url: str, *, foreign_keys: bool = True, pool: PoolLimits = DEFAULT_POOL
) -> AsyncEngine:
    """The engine for `database_url`.

    SQLite gets one connection, used in place on the event loop (`bot.db.sqlite_inline`):
    SQLite lets one transaction write at a time, and several connections of one process
    waiting for each other's lock poll and sleep (up to 100 ms a time), so under load the bot
    idled while updates queued. With one connection, updates queue for it in the pool, in
    order; and one connection can never wait for a lock that the process itself holds.

    `foreign_keys=False` is for migrations only: SQLite rebuilds a table to alter it, and
    dropping the old copy with foreign keys on would cascade-delete every row that points at it.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ValueError("SQLite needs a file: sqlite+aiosqlite:///path/to/careerbot.db")
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url,
            async_creator=inline_connector(url.database),
            pool_size=1,
            max_overflow=0,
            pool_timeout=pool.timeout,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(foreign_keys))
        return engine
    return create_async_engine(
        url,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=pool.timeout,
        pool_recycle=1800,
        # A server that does not answer fails the update within the wait for a connection.
        connect_args={"timeout": pool.timeout},
    )


def _sqlite_reader_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


def create_report_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine that /stats and /export read through.

    On SQLite, the bot's one connection runs its statements on the event loop, so a report
    over a large database (a few hundred ms) would hold up every student's update while it
    runs. Reports read on read-only connections of their own, in aiosqlite's threads (WAL
    lets them read while the bot writes). PostgreSQL's driver never blocks the loop: the
    bot's engine serves reports too.
    """
    if engine.dialect.name != "sqlite":
        return engine
    reader = create_async_engine(engine.url, pool_size=2, max_overflow=0)
    event.listen(reader.sync_engine, "connect", _sqlite_reader_pragmas)
    return reader


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    report_engine: AsyncEngine
    # Sessions for /stats and /export: read only, and never on the event loop's thread.
    report_sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, database_url: str, pool: PoolLimits = DEFAULT_POOL) -> "Database":
        engine = create_engine(database_url, pool=pool)
        report_engine = create_report_engine(engine)
        return cls(
            engine,
            create_session_factory(engine),
            report_engine,
            create_session_factory(report_engine),
        )

    async def close(self) -> None:
        if self.report_engine is not self.engine:
            await self.report_engine.dispose()
        await self.engine.dispose()
