"""Which failures mean "a service the bot needs is unavailable right now".

Such an update was not handled and must be tried again later: the webhook answers 503 so that
Telegram delivers it again, polling retries it in place, and the student is not told that
something went wrong (the update will still be handled). Any other failure is a bug, which
a second delivery would only repeat: the student gets the error message and Telegram a 200.
"""

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg  # type: ignore[import-untyped]
from redis import exceptions as redis_errors
from sqlalchemy import exc as sa_errors

from bot.failures import Backoff

logger = logging.getLogger(__name__)

# Seconds a 503 asks the sender to wait before delivering the update again.
RETRY_AFTER_SECONDS = 5
# Polling gets no second delivery: it tries an update again in place, waiting 1, 2, 4… up to
# 30 s between tries, for 10 minutes at most; then the update is given up (logged).
RETRY_FIRST_DELAY = 1.0
RETRY_MAX_DELAY = 30.0
RETRY_BUDGET = 600.0

Result = TypeVar("Result")


class ServiceUnavailable(Exception):
    """The update cannot be handled now, but can be later."""


class UpdateInHand(ServiceUnavailable):
    """Another delivery of the same update is being handled (by this worker or another)."""


class Overloaded(ServiceUnavailable):
    """The worker has as many updates in hand as it may: the update could not start in time."""


# asyncpg's connection failures (class 08), a server shutting down or refusing connections
# for now (57), out of connection slots or memory (53).
_POSTGRES = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)
# Redis down, reset, slow, loading, or its connection pool exhausted (MaxConnectionsError is
# a ConnectionError).
_REDIS = (redis_errors.ConnectionError, redis_errors.TimeoutError)
_OUTAGES = (ServiceUnavailable, sa_errors.TimeoutError, *_REDIS, *_POSTGRES)
# SQLite has no server: it is "unavailable" when its file is locked too long, unreadable or
# its disk is full. "no such table" and the like are mistakes, not outages.
_SQLITE_TRANSIENT = ("database is locked", "unable to open", "disk i/o error", "is full")


def is_service_unavailable(error: BaseException) -> bool:
    """Whether `error`, or what caused it, says PostgreSQL, SQLite or Redis is unreachable,
    overloaded (a pool timeout) or failing for now."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_outage(current):
            return True
        pending += [current.__cause__, current.__context__]
        if isinstance(current, sa_errors.DBAPIError) and isinstance(current.orig, BaseException):
            pending.append(current.orig)
    return False


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, _OUTAGES):
        return True
    if isinstance(error, sa_errors.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.OperationalError):
        return any(part in str(error).lower() for part in _SQLITE_TRANSIENT)
    # Refused, reset or timed-out connections, and unresolvable hosts, as the drivers raise them.
    return isinstance(error, ConnectionError | TimeoutError | OSError) and not isinstance(
        error, FileNotFoundError | PermissionError | IsADirectoryError
    )


async def retry_through_outage(attempt: Callable[[], Awaitable[Result]], what: str) -> Result:
    """Runs `attempt` until it succeeds, fails for another reason, or the outage has lasted
    RETRY_BUDGET seconds (then the last error is raised)."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + RETRY_BUDGET
    backoff = Backoff(RETRY_FIRST_DELAY, RETRY_MAX_DELAY)
    while True:
        delay = backoff.next()
        try:
            return await attempt()
        except Exception as exc:
            if not is_service_unavailable(exc) or loop.time() + delay > give_up_at:
                raise
            logger.warning(
                "%s: service unavailable (%s), trying again in %.0f s",
                what,
                type(exc).__name__,
                delay,
            )
        await asyncio.sleep(delay)
