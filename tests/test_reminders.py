"""Reminders for students who opted in and left their project alone for a while."""

import asyncio
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from sqlalchemy import update

from bot.app import Content
from bot.content.models import Profile
from bot.db.models import Project, Student, utcnow
from bot.features.announcements.service import AnnouncementService
from bot.features.reminders.service import ReminderService
from bot.services.jobs import LeaseLost
from bot.standin.conversation import Conversation
from bot.standin.telegram import Call, Failure
from tests.conftest import BotHarness
from tests.feature_support import (
    DONE,
    REMIND_OFF,
    REMIND_ON,
    assert_menu_changed,
    assert_no_error,
    at_each_answer,
    before_each_call,
    do_steps,
    held_by_this_task,
    profile_of,
    project,
    project_button,
    screen,
    start_project,
    steps_done,
    student,
    write_note,
)

SAM, ALEX = 1001, 1002


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


def reminders(harness: BotHarness) -> ReminderService:
    """The bot's reminder service: on its own, or inside the background job runner."""
    data = harness.dispatcher.workflow_data
    service = data["reminders"] if "reminders" in data else data["jobs"].reminders
    assert isinstance(service, ReminderService)
    return service


def idle_deadline(harness: BotHarness, extra: timedelta = timedelta()) -> datetime:
    """A moment when a project untouched since now counts as stalled."""
    return utcnow() + timedelta(days=harness.settings.reminder_after_days, hours=1) + extra


def reminders_sent(harness: BotHarness, chat_id: int, since: int = 0) -> list[Call]:
    """The messages the bot sent to a chat on its own, after the first `since` calls."""
    return [
        call
        for call in harness.telegram.calls[since:]
        if call.method == "sendMessage" and call.params.get("chat_id") == chat_id
    ]


def continue_label(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


async def opt_in(conversation: Conversation, profile: Profile) -> None:
    await conversation.send("/menu")
    await conversation.press(project_button(profile))
    replies = await conversation.press(REMIND_ON)
    assert_no_error(replies)
    assert REMIND_OFF in conversation.current_labels()


async def project_with_first_step_done(harness: BotHarness, profile: Profile, who: int) -> None:
    conversation = harness.user(who, "Sam" if who == SAM else "Alex")
    await start_project(conversation, profile)
    await write_note(conversation, "lo-fi, calm")


async def shift_project_into_the_past(harness: BotHarness, who: int, by: timedelta) -> None:
    """As if everything about the student's project so far happened `by` earlier."""
    found = await project(harness, who)
    assert found is not None
    values = {
        "started_at": found.started_at - by,
        "last_activity_at": found.last_activity_at - by,
    }
    if found.reminded_at is not None:
        values["reminded_at"] = found.reminded_at - by
    async with harness.database.session_factory() as session:
        await session.execute(update(Project).where(Project.id == found.id).values(**values))
        await session.commit()


async def test_an_opted_in_student_gets_one_reminder(harness: BotHarness, profile: Profile) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    sam = harness.user(SAM)
    await opt_in(sam, profile)
    next_step = profile.project.steps[1]
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert (report.sent, report.blocked, report.failed) == (1, 0, 0)
    [reminder] = reminders_sent(harness, SAM, before)
    assert next_step.title in reminder.params["text"]
    assert "Sam" in reminder.params["text"]
    assert f"▶️ Continue: {next_step.title}" in continue_label(reminder)
    found = await project(harness, SAM)
    assert found is not None and found.reminded_at is not None
    # Same moment, and days later without the student coming back: nothing more.
    for later in (timedelta(), timedelta(days=1), timedelta(days=30)):
        report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness, later))
        assert report.sent == 0
    assert len(reminders_sent(harness, SAM, before)) == 1


async def test_the_reminder_continue_button_opens_the_next_step(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    sam = harness.user(SAM)
    await opt_in(sam, profile)
    await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    next_step = profile.project.steps[1]
    replies = await sam.press(f"▶️ Continue: {next_step.title}")
    assert_no_error(replies)
    assert next_step.text in screen(sam)
    await sam.press(DONE)
    assert await steps_done(harness, SAM) == [profile.project.steps[0].id, next_step.id]


async def test_a_new_idle_period_after_activity_allows_a_new_reminder(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    sam = harness.user(SAM)
    await opt_in(sam, profile)
    idle = timedelta(days=harness.settings.reminder_after_days, hours=1)
    # The student went quiet long ago and was reminded just now.
    await shift_project_into_the_past(harness, SAM, idle)
    before = len(harness.telegram.calls)
    assert (await reminders(harness).send_due(harness.bot, now=utcnow())).sent == 1
    assert (await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))).sent == 0
    # The student comes back and marks a step done, then goes quiet again.
    await sam.press(f"▶️ Continue: {profile.project.steps[1].title}")
    await sam.press(DONE)
    assert len(await steps_done(harness, SAM)) == 2
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 1
    sent = reminders_sent(harness, SAM, before)
    bot_reminders = [call for call in sent if "Continue:" in " ".join(continue_label(call))]
    assert profile.project.steps[2].title in bot_reminders[-1].params["text"]
    assert (await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))).sent == 0


async def test_activity_before_the_idle_time_is_up_means_no_reminder(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    await opt_in(harness.user(SAM), profile)
    early = utcnow() + timedelta(days=harness.settings.reminder_after_days) - timedelta(hours=1)
    report = await reminders(harness).send_due(harness.bot, now=early)
    assert report.sent == 0
    found = await project(harness, SAM)
    assert found is not None and found.reminded_at is None


async def test_no_reminder_without_opting_in(harness: BotHarness, profile: Profile) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    await project_with_first_step_done(harness, profile, ALEX)
    await opt_in(harness.user(ALEX, "Alex"), profile)
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 1
    assert reminders_sent(harness, SAM, before) == []
    assert len(reminders_sent(harness, ALEX, before)) == 1


async def test_no_reminder_after_opting_out(harness: BotHarness, profile: Profile) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    sam = harness.user(SAM)
    await opt_in(sam, profile)
    replies = await sam.press(REMIND_OFF)
    assert_no_error(replies)
    assert REMIND_ON in sam.current_labels()
    found = await project(harness, SAM)
    assert found is not None and found.reminders is False
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 0 and reminders_sent(harness, SAM, before) == []


async def test_stop_reminders_from_the_reminder_itself(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    sam = harness.user(SAM)
    await opt_in(sam, profile)
    idle = timedelta(days=harness.settings.reminder_after_days, hours=1)
    await shift_project_into_the_past(harness, SAM, idle)
    assert (await reminders(harness).send_due(harness.bot, now=utcnow())).sent == 1
    replies = await sam.press(REMIND_OFF)
    assert_no_error(replies)
    found = await project(harness, SAM)
    assert found is not None and found.reminders is False
    await shift_project_into_the_past(harness, SAM, idle * 3)
    assert (await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))).sent == 0


async def test_no_reminder_for_a_finished_project(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user(SAM)
    await start_project(sam, profile)
    await opt_in(sam, profile)
    await sam.press(f"▶️ Continue: {profile.project.steps[0].title}")
    await do_steps(sam, profile, len(profile.project.steps))
    found = await project(harness, SAM)
    assert found is not None and found.finished_at is not None
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 0 and reminders_sent(harness, SAM, before) == []


async def test_a_student_who_blocked_the_bot_is_not_tried_again(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    await project_with_first_step_done(harness, profile, ALEX)
    await opt_in(harness.user(SAM), profile)
    await opt_in(harness.user(ALEX, "Alex"), profile)
    harness.telegram.block(SAM)
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert (report.sent, report.blocked, report.failed) == (1, 1, 0)
    assert len(reminders_sent(harness, ALEX, before)) == 1
    blocked = await student(harness, SAM)
    assert blocked.blocked_at is not None
    found = await project(harness, SAM)
    assert found is not None and found.reminders is False
    tried = len(reminders_sent(harness, SAM, before))
    assert tried >= 1
    # Even in a new idle period, nobody tries to reach the student again.
    await shift_project_into_the_past(harness, SAM, timedelta(days=60))
    for later in (timedelta(), timedelta(days=10), timedelta(days=100)):
        report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness, later))
        assert report.blocked == 0 and report.sent == 0
    assert len(reminders_sent(harness, SAM, before)) == tried


async def test_a_blocked_student_is_skipped_even_with_reminders_left_on(
    harness: BotHarness, profile: Profile
) -> None:
    """The blocked mark alone stops reminders (say the opt-in was set again by another worker)."""
    await project_with_first_step_done(harness, profile, SAM)
    await opt_in(harness.user(SAM), profile)
    async with harness.database.session_factory() as session:
        await session.execute(
            update(Student).where(Student.telegram_id == SAM).values(blocked_at=utcnow())
        )
        await session.commit()
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 0 and reminders_sent(harness, SAM, before) == []


async def test_reminders_survive_a_restart(harness: BotHarness, profile: Profile) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    await opt_in(harness.user(SAM), profile)
    moment = idle_deadline(harness)
    assert (await reminders(harness).send_due(harness.bot, now=moment)).sent == 1
    before = len(harness.telegram.calls)
    await harness.restart()
    assert (await reminders(harness).send_due(harness.bot, now=moment)).sent == 0
    later = moment + timedelta(days=7)
    assert (await reminders(harness).send_due(harness.bot, now=later)).sent == 0
    assert reminders_sent(harness, SAM, before) == []


async def test_two_rounds_at_once_send_one_reminder(harness: BotHarness, profile: Profile) -> None:
    """Two workers (two bot processes) checking at the same time send the reminder once."""
    await project_with_first_step_done(harness, profile, SAM)
    await opt_in(harness.user(SAM), profile)
    moment = idle_deadline(harness)
    first, second = await asyncio.gather(
        reminders(harness).send_due(harness.bot, now=moment),
        reminders(harness).send_due(harness.bot, now=moment),
    )
    assert first.sent + second.sent == 1


async def test_the_reminder_is_claimed_in_the_database_before_it_is_sent(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    await opt_in(harness.user(SAM), profile)

    async def claimed() -> bool:
        found = await project(harness, SAM)
        return found is not None and found.reminded_at is not None

    async with at_each_answer(harness, claimed) as seen:
        report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 1
    assert seen and all(seen)


async def test_flood_control_is_waited_out_and_the_reminder_sent_once(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    await opt_in(harness.user(SAM), profile)
    harness.telegram.fail(SAM, Failure(429, "Too Many Requests: retry after 1", retry_after=1))
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert (report.sent, report.failed) == (1, 0)
    tried = reminders_sent(harness, SAM, before)
    assert len(tried) == 2, "refused once with 429, then sent again"
    assert tried[0].params["text"] == tried[1].params["text"]
    shown = [
        stored
        for (chat_id, _), stored in harness.telegram.messages.items()
        if chat_id == SAM and stored.text == tried[0].params["text"]
    ]
    assert len(shown) == 1, "the student sees the reminder once"
    assert (await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))).sent == 0


async def test_a_student_who_comes_back_after_blocking_can_be_reminded_again(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    sam = harness.user(SAM)
    await opt_in(sam, profile)
    idle = timedelta(days=harness.settings.reminder_after_days, hours=1)
    await shift_project_into_the_past(harness, SAM, idle)
    harness.telegram.block(SAM)
    assert (await reminders(harness).send_due(harness.bot, now=utcnow())).blocked == 1
    # The student unblocks the bot, comes back, opts in again and works on a step.
    harness.telegram.failures.pop(SAM)
    assert_no_error(await sam.send("/start"))
    await opt_in(sam, profile)
    await sam.press(f"▶️ Continue: {profile.project.steps[1].title}")
    await sam.press(DONE)
    before = len(harness.telegram.calls)
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 1
    assert len(reminders_sent(harness, SAM, before)) == 1


async def test_a_reminder_holds_no_database_connection_while_telegram_answers(
    harness: BotHarness, profile: Profile
) -> None:
    await project_with_first_step_done(harness, profile, SAM)
    await opt_in(harness.user(SAM), profile)
    await harness.dispatcher.workflow_data["jobs"].stop()
    with held_by_this_task(harness.database.engine) as held:

        async def checked_out(_method: Any) -> int:
            return held()

        async with before_each_call(harness, checked_out) as seen:
            report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 1
    assert seen == [0]


async def test_reminders_take_turns_at_the_pace_and_stop_once_the_lease_is_lost(
    harness: BotHarness, profile: Profile
) -> None:
    """Run by the background jobs, each reminder waits for its turn at BROADCAST_PER_SECOND (the
    announcements' pace) and checks the lease first: a process that lost it stops before its
    next reminder, which stays due for the process that holds it now."""
    students = (SAM, ALEX, 1003)
    for who in students:
        await project_with_first_step_done(harness, profile, who)
        await opt_in(harness.user(who), profile)
    broadcast = harness.dispatcher.workflow_data["announcements"]
    assert isinstance(broadcast, AnnouncementService)
    broadcast.interval = 0.3  # slow enough that no reminder could come that soon by itself
    checks = 0

    async def fence() -> None:
        nonlocal checks
        checks += 1
        if checks > 2:
            raise LeaseLost

    sent_at: list[float] = []

    async def when(method: Any) -> None:
        if method.__api_method__ == "sendMessage" and method.chat_id in students:
            sent_at.append(time.monotonic())

    async with before_each_call(harness, when):
        with pytest.raises(LeaseLost):
            await reminders(harness).send_due(
                harness.bot, now=idle_deadline(harness), slot=partial(broadcast.slot, fence)
            )
    assert len(sent_at) == 2
    assert sent_at[1] - sent_at[0] >= 0.29
    report = await reminders(harness).send_due(harness.bot, now=idle_deadline(harness))
    assert report.sent == 1


async def test_the_reminder_is_offered_at_the_start_and_says_when(
    harness: BotHarness, profile: Profile
) -> None:
    """Issue 18: the project starts on its first step, so the offer is there, with the
    number of quiet days (REMINDER_AFTER_DAYS) before a reminder would come."""
    sam = harness.user(SAM)
    await start_project(sam, profile)
    days = harness.settings.reminder_after_days
    text = screen(sam)
    assert f"If you haven't logged anything for {days} days, I can remind you" in text
    yes = f"🔔 Yes, remind me after {days} quiet days"
    replies = await sam.press(yes)
    assert_no_error(replies)
    found = await project(harness, SAM)
    assert found is not None and found.reminders
    # Back on the same step, the offer gone; the project screen says the same "when".
    assert profile.project.steps[0].title in screen(sam)
    assert yes not in sam.current_labels() and "I can remind you" not in screen(sam)
    assert_menu_changed(await sam.press_data("a:project_remind:maybe.mood"))
    await sam.press_data("a:project_remind:off.nosuchstep")  # an unknown step: the project
    assert f"🔔 Remind me after {days} quiet days" in sam.current_labels()
