"""Reasons kept: one optional tap on why a career felt as it did, under the checklist's result
and on the career list before switching, and the reasons in /stats; through the real
Dispatcher on SQLite and PostgreSQL.

The reasons and their wording come from content/reasons.yaml and the dialog files, read here
with plain YAML, never from the code under test.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Content, load_content
from bot.config import PROJECT_DIR, Settings
from bot.content.models import Profile
from bot.db.engine import Database
from bot.db.models import CareerReason, Cohort, Staff, Student
from bot.engine.keyboard import MAX_DATA_BYTES
from bot.features.checklist.contract import CONTRACT as CHECKLIST
from bot.features.reasons.service import ReasonsView
from bot.features.tour.service import TourService
from bot.standin.conversation import Conversation, Reply
from bot.standin.telegram import FakeTelegram
from tests.cohort_support import SECOND_CAREER_TITLE, content_with_two_careers
from tests.conftest import BotHarness, start_bot
from tests.feature_support import (
    DIALOGS,
    REASONS,
    assert_menu_changed,
    assert_no_error,
    data_of,
    press_in_more,
    profile_of,
    screen,
    shown,
    statements_run,
    take_checklist,
    toasts,
)
from tests.tour_support import LEAKS, plain, texts

LABELS = [reason["label"] for reason in REASONS]
IDS = [reason["id"] for reason in REASONS]
LABEL = dict(zip(IDS, LABELS, strict=True))
SAVED = DIALOGS.message("reason_saved")
OTHER_CAREERS = "🔄 Other careers"
YES_DELETE = "🗑 Yes, delete everything"
ANSWERS = ("yes", "no", "unsure", "yes", "no", "yes", "no")
ADMIN = 900  # settings.admin_ids in tests/conftest.py
LEAD_A, LEAD_B = 7_000_000_801, 7_000_000_802


def prompt(title: str) -> str:
    return f"Before you switch: what did you make of {title}?"


async def stored(harness: BotHarness) -> list[tuple[int, str, str, str]]:
    """(telegram id, career, moment, reason) of every stored reason."""
    query = (
        select(Student.telegram_id, CareerReason.career, CareerReason.moment, CareerReason.reason)
        .join(Student, Student.id == CareerReason.student_id)
        .order_by(CareerReason.id)
    )
    async with harness.database.session_factory() as session:
        return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def assert_refused(harness: BotHarness, conversation: Conversation, arg: str) -> None:
    """A reason button that must store nothing: the note of any stale button, no leak."""
    replies = await conversation.press_data(f"a:reason:{arg}")
    assert_menu_changed(replies)
    assert_nothing_leaks(replies)
    assert await stored(harness) == []


def assert_nothing_leaks(replies: list[Reply]) -> None:
    seen = [*shown(replies), *toasts(replies), *(label for r in replies for label in r.labels)]
    for text in seen:
        for leak in (*LEAKS, *IDS):
            assert leak not in text, f"{leak!r} shown to a student: {text!r}"


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


# Under the checklist's result.


async def test_the_result_offers_the_reasons_and_keeps_the_last_tap(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    replies = await take_checklist(sam, ANSWERS)
    assert "Why?" in shown(replies)[-1]
    labels = sam.current_labels()
    assert [label for label in labels if label in LABELS] == LABELS
    assert await stored(harness) == [], "optional: nothing stored before a tap"

    replies = await sam.press(LABELS[1])
    assert_no_error(replies)
    assert_nothing_leaks(replies)
    assert SAVED in toasts(replies)
    text = screen(sam)
    assert "Your result" in text and f"You said: {LABELS[1]}" in text
    assert f"✅ {LABELS[1]}" in sam.current_labels()
    assert await stored(harness) == [(1001, profile.slug, "checklist", IDS[1])]

    # Another tap changes the reason: still one row, the last tap stands.
    replies = await sam.press(LABELS[2])
    assert_no_error(replies)
    assert await stored(harness) == [(1001, profile.slug, "checklist", IDS[2])]
    labels = sam.current_labels()
    assert f"✅ {LABELS[2]}" in labels and LABELS[1] in labels
    # The result shown again later remembers it.
    await sam.send("/menu")
    await sam.press("🤔 Is it me?")
    await sam.press("📋 My last result")
    assert f"You said: {LABELS[2]}" in screen(sam)


async def test_a_double_tap_stores_one_row(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    await take_checklist(sam, ANSWERS)
    data, message_id = data_of(sam, LABELS[0])
    first = await sam.press_data(data, message_id)
    second = await sam.press_data(data, message_id)
    assert_no_error(first + second)
    assert await stored(harness) == [(1001, profile.slug, "checklist", IDS[0])]


async def test_a_tap_is_one_write_and_no_read_of_the_reasons(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await take_checklist(sam, ANSWERS)
    with statements_run(harness.database.engine) as seen:
        assert_no_error(await sam.press(LABELS[0]))
    about_reasons = [statement for statement in seen if "career_reasons" in statement]
    assert len(about_reasons) == 1 and about_reasons[0].lstrip().upper().startswith("INSERT")


@pytest.mark.parametrize(
    "arg",
    [
        "checklist.no_such_reason",  # a forged reason
        f"someday.{IDS[0]}",  # a forged moment
        f"checklist.{IDS[0]}.more",
        f"checklist.{IDS[0].upper()}",
        f".{IDS[0]}",
        f"{IDS[0]}",
        "checklist.",
        "checklist",
        "..",
        "",
        "x" * 40,
    ],
)
async def test_forged_reason_buttons_store_nothing(
    harness: BotHarness, profile: Profile, arg: str
) -> None:
    sam = harness.user()
    await take_checklist(sam, ANSWERS)
    await assert_refused(harness, sam, arg)


async def test_a_checklist_reason_before_any_result_is_refused(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    assert_no_error(await sam.send("/start"))
    await assert_refused(harness, sam, f"checklist.{IDS[0]}")


async def test_a_reason_pressed_after_forget_stores_nothing(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await take_checklist(sam, ANSWERS)
    data, message_id = data_of(sam, LABELS[0])
    await sam.send("/forget")
    assert_no_error(await sam.press(YES_DELETE))
    replies = await sam.press_data(data, message_id)
    assert_menu_changed(replies)
    assert_nothing_leaks(replies)
    assert await stored(harness) == []


# On the career list, before switching: two careers.


@pytest.fixture
async def two_careers(
    tmp_path: Path, settings: Settings, database: Database
) -> AsyncIterator[BotHarness]:
    running = await start_bot(settings, content_with_two_careers(tmp_path), FakeTelegram())
    yield running
    await running.stop()


def first_title(harness: BotHarness) -> str:
    return next(p.title for p in harness.content.catalog if p.title != SECOND_CAREER_TITLE)


def slug_of(harness: BotHarness, title: str) -> str:
    return next(p.slug for p in harness.content.catalog if p.title == title)


async def on_career(conversation: Conversation, title: str, start: str = "/start") -> None:
    assert_no_error(await conversation.send(start))
    if start != "/start":
        # Joining a cohort asks first whether its lead may see the student's progress.
        assert_no_error(await conversation.press("✅ Yes, share"))
    assert_no_error(await conversation.press(title))


async def test_leaving_a_career_asks_once_why(two_careers: BotHarness) -> None:
    first = first_title(two_careers)
    sam = two_careers.user()
    replies = await sam.send("/start")
    # No career yet: nothing to give a reason about.
    assert "Before you switch" not in shown(replies)[-1]
    assert not set(LABELS) & set(sam.current_labels())
    assert_no_error(await sam.press(first))
    replies = await press_in_more(sam, OTHER_CAREERS)
    assert_no_error(replies)
    assert prompt(first) in screen(sam)
    assert [label for label in sam.current_labels() if label in LABELS] == LABELS

    replies = await sam.press(LABELS[3])
    assert_no_error(replies)
    assert_nothing_leaks(replies)
    assert SAVED in toasts(replies)
    # The same list again, the question gone; the careers are still there to pick.
    assert "Before you switch" not in screen(sam)
    labels = sam.current_labels()
    assert not set(LABELS) & set(labels) and {first, SECOND_CAREER_TITLE} <= set(labels)
    assert await stored(two_careers) == [(1001, slug_of(two_careers, first), "leave", IDS[3])]

    # On the other career, the question is about it; back on the first, not asked again.
    assert_no_error(await sam.press(SECOND_CAREER_TITLE))
    await press_in_more(sam, OTHER_CAREERS)
    assert prompt(SECOND_CAREER_TITLE) in screen(sam)
    assert_no_error(await sam.press(first))
    await press_in_more(sam, OTHER_CAREERS)
    assert "Before you switch" not in screen(sam)
    assert len(await stored(two_careers)) == 1


async def test_no_career_chosen_stores_nothing(two_careers: BotHarness) -> None:
    sam = two_careers.user()
    assert_no_error(await sam.send("/start"))
    for arg in (f"leave.{IDS[0]}", f"checklist.{IDS[0]}"):
        await assert_refused(two_careers, sam, arg)


async def test_an_old_button_of_another_career_speaks_for_the_current_one(
    two_careers: BotHarness,
) -> None:
    """The button names no career: a reason always goes to the career the student is on,
    and the screen after the tap names that career."""
    first = first_title(two_careers)
    sam = two_careers.user()
    await on_career(sam, first)
    await press_in_more(sam, OTHER_CAREERS)
    data, message_id = data_of(sam, LABELS[0])
    assert_no_error(await sam.press(SECOND_CAREER_TITLE))
    replies = await sam.press_data(data, message_id)
    assert_no_error(replies)
    assert SAVED in toasts(replies)
    second = slug_of(two_careers, SECOND_CAREER_TITLE)
    assert await stored(two_careers) == [(1001, second, "leave", IDS[0])]
    # A checklist reason for a career whose checklist the student has not taken: refused.
    replies = await sam.press_data(f"a:reason:checklist.{IDS[0]}")
    assert_menu_changed(replies)
    assert len(await stored(two_careers)) == 1


# Within Telegram's limits on the real catalog.


def test_the_screens_with_reasons_fit_telegram_on_the_real_catalog() -> None:
    content = load_content(Settings(_env_file=None, content_dir=PROJECT_DIR / "content"))
    tour = TourService(content.catalog, content.dialogs)
    choices = content.reasons.choices
    assert [reason.id for reason in choices] == IDS
    for profile in content.catalog:
        student = Student(first_name="Sam", career=profile.slug)
        nothing_given = ReasonsView(choices, {"checklist": None, "leave": None})
        screens = [
            tour.render(student, "careers", reasons=nothing_given),
            tour.render(
                student,
                "checklist_result",
                reasons=ReasonsView(choices, {"checklist": choices[-1], "leave": None}),
                result=CHECKLIST.variables["result"](profile),
            ),
        ]
        for found in screens:
            buttons = [button for row in found.rows for button in row]
            assert len(buttons) <= 100
            assert all(len(part) <= 4096 for part in found.parts)
            assert all(len(b.callback_data.encode()) <= MAX_DATA_BYTES for b in buttons)
            assert {reason.label for reason in choices} <= {b.text.lstrip("✅ ") for b in buttons}


# In /stats: per career and per cohort, within the viewer's scope.


async def add_staff_and_cohorts(harness: BotHarness) -> None:
    async with harness.database.session_factory() as session:
        session.add(Staff(telegram_id=LEAD_A, name="Lead A", granted_by=ADMIN))
        session.add(Staff(telegram_id=LEAD_B, name="Lead B", granted_by=ADMIN))
        await session.commit()
    async with harness.database.session_factory() as session:
        session.add(Cohort(code="reasonsAAAAAAAAA", name="Class A", lead_id=LEAD_A, career=None))
        session.add(Cohort(code="reasonsBBBBBBBBB", name="Class B", lead_id=LEAD_B, career=None))
        await session.commit()


async def leave_with(
    harness: BotHarness, telegram_id: int, code: str, career: str, reason: str
) -> None:
    student = harness.user(telegram_id, f"S{telegram_id % 100}")
    await on_career(student, career, f"/start {code}")
    assert_no_error(await press_in_more(student, OTHER_CAREERS))
    assert_no_error(await student.press(LABEL[reason]))


def report_lines(replies: list[Reply]) -> list[str]:
    text = "\n".join(plain(text) for text in texts(replies))
    return [line.strip() for line in text.splitlines() if line.strip()]


def reason_lines(found: list[str]) -> list[str]:
    """The lines of the "Reasons given" sections, headings included."""
    start = next(i for i, line in enumerate(found) if line.startswith("Reasons given"))
    return [line for line in found[start:] if not line.startswith("(")]


def line(name: str, *counts: tuple[str, str]) -> str:
    return f"{name}: " + " · ".join(f"{LABEL[reason]} {count}" for reason, count in counts)


@pytest.fixture
async def reasons_world(two_careers: BotHarness) -> BotHarness:
    """Class A (Lead A): five loved the first career, one found it too solo. Class B (Lead
    B): two found the first career's money lacking, one loved the second career."""
    await add_staff_and_cohorts(two_careers)
    first = first_title(two_careers)
    for number in range(5):
        await leave_with(two_careers, 7_200_000_001 + number, "reasonsAAAAAAAAA", first, IDS[0])
    await leave_with(two_careers, 7_200_000_009, "reasonsAAAAAAAAA", first, IDS[1])
    for number in range(2):
        await leave_with(two_careers, 7_200_000_101 + number, "reasonsBBBBBBBBB", first, IDS[2])
    await leave_with(two_careers, 7_200_000_111, "reasonsBBBBBBBBB", SECOND_CAREER_TITLE, IDS[0])
    return two_careers


async def test_an_admin_sees_every_reason_per_career_and_cohort(reasons_world: BotHarness) -> None:
    first = first_title(reasons_world)
    admin = reasons_world.user(ADMIN, "Ada")
    replies = await admin.send("/stats")
    assert_no_error(replies)
    assert reason_lines(report_lines(replies)) == [
        "Reasons given, per career",
        line(first, (IDS[0], "5"), (IDS[1], "1"), (IDS[2], "2")),
        line(SECOND_CAREER_TITLE, (IDS[0], "1")),
        "Reasons given, per cohort",
        line("Class A", (IDS[0], "5"), (IDS[1], "1")),
        line("Class B", (IDS[0], "1"), (IDS[2], "2")),
    ]
    # One cohort's own report: its reasons per career, no per-cohort section.
    replies = await admin.press("📊 Class B")
    assert_no_error(replies)
    assert reason_lines(report_lines(replies)) == [
        "Reasons given, per career",
        line(first, (IDS[2], "2")),
        line(SECOND_CAREER_TITLE, (IDS[0], "1")),
    ]


async def test_a_lead_sees_only_their_cohorts_reasons_of_those_who_share(
    reasons_world: BotHarness,
) -> None:
    first = first_title(reasons_world)
    replies = await reasons_world.user(LEAD_A, "Lea").send("/stats")
    assert_no_error(replies)
    assert reason_lines(report_lines(replies)) == [
        "Reasons given, per career",
        line(first, (IDS[0], "5"), (IDS[1], "1")),
        "Reasons given, per cohort",
        line("Class A", (IDS[0], "5"), (IDS[1], "1")),
    ]
    replies = await reasons_world.user(LEAD_B, "Leo").send("/stats")
    assert_no_error(replies)
    assert reason_lines(report_lines(replies)) == [
        "Reasons given, per career",
        line(first, (IDS[2], "2")),
        line(SECOND_CAREER_TITLE, (IDS[0], "1")),
        "Reasons given, per cohort",
        line("Class B", (IDS[0], "1"), (IDS[2], "2")),
    ]
    # Another lead's cohort, by a forged button: refused as before.
    replies = await reasons_world.user(LEAD_B, "Leo").press_data("a:stats_cohort:1")
    assert LABEL[IDS[1]] not in "\n".join(report_lines(replies))


async def test_a_lead_with_no_reasons_given(two_careers: BotHarness) -> None:
    await add_staff_and_cohorts(two_careers)
    replies = await two_careers.user(LEAD_A, "Lea").send("/stats")
    assert_no_error(replies)
    assert reason_lines(report_lines(replies)) == [
        "Reasons given, per career",
        "No reasons given yet.",
    ]
