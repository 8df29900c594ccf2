"""Background jobs — announcements and project reminders — run by exactly one process.

Every process (polling, each webhook worker, the terminal chat) starts a runner; the runners
compete for a lease in the database and only the holder works. The holder renews the lease
each round and releases it on a clean stop; after a crash another runner takes over once the
lease has expired. Outbox rows and nudges are also claimed row by row, so even two holders
(a lease expiring mid-round) could not send one message twice.
"""

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta

from aiogram import Bot
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Lease, utcnow
from bot.db.upsert import upsert
from bot.services.broadcast import BroadcastService, ProgressCallback
from bot.services.reminders import ReminderService

logger = logging.getLogger(__name__)

LEASE_NAME = "background-jobs"
LEASE_SECONDS = 30
ROUND_SECONDS = 1.0
REMINDER_EVERY_ROUNDS = 600


class JobRunner:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        broadcast: BroadcastService,
        reminders: ReminderService,
    ) -> None:
        self.session_factory = session_factory
        self.broadcast = broadcast
        self.reminders = reminders
        self.holder = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self, bot: Bot, report: ProgressCallback) -> None:
        self._task = asyncio.create_task(self._run(bot, report))

    def wake(self) -> None:
        """Something new to send: run a round now rather than at the next tick."""
        self._wake.set()

    async def stop(self) -> None:
        """Stops after the message in hand is sent and marked, then gives the lease up."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        async with self.session_factory() as session:
            await session.execute(
                delete(Lease).where(Lease.name == LEASE_NAME, Lease.holder == self.holder)
            )
            await session.commit()

    async def holds_lease(self) -> bool:
        now = utcnow()
        async with self.session_factory() as session:
            await upsert(
                session,
                Lease,
                {"name": LEASE_NAME, "holder": self.holder, "expires_at": now},
                ["name"],
            )
            taken = await session.execute(
                update(Lease)
                .where(
                    Lease.name == LEASE_NAME,
                    (Lease.holder == self.holder) | (Lease.expires_at <= now),
                )
                .values(holder=self.holder, expires_at=now + timedelta(seconds=LEASE_SECONDS))
            )
            await session.commit()
            return getattr(taken, "rowcount", 0) == 1

    async def _run(self, bot: Bot, report: ProgressCallback) -> None:
        rounds = 0
        while True:
            try:
                if await self.holds_lease():
                    await self.broadcast.send_unfinished(bot, report)
                    if rounds % REMINDER_EVERY_ROUNDS == 0:
                        await self.reminders.send_due(bot)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("a background round failed; trying again")
            rounds += 1
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), ROUND_SECONDS)
