"""The weekly digest for program leads: /digest turns it on or off (staff only), and the
background jobs send it on Monday at DIGEST_HOUR in the program's time zone, once a week, to
each lead who turned it on: their cohorts' week, students who share named, the others only
counted ("<5" for 1 to 4), question texts masked.

The clock is the digest service's: the tests set a Monday morning in Europe/Berlin rather
than wait for one. Wording comes from dialogs/digest.yaml.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.app import Content
from bot.config import Settings
from bot.content.models import Profile
from bot.db.engine import Database
from bot.db.models import ChecklistAttempt, Staff, Student, UnansweredQuestion, utcnow
from bot.features.digest.handlers import DIGEST_EVERY_ROUNDS
from bot.features.digest.service import DigestService
from bot.services.jobs import JobRunner
from bot.services.masking import mask
from bot.standin.conversation import Conversation
from bot.standin.telegram import Call, Failure, FakeTelegram
from tests.cohort_support import (
    ADMIN,
    LEAD_A,
    LEAD_B,
    UNKNOWN_COMMAND,
    create_cohort,
    grant_lead,
    lines,
)
from tests.conftest import BotHarness, start_bot
from tests.feature_support import (
    DIALOGS,
    assert_menu_changed,
    assert_no_error,
    profile_of,
    scalars,
    start_project,
    toasts,
)
from tests.tour_support import plain, texts

BERLIN = ZoneInfo("Europe/Berlin")
TURN_ON, TURN_OFF = "🔔 Turn it on", "🔕 Turn it off"
NOT_A_LEAD = DIALOGS.message("digest_not_a_lead")
HIDDEN = "haven't shared"


@pytest.fixture
async def harness(
    settings: Settings, content: Content, database: Database
) -> AsyncIterator[BotHarness]:
    """The bot of a program in Berlin, digests at 08:00 there."""
    settings = settings.model_copy(update={"program_timezone": "Europe/Berlin", "digest_hour": 8})
    running = await start_bot(settings, content, FakeTelegram())
    yield running
    await running.stop()


def digest_service(harness: BotHarness) -> DigestService:
    service = harness.dispatcher.workflow_data["digest"]
    assert isinstance(service, DigestService)
    return service


def monday(hour: int = 8, minute: int = 5, weeks: int = 0) -> datetime:
    """The first Monday at hour:minute in Berlin after now (in UTC), `weeks` later: the week
    before it holds what the test does now."""
    now = datetime.now(BERLIN)
    day = now.date() + timedelta(days=(7 - now.weekday()) % 7)
    moment = datetime.combine(day, time(hour, minute), tzinfo=BERLIN)
    if moment <= now:
        moment = datetime.combine(day + timedelta(days=7), time(hour, minute), tzinfo=BERLIN)
    return (moment + timedelta(weeks=weeks)).astimezone(UTC)


def sent_to(harness: BotHarness, chat_id: int, since: int = 0) -> list[Call]:
    return [
        call
        for call in harness.telegram.calls[since:]
        if call.method == "sendMessage" and call.params.get("chat_id") == chat_id
    ]


async def send_due(harness: BotHarness, at: datetime) -> tuple[int, int, int, int]:
    report = await digest_service(harness).send_due(harness.bot, now=at)
    return report.sent, report.skipped, report.blocked, report.failed


async def staff(harness: BotHarness, telegram_id: int) -> Staff:
    [row] = await scalars(harness, select(Staff).where(Staff.telegram_id == telegram_id))
    return row  # type: ignore[no-any-return]


async def lead_with_digest(harness: BotHarness, telegram_id: int, name: str) -> Conversation:
    await grant_lead(harness, telegram_id, name)
    lead = harness.user(telegram_id, name)
    assert_no_error(await lead.send("/digest"))
    assert_no_error(await lead.press(TURN_ON))
    assert (await staff(harness, telegram_id)).digest is True
    return lead


async def join(harness: BotHarness, code: str, telegram_id: int, name: str) -> Conversation:
    student = harness.user(telegram_id, name)
    assert_no_error(await student.send(f"/start {code}"))
    return student


async def set_students(harness: BotHarness, ids: list[int], **values: object) -> None:
    async with harness.database.session_factory() as session:
        await session.execute(update(Student).where(Student.telegram_id.in_(ids)).values(**values))
        await session.commit()


async def student_id(harness: BotHarness, telegram_id: int) -> int:
    [found] = await scalars(harness, select(Student.id).where(Student.telegram_id == telegram_id))
    return int(found)


async def add_rows(harness: BotHarness, *rows: object) -> None:
    async with harness.database.session_factory() as session:
        session.add_all(rows)
        await session.commit()


# /digest: on and off, staff only.


async def test_a_lead_turns_the_digest_on_and_off(harness: BotHarness) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    lead = harness.user(LEAD_A, "Lee")
    replies = await lead.send("/digest")
    assert_no_error(replies)
    screen = lines(texts(replies)[-1])
    assert "Every Monday at 08:00 (Europe/Berlin)" in " ".join(screen)
    assert "Your digest is off." in screen
    assert lead.current_labels() == [TURN_ON]
    assert (await staff(harness, LEAD_A)).digest is False

    assert_no_error(await lead.press(TURN_ON))
    assert (await staff(harness, LEAD_A)).digest is True
    assert "Your digest is on." in lines(lead.latest().text)  # type: ignore[union-attr]
    assert lead.current_labels() == [TURN_OFF]

    assert_no_error(await lead.press(TURN_OFF))
    assert (await staff(harness, LEAD_A)).digest is False
    assert lead.current_labels() == [TURN_ON]
    # /digest again shows what is stored; words after it change nothing.
    assert_no_error(await lead.press(TURN_ON))
    for command in ("/digest", "/digest off", "/digest <b>off</b> \u0000" + "x" * 4000):
        replies = await lead.send(command)
        assert_no_error(replies)
        assert "Your digest is on." in lines(texts(replies)[-1])
    assert (await staff(harness, LEAD_A)).digest is True


async def test_a_student_gets_no_digest_screen_nor_switch(harness: BotHarness) -> None:
    sam = harness.user(1001, "Sam")
    await sam.send("/start")
    replies = await sam.send("/digest")
    assert texts(replies)[0] == UNKNOWN_COMMAND
    assert not any("digest" in text for text in texts(replies))
    for data in ("a:digest:on", "a:digest:off"):
        replies = await sam.press_data(data)
        assert_menu_changed(replies)
    assert await scalars(harness, select(Staff)) == []


@pytest.mark.parametrize("arg", ["", "yes", "ON", "on.x", "1", "on" * 20, "<b>on</b>"])
async def test_a_forged_switch_changes_nothing(harness: BotHarness, arg: str) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    lead = harness.user(LEAD_A, "Lee")
    await lead.send("/digest")
    replies = await lead.press_data(f"a:digest:{arg}")
    assert_menu_changed(replies)
    assert (await staff(harness, LEAD_A)).digest is False
    assert "None" not in " ".join(texts(replies))


async def test_an_admin_who_is_no_lead_is_told_the_digest_is_for_leads(
    harness: BotHarness,
) -> None:
    ada = harness.user(ADMIN, "Ada")
    await ada.send("/start")  # a message to press a forged button on
    replies = await ada.send("/digest")
    assert texts(replies) == [NOT_A_LEAD]
    replies = await ada.press_data("a:digest:on")
    assert NOT_A_LEAD in toasts(replies)
    assert await scalars(harness, select(Staff)) == []
    # Granted as a lead too, the admin may turn it on.
    await grant_lead(harness, ADMIN, "Ada")
    assert_no_error(await ada.send("/digest"))
    assert_no_error(await ada.press(TURN_ON))
    assert (await staff(harness, ADMIN)).digest is True


# When it is sent.


async def test_the_digest_goes_out_on_monday_morning_once_a_week(harness: BotHarness) -> None:
    lead = await lead_with_digest(harness, LEAD_A, "Lee")
    await create_cohort(harness, lead, "Class 9B")
    other = await lead_with_digest(harness, LEAD_B, "Bea")
    await create_cohort(harness, other, "Class 9A")
    await other.send("/digest")
    assert_no_error(await other.press(TURN_OFF))
    start = len(harness.telegram.calls)
    first = monday()
    # Not on Sunday, nor on Monday before 08:00 in Berlin (07:00 UTC in winter).
    for early in (first - timedelta(days=1), monday(7, 59), first - timedelta(minutes=6)):
        assert await send_due(harness, early) == (0, 0, 0, 0)
    assert await send_due(harness, first) == (1, 0, 0, 0)
    [digest] = sent_to(harness, LEAD_A, start)
    assert "Class 9B" in plain(digest.params["text"])
    assert sent_to(harness, LEAD_B, start) == []  # turned off
    sent_at = (await staff(harness, LEAD_A)).digest_sent_at
    assert sent_at is not None
    # Later that Monday, the next days, and after a restart: not again.
    for later in (first, first + timedelta(hours=12), first + timedelta(days=1)):
        assert await send_due(harness, later) == (0, 0, 0, 0)
    await harness.restart()
    assert await send_due(harness, first + timedelta(hours=1)) == (0, 0, 0, 0)
    assert len(sent_to(harness, LEAD_A, start)) == 1
    # The next Monday brings the next one.
    assert await send_due(harness, monday(weeks=1)) == (1, 0, 0, 0)
    assert len(sent_to(harness, LEAD_A, start)) == 2


async def test_the_background_jobs_send_it_under_their_lease(harness: BotHarness) -> None:
    lead = await lead_with_digest(harness, LEAD_A, "Lee")
    await create_cohort(harness, lead, "Class 9B")
    start = len(harness.telegram.calls)
    jobs = harness.dispatcher.workflow_data["jobs"]
    assert isinstance(jobs, JobRunner)
    digest_service(harness).clock = lambda: monday(8, 1)
    assert await jobs.take_lease()
    # Round 0 (a process just started) and rounds between looks send nothing.
    for rounds in (0, 1, DIGEST_EVERY_ROUNDS - 1):
        await jobs._work(harness.bot, _no_progress, rounds)
    assert sent_to(harness, LEAD_A, start) == []
    await jobs._work(harness.bot, _no_progress, DIGEST_EVERY_ROUNDS)
    assert len(sent_to(harness, LEAD_A, start)) == 1
    await jobs._work(harness.bot, _no_progress, 2 * DIGEST_EVERY_ROUNDS)
    assert len(sent_to(harness, LEAD_A, start)) == 1


async def _no_progress(*_: object) -> None:
    return None


async def test_a_lead_without_cohorts_gets_nothing(harness: BotHarness) -> None:
    await lead_with_digest(harness, LEAD_A, "Lee")
    start = len(harness.telegram.calls)
    assert await send_due(harness, monday()) == (0, 1, 0, 0)
    assert sent_to(harness, LEAD_A, start) == []
    assert await send_due(harness, monday(9)) == (0, 0, 0, 0)


async def test_a_blocked_lead_stops_no_one_and_a_failed_send_is_tried_again(
    harness: BotHarness,
) -> None:
    leads = {LEAD_A: "Lee", LEAD_B: "Bea", 779: "Cy"}
    for telegram_id, name in leads.items():
        conversation = await lead_with_digest(harness, telegram_id, name)
        await create_cohort(harness, conversation, f"Class of {name}")
    harness.telegram.fail(LEAD_A, Failure(403, "Forbidden: bot was blocked by the user"))
    harness.telegram.fail(LEAD_B, Failure(502, "Bad Gateway"))
    start = len(harness.telegram.calls)
    assert await send_due(harness, monday()) == (1, 0, 1, 1)
    assert len(sent_to(harness, 779, start)) == 1
    assert (await staff(harness, LEAD_B)).digest_sent_at is None  # not recorded as sent
    # The next round: Bea's comes; Lee, who blocked the bot, waits for next week.
    assert await send_due(harness, monday(8, 6)) == (1, 0, 0, 0)
    *_, bea = sent_to(harness, LEAD_B, start)
    assert "Class of Bea" in plain(bea.params["text"])
    assert await send_due(harness, monday(8, 7)) == (0, 0, 0, 0)
    assert await send_due(harness, monday(weeks=1)) == (3, 0, 0, 0)


async def test_a_refused_digest_waits_for_next_week(harness: BotHarness) -> None:
    lee = await lead_with_digest(harness, LEAD_A, "Lee")
    await create_cohort(harness, lee, "Class 9B")
    harness.telegram.fail(LEAD_A, Failure(400, "Bad Request: chat not found", times=10**9))
    start = len(harness.telegram.calls)
    assert await send_due(harness, monday()) == (0, 0, 0, 1)
    # Not tried again every minute of the Monday: Telegram would refuse it the same way.
    assert await send_due(harness, monday(8, 6)) == (0, 0, 0, 0)
    assert await send_due(harness, monday(15)) == (0, 0, 0, 0)
    assert len(sent_to(harness, LEAD_A, start)) == 1
    assert await send_due(harness, monday(weeks=1)) == (0, 0, 0, 1)


# What it says.


async def test_the_digest_names_only_students_who_share(
    harness: BotHarness, content: Content
) -> None:
    profile: Profile = profile_of(content)
    lead = await lead_with_digest(harness, LEAD_A, "Lee")
    busy = await create_cohort(harness, lead, "Class 9B")
    await create_cohort(harness, lead, "Class 9A")  # nobody joins
    other = await lead_with_digest(harness, LEAD_B, "Bea")
    elsewhere = await create_cohort(harness, other, "Other class")
    sharing = {2001: "Ana", 2002: "Ben", 2003: "<i>Cleo</i> & Co"}
    hidden = {2101: "Hugo", 2102: "Hanna"}
    quiet = {2004: "Dan", 2103: "Hidden-Quiet"}
    everyone = {**sharing, **hidden, **quiet}
    for telegram_id, name in everyone.items():
        await join(harness, busy.code, telegram_id, name)
    await join(harness, elsewhere.code, 2201, "Zed")
    await set_students(harness, [*sharing, 2004, 2201], shares=True)
    await set_students(harness, [2101], shares=False)  # 2102, 2103: never asked
    # Ben and Hugo start the project; Ana finishes the checklist; Dan and Hidden-Quiet
    # started and have been away for over a week.
    for telegram_id in (2002, 2101):
        await start_project(harness.user(telegram_id, everyone[telegram_id]), profile)
    now = utcnow()
    ana = await student_id(harness, 2001)
    await add_rows(
        harness,
        ChecklistAttempt(student_id=ana, career=profile.slug, cursor=9, finished_at=now),
    )
    away = now - timedelta(days=10)
    await set_students(
        harness, list(quiet), last_seen=away, joined_cohort_at=away, explored_at=away
    )
    ben, hugo = await student_id(harness, 2002), await student_id(harness, 2101)
    questions = [
        "Can Ana call me at +49 170 1234567 or mail ben@example.com?",
        "<b>what</b> & why?",
    ]
    unshared = "Does a producer work nights?"
    await add_rows(
        harness,
        *(UnansweredQuestion(student_id=ben, text=text, created_at=now) for text in questions),
        # A question of a student who doesn't share stays out, as on the unanswered screen.
        UnansweredQuestion(student_id=hugo, text=unshared, created_at=now),
    )
    start = len(harness.telegram.calls)
    assert (await send_due(harness, monday()))[0] == 2
    [digest] = sent_to(harness, LEAD_A, start)
    markup = digest.params["text"]
    text = plain(markup)
    shown = lines(markup)
    # Names of those who share, HTML-escaped; never the others'.
    assert "&lt;i&gt;Cleo&lt;/i&gt; &amp; Co" in markup
    for name in [*hidden.values(), "Hidden-Quiet", "Zed"]:
        assert name not in text
    assert "Other class" not in text
    assert "Class 9B · 7 students" in shown
    joined = next(line for line in shown if line.startswith("🆕 Joined:"))
    assert "Ana" in joined and "Ben" in joined and "Dan" not in joined
    assert joined.endswith(f"2 who {HIDDEN}")  # membership: exact
    active = next(line for line in shown if line.startswith("🟢 Active:"))
    assert active.endswith(f"<5 who {HIDDEN}")
    assert "Dan" not in active
    assert "✅ Finished the checklist: Ana" in shown
    assert f"🚀 Started the project: Ben · <5 who {HIDDEN}" in shown
    assert not any(line.startswith("🏁") for line in shown)
    assert f"😴 Quiet for a week or more: Dan · <5 who {HIDDEN}" in shown
    # Questions: masked, without who asked.
    names = list(everyone.values())
    for question in questions:
        assert f"• {mask(question, names)}" in shown
    assert "1234567" not in text and "ben@example.com" not in text
    assert unshared not in text
    assert "&lt;b&gt;what&lt;/b&gt; &amp; why?" in markup
    # A cohort where nothing happened says so in one line.
    calm = shown.index("Class 9A · 0 students")
    assert shown[calm + 1] == "A quiet week: nothing new."
    assert "None" not in text and "{{" not in text


async def test_many_questions_are_cut_short(harness: BotHarness) -> None:
    lead = await lead_with_digest(harness, LEAD_A, "Lee")
    cohort = await create_cohort(harness, lead, "Class 9B")
    await join(harness, cohort.code, 2001, "Ana")
    await set_students(harness, [2001], shares=True)
    ana = await student_id(harness, 2001)
    huge = "why " * 70
    await add_rows(
        harness,
        *(
            UnansweredQuestion(student_id=ana, text=f"{number} {huge}"[:300], created_at=utcnow())
            for number in range(40)
        ),
    )
    start = len(harness.telegram.calls)
    assert (await send_due(harness, monday()))[0] == 1
    [digest] = sent_to(harness, LEAD_A, start)
    shown = lines(digest.params["text"])
    assert sum(line.startswith("• ") for line in shown) == 6
    assert "• and 35 more" in shown
    assert len(digest.params["text"]) <= 4096
