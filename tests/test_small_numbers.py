"""The small-number rule, proved on what a lead actually receives.

Pairs of worlds that differ only in what a student who hasn't agreed to share did, inside a
cell a lead sees as "<5", must give the lead byte-identical outputs: every /stats (each
cohort and all of them, each period), its chart, the cohort list, the rosters, the CSV
files and the unanswered questions. Sanity pairs show that the
outputs do move when a consenting student does the same, and that admins see the change.

Each pair is one world, rendered, then changed through real updates (or rows), and rendered
again; the clock the reports read is fixed meanwhile, so "as of" cannot tick between them.

`LEAD_OUTPUTS` is the list of what a lead can get, in the bot and on the web dashboard,
as async callables (harness, world) → list of bytes, and every pair covers them.
"""

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.db.models import ActiveDay, Student, utcnow
from bot.features.stats import queries
from bot.standin.telegram import Call
from tests.conftest import BotHarness
from tests.dashboard_support import signed_in
from tests.feature_support import assert_no_error, profile_of, take_checklist
from tests.test_stats import (
    ADMIN,
    LEAD_A,
    Plan,
    add_cohort,
    add_lead,
    lines,
    set_shares,
    walk,
)

YES = ("yes",) * 7
PERIODS = ("7", "30", "all")

# Cohort A: five who share, three who don't (two finished the checklist), one who doesn't
# and was last active 40 days ago (rows, below). Cohort B: one of each.
S1 = Plan(7_400_000_001, "Sol", "A", True, YES, 2)
S2 = Plan(7_400_000_002, "Tam", "A", True, YES)
S3 = Plan(7_400_000_003, "Uma", "A", True)
S4 = Plan(7_400_000_004, "Vic", "A", True)
S5 = Plan(7_400_000_005, "Wes", "A", True)
N1 = Plan(7_400_000_011, "Nia", "A", True, YES, shares=False)
N2 = Plan(7_400_000_012, "Oto", "A", True, YES, shares=False)
N3 = Plan(7_400_000_013, "Pia", "A", True, shares=False)
S6 = Plan(7_400_000_021, "Xan", "B", True)
N5 = Plan(7_400_000_022, "Yul", "B", True, shares=False)
PLANS = [S1, S2, S3, S4, S5, N1, N2, N3, S6, N5]
N4_ID = 7_400_000_014


@dataclass(frozen=True)
class World:
    cohort_a: int
    cohort_b: int


Output = Callable[[BotHarness, World], Awaitable[list[bytes]]]


def content_of(calls: list[Call]) -> list[bytes]:
    """What the viewer receives, without the ids Telegram numbers each message with."""
    found = []
    for call in calls:
        shown = {
            key: call.params[key]
            for key in ("text", "caption", "reply_markup", "show_alert")
            if key in call.params
        }
        found.append(f"{call.method} {sorted(shown.items())!r}".encode())
        found.extend(call.files[name] for name in sorted(call.files))
    return found


async def received(harness: BotHarness, sending: Awaitable[object]) -> list[bytes]:
    before = len(harness.telegram.calls)
    await sending
    return content_of(harness.telegram.calls[before:])


async def stats_overall(harness: BotHarness, world: World, viewer: int = LEAD_A) -> list[bytes]:
    found = []
    for period in PERIODS:
        found += await received(harness, harness.user(viewer, "Lea").send(f"/stats {period}"))
    return found


async def stats_per_cohort(harness: BotHarness, world: World, viewer: int = LEAD_A) -> list[bytes]:
    found = []
    for cohort in (world.cohort_a, world.cohort_b):
        for period in PERIODS:
            data = f"a:stats_cohort:{cohort}.{period}"
            found += await received(harness, harness.user(viewer, "Lea").press_data(data))
    return found


async def cohort_list(harness: BotHarness, world: World, viewer: int = LEAD_A) -> list[bytes]:
    return await received(harness, harness.user(viewer, "Lea").send("/cohorts"))


async def rosters(harness: BotHarness, world: World, viewer: int = LEAD_A) -> list[bytes]:
    found = []
    for cohort in (world.cohort_a, world.cohort_b):
        data = f"a:roster:{cohort}.1"
        found += await received(harness, harness.user(viewer, "Lea").press_data(data))
    return found


async def csv_files(harness: BotHarness, world: World, viewer: int = LEAD_A) -> list[bytes]:
    found = await received(harness, harness.user(viewer, "Lea").send("/export"))
    for cohort in (world.cohort_a, world.cohort_b):
        data = f"a:export_cohort:{cohort}"
        found += await received(harness, harness.user(viewer, "Lea").press_data(data))
    return found


async def unanswered(harness: BotHarness, world: World, viewer: int = LEAD_A) -> list[bytes]:
    found = []
    for scope in (world.cohort_a, world.cohort_b, "all"):
        data = f"a:unanswered:{scope}"
        found += await received(harness, harness.user(viewer, "Lea").press_data(data))
    return found


async def dashboard(harness: BotHarness, world: World, viewer: int = LEAD_A) -> list[bytes]:
    """Every page, chart and CSV of the web dashboard, each period, for a fresh session
    (its CSRF token, which differs per session, is left out)."""
    prefix = harness.settings.dashboard_path
    paths = [f"{prefix}/?period={period}" for period in PERIODS]
    for cohort in (world.cohort_a, world.cohort_b):
        here = f"{prefix}/cohorts/{cohort}"
        paths += [f"{here}?period={period}" for period in PERIODS]
        paths += [f"{here}/chart.png?period={period}" for period in PERIODS]
        paths.append(f"{here}/export.csv")

    def clock() -> datetime:
        return queries.utcnow()  # the reports' standing clock (the world fixture)

    found = []
    dashboard = signed_in(harness.settings, harness.content, harness.database, viewer, clock)
    async with dashboard as (client, headers):
        for path in paths:
            response = await client.get(path, headers=headers)
            assert response.status == 200, path
            body = await response.read()
            found.append(re.sub(rb'name="csrf_token" value="[^"]*"', b"", body))
    return found


# Everything a lead can be shown about students (the digest has its own test of names).
LEAD_OUTPUTS: list[Output] = [
    stats_overall,
    stats_per_cohort,
    cohort_list,
    rosters,
    csv_files,
    unanswered,
    dashboard,
]


async def lead_outputs(harness: BotHarness, world: World) -> list[bytes]:
    found = []
    for output in LEAD_OUTPUTS:
        found += await output(harness, world)
    return found


async def admin_outputs(harness: BotHarness, world: World) -> list[bytes]:
    return await stats_overall(harness, world, ADMIN) + await stats_per_cohort(
        harness, world, ADMIN
    )


@pytest.fixture
async def world(harness: BotHarness, monkeypatch: pytest.MonkeyPatch) -> World:
    now = utcnow()
    # The reports' clock stands still, so that a pair's two renderings share "as of".
    monkeypatch.setattr("bot.features.stats.queries.utcnow", lambda: now)
    profile = profile_of(harness.content)
    await add_lead(harness, LEAD_A, "Lead A")
    cohort_a = await add_cohort(harness, "Class A", "codeAAAAAAAAAAAA", LEAD_A)
    cohort_b = await add_cohort(harness, "Class B", "codeBBBBBBBBBBBB", LEAD_A)
    for plan in PLANS:
        await walk(harness, plan, profile)
    async with harness.database.session_factory() as session:
        away = now - timedelta(days=40)
        quiet = Student(
            telegram_id=N4_ID,
            first_name="Quo",
            cohort_id=cohort_a,
            joined_cohort_at=now - timedelta(days=60),
            first_seen=now - timedelta(days=60),
            last_seen=away,
            shares=False,
        )
        session.add(quiet)
        await session.flush()
        session.add(ActiveDay(student_id=quiet.id, day=away.date()))
        await session.commit()
    await set_shares(harness, {plan.telegram_id: plan.shares for plan in PLANS})
    return World(cohort_a, cohort_b)


async def finish_checklist(harness: BotHarness, plan: Plan) -> None:
    student = harness.user(plan.telegram_id, plan.name)
    assert_no_error(await student.send("/menu"))
    assert_no_error(await take_checklist(student, YES))


async def come_back(harness: BotHarness, telegram_id: int) -> None:
    """The quiet student is active again today (and the day counts, as for anyone)."""
    assert_no_error(await harness.user(telegram_id, "Quo").send("/menu"))
    async with harness.database.session_factory() as session:
        student_id = await session.scalar(
            select(Student.id).where(Student.telegram_id == telegram_id)
        )
        day = await session.scalar(
            select(ActiveDay.day).where(
                ActiveDay.student_id == student_id, ActiveDay.day == utcnow().date()
            )
        )
    assert day is not None, "the bot records the day a student is active"


async def assert_hidden(harness: BotHarness, world: World, change: Awaitable[None]) -> None:
    before = await lead_outputs(harness, world)
    await change
    after = await lead_outputs(harness, world)
    assert len(before) == len(after)
    for number, (old, new) in enumerate(zip(before, after, strict=True)):
        assert old == new, f"output {number} changed:\n{old[:400]!r}\n{new[:400]!r}"


async def test_a_non_sharer_finishing_the_checklist_is_invisible_to_the_lead(
    harness: BotHarness, world: World
) -> None:
    # Two of cohort A's non-sharers finished it: 2 → 3, both "<5".
    await assert_hidden(harness, world, finish_checklist(harness, N3))


async def test_a_non_sharer_active_again_is_invisible_to_the_lead(
    harness: BotHarness, world: World
) -> None:
    # Cohort A's non-sharers active in the last 7 / 30 days: 3 → 4, both "<5".
    await assert_hidden(harness, world, come_back(harness, N4_ID))


async def test_both_at_once_are_invisible_to_the_lead(harness: BotHarness, world: World) -> None:
    async def both() -> None:
        await finish_checklist(harness, N3)
        await come_back(harness, N4_ID)

    await assert_hidden(harness, world, both())


async def test_a_sharer_doing_the_same_shows(harness: BotHarness, world: World) -> None:
    """Sanity: the outputs are sensitive, so identical outputs above mean something."""
    before = await lead_outputs(harness, world)
    await finish_checklist(harness, S5)
    after = await lead_outputs(harness, world)
    assert before != after
    assert "Class A: 5 → 5 → 3 → 1 → 0" not in shown(before)
    assert "Class A: 5 → 5 → 3 → 1 → 0" in shown(after)


async def test_a_sharer_active_again_shows(harness: BotHarness, world: World) -> None:
    before = await lead_outputs(harness, world)
    await set_shares(harness, {N4_ID: True})
    await come_back(harness, N4_ID)
    assert await lead_outputs(harness, world) != before


async def test_an_admin_sees_the_hidden_change(harness: BotHarness, world: World) -> None:
    before = await admin_outputs(harness, world)
    await finish_checklist(harness, N3)
    assert await admin_outputs(harness, world) != before


async def test_the_lead_sees_the_hidden_funnel_as_designed(
    harness: BotHarness, world: World
) -> None:
    """What the pairs hide, as the lead reads it: membership exact, non-sharers per cohort."""
    found = lines(await harness.user(LEAD_A, "Lea").send("/stats all"))
    assert "In your cohorts: 11 · agreed to share: 6" in found
    hidden = "agreed to share · Haven't shared (all time)"
    assert f"9 students, 5 {hidden}: <5 → <5 → <5 → 0 → 0" in found
    assert f"2 students, 1 {hidden}: <5 → <5 → 0 → 0 → 0" in found


def shown(outputs: list[bytes]) -> str:
    return "\n".join(output.decode("utf-8", "replace") for output in outputs)
