"""/stats, the chart and /export, through the real Dispatcher on SQLite and PostgreSQL.

Students join cohorts through their invite links and walk the tour, the checklist and the
project by pressing buttons; then an admin, two program leads and a student ask for the stats.
The expected numbers come from what the students did in the test, not from the code.
"""

import csv
import io
import re
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from matplotlib.text import Text
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.exc import OperationalError

from bot.app import load_content
from bot.config import Settings
from bot.content.models import Profile
from bot.db.engine import Database
from bot.db.models import ActiveDay, Cohort, Event, Secret, Staff, Student, utcnow
from bot.features.checklist.service import signs_of
from bot.features.stats.charts import build_figure, render_chart
from bot.features.stats.export import COLUMNS, ExportRow, pseudonym, write_csv
from bot.features.stats.queries import StatsService
from bot.features.stats.report import (
    LOW_COUNT,
    Count,
    Day,
    Funnel,
    PeriodUnknown,
    count_for,
    parse_period,
    sample_report,
)
from bot.services.roles import Role, Viewer
from bot.services.secrets import PSEUDONYM_KEY
from bot.standin.conversation import Reply
from bot.standin.telegram import FakeTelegram
from tests.cli_support import clean_env, run_careerbot
from tests.conftest import BotHarness, start_bot
from tests.feature_support import (
    CHECKLIST_BUTTON,
    CHECKLIST_START,
    DIALOGS,
    SLUG,
    answer_signs,
    assert_no_error,
    count,
    do_steps,
    open_checklist,
    press_in_more,
    profile_of,
    start_project,
    statements_run,
    take_checklist,
    toasts,
)
from tests.tour_support import plain, texts

ADMIN = 900  # settings.admin_ids in tests/conftest.py
LEAD_A, LEAD_B = 7_000_000_701, 7_000_000_702
UNKNOWN_COMMAND = DIALOGS.message("unknown_command")
MENU_CHANGED = DIALOGS.message("menu_changed")
PAY_QUESTION = "how much do they earn"
# The consent screen after joining a cohort (dialogs/privacy.yaml).
SHARE_YES, SHARE_NOT_NOW = "✅ Yes, share", "Not now"
ODD_QUESTION = "can i keep a hamster in the studio"


@dataclass(frozen=True)
class Plan:
    """What one student does."""

    telegram_id: int
    name: str
    cohort: str | None  # "A", "B" or none
    explore: bool = False
    checklist: tuple[str, ...] = ()
    project_steps: int | None = None  # None: never starts the project
    questions: tuple[str, ...] = ()
    shares: bool = True  # agreed to share their progress with the program's lead


# Seven signs: the four it fits, then the three warning signs.
PLANS = [
    Plan(
        7_100_000_001,
        "Zelda",
        "A",
        True,
        ("yes", "yes", "unsure", "no", "no", "no", "yes"),
        5,
        (PAY_QUESTION,),
    ),
    Plan(7_100_000_002, "Yorick", "A", True, ("yes",) * 4 + ("no",) * 3, 2),
    Plan(7_100_000_003, "Xavia", "A", True, ("no",) * 4 + ("yes",) * 3, None, (ODD_QUESTION,)),
    Plan(7_100_000_004, "Wendell", "A", True),
    Plan(7_100_000_005, "Valka", "A", True),
    Plan(7_100_000_006, "Ulrike", "A", True, questions=(PAY_QUESTION,), shares=False),
    Plan(7_100_000_007, "Tobiah", "A", shares=False),
    Plan(7_100_000_011, "Saoirse", "B", True, ("unsure",) * 7),
    Plan(7_100_000_012, "Rurik", "B", shares=False),
    Plan(7_100_000_021, "Quentin", None, questions=(PAY_QUESTION,)),
]


@dataclass(frozen=True)
class World:
    cohort_a: int
    cohort_b: int


async def add_cohort(harness: BotHarness, name: str, code: str, lead: int) -> int:
    async with harness.database.session_factory() as session:
        cohort = Cohort(code=code, name=name, lead_id=lead, career=None)
        session.add(cohort)
        await session.commit()
        return cohort.id


async def add_lead(harness: BotHarness, telegram_id: int, name: str) -> None:
    async with harness.database.session_factory() as session:
        session.add(Staff(telegram_id=telegram_id, name=name, granted_by=ADMIN))
        await session.commit()


async def walk(harness: BotHarness, plan: Plan, profile: Profile) -> None:
    student = harness.user(plan.telegram_id, plan.name)
    codes = {"A": "codeAAAAAAAAAAAA", "B": "codeBBBBBBBBBBBB"}
    replies = await student.send(f"/start {codes[plan.cohort]}" if plan.cohort else "/start")
    assert_no_error(replies)
    if plan.cohort:
        assert_no_error(await student.press(SHARE_YES if plan.shares else SHARE_NOT_NOW))
    if plan.checklist:
        assert_no_error(await take_checklist(student, plan.checklist))
    elif plan.explore:
        assert_no_error(await student.press(CHECKLIST_BUTTON))
    if plan.project_steps is not None:
        await start_project(student, profile)
        await do_steps(student, profile, plan.project_steps)
    for question in plan.questions:
        assert_no_error(await student.send(question))


@pytest.fixture
async def world(harness: BotHarness) -> World:
    profile = profile_of(harness.content)
    fits, misfits = len(profile.checklist.fits), len(profile.checklist.misfits)
    assert (fits, misfits) == (4, 3), "the plans' answers are written for 4 + 3 signs"
    assert len(profile.project.steps) == 5, "the plans are written for a 5-step project"
    await add_lead(harness, LEAD_A, "Lead A")
    await add_lead(harness, LEAD_B, "Lead B")
    cohort_a = await add_cohort(harness, "Class A", "codeAAAAAAAAAAAA", LEAD_A)
    cohort_b = await add_cohort(harness, "Class B", "codeBBBBBBBBBBBB", LEAD_B)
    for plan in PLANS:
        await walk(harness, plan, profile)
    await set_shares(harness, {plan.telegram_id: plan.shares for plan in PLANS if plan.cohort})
    return World(cohort_a, cohort_b)


async def set_shares(harness: BotHarness, shares: dict[int, bool | None]) -> None:
    """What each student answered on the consent screen (by Telegram id)."""
    async with harness.database.session_factory() as session:
        for telegram_id, value in shares.items():
            await session.execute(
                update(Student).where(Student.telegram_id == telegram_id).values(shares=value)
            )
        await session.commit()


async def internal_ids(harness: BotHarness) -> dict[int, int]:
    """Telegram id → internal id of every student row."""
    async with harness.database.session_factory() as session:
        rows = await session.execute(select(Student.telegram_id, Student.id))
        return {telegram_id: internal for telegram_id, internal in rows.all()}


async def stored_key(harness: BotHarness) -> str:
    """The pseudonyms' key the bot made (the tests set no PSEUDONYM_KEY)."""
    async with harness.database.session_factory() as session:
        key = await session.scalar(select(Secret.value).where(Secret.name == PSEUDONYM_KEY))
    assert key is not None, "no pseudonym key was stored"
    return key


def report_text(replies: list[Reply]) -> str:
    return "\n".join(plain(text) for text in texts(replies))


def lines(replies: list[Reply]) -> list[str]:
    return [line.strip() for line in report_text(replies).splitlines() if line.strip()]


def photos(replies: list[Reply], harness: BotHarness) -> list[bytes]:
    sent = [call for call in harness.telegram.calls if call.method == "sendPhoto"]
    count = sum(1 for reply in replies if reply.method == "sendPhoto")
    return [next(iter(call.files.values())) for call in sent[len(sent) - count :]]


def documents(replies: list[Reply], harness: BotHarness) -> list[tuple[str, bytes]]:
    sent = [call for call in harness.telegram.calls if call.method == "sendDocument"]
    count = sum(1 for reply in replies if reply.method == "sendDocument")
    found = []
    for call in sent[len(sent) - count :]:
        upload = next(iter(call.files.values()))
        found.append((str(call.params.get("caption", "")), upload))
    return found


def csv_rows(upload: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(upload.decode("utf-8-sig"))))


def funnel_lines(started: str, explored: str, checklist: str, begun: str, done: str) -> list[str]:
    return [
        f"▸ Active in the period: {started}",
        f"→ Explored the tour: {explored}",
        f"→ Finished the checklist: {checklist}",
        f"→ Started the project: {begun}",
        f"→ Finished the project: {done}",
    ]


def assert_contains_in_order(found: list[str], expected: list[str]) -> None:
    """Each expected line starts a line of `found`, in this order."""
    position = 0
    for line in expected:
        while position < len(found) and not found[position].startswith(line):
            position += 1
        assert position < len(found), f"{line!r} missing or out of order in {found}"
        position += 1


async def test_admin_sees_exact_numbers_and_a_chart(harness: BotHarness, world: World) -> None:
    # Staff have student rows too (everyone who writes has one): they are never counted.
    await harness.user(LEAD_A, "Lea").send("/menu")
    admin = harness.user(ADMIN, "Ada")
    replies = await admin.send("/stats")
    assert_no_error(replies)
    found = lines(replies)
    assert found[0] == "📊 Stats · all students"
    assert "Started in the period: 10" in found
    assert "Students: 10 · agreed to share: 6" in found
    assert "Active today: 10 · last 7 days: 10 · last 30 days: 10" in found
    assert_contains_in_order(found, funnel_lines("10", "8 (80%)", "4 (40%)", "2 (20%)", "1 (10%)"))
    # Where the students are now: their last screen.
    assert "Answer: pay: 3" in found  # Zelda, Ulrike and Quentin asked last
    assert not any(line.startswith(("answer_", "checklist_")) for line in found)
    assert "pay: 3" in found and not any(line.startswith("unknown:") for line in found)
    assert "Unanswered questions: 1" in found
    assert f"1 × “{ODD_QUESTION}”" in found
    assert_contains_in_order(
        found,
        [
            "Class A: 7 → 6 → 3 → 2 → 1",
            "Class B: 2 → 1 → 1 → 0 → 0",
            "No cohort: 1 → 1 → 0 → 0 → 0",
        ],
    )
    assert f"{profile_of(harness.content).title}: 10 → 8 → 4 → 2 → 1" in found
    assert "<5" not in report_text(replies)
    (chart,) = photos(replies, harness)
    assert chart.startswith(b"\x89PNG")
    # The report has buttons to each cohort's own stats.
    labels = [label for reply in replies for label in reply.labels]
    assert "📊 Class A" in labels and "📊 Class B" in labels


async def test_admin_stats_of_one_cohort_and_its_export(harness: BotHarness, world: World) -> None:
    admin = harness.user(ADMIN, "Ada")
    await admin.send("/stats")
    replies = await admin.press("📊 Class B")
    assert_no_error(replies)
    found = lines(replies)
    assert found[0] == "📊 Stats · Class B"
    assert_contains_in_order(found, funnel_lines("2", "1 (50%)", "1 (50%)", "0 (0%)", "0 (0%)"))
    assert len(photos(replies, harness)) == 1
    replies = await admin.press("📄 Export CSV")
    ((_, upload),) = documents(replies, harness)
    assert len(csv_rows(upload)) == 2


async def test_a_lead_sees_sharing_students_exactly_and_the_others_only_as_a_funnel(
    harness: BotHarness, world: World
) -> None:
    lead = harness.user(LEAD_A, "Lea")
    replies = await lead.send("/stats")
    assert_no_error(replies)
    found = lines(replies)
    text = report_text(replies)
    assert found[0] == "📊 Stats · your cohorts"
    assert "Haven't shared" in text and "fewer than 5 show as <5" in text
    assert "/stats all" in text
    # Membership is exact; the five who agreed are counted exactly everywhere.
    assert "In your cohorts: 7 · agreed to share: 5" in found
    assert "Started in the period: 5" in found
    assert "Active today: 5 · last 7 days: 5 · last 30 days: 5" in found
    assert_contains_in_order(found, funnel_lines("5", "5 (100%)", "3 (60%)", "2 (40%)", "1 (20%)"))
    assert "Class A: 5 → 5 → 3 → 2 → 1" in found
    # Ulrike and Tobiah haven't shared: only here, and 1-4 read "<5".
    assert "7 students, 5 agreed to share · Haven't shared (all time): <5 → <5 → 0 → 0 → 0" in found
    assert "pay: 1" in found  # Zelda's question; Ulrike's is not counted
    assert "Unanswered questions: 1" in found  # Xavia's
    assert ODD_QUESTION not in text  # leads never see what students typed
    # Screens by title, never by node id.
    assert "Answer: pay: 1" in found
    assert not any(line.startswith(("answer_", "checklist_")) for line in found)
    # Nothing of the other lead's cohort, nor of students in no cohort.
    assert "Class B" not in text and "No cohort" not in text
    assert len(photos(replies, harness)) == 1
    labels = [label for reply in replies for label in reply.labels]
    assert labels[:3] == ["7 days", "• 30 days", "All time"]


async def test_the_other_lead_sees_nothing_of_it(harness: BotHarness, world: World) -> None:
    lead = harness.user(LEAD_B, "Leo")
    replies = await lead.send("/stats all")
    found = lines(replies)
    text = report_text(replies)
    assert "All time" in found[1]
    assert "Class A" not in text
    assert_contains_in_order(found, funnel_lines("1", "1 (100%)", "1 (100%)", "0 (0%)", "0 (0%)"))
    assert "Class B: 1 → 1 → 1 → 0 → 0" in found
    assert "2 students, 1 agreed to share · Haven't shared (all time): <5 → 0 → 0 → 0 → 0" in found
    replies = await lead.send("/export")
    ((_, upload),) = documents(replies, harness)
    rows = csv_rows(upload)
    assert len(rows) == 2 and {row["cohort"] for row in rows} == {"Class B"}


async def test_forged_cohort_buttons_of_another_lead_are_refused(
    harness: BotHarness, world: World
) -> None:
    lead = harness.user(LEAD_A, "Lea")
    await lead.send("/stats")
    before = len(harness.telegram.calls)
    for data in (
        f"a:stats_cohort:{world.cohort_b}",
        f"a:stats_cohort:{world.cohort_b}.all",
        f"a:export_cohort:{world.cohort_b}",
        "a:stats_cohort:999999",
        "a:stats_cohort:junk",
        "a:export_cohort:",
    ):
        replies = await lead.press_data(data)
        assert toasts(replies) == [MENU_CHANGED], data
        assert [reply.method for reply in replies] == ["answerCallbackQuery"], data
    sent = [call.method for call in harness.telegram.calls[before:]]
    assert "sendPhoto" not in sent and "sendDocument" not in sent
    # Their own cohort's buttons work.
    replies = await lead.press_data(f"a:stats_cohort:{world.cohort_a}")
    assert lines(replies)[0] == "📊 Stats · Class A"


async def test_a_student_gets_the_unknown_command_treatment(
    harness: BotHarness, world: World
) -> None:
    student = harness.user(PLANS[0].telegram_id, PLANS[0].name)
    for command in ("/stats", "/stats all", "/export"):
        replies = await student.send(command)
        assert UNKNOWN_COMMAND in texts(replies), command
        assert not {"sendPhoto", "sendDocument"} & {reply.method for reply in replies}
        assert "Stats" not in report_text(replies)
    # A replayed staff button is an unknown button to a student.
    for data in (f"a:stats_cohort:{world.cohort_a}", f"a:export_cohort:{world.cohort_a}"):
        replies = await student.press_data(data)
        assert MENU_CHANGED in toasts(replies)
        assert not {"sendPhoto", "sendDocument"} & {reply.method for reply in replies}


async def test_export_has_one_row_per_student_named_only_when_shared(
    harness: BotHarness, world: World
) -> None:
    admin = harness.user(ADMIN, "Ada")
    replies = await admin.send("/export")
    assert_no_error(replies)
    ((caption, upload),) = documents(replies, harness)
    assert caption == DIALOGS.message("export_caption")
    content = upload.decode("utf-8-sig")
    rows = csv_rows(upload)
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == len(PLANS)  # staff are not students
    # Whole-token search: a random hex pseudonym may contain "900" by chance.
    for plan in PLANS:
        assert not re.search(rf"\b{plan.telegram_id}\b", content)
        # Named only with their yes; Quentin, in no cohort, was never asked.
        assert (plan.name in content) == (plan.cohort is not None and plan.shares)
    for staff in (ADMIN, LEAD_A, LEAD_B):
        assert not re.search(rf"\b{staff}\b", content)
    by_telegram = await internal_ids(harness)
    key = await stored_key(harness)
    rows_by_student = {row["student"]: row for row in rows}
    assert len(rows_by_student) == len(rows)
    today = utcnow().date().isoformat()
    profile = profile_of(harness.content)
    zelda = rows_by_student["Zelda"]
    assert zelda["joined"].startswith(today + "T") and zelda["joined"].endswith("Z")
    assert zelda["last_active"].startswith(today + "T") and zelda["last_active"].endswith("Z")
    assert zelda["last_note"][:10] in ("", today)
    assert zelda == {
        **zelda,
        "pseudonym": pseudonym(by_telegram[PLANS[0].telegram_id], key),
        "cohort": "Class A",
        "shares": "yes",
        "quiet": "no",
        "career": profile.title,
        "careers_tried": profile.title,
        "checklist_signs": "7",
        "checklist_signs_answered": "",
        "checklist_finished": "yes",
        "checklist_result": "mixed",
        "project_started": "yes",
        "project_step": "",
        "project_step_title": "",
        "project_steps": "5",
        "project_finished": "yes",
        "iterations": "1",
    }
    yorick = rows_by_student["Yorick"]
    assert (yorick["checklist_result"], yorick["project_step"]) == ("strong", "3")
    assert yorick["project_step_title"] == profile.project.steps[2].title
    assert (yorick["project_started"], yorick["project_finished"]) == ("yes", "no")
    xavia = rows_by_student["Xavia"]
    assert (xavia["checklist_result"], xavia["project_started"]) == ("weak", "no")
    # Tobiah said not now: "Student 7" (the seventh to join Class A); an admin sees his row.
    tobiah = rows_by_student["Student 7"]
    assert (tobiah["cohort"], tobiah["shares"]) == ("Class A", "no")
    assert tobiah["pseudonym"] == pseudonym(by_telegram[PLANS[6].telegram_id], key)
    assert tobiah["checklist_finished"] == "no" and tobiah["last_active"].startswith(today)
    quentin = rows_by_student["Student 1"]
    assert quentin["cohort"] == "" and quentin["career"] == profile.title
    # A lead's export: their cohort only; Tobiah's row says only that he hasn't shared.
    replies = await harness.user(LEAD_A, "Lea").send("/export")
    ((_, upload),) = documents(replies, harness)
    lead_rows = {row["student"]: row for row in csv_rows(upload)}
    assert len(lead_rows) == 7 and {row["cohort"] for row in lead_rows.values()} == {"Class A"}
    assert lead_rows["Zelda"] == zelda
    assert lead_rows["Student 7"] == {
        **{column: "" for column in COLUMNS},
        "student": "Student 7",
        "cohort": "Class A",
        "shares": "no",
    }


async def test_period_arguments(harness: BotHarness, world: World) -> None:
    admin = harness.user(ADMIN, "Ada")
    # Someone who started long ago and was active 10 days ago.
    async with harness.database.session_factory() as session:
        veteran = Student(
            telegram_id=7_200_000_001,
            first_name="Old",
            first_seen=utcnow() - timedelta(days=90),
            last_seen=utcnow() - timedelta(days=10),
        )
        session.add(veteran)
        await session.flush()
        session.add(ActiveDay(student_id=veteran.id, day=(utcnow() - timedelta(days=10)).date()))
        await session.commit()
    # The veteran started 90 days ago but was active 10 days ago: in the 30 days' funnel.
    expected = {
        "/stats": ("Students active in the last 30 days", "Started in the period: 10", "11"),
        "/stats 30": ("Students active in the last 30 days", "Started in the period: 10", "11"),
        "/stats 7": ("Students active in the last 7 days", "Started in the period: 10", "10"),
        "/stats all": ("All time", "Started in the period: 11", "11"),
        "/stats ALL": ("All time", "Started in the period: 11", "11"),
    }
    for command, (period, started, active) in expected.items():
        replies = await admin.send(command)
        assert_no_error(replies)
        found = lines(replies)
        assert found[1].startswith(period), (command, found[1])
        assert started in found, command
        assert f"▸ Active in the period: {active}" in found, command
        assert len(photos(replies, harness)) == 1
    found = lines(await admin.send("/stats 7"))
    assert "Active today: 10 · last 7 days: 10 · last 30 days: 11" in found
    # Junk is refused with a clear message, not read as the default.
    for command in ("/stats banana", "/stats -5", "/stats 7 30", "/stats 365", "/stats <b>\x00"):
        replies = await admin.send(command)
        assert_no_error(replies)
        assert texts(replies) == [DIALOGS.message("stats_period_unknown")], command
        assert not photos(replies, harness)
    # The period buttons: each period, of all cohorts or of one.
    replies = await admin.press("All time")
    assert lines(replies)[1].startswith("All time")
    replies = await admin.press_data(f"a:stats_period:7.{world.cohort_b}")
    found = lines(replies)
    assert found[0] == "📊 Stats · Class B" and "last 7 days" in found[1]
    labels = [label for reply in replies for label in reply.labels]
    assert "• 7 days" in labels and "📊 Class A" not in labels


async def test_a_lead_without_cohorts(harness: BotHarness) -> None:
    await add_lead(harness, LEAD_A, "Lead A")
    await harness.user(7_100_000_001, "Zelda").send("/start")
    replies = await harness.user(LEAD_A, "Lea").send("/stats")
    assert_no_error(replies)
    text = report_text(replies)
    assert "You have no cohorts yet" in text
    assert "Started in the period: 0" in text
    replies = await harness.user(LEAD_A, "Lea").send("/export")
    assert DIALOGS.message("export_empty") in texts(replies)


async def test_stats_do_not_count_as_student_events(harness: BotHarness, world: World) -> None:
    before = await count(harness, Event)
    await harness.user(ADMIN, "Ada").send("/stats")
    await harness.user(LEAD_A, "Lea").send("/stats 7")
    await harness.user(LEAD_A, "Lea").press_data(f"a:stats_cohort:{world.cohort_a}")
    await harness.user(LEAD_A, "Lea").send("/export")
    assert await count(harness, Event) == before


async def test_reports_read_without_holding_up_the_bot(harness: BotHarness, world: World) -> None:
    """The bot's SQLite connection runs on the event loop: a report over a big database would
    hold up every student while it reads. /stats and /export read on connections of their
    own, in other threads, that cannot write. PostgreSQL's driver never blocks the loop."""
    database = harness.database
    if database.engine.dialect.name != "sqlite":
        assert database.report_engine is database.engine
        return
    event.listen(
        database.report_engine.sync_engine,
        "connect",
        lambda connection, _record: connection.create_function(
            "reading_thread", 0, threading.get_ident
        ),
    )
    admin = harness.user(ADMIN, "Ada")
    with statements_run(database.report_engine) as read:
        assert_no_error(await admin.send("/stats"))
    assert any("FROM students" in statement for statement in read), "/stats read here"
    with statements_run(database.report_engine) as read:
        assert_no_error(await admin.send("/export"))
    assert any("FROM students" in statement for statement in read), "/export read here"
    async with database.report_sessions() as reading:
        thread = (await reading.execute(select(func.reading_thread()))).scalar_one()
        assert thread != threading.get_ident(), "not on the event loop's thread"
        with pytest.raises(OperationalError, match="readonly"):
            await reading.execute(delete(Event))


async def test_the_report_alone(harness: BotHarness, world: World) -> None:
    service = StatsService(harness.content.catalog, harness.settings.admin_ids)
    async with harness.database.session_factory() as session:
        admin = await service.report(session, Viewer(ADMIN, Role.ADMIN), None, 30)
        lead = await service.report(session, Viewer(LEAD_A, Role.LEAD), None, None)
        other = await service.report(session, Viewer(LEAD_B, Role.LEAD), world.cohort_a, None)
        own = await service.report(session, Viewer(LEAD_A, Role.LEAD), world.cohort_a, 7)
        missing = await service.report(session, Viewer(ADMIN, Role.ADMIN), 999_999, 7)
    assert admin is not None and lead is not None and own is not None
    assert other is None and missing is None
    assert admin.funnel.active == Count(10) and admin.funnel.project_finished == Count(1)
    assert [day.count for day in admin.daily][-1] == Count(10)
    assert len(admin.daily) == 30
    assert lead.funnel.checklist == Count(3) and lead.funnel.active == Count(5)
    # The cohorts were made today: the chart starts today, with no day before them.
    assert len(lead.daily) == 1 and len(own.daily) == 1
    assert own.cohort_name == "Class A"
    assert all(row.count.exact is not None for row in lead.nodes)
    (class_a,) = lead.cohorts
    assert (class_a.members, class_a.sharing) == (7, 5)
    assert class_a.unshared is not None and str(class_a.unshared.active) == "<5"


async def test_cli_stats_and_export(harness: BotHarness, world: World, tmp_path: Path) -> None:
    env = clean_env(tmp_path, DATABASE_URL=harness.settings.database_url)

    def careerbot(*args: str) -> subprocess.CompletedProcess[str]:
        return run_careerbot(*args, cwd=tmp_path, env=env)

    result = careerbot("stats")
    assert result.returncode == 0, result.stderr
    assert "Stats · all students" in result.stdout
    assert "Started in the period: 10" in result.stdout and "<b>" not in result.stdout
    result = careerbot("stats", "--cohort", str(world.cohort_a), "--days", "all")
    assert result.returncode == 0, result.stderr
    assert "Stats · Class A" in result.stdout and "All time" in result.stdout
    assert "Students: 7 · agreed to share: 5" in result.stdout  # exact, as an admin
    assert "Haven't shared: 2 → 1 → 0 → 0 → 0" in result.stdout
    result = careerbot("stats", "--cohort", "999999")
    assert result.returncode == 1 and "999999" in result.stderr
    result = careerbot("export")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == len(PLANS)
    target = tmp_path / "class-a.csv"
    result = careerbot("export", "--cohort", str(world.cohort_a), "-o", str(target))
    assert result.returncode == 0, result.stderr
    written = target.read_bytes()
    assert written.startswith(b"\xef\xbb\xbf"), "a BOM, as the bot's upload has"
    assert len(list(csv.DictReader(io.StringIO(written.decode("utf-8-sig"))))) == 7


# Units: the "<5" rule, the period, the CSV, the chart.


@pytest.mark.parametrize("value", range(LOW_COUNT + 3))
def test_numbers_below_five_are_hidden_from_leads_only(value: int) -> None:
    lead, admin = count_for(value, exact=False), count_for(value, exact=True)
    assert str(admin) == str(value) and admin.exact == value
    if value == 0:
        assert str(lead) == "0" and lead.exact == 0
    elif value < LOW_COUNT:
        assert str(lead) == "<5" and lead.exact is None and lead.hidden
    else:
        assert str(lead) == str(value) and lead.exact == value


def test_a_hidden_step_has_no_percentage() -> None:
    shown = [count_for(value, exact=False) for value in (40, 31, 4, 1, 0)]
    steps = Funnel(*shown).steps
    assert [step.percent for step in steps] == [100, 78, None, None, 0]
    assert [str(step.count) for step in steps] == ["40", "31", "<5", "<5", "0"]


@pytest.mark.parametrize(
    ("text", "days"),
    [
        (None, 30),
        ("", 30),
        ("7", 7),
        ("30", 30),
        ("all", None),
        (" All ", None),
    ],
)
def test_parse_period(text: str | None, days: int | None) -> None:
    assert parse_period(text) == days


@pytest.mark.parametrize("text", ["x", "365", "0", "-5", "7 30", "<b>", "\x00", "7" * 5000])
def test_junk_periods_are_refused(text: str) -> None:
    with pytest.raises(PeriodUnknown):
        parse_period(text)


def test_csv_columns_and_pseudonyms() -> None:
    row = ExportRow(
        "Ann",
        "abc",
        'Class, "7B"',
        "yes",
        "2026-01-02T09:30:00Z",
        "2026-01-03T10:00:00Z",
        "no",
        "Music Producer",
        "Music Producer; Sound Designer",
        3,
        8,
        "",
        7,
        "yes",
        "strong",
        "yes",
        2,
        "Make a beat",
        5,
        "no",
        1,
        "2026-01-03T10:00:00Z",
    )
    parsed = list(csv.reader(io.StringIO(write_csv([row]))))
    assert parsed[0] == [
        "student",
        "pseudonym",
        "cohort",
        "shares",
        "joined",
        "last_active",
        "quiet",
        "career",
        "careers_tried",
        "tour_sections_seen",
        "tour_sections",
        "checklist_signs_answered",
        "checklist_signs",
        "checklist_finished",
        "checklist_result",
        "project_started",
        "project_step",
        "project_step_title",
        "project_steps",
        "project_finished",
        "iterations",
        "last_note",
    ]
    assert parsed[1] == [str(value) for value in row.values()]
    assert parsed[1][2] == 'Class, "7B"'
    assert pseudonym(1, "key") == pseudonym(1, "key")
    assert pseudonym(1, "key") != pseudonym(2, "key")
    assert pseudonym(1, "key") != pseudonym(1, "other key")
    assert len(pseudonym(1, "k" * 200)) == 16


def test_the_chart_never_draws_a_hidden_number() -> None:
    hidden = Count(None)
    report = replace(
        sample_report(exact=False),
        funnel=Funnel(Count(40), Count(31), hidden, hidden, hidden),
        daily=[
            Day(day.day, hidden if index % 2 else Count(7))
            for index, day in enumerate(sample_report().daily)
        ],
    )
    figure = build_figure(report)
    drawn = [text.get_text() for text in figure.findobj(Text)]
    assert drawn.count("<5") == 3  # one label per hidden bar
    assert "40" in drawn and "31  (78%)" in drawn
    assert any("<5" in text for text in drawn if "not shown" in text)  # the daily legend
    assert render_chart(report).startswith(b"\x89PNG")
    assert render_chart(sample_report(exact=True)).startswith(b"\x89PNG")


# Several careers: students switch, and each career keeps its own checklist and project.

SOUND = "sound-designer"
SOUND_TITLE = "Sound Designer"
MUSIC_TITLE = "Music Producer"
OTHER_CAREERS = "🔄 Other careers"


@dataclass(frozen=True)
class Journey:
    """What one student does across careers: (title, what they do there), in order.

    "menu": only the career's menu; "tour": opens its checklist screen; "checklist": takes
    the checklist to the end; "project": starts the project and does its five steps."""

    telegram_id: int
    name: str
    cohort: bool
    careers: tuple[tuple[str, str], ...] = ()


JOURNEYS = [
    Journey(7_300_000_001, "Ines", True, ((MUSIC_TITLE, "checklist"), (SOUND_TITLE, "project"))),
    Journey(7_300_000_002, "Hal", True, ((MUSIC_TITLE, "menu"),)),
    Journey(7_300_000_003, "Gus", True, ((SOUND_TITLE, "checklist"),)),
    Journey(7_300_000_004, "Fay", True),  # never chooses a career
    Journey(7_300_000_005, "Eli", True, ((MUSIC_TITLE, "tour"), (SOUND_TITLE, "tour"))),
    Journey(7_300_000_006, "Dot", True, ((MUSIC_TITLE, "tour"),)),
    Journey(7_300_000_007, "Cal", True, ((SOUND_TITLE, "menu"),)),
    Journey(7_300_000_008, "Bea", True, ((SOUND_TITLE, "tour"),)),
    Journey(7_300_000_009, "Abe", False, ((SOUND_TITLE, "tour"),)),
]
MIXED_CODE = "codeMIXEDMIXED12"


@pytest.fixture
async def careers_harness(
    tmp_path: Path, settings: Settings, database: Database
) -> AsyncIterator[BotHarness]:
    """The shipped content plus a second career copied from the first under another slug
    and title (same 4 + 3 signs, same five steps)."""
    content_dir = tmp_path / "content"
    shutil.copytree(settings.content_dir, content_dir)
    careers_dir = content_dir / "careers"
    template = yaml.safe_load((careers_dir / f"{SLUG}.yaml").read_text("utf-8"))
    second = {**template, "title": SOUND_TITLE, "aliases": [], "keywords": {}}
    text = yaml.safe_dump(second, allow_unicode=True, sort_keys=False)
    (careers_dir / f"{SOUND}.yaml").write_text(text, "utf-8")
    content = load_content(
        Settings(_env_file=None, content_dir=content_dir, dialogs_dir=settings.dialogs_dir)
    )
    running = await start_bot(settings, content, FakeTelegram())
    yield running
    await running.stop()


async def travel(harness: BotHarness, journey: Journey) -> None:
    student = harness.user(journey.telegram_id, journey.name)
    replies = await student.send(f"/start {MIXED_CODE}" if journey.cohort else "/start")
    assert_no_error(replies)
    if journey.cohort:
        # Not now: the tests that need names and progress turn sharing on themselves.
        assert_no_error(await student.press(SHARE_NOT_NOW))
    for number, (title, doing) in enumerate(journey.careers):
        if number:
            await student.send("/start")
            assert_no_error(await press_in_more(student, OTHER_CAREERS))
        assert_no_error(await student.press(title))
        profile = next(found for found in harness.content.catalog if found.title == title)
        if doing == "tour":
            assert_no_error(await open_checklist(student))
        elif doing == "checklist":
            assert_no_error(await take_checklist(student, ("yes",) * 7))
        elif doing == "project":
            await start_project(student, profile)
            await do_steps(student, profile, len(profile.project.steps))


@pytest.fixture
async def careers_world(careers_harness: BotHarness) -> int:
    """Lead A's cohort of eight (and one student in no cohort), across two careers."""
    slugs = sorted(profile.slug for profile in careers_harness.content.catalog)
    assert slugs == [SLUG, SOUND]
    await add_lead(careers_harness, LEAD_A, "Lead A")
    cohort = await add_cohort(careers_harness, "Class M", MIXED_CODE, LEAD_A)
    for journey in JOURNEYS:
        await travel(careers_harness, journey)
    return cohort


def career_lines(found: list[str]) -> list[str]:
    """The lines of the "By career" section, as shown."""
    start = next(i for i, line in enumerate(found) if line.startswith("By career"))
    return [line for line in found[start + 2 :] if "→" in line]


async def test_careers_per_career_explored_for_an_admin(
    careers_harness: BotHarness, careers_world: int
) -> None:
    admin = careers_harness.user(ADMIN, "Ada")
    replies = await admin.send("/stats")
    assert_no_error(replies)
    found = lines(replies)
    # Each student once in the overall funnel and per cohort…
    assert "Started in the period: 9" in found
    assert "Class M: 8 → 5 → 2 → 1 → 1" in found
    # …and under every career they explored: Ines and Eli under both. Sound Designer has
    # more students, so it comes first though its title sorts second.
    assert career_lines(found) == [
        "Sound Designer: 6 → 5 → 1 → 1 → 1",
        "Music Producer: 4 → 3 → 1 → 0 → 0",
        "No career chosen: 1 → 0 → 0 → 0 → 0",
    ]
    # One cohort, through its 📊 button: Abe (no cohort) is not in it.
    replies = await admin.press("📊 Class M")
    assert_no_error(replies)
    found = lines(replies)
    assert found[0] == "📊 Stats · Class M"
    assert career_lines(found) == [
        "Sound Designer: 5 → 4 → 1 → 1 → 1",
        "Music Producer: 4 → 3 → 1 → 0 → 0",
        "No career chosen: 1 → 0 → 0 → 0 → 0",
    ]
    # A career that left the catalog still counts its students, under its slug.
    ids = await internal_ids(careers_harness)
    async with careers_harness.database.session_factory() as session:
        hal = ids[JOURNEYS[1].telegram_id]
        session.add(Event(student_id=hal, kind="view", name="work", career="retired-career"))
        await session.commit()
    found = lines(await admin.send("/stats"))
    assert career_lines(found)[2:] == [
        "retired-career: 1 → 1 → 0 → 0 → 0",
        "No career chosen: 1 → 0 → 0 → 0 → 0",
    ]


async def test_careers_explored_by_a_lead_count_those_who_share(
    careers_harness: BotHarness, careers_world: int
) -> None:
    lead = careers_harness.user(LEAD_A, "Lea")
    replies = await lead.send("/stats")
    found = lines(replies)
    assert "In your cohorts: 8 · agreed to share: 0" in found
    assert "Class M: 0 → 0 → 0 → 0 → 0" in found
    await set_shares(careers_harness, {journey.telegram_id: True for journey in JOURNEYS})
    for replies in (await lead.send("/stats"), await lead.press("📊 Class M")):
        assert_no_error(replies)
        found = lines(replies)
        # Exact for those who share, most explored first.
        assert career_lines(found) == [
            "Sound Designer: 5 → 4 → 1 → 1 → 1",
            "Music Producer: 4 → 3 → 1 → 0 → 0",
            "No career chosen: 1 → 0 → 0 → 0 → 0",
        ], found
        assert "Started in the period: 8" in found


async def test_export_lists_the_careers_each_student_explored(
    careers_harness: BotHarness, careers_world: int
) -> None:
    replies = await careers_harness.user(ADMIN, "Ada").send("/export")
    assert_no_error(replies)
    ((_, upload),) = documents(replies, careers_harness)
    rows = csv_rows(upload)
    assert list(rows[0]) == list(COLUMNS) and len(rows) == len(JOURNEYS)
    ids = await internal_ids(careers_harness)
    key = await stored_key(careers_harness)
    by_student = {row["pseudonym"]: row for row in rows}
    titles = {profile.slug: profile.title for profile in careers_harness.content.catalog}
    # Titles, in the catalog's order, never slugs.
    both = "; ".join(profile.title for profile in careers_harness.content.catalog.by_area)
    tried = {
        journey.name: by_student[pseudonym(ids[journey.telegram_id], key)]["careers_tried"]
        for journey in JOURNEYS
    }
    assert tried == {
        "Ines": both,
        "Hal": titles[SLUG],
        "Gus": titles[SOUND],
        "Fay": "",
        "Eli": both,
        "Dot": titles[SLUG],
        "Cal": titles[SOUND],
        "Bea": titles[SOUND],
        "Abe": titles[SOUND],
    }
    ines = by_student[pseudonym(ids[JOURNEYS[0].telegram_id], key)]
    assert ines["career"] == titles[SOUND]  # where she is now
    # The lead's export: their cohort only, with progress for those who share.
    await set_shares(careers_harness, {journey.telegram_id: True for journey in JOURNEYS})
    replies = await careers_harness.user(LEAD_A, "Lea").send("/export")
    ((_, upload),) = documents(replies, careers_harness)
    lead_rows = csv_rows(upload)
    assert len(lead_rows) == 8
    assert [row["careers_tried"] for row in lead_rows].count(both) == 2


async def test_drop_off_names_signs_and_steps_from_the_content(
    harness: BotHarness, world: World
) -> None:
    """Where students stopped: the sign of the checklist, the step of the project, in the
    content's words, for the students who share."""
    profile = profile_of(harness.content)
    quitter = harness.user(7_100_000_008, "Ada")
    assert_no_error(await quitter.send("/start codeAAAAAAAAAAAA"))
    assert_no_error(await quitter.press(SHARE_NOT_NOW))
    await open_checklist(quitter)
    await quitter.press(CHECKLIST_START)
    assert_no_error(await answer_signs(quitter, ("yes", "no", "yes")))
    await set_shares(harness, {7_100_000_008: True})
    found = lines(await harness.user(LEAD_A, "Lea").send("/stats"))
    sign = signs_of(profile)[3].text
    shown_sign = sign if len(sign) <= 50 else sign[:47].rsplit(" ", 1)[0] + "..."
    assert f"{profile.title} · checklist, stopped at sign: 4 of 7 “{shown_sign}”: 1" in found
    step = profile.project.steps[2].title  # Yorick did two steps of five
    assert f"{profile.title} · project, now at step: 3 of 5 “{step}”: 1" in found
    # Where they are now: titles from the dialogs, never node ids.
    assert "Checklist question: 1" in found
    assert not any(line.startswith(("answer_", "checklist_")) for line in found)


def test_every_screen_a_student_sees_has_a_title(harness: BotHarness) -> None:
    nodes = harness.content.dialogs.nodes
    untitled = [
        node_id for node_id, node in nodes.items() if not node.title and "student" in node.seen_by()
    ]
    assert untitled == []


async def test_forged_period_buttons_are_refused(harness: BotHarness, world: World) -> None:
    lead = harness.user(LEAD_A, "Lea")
    await lead.send("/stats")
    for data in (
        "a:stats_period:junk",
        "a:stats_period:365",
        "a:stats_period:",
        "a:stats_period:7.",
        "a:stats_period:7.junk",
        f"a:stats_period:7.{world.cohort_b}",
        f"a:stats_period:all.{world.cohort_b}",
        f"a:stats_cohort:{world.cohort_a}.365",
        f"a:stats_cohort:{world.cohort_a}.",
        f"a:stats_cohort:{world.cohort_a}.<b>",
    ):
        replies = await lead.press_data(data)
        assert toasts(replies) == [MENU_CHANGED], data
        assert [reply.method for reply in replies] == ["answerCallbackQuery"], data
    replies = await lead.press_data(f"a:stats_period:all.{world.cohort_a}")
    found = lines(replies)
    assert found[0] == "📊 Stats · Class A" and found[1].startswith("All time")


async def test_the_daily_chart_starts_when_the_cohort_was_made(
    harness: BotHarness, world: World
) -> None:
    async with harness.database.session_factory() as session:
        for cohort_id, age in ((world.cohort_a, 10), (world.cohort_b, 3)):
            await session.execute(
                update(Cohort)
                .where(Cohort.id == cohort_id)
                .values(created_at=utcnow() - timedelta(days=age))
            )
        await session.commit()
    service = StatsService(harness.content.catalog, harness.settings.admin_ids)
    lead_a = Viewer(LEAD_A, Role.LEAD)
    async with harness.database.session_factory() as session:
        overall = await service.report(session, lead_a, None, 30)
        short = await service.report(session, lead_a, None, 7)
        own_b = await service.report(session, Viewer(LEAD_B, Role.LEAD), world.cohort_b, None)
        everyone = await service.report(session, Viewer(ADMIN, Role.ADMIN), None, 30)
    assert overall is not None and short is not None and own_b is not None
    assert everyone is not None
    today = utcnow().date()
    assert overall.daily[0].day == today - timedelta(days=10) and len(overall.daily) == 11
    assert len(short.daily) == 7  # the period starts after the cohort was made
    assert own_b.daily[0].day == today - timedelta(days=3) and len(own_b.daily) == 4
    assert len(everyone.daily) == 30  # all students: no cohort to start from
    assert render_chart(overall).startswith(b"\x89PNG")
