"""What stops a command, said in one line for the operator, and the back-off between tries.

No aiogram here: the commands that never talk to Telegram use this too, and importing aiogram
takes seconds.
"""

import asyncio
import signal
import socket
import sqlite3
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
T = TypeVar("T")


class Failure(Exception):
    """A service or a setting stops the command: the message is the one line shown (without
    a traceback), naming what failed and what to do."""


class Stopped(Exception):
    """A stop signal arrived while the command was still starting."""


class Backoff:
    """The waits between tries: 1 s, 2 s, 4 s … up to `limit`; `reset` starts over."""

    def __init__(self, first: float = 1.0, limit: float = 30.0) -> None:
        self.first = first
        self.limit = limit
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self._next * 2, self.limit)
        return delay

    def reset(self) -> None:
        self._next = self.first


async def until_stopped(work: Awaitable[T]) -> T:
    """Awaits `work`; SIGTERM or SIGINT meanwhile cancels it and raises Stopped, so a stop
    while start-up waits (on a retry, on a service) is as clean as one later: no traceback,
    exit code 0."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(work)
    signals: list[int] = []

    def stop(signum: int) -> None:
        signals.append(signum)
        task.cancel()

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await task
    except asyncio.CancelledError:
        if signals:
            raise Stopped(signal.Signals(signals[0]).name) from None
        raise
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def describe_database_error(exc: BaseException, database_url: str) -> str | None:
    """One line for a database that cannot be reached or opened, or None if `exc` is not
    that (a bug keeps its traceback)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _describe_sqlite(exc, url.database or "")
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    for cause in _causes(exc):
        if isinstance(cause, socket.gaierror):
            return (
                f"database: cannot find the host {url.host!r} ({cause.strerror}): "
                "check DATABASE_URL"
            )
        if isinstance(cause, ConnectionRefusedError):
            return (
                f"database: cannot connect to {where} (connection refused): "
                "is PostgreSQL running? check DATABASE_URL"
            )
        if isinstance(cause, TimeoutError):
            return (
                f"database: no answer from {where} (timed out): "
                "is PostgreSQL running and reachable? check DATABASE_URL"
            )
        if isinstance(cause, asyncpg.PostgresError):
            return f"database: PostgreSQL at {where} refused: {cause}: check DATABASE_URL"
        if isinstance(cause, OSError):
            reason = cause.strerror or str(cause)
            return f"database: cannot connect to {where} ({reason}): check DATABASE_URL"
    return None


def _describe_sqlite(exc: BaseException, path: str) -> str | None:
    for cause in _causes(exc):
        if isinstance(cause, FileExistsError | NotADirectoryError):
            return (
                f"database: cannot create the SQLite file {path}: {cause.filename} is a file, "
                "not a folder: check DATABASE_URL"
            )
        if isinstance(cause, OSError):
            return (
                f"database: cannot create the SQLite file {path} "
                f"({cause.strerror}: {cause.filename}): check DATABASE_URL"
            )
        if isinstance(cause, sqlite3.Error):
            return (
                f"database: cannot open the SQLite file {path} ({cause}): check DATABASE_URL "
                "(a file, in a folder the bot may write to)"
            )
    return None


@contextmanager
def database_errors(database_url: str) -> Iterator[None]:
    """Turns a database that cannot be reached or opened into a Failure of one line."""
    try:
        yield
    except Exception as exc:
        line = describe_database_error(exc, database_url)
        if line is None:
            raise
        raise Failure(line) from None
