"""A cohort's announcement history: newest first, a page at a time, with when, who sent it,
its first words and where its deliveries stand; a lead sees only their own cohorts'."""

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import Content
from bot.config import Settings
from bot.db.engine import Database
from bot.db.models import Announcement, Delivery, Student
from bot.engine.keyboard import action_data
from bot.standin.conversation import Conversation
from bot.standin.telegram import FakeTelegram
from tests.cohort_support import (
    ADMIN,
    LEAD_A,
    LEAD_B,
    MENU_CHANGED,
    NEW_COHORT,
    SEND_NOW,
    CohortRef,
    announcements,
    create_cohort,
    grant_lead,
    join_students,
    open_cohort,
    prepare_announcement,
    wait_finished,
)
from tests.conftest import BotHarness, start_bot
from tests.feature_support import DIALOGS, assert_no_error, screen, toasts

HISTORY = "📜 Announcements sent"
OLDER, NEWER = "Older ➡️", "⬅️ Newer"
EMPTY = "No announcements sent to this cohort yet."
MEMBER_IDS = itertools.count(10**9)
TEXT = "Workshop moved to Friday 15:00 in room 204. Bring headphones!"


def test_the_labels_are_the_dialogs() -> None:
    cohort_labels = [
        button["label"]
        for entry in DIALOGS.nodes["cohort"]["buttons"]
        for button in (entry if isinstance(entry, list) else [entry])
    ]
    assert HISTORY in cohort_labels
    history = DIALOGS.nodes["announcement_history"]
    assert EMPTY in history["text"]
    row = history["buttons"][0]
    assert [row[0]["label"], row[1]["label"]] == [NEWER, OLDER]


async def lead_with_class(
    harness: BotHarness, lead_id: int = LEAD_A, name: str = "Lee", cohort: str = "Class 9B"
) -> tuple[Conversation, CohortRef]:
    await grant_lead(harness, lead_id, name)
    lead = harness.user(lead_id, name)
    return lead, await create_cohort(harness, lead, cohort)


async def history_of(lead: Conversation, cohort: CohortRef) -> str:
    await open_cohort(lead, cohort.name)
    replies = await lead.press(HISTORY)
    assert_no_error(replies)
    return screen(lead)


async def add_announcement(
    harness: BotHarness,
    cohort: CohortRef,
    sender: int,
    text: str,
    at: datetime,
    statuses: dict[str, int],
) -> None:
    """An announcement as the outbox stores it, with deliveries in the given states."""
    async with harness.database.session_factory() as session:
        announcement = Announcement(
            draft=f"d{next(MEMBER_IDS)}",
            cohort_id=cohort.id,
            sender_id=sender,
            text=text,
            created_at=at.replace(tzinfo=None),
        )
        session.add(announcement)
        await session.flush()
        for status, count in statuses.items():
            for _ in range(count):
                member = Student(telegram_id=next(MEMBER_IDS), first_name="M")
                session.add(member)
                await session.flush()
                session.add(
                    Delivery(announcement_id=announcement.id, student_id=member.id, status=status)
                )
        await session.commit()


async def test_an_announcement_sent_shows_in_the_history(harness: BotHarness) -> None:
    lee, cohort = await lead_with_class(harness)
    assert EMPTY in await history_of(lee, cohort)
    await join_students(harness, cohort.code, [5001, 5002, 5003])
    harness.telegram.block(5002)
    await prepare_announcement(lee, cohort.name, TEXT)
    assert_no_error(await lee.press(SEND_NOW))
    sent = await wait_finished(harness, (await announcements(harness))[-1].id)

    shown = await history_of(lee, cohort)
    when = sent.created_at.replace(tzinfo=UTC).strftime("%d %b %Y, %H:%M")
    assert f"{when} UTC · by Lee" in shown
    assert "“Workshop moved to Friday 15:00 in room 204. Bring headphones!”" in shown
    assert "Delivered 2 · blocked the bot 1 · failed 0" in shown
    assert EMPTY not in shown and OLDER not in lee.current_labels()
    # Back to the cohort.
    assert_no_error(await lee.press(f"⬅️ Back to {cohort.name}"))
    assert HISTORY in lee.current_labels()


@pytest.fixture
async def berlin(
    settings: Settings, content: Content, database: Database
) -> AsyncIterator[BotHarness]:
    """The bot of a program in Berlin (PROGRAM_TIMEZONE)."""
    settings = settings.model_copy(update={"program_timezone": "Europe/Berlin"})
    running = await start_bot(settings, content, FakeTelegram())
    yield running
    await running.stop()


async def test_times_are_in_the_programs_time_zone(berlin: BotHarness) -> None:
    lee, cohort = await lead_with_class(berlin)
    winter = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)
    await add_announcement(berlin, cohort, LEAD_A, "In winter", winter, {"sent": 1})
    await add_announcement(berlin, cohort, LEAD_A, "In summer", summer, {"sent": 1})
    shown = await history_of(lee, cohort)
    assert "02 Mar 2026, 10:00 CET · by Lee" in shown
    # Past midnight in Berlin: the date turns too.
    assert "02 Jul 2026, 00:30 CEST · by Lee" in shown
    assert "UTC" not in shown


async def test_pages_newest_first_with_counts_and_senders(harness: BotHarness) -> None:
    lee, cohort = await lead_with_class(harness)
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for number in range(1, 8):
        await add_announcement(
            harness,
            cohort,
            ADMIN if number == 7 else LEAD_A,
            f"Note number {number}",
            start + timedelta(days=number),
            {"sent": number, "pending": 1 if number == 7 else 0, "failed": number % 2},
        )
    first = await history_of(lee, cohort)
    assert "page 1 of 2" in first
    order = [first.index(f"Note number {n}") for n in (7, 6, 5, 4, 3)]
    assert order == sorted(order)
    assert "Note number 2" not in first
    assert "09 Mar 2026, 09:00 UTC · by an admin" in first
    assert "Delivered 7 · still to deliver 1 · failed 1" in first
    assert "08 Mar 2026, 09:00 UTC · by Lee" in first
    assert "Delivered 6 · failed 0" in first
    assert NEWER not in lee.current_labels()

    assert_no_error(await lee.press(OLDER))
    second = screen(lee)
    assert "page 2 of 2" in second
    assert "Note number 2" in second and "Note number 1" in second
    assert "Note number 3" not in second
    assert OLDER not in lee.current_labels()
    assert_no_error(await lee.press(NEWER))
    assert "Note number 7" in screen(lee)


async def test_a_removed_lead_is_named_a_former_lead(harness: BotHarness) -> None:
    lee, cohort = await lead_with_class(harness)
    await add_announcement(harness, cohort, LEAD_B, "From Bea", datetime.now(UTC), {"sent": 1})
    assert "by a former lead" in await history_of(lee, cohort)


async def test_hostile_and_long_texts_show_escaped_and_short(harness: BotHarness) -> None:
    lee, cohort = await lead_with_class(harness)
    hostile = '<b>bold</b> & <a href="x">link</a> ' + "word " * 200
    await add_announcement(harness, cohort, LEAD_A, hostile, datetime.now(UTC), {"sent": 1})
    await add_announcement(harness, cohort, LEAD_A, "x" * 3000, datetime.now(UTC), {})
    await open_cohort(lee, cohort.name)
    replies = await lee.press(HISTORY)
    assert_no_error(replies)
    raw = lee.latest().text if lee.latest() else ""
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in raw
    assert "<b>bold</b>" not in raw
    shown = screen(lee)
    assert "word word" in shown and "word " * 30 not in shown
    assert "x" * 80 + "…" in shown and "x" * 81 not in shown
    assert len(raw) < 1500


@pytest.mark.parametrize(
    "arg", ["abc", "0", "-1", "{id}.0", "{id}.x", "{id}.2.3", "{id}.99999", "99999999999", ""]
)
async def test_junk_history_buttons_are_refused(harness: BotHarness, arg: str) -> None:
    lee, cohort = await lead_with_class(harness)
    replies = await lee.press_data(action_data("announce_history", arg.format(id=cohort.id)))
    assert_no_error(replies)
    assert MENU_CHANGED in toasts(replies)
    assert NEW_COHORT in lee.current_labels()


async def test_a_page_past_the_last_shows_the_last(harness: BotHarness) -> None:
    lee, cohort = await lead_with_class(harness)
    await add_announcement(harness, cohort, LEAD_A, "Only one", datetime.now(UTC), {"sent": 1})
    replies = await lee.press_data(action_data("announce_history", f"{cohort.id}.50"))
    assert_no_error(replies)
    assert "Only one" in screen(lee)


async def test_another_leads_cohort_history_is_refused(harness: BotHarness) -> None:
    _, alpha = await lead_with_class(harness)
    await add_announcement(harness, alpha, LEAD_A, "Secret plan", datetime.now(UTC), {"sent": 1})
    bea, beta = await lead_with_class(harness, LEAD_B, "Bea", "Beta")
    for arg in (str(alpha.id), f"{alpha.id}.1", f"{alpha.id}.2"):
        replies = await bea.press_data(action_data("announce_history", arg))
        assert_no_error(replies)
        assert MENU_CHANGED in toasts(replies)
        assert "Secret plan" not in screen(bea)
        assert beta.name in bea.current_labels() and alpha.name not in bea.current_labels()
    # A student pressing it gets the menu, nothing of the cohort.
    sam = harness.user(1001)
    await sam.send("/start")
    replies = await sam.press_data(action_data("announce_history", str(alpha.id)))
    assert MENU_CHANGED in toasts(replies)
    assert "Secret plan" not in screen(sam)


async def test_an_admin_sees_any_cohorts_history(harness: BotHarness) -> None:
    _, alpha = await lead_with_class(harness)
    await add_announcement(harness, alpha, LEAD_A, "Lee's news", datetime.now(UTC), {"sent": 2})
    ada = harness.user(ADMIN, "Ada")
    assert_no_error(await ada.send("/cohorts"))
    replies = await ada.press_data(action_data("announce_history", str(alpha.id)))
    assert_no_error(replies)
    shown = screen(ada)
    assert "Lee's news" in shown and "by Lee" in shown and "Delivered 2" in shown
