"""Announcements from a program lead to a cohort, through the real Dispatcher on SQLite and
PostgreSQL: each member gets exactly one copy, also with blocked students, 429s, a double press
and a restart in the middle of sending."""

import asyncio
import html
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Content
from bot.config import Settings
from bot.content.models import Profile
from bot.db.models import Announcement, Delivery, Student, as_utc
from bot.standin.conversation import Conversation
from bot.standin.telegram import NO_ANSWER, Failure
from tests.cohort_support import (
    ANNOUNCE,
    CHECKLIST_CHOICE,
    CLOSE,
    LEAD_A,
    NO_BUTTON,
    SEND_NOW,
    CohortRef,
    HarnessFactory,
    announcements,
    copies,
    create_cohort,
    delivery_rows,
    delivery_statuses,
    grant_lead,
    harness_factory,
    join_students,
    lines,
    open_cohort,
    prepare_announcement,
    progress_lines,
    progress_message,
    send_attempts,
    text_invalid,
    wait_finished,
    wait_until,
)
from tests.conftest import BotHarness
from tests.feature_support import (
    STICKER,
    assert_no_error,
    before_each_call,
    held_by_this_task,
    profile_of,
    scalars,
    screen,
    student,
)
from tests.tour_support import plain, texts

TEXT = "Workshop moved to Friday 15:00 in room 204. Bring headphones!"


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


@pytest.fixture
async def start_harness(
    settings: Settings, content: Content, database: Any
) -> AsyncIterator[HarnessFactory]:
    async with harness_factory(settings, content) as make:
        yield make


async def class_of(
    harness: BotHarness, size: int, first_id: int = 5001, name: str = "Class 9B"
) -> tuple[Conversation, CohortRef, list[int]]:
    """A lead, their cohort and `size` students who joined it through the link."""
    await grant_lead(harness, LEAD_A, "Lee")
    lee = harness.user(LEAD_A, "Lee")
    cohort = await create_cohort(harness, lee, name)
    ids = list(range(first_id, first_id + size))
    await join_students(harness, cohort.code, ids)
    return lee, cohort, ids


async def the_announcement(harness: BotHarness) -> Announcement:
    found = await announcements(harness)
    assert len(found) == 1, f"expected one announcement, found {len(found)}"
    return found[0]


async def send_and_wait(
    harness: BotHarness, lee: Conversation, cohort: CohortRef, text: str, button: str = NO_BUTTON
) -> Announcement:
    await prepare_announcement(lee, cohort.name, text, button)
    assert_no_error(await lee.press(SEND_NOW))
    return await wait_finished(harness, (await announcements(harness))[-1].id)


async def test_every_member_gets_one_copy_with_a_button_into_the_tour(
    harness: BotHarness, profile: Profile
) -> None:
    lee, cohort, ids = await class_of(harness, 12)
    outsider = harness.user(6001)
    await outsider.send("/start")

    await open_cohort(lee, cohort.name)
    assert_no_error(await lee.press(ANNOUNCE))
    replies = await lee.send(TEXT)
    assert_no_error(replies)
    assert CHECKLIST_CHOICE in lee.current_labels()
    assert_no_error(await lee.press(CHECKLIST_CHOICE))
    confirm = plain(screen(lee))
    assert TEXT in confirm and CHECKLIST_CHOICE in confirm
    assert await announcements(harness) == []  # nothing goes out before "Send now"
    assert all(copies(harness, member, TEXT) == 0 for member in ids)

    replies = await lee.press(SEND_NOW)
    assert_no_error(replies)
    announcement = await wait_finished(harness, (await the_announcement(harness)).id)
    assert (announcement.cohort_id, announcement.text, announcement.node) == (
        cohort.id,
        TEXT,
        "checklist",
    )
    for member in ids:
        assert copies(harness, member, TEXT) == 1
        assert send_attempts(harness, member, TEXT) == 1
    assert copies(harness, 6001, TEXT) == 0
    assert set((await delivery_statuses(harness, announcement.id)).values()) == {"sent"}
    assert lines(progress_message(harness, announcement)) == progress_lines(12, 0, 0)

    # The button opens the checklist for the student who presses it.
    member = harness.user(ids[3], f"S{ids[3]}")
    [message] = [
        stored
        for (chat, _), stored in harness.telegram.messages.items()
        if chat == ids[3] and TEXT in plain(stored.text)
    ]
    assert [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row] == [
        CHECKLIST_CHOICE
    ]
    replies = await member.press(CHECKLIST_CHOICE, message.message_id)
    assert_no_error(replies)
    assert (await student(harness, ids[3])).node == "checklist"
    assert profile.checklist.heading in plain(screen(member))


async def test_an_announcement_without_a_button(harness: BotHarness) -> None:
    lee, cohort, ids = await class_of(harness, 3)
    announcement = await send_and_wait(harness, lee, cohort, TEXT)
    assert announcement.node is None
    for member in ids:
        [message] = [
            stored
            for (chat, _), stored in harness.telegram.messages.items()
            if chat == member and TEXT in plain(stored.text)
        ]
        assert not (message.reply_markup or {}).get("inline_keyboard")
    assert lines(progress_message(harness, announcement)) == progress_lines(3, 0, 0)


async def test_the_longest_allowed_text_reaches_members_whole(harness: BotHarness) -> None:
    lee, cohort, ids = await class_of(harness, 2)
    text = ("Practice every day. " * 200)[:3499] + "!"
    assert len(text) == 3500
    announcement = await send_and_wait(harness, lee, cohort, text)
    for member in ids:
        assert copies(harness, member, text) == 1
    assert lines(progress_message(harness, announcement)) == progress_lines(2, 0, 0)


async def test_an_allowed_text_with_many_special_characters_is_one_message(
    harness: BotHarness,
) -> None:
    lee, cohort, ids = await class_of(harness, 1)
    text = ('Q&A: "mixing" <> mastering. ' * 130)[:2000].strip()
    assert len(html.escape(text)) <= 3500 < len(html.escape(text + text))
    announcement = await send_and_wait(harness, lee, cohort, text)
    assert copies(harness, ids[0], text) == 1
    assert lines(progress_message(harness, announcement)) == progress_lines(1, 0, 0)


async def test_a_text_too_long_once_escaped_for_telegram_is_refused(
    harness: BotHarness,
) -> None:
    """3500 characters, but `&`, `<`, `>` and `"` take several in the message Telegram gets:
    refused with the limit, rather than delivered cut in two."""
    lee, cohort, _ = await class_of(harness, 1)
    text = ('Q&A: "mixing" <> mastering. ' * 130)[:3500].strip()
    await open_cohort(lee, cohort.name)
    await lee.press(ANNOUNCE)
    replies = await lee.send(text)
    assert_no_error(replies)
    assert texts(replies) == [text_invalid(3500)]
    assert await announcements(harness) == []


@pytest.mark.parametrize(
    "message",
    [{"text": "x" * 3501}, {"text": "   "}, {"text": "\u200b\u200d\u2060"}, STICKER],
    ids=["3501-chars", "blank", "invisible", "sticker"],
)
async def test_a_bad_text_is_refused_and_nothing_is_sent(
    harness: BotHarness, message: dict[str, Any]
) -> None:
    lee, cohort, ids = await class_of(harness, 3)
    await open_cohort(lee, cohort.name)
    await lee.press(ANNOUNCE)
    replies = await lee.send_message(message)
    assert_no_error(replies)
    assert texts(replies) == [text_invalid(3500)]
    assert await announcements(harness) == []
    calls = len(harness.telegram.calls)
    await asyncio.sleep(0.2)
    assert all(call.params.get("chat_id") not in ids for call in harness.telegram.calls[calls:]), (
        "something was sent to the students"
    )
    # Still waiting for the text: a good one goes through.
    assert_no_error(await lee.send(TEXT))
    assert_no_error(await lee.press(NO_BUTTON))
    assert_no_error(await lee.press(SEND_NOW))
    announcement = await wait_finished(harness, (await the_announcement(harness)).id)
    assert all(copies(harness, member, TEXT) == 1 for member in ids)
    assert all(copies(harness, member, "x" * 100) == 0 for member in ids)
    assert lines(progress_message(harness, announcement)) == progress_lines(3, 0, 0)


async def test_blocked_students_and_429s(harness: BotHarness) -> None:
    lee, cohort, ids = await class_of(harness, 10)
    blocked, throttled = ids[2:4], [ids[0], ids[7]]
    for chat_id in blocked:
        harness.telegram.block(chat_id)
    for chat_id in throttled:
        harness.telegram.fail(
            chat_id, Failure(429, "Too Many Requests: retry after 1", retry_after=1)
        )

    announcement = await send_and_wait(harness, lee, cohort, TEXT)
    statuses = await delivery_statuses(harness, announcement.id)
    for member in ids:
        if member in blocked:
            assert copies(harness, member, TEXT) == 0
            assert statuses[member] == "blocked"
            assert (await student(harness, member)).blocked_at is not None
        else:
            assert copies(harness, member, TEXT) == 1, member
            assert statuses[member] == "sent"
            assert (await student(harness, member)).blocked_at is None
    for member in throttled:
        assert send_attempts(harness, member, TEXT) == 2  # refused once, then delivered
    assert lines(progress_message(harness, announcement)) == progress_lines(8, 2, 0)

    # The next announcement skips the students known to have blocked the bot.
    second_text = "Concert tickets are at the front desk."
    second = await send_and_wait(harness, lee, cohort, second_text)
    for member in blocked:
        assert send_attempts(harness, member, second_text) == 0
    for member in set(ids) - set(blocked):
        assert copies(harness, member, second_text) == 1
    assert lines(progress_message(harness, second)) == progress_lines(8, 2, 0)


async def test_a_student_who_comes_back_after_blocking_gets_announcements_again(
    harness: BotHarness,
) -> None:
    lee, cohort, ids = await class_of(harness, 2)
    harness.telegram.block(ids[0])
    await send_and_wait(harness, lee, cohort, TEXT)
    assert (await student(harness, ids[0])).blocked_at is not None

    harness.telegram.failures.pop(ids[0])  # the student unblocks the bot…
    assert_no_error(await harness.user(ids[0]).send("/start"))  # …and comes back
    second_text = "Concert tickets are at the front desk."
    second = await send_and_wait(harness, lee, cohort, second_text)
    assert copies(harness, ids[0], second_text) == 1
    assert lines(progress_message(harness, second)) == progress_lines(2, 0, 0)


async def statuses_now(harness: BotHarness) -> dict[str, int]:
    """Deliveries by status; "retrying" counts the pending ones that failed once."""
    async with harness.database.session_factory() as session:
        rows = await session.execute(
            select(Delivery.status, Delivery.reason, func.count()).group_by(
                Delivery.status, Delivery.reason
            )
        )
        counts: dict[str, int] = {}
        for status, reason, number in rows.all():
            key = "retrying" if status == "pending" and reason else str(status)
            counts[key] = counts.get(key, 0) + int(number)
        return counts


@pytest.mark.parametrize("moment", ["between-sends", "while-retrying"])
async def test_a_restart_mid_send_resumes_without_second_copies(
    start_harness: HarnessFactory, moment: str
) -> None:
    """The bot stops in the middle of an announcement and starts again: the rest goes out,
    nobody gets a second copy, and the lead gets the final count."""
    harness = await start_harness(broadcast_per_second=5)
    lee, cohort, ids = await class_of(harness, 10)
    if moment == "while-retrying":
        for chat_id in ids[:3]:
            harness.telegram.fail(
                chat_id, Failure(429, "Too Many Requests: retry after 2", retry_after=2)
            )
    await prepare_announcement(lee, cohort.name, TEXT)
    assert_no_error(await lee.press(SEND_NOW))

    async def in_progress() -> bool:
        counts = await statuses_now(harness)
        if moment == "while-retrying":
            return counts.get("retrying", 0) >= 1
        return counts.get("sent", 0) >= 2 and counts.get("pending", 0) >= 3

    await wait_until(in_progress, "the announcement to be under way")
    before = await statuses_now(harness)
    await harness.restart()
    after_stop = await statuses_now(harness)
    left = after_stop.get("pending", 0) + after_stop.get("retrying", 0)
    assert left > 0, f"nothing left to resume: {before} → {after_stop}"

    announcement = await wait_finished(harness, (await the_announcement(harness)).id)
    for member in ids:
        assert copies(harness, member, TEXT) == 1, member
        expected_attempts = 2 if moment == "while-retrying" and member in ids[:3] else 1
        assert send_attempts(harness, member, TEXT) == expected_attempts, member
    assert set((await delivery_statuses(harness, announcement.id)).values()) == {"sent"}
    assert lines(progress_message(harness, announcement)) == progress_lines(10, 0, 0)


async def test_a_double_press_of_send_now_sends_once(harness: BotHarness) -> None:
    lee, cohort, ids = await class_of(harness, 5)
    await prepare_announcement(lee, cohort.name, TEXT)
    confirm = lee.latest()
    assert confirm is not None
    assert_no_error(await lee.press(SEND_NOW, confirm.message_id))
    assert_no_error(await lee.press(SEND_NOW, confirm.message_id))
    announcement = await wait_finished(harness, (await the_announcement(harness)).id)
    await asyncio.sleep(0.3)
    assert len(await announcements(harness)) == 1
    for member in ids:
        assert copies(harness, member, TEXT) == 1
    assert lines(progress_message(harness, announcement)) == progress_lines(5, 0, 0)


async def test_two_simultaneous_presses_of_send_now_send_once(harness: BotHarness) -> None:
    lee, cohort, ids = await class_of(harness, 5)
    await prepare_announcement(lee, cohort.name, TEXT)
    confirm = lee.latest()
    assert confirm is not None
    data = next(
        button["callback_data"]
        for row in (confirm.reply_markup or {})["inline_keyboard"]
        for button in row
        if button["text"] == SEND_NOW
    )
    await asyncio.gather(
        lee.press_data(data, confirm.message_id), lee.press_data(data, confirm.message_id)
    )
    await wait_until(lambda: _all_finished(harness), "every announcement to finish", deadline=20)
    assert len(await announcements(harness)) == 1
    for member in ids:
        assert copies(harness, member, TEXT) == 1


async def _all_finished(harness: BotHarness) -> bool:
    found = await announcements(harness)
    return bool(found) and all(row.finished_at is not None for row in found)


async def test_members_who_left_or_joined_later(harness: BotHarness) -> None:
    """The announcement goes to the members at the time it is sent: a student who moved to
    another cohort before gets nothing."""
    lee, cohort, ids = await class_of(harness, 3)
    other = await create_cohort(harness, lee, "Class 9C")
    await join_students(harness, other.code, [ids[0]])
    announcement = await send_and_wait(harness, lee, cohort, TEXT)
    assert copies(harness, ids[0], TEXT) == 0
    assert copies(harness, ids[1], TEXT) == 1 and copies(harness, ids[2], TEXT) == 1
    assert lines(progress_message(harness, announcement)) == progress_lines(2, 0, 0)
    rows = await scalars(harness, select(Student.telegram_id).where(Student.cohort_id == other.id))
    assert list(rows) == [ids[0]]


async def test_the_sender_holds_no_database_connection_while_telegram_answers(
    harness: BotHarness,
) -> None:
    """On SQLite every update shares one connection: a sender keeping it through each send
    would stall every student for as long as Telegram takes to answer."""
    lee, cohort, ids = await class_of(harness, 6)
    with held_by_this_task(harness.database.engine) as held:

        async def checked_out(method: Any) -> int | None:
            return held() if getattr(method, "chat_id", None) in ids else None

        await prepare_announcement(lee, cohort.name, TEXT, NO_BUTTON)
        async with before_each_call(harness, checked_out) as seen:
            assert_no_error(await lee.press(SEND_NOW))

            async def all_sent() -> bool:  # watches the stand-in only: no query of its own
                return all(copies(harness, member, TEXT) == 1 for member in ids)

            await wait_until(all_sent, "every member's copy")
    assert [count for count in seen if count is not None] == [0] * len(ids)


FOREVER = 10**9


def progress_texts(harness: BotHarness, lead: int) -> list[list[str]]:
    """Every version of the progress message the lead was shown (sent or edited)."""
    return [
        lines(str(call.params.get("text", "")))
        for call in harness.telegram.calls
        if call.method in ("sendMessage", "editMessageText") and call.params.get("chat_id") == lead
    ]


def first_copy_at(harness: BotHarness, chat_id: int, text: str) -> int:
    """The position among all calls of the send that delivered the text to the chat."""
    delivered = [
        index
        for index, call in enumerate(harness.telegram.calls)
        if call.method == "sendMessage"
        and call.params.get("chat_id") == chat_id
        and text in plain(str(call.params.get("text", "")))
    ]
    return delivered[-1]


async def test_a_delivery_telegram_could_not_take_is_delivered_later_exactly_once(
    start_harness: HarnessFactory,
) -> None:
    """A 5xx, a request that gets no answer and a 429 are transient: the delivery waits for
    its next attempt while the others go out, then reaches the student once; the lead sees
    it pending ("to try again") meanwhile, and every copy delivered at the end."""
    harness = await start_harness(announcement_retry_base_seconds=2)
    lee, cohort, ids = await class_of(harness, 6)
    server_error, no_answer, flood = ids[0], ids[1], ids[-1]
    harness.telegram.fail(server_error, Failure(500, "Internal Server Error", times=2))
    harness.telegram.fail(no_answer, Failure(NO_ANSWER, "timed out"))
    harness.telegram.fail(flood, Failure(429, "Too Many Requests: retry after 1", retry_after=1))

    announcement = await send_and_wait(harness, lee, cohort, TEXT)
    for member in ids:
        assert copies(harness, member, TEXT) == 1, member
    rows = await delivery_rows(harness, announcement.id)
    assert rows[server_error] == ("sent", None, 3)
    assert rows[no_answer] == ("sent", None, 2)
    assert rows[flood] == ("sent", None, 2)
    assert {rows[member] for member in ids[2:5]} == {("sent", None, 1)}
    assert send_attempts(harness, server_error, TEXT) == 3
    # The ones that failed did not hold the others up.
    for member in ids[2:5]:
        assert first_copy_at(harness, member, TEXT) < first_copy_at(harness, server_error, TEXT)
    shown = progress_texts(harness, LEAD_A)
    assert any(
        shown_lines == progress_lines(sent, 0, pending=6 - sent, retrying=retrying)
        for shown_lines in shown
        for sent in range(6)
        for retrying in range(1, 4)
    ), [shown_lines for shown_lines in shown if shown_lines and "Sending" in shown_lines[0]]
    assert lines(progress_message(harness, announcement)) == progress_lines(6, 0, 0)


async def test_six_429s_in_a_row_do_not_make_a_delivery_fail(harness: BotHarness) -> None:
    lee, cohort, ids = await class_of(harness, 2)
    harness.telegram.fail(
        ids[0], Failure(429, "Too Many Requests: retry after 1", retry_after=1, times=6)
    )
    announcement = await send_and_wait(harness, lee, cohort, TEXT)
    rows = await delivery_rows(harness, announcement.id)
    assert rows[ids[0]] == ("sent", None, 7)
    assert copies(harness, ids[0], TEXT) == 1
    assert lines(progress_message(harness, announcement)) == progress_lines(2, 0, 0)


async def test_permanent_refusals_fail_at_once_with_their_reason(harness: BotHarness) -> None:
    lee, cohort, ids = await class_of(harness, 6)
    blocked, deactivated, not_found, refused = ids[:4]
    harness.telegram.block(blocked)
    harness.telegram.fail(deactivated, Failure(403, "Forbidden: user is deactivated"))
    harness.telegram.fail(not_found, Failure(400, "Bad Request: chat not found", times=FOREVER))
    harness.telegram.fail(refused, Failure(400, "Bad Request: can't parse entities"))

    announcement = await send_and_wait(harness, lee, cohort, TEXT)
    rows = await delivery_rows(harness, announcement.id)
    assert rows[blocked] == ("blocked", "blocked", 1)
    assert rows[deactivated] == ("blocked", "blocked", 1)
    assert rows[not_found] == ("failed", "chat_not_found", 1)
    assert rows[refused] == ("failed", "refused", 1)
    assert {rows[member] for member in ids[4:]} == {("sent", None, 1)}
    for member in ids[:4]:
        assert send_attempts(harness, member, TEXT) == 1, member
        assert copies(harness, member, TEXT) == 0, member
    assert lines(progress_message(harness, announcement)) == progress_lines(
        2, 2, failures={"chat_not_found": 1, "refused": 1}
    )


async def test_a_delivery_still_failing_when_the_retry_time_is_over_is_given_up(
    start_harness: HarnessFactory,
) -> None:
    budget = 3.0
    harness = await start_harness(
        announcement_retry_hours=budget / 3600, announcement_retry_base_seconds=0.2
    )
    lee, cohort, ids = await class_of(harness, 3)
    harness.telegram.fail(ids[0], Failure(502, "Bad Gateway", times=FOREVER))
    harness.telegram.fail(ids[1], Failure(NO_ANSWER, "timed out", times=FOREVER))

    announcement = await send_and_wait(harness, lee, cohort, TEXT)
    rows = await delivery_rows(harness, announcement.id)
    for member in ids[:2]:
        status, reason, attempts = rows[member]
        assert (status, reason) == ("failed", "gave_up"), member
        assert attempts >= 2, f"{member} was tried {attempts} time(s)"
        assert send_attempts(harness, member, TEXT) == attempts
        assert copies(harness, member, TEXT) == 0
    assert rows[ids[2]] == ("sent", None, 1)
    assert announcement.finished_at is not None
    took = as_utc(announcement.finished_at) - as_utc(announcement.created_at)
    assert took.total_seconds() <= budget + 2, took
    assert lines(progress_message(harness, announcement)) == progress_lines(
        1, 0, failures={"gave_up": 2}
    )


async def test_a_closed_link_still_lets_the_lead_announce(harness: BotHarness) -> None:
    """Leads close the link once the class has joined; the class still hears from them."""
    lee, cohort, ids = await class_of(harness, 2)
    await open_cohort(lee, cohort.name)
    assert_no_error(await lee.press(CLOSE))
    assert ANNOUNCE in lee.current_labels()
    await send_and_wait(harness, lee, cohort, TEXT)
    assert [copies(harness, telegram_id, TEXT) for telegram_id in ids] == [1, 1]


async def test_one_student_is_not_students(harness: BotHarness) -> None:
    lee, cohort, _ = await class_of(harness, 1)
    await open_cohort(lee, cohort.name)
    replies = await lee.press(ANNOUNCE)
    assert f"Announcement to {cohort.name} (1 student)" in plain("\n".join(texts(replies)))
