"""Background jobs — announcements, project reminders and the features' periodic jobs (the
leads' weekly digest) — run by exactly one process.

Every process (polling, each webhook worker, the terminal chat) starts a runner; the runners
compete for a lease in the database and only the holder works. The lease is short
(JOBS_LEASE_SECONDS): while working, the holder's heartbeat renews it every third of that,
also while a message is on its way, so a slow Telegram never lets it lapse; once the holder
has died, another runner (or the restarted process itself) takes over as soon as it expires.
Before every message the sender checks that the lease still names this process, with a third
of it left (the fence): a process that lost it (stalled past the lease, or cut off from the
database while another took over) stops before its next message. So one process sends at a
time and BROADCAST_PER_SECOND holds across all of them; a runner that has just taken over
also waits one interval before its first message. The holder releases the lease on a clean
stop. Outbox rows and reminders are also claimed row by row: no message goes out twice.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import partial

from aiogram import Bot
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Lease, as_utc, utcnow
from bot.db.upsert import upsert
from bot.features.announcements.service import AnnouncementService, ProgressCallback
from bot.features.reminders.service import ReminderService, Slot

logger = logging.getLogger(__name__)

LEASE_NAME = "background-jobs"
ROUND_SECONDS = 1.0
REMINDER_EVERY_ROUNDS = 600

# A feature's periodic job: given the bot and a message's turn (the shared pace and the lease
# check), it sends what is due.
PeriodicJob = Callable[[Bot, Slot], Awaitable[object]]


class LeaseLost(Exception):
    """This process no longer holds the background-jobs lease: it must not send."""


class JobRunner:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        announcements: AnnouncementService,
        reminders: ReminderService,
        lease_seconds: float,
    ) -> None:
        self.session_factory = session_factory
        self.announcements = announcements
        self.reminders = reminders
        self.lease = timedelta(seconds=lease_seconds)
        self.holder = uuid.uuid4().hex
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._periodic: list[tuple[int, PeriodicJob]] = []

    def every(self, rounds: int, job: PeriodicJob) -> None:
        """Runs `job` every `rounds` rounds (about a second each) while this process holds
        the lease, the first time `rounds` after it started: a feature's setup adds it."""
        self._periodic.append((rounds, job))

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

    async def take_lease(self) -> bool:
        """Renews the lease if this process holds it, takes it if it has expired."""
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
                .values(holder=self.holder, expires_at=now + self.lease)
            )
            await session.commit()
            return getattr(taken, "rowcount", 0) == 1

    async def renew_lease(self) -> bool:
        """False once another process holds the lease."""
        async with self.session_factory() as session:
            renewed = await session.execute(
                update(Lease)
                .where(Lease.name == LEASE_NAME, Lease.holder == self.holder)
                .values(expires_at=utcnow() + self.lease)
            )
            await session.commit()
            return getattr(renewed, "rowcount", 0) == 1

    async def fence(self) -> None:
        """Raises LeaseLost unless the lease names this process with a third of it left:
        more than a message takes to leave, so the lease cannot expire (and another process
        start sending) before the message this check lets through is on its way."""
        async with self.session_factory() as session:
            expires_at = await session.scalar(
                select(Lease.expires_at).where(
                    Lease.name == LEASE_NAME, Lease.holder == self.holder
                )
            )
        if expires_at is None or as_utc(expires_at) <= utcnow() + self.lease / 3:
            raise LeaseLost

    async def _heartbeat(self) -> None:
        """Renews the lease every third of it until cancelled or the lease is lost."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                if not await self.renew_lease():
                    logger.warning("the background-jobs lease was taken by another process")
                    return
            except Exception as exc:
                # The fence stops the sending if the lease runs out meanwhile.
                logger.warning("could not renew the background-jobs lease: %r", exc)

    async def _run(self, bot: Bot, report: ProgressCallback) -> None:
        rounds = 0
        held = False
        while True:
            try:
                holds = await self.take_lease()
                if holds and not held:
                    self.announcements.hold_off(self.announcements.interval)
                held = holds
                if held:
                    await self._work(bot, report, rounds)
            except asyncio.CancelledError:
                raise
            except LeaseLost:
                held = False
                logger.warning("the background-jobs lease is lost or running out: stopped sending")
            except Exception:
                logger.exception("a background round failed; trying again")
            rounds += 1
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), ROUND_SECONDS)

    async def _work(self, bot: Bot, report: ProgressCallback, rounds: int) -> None:
        heartbeat = asyncio.create_task(self._heartbeat())
        try:
            await self.announcements.send_unfinished(bot, report, self.fence)
            slot = partial(self.announcements.slot, self.fence)
            if rounds % REMINDER_EVERY_ROUNDS == 0:
                await self.reminders.send_due(bot, slot=slot)
            for every, job in self._periodic:
                if rounds and rounds % every == 0:
                    await job(bot, slot)
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
