"""The background-jobs lease, with two bots (two Dispatchers, as two processes) over one
database, SQLite and PostgreSQL, and a slow stand-in Bot API: one sends at a time and the pace
holds across them, a runner whose lease was taken stops before its next message, and a bot
restarted after a crash does not wait out the lease its dead predecessor left behind."""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy import delete, func, select, update

from bot.app import Content, build_dispatcher, create_bot
from bot.config import Settings
from bot.db.engine import Database
from bot.db.models import Delivery, Lease, utcnow
from bot.services.jobs import LEASE_NAME, JobRunner
from bot.standin.session import StandInSession
from bot.standin.telegram import FakeTelegram
from tests.cohort_support import (
    LEAD_A,
    SEND_NOW,
    announcements,
    copies,
    create_cohort,
    grant_lead,
    join_students,
    prepare_announcement,
    wait_finished,
    wait_until,
)
from tests.conftest import BotHarness, start_bot
from tests.feature_support import assert_no_error

TEXT = "Rehearsal starts at 16:00 sharp."


@dataclass
class Send:
    runner: str
    chat_id: int
    start: float
    end: float = float("inf")


@dataclass
class SlowTelegram:
    """The stand-in Bot API, taking `delay` seconds over each message to the students; notes
    when each one arrived and was answered, and from which bot."""

    telegram: FakeTelegram = field(default_factory=FakeTelegram)
    delay: float = 0.0
    slow_chats: set[int] = field(default_factory=set)
    sends: list[Send] = field(default_factory=list)

    def session(self, runner: str) -> StandInSession:
        slow = self

        class Session(StandInSession):
            async def make_request(
                self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None
            ) -> TelegramType:
                chat_id = getattr(method, "chat_id", None)
                if chat_id not in slow.slow_chats:
                    return await super().make_request(bot, method, timeout)
                send = Send(runner, int(chat_id), time.monotonic())
                slow.sends.append(send)
                await asyncio.sleep(slow.delay)
                try:
                    return await super().make_request(bot, method, timeout)
                finally:
                    send.end = time.monotonic()

        return Session(slow.telegram)


BotFactory = Callable[..., Awaitable[BotHarness]]


@pytest.fixture
async def start_bots(
    settings: Settings, content: Content, database: Database
) -> AsyncIterator[BotFactory]:
    """Starts bots over the test database with settings changed, each with its own engine,
    Dispatcher and job runner, talking to one SlowTelegram; stops them at the end."""
    running: list[BotHarness] = []

    async def start(slow: SlowTelegram, runner: str, **changes: Any) -> BotHarness:
        custom = settings.model_copy(update=changes)
        own_database = Database.connect(custom.database_url)
        bot = create_bot(custom, slow.session(runner))
        dispatcher = build_dispatcher(custom, content, own_database)
        await dispatcher.emit_startup(bot=bot, **dispatcher.workflow_data)
        started = BotHarness(custom, content, own_database, slow.telegram, bot, dispatcher)
        running.append(started)
        return started

    yield start
    for started in running:
        await started.stop()


async def class_of(harness: BotHarness, size: int) -> tuple[str, list[int]]:
    await grant_lead(harness, LEAD_A, "Lee")
    cohort = await create_cohort(harness, harness.user(LEAD_A, "Lee"), "Choir")
    ids = list(range(7001, 7001 + size))
    await join_students(harness, cohort.code, ids)
    return cohort.name, ids


async def press_send_now(harness: BotHarness, cohort_name: str) -> None:
    lee = harness.user(LEAD_A, "Lee")
    await prepare_announcement(lee, cohort_name, TEXT)
    assert_no_error(await lee.press(SEND_NOW))


async def pending_left(harness: BotHarness) -> int:
    async with harness.database.session_factory() as session:
        count = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.status == "pending")
        )
    return int(count or 0)


async def test_two_bots_send_one_at_a_time_within_the_rate_even_when_a_send_outlasts_the_lease(
    start_bots: BotFactory,
) -> None:
    per_second, lease = 4.0, 1.0
    slow = SlowTelegram(delay=1.3)  # each message takes longer than the lease
    first = await start_bots(
        slow, "first", broadcast_per_second=per_second, jobs_lease_seconds=lease
    )
    second = await start_bots(
        slow, "second", broadcast_per_second=per_second, jobs_lease_seconds=lease
    )
    cohort_name, ids = await class_of(first, 5)
    slow.slow_chats.update(ids)

    await press_send_now(first, cohort_name)
    second.dispatcher["jobs"].wake()
    await wait_finished(first, (await announcements(first))[-1].id)

    starts = sorted(send.start for send in slow.sends)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= 1 / per_second - 0.02, gaps
    for one in slow.sends:
        for other in slow.sends:
            overlap = one.runner != other.runner and one.start < other.end and other.start < one.end
            assert not overlap, f"{one} and {other} were sent at the same time"
    for member in ids:
        assert copies(first, member, TEXT) == 1, member
    assert sorted(send.chat_id for send in slow.sends) == ids


async def test_a_bot_whose_lease_was_taken_stops_before_its_next_message(
    start_bots: BotFactory,
) -> None:
    slow = SlowTelegram(delay=0.3)
    harness = await start_bots(slow, "first", jobs_lease_seconds=2)
    cohort_name, ids = await class_of(harness, 8)
    slow.slow_chats.update(ids)
    await press_send_now(harness, cohort_name)

    async def under_way() -> bool:
        return len(slow.sends) >= 2

    await wait_until(under_way, "the first messages")
    async with harness.database.session_factory() as session:
        await session.execute(
            update(Lease)
            .where(Lease.name == LEASE_NAME)
            .values(holder="another-process", expires_at=utcnow() + timedelta(minutes=5))
        )
        await session.commit()
    taken_at = len(slow.sends)
    await asyncio.sleep(2.0)
    # The message on its way when the lease was taken may still go out; no other.
    assert len(slow.sends) <= taken_at + 1, f"{len(slow.sends) - taken_at} sent after"
    assert await pending_left(harness) > 0

    # Once the other process lets the lease go, the rest goes out, one copy each.
    async with harness.database.session_factory() as session:
        await session.execute(delete(Lease).where(Lease.holder == "another-process"))
        await session.commit()
    await wait_finished(harness, (await announcements(harness))[-1].id)
    for member in ids:
        assert copies(harness, member, TEXT) == 1, member


async def test_a_restarted_bot_does_not_wait_out_the_lease_of_its_dead_predecessor(
    settings: Settings, content: Content, database: Database
) -> None:
    telegram = FakeTelegram()
    harness = await start_bot(settings, content, telegram)
    cohort_name, ids = await class_of(harness, 2)
    await harness.stop()

    # The predecessor took the lease, as every process does each round, and died.
    predecessor_database = Database.connect(settings.database_url)
    jobs: JobRunner = harness.dispatcher["jobs"]
    predecessor = JobRunner(
        predecessor_database.session_factory,
        jobs.announcements,
        jobs.reminders,
        settings.jobs_lease_seconds,
    )
    assert await predecessor.take_lease()
    await predecessor_database.close()

    restarted = await start_bot(settings, content, telegram)
    try:
        started = time.monotonic()
        await press_send_now(restarted, cohort_name)

        async def first_copy() -> bool:
            return any(copies(restarted, member, TEXT) for member in ids)

        await wait_until(first_copy, "the first copy", deadline=60)
        took = time.monotonic() - started
        assert took <= settings.jobs_lease_seconds + 2, f"first copy after {took:.1f} s"
        await wait_finished(restarted, (await announcements(restarted))[-1].id)
    finally:
        await restarted.stop()
