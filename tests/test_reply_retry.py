"""A reply that meets a Telegram server error is tried once more, through the real Dispatcher
on SQLite and PostgreSQL: the student gets the answer, once, and a failing Telegram is not
hammered."""

from bot.standin.telegram import Failure
from tests.conftest import BotHarness
from tests.feature_support import DIALOGS, assert_no_error
from tests.tour_support import plain

WELCOME = plain(DIALOGS.message("welcome", student={"first_name": "Sam"}))


def welcome_sends(harness: BotHarness, chat_id: int) -> int:
    return sum(
        1
        for call in harness.telegram.sent_to(chat_id)
        if WELCOME in plain(str(call.params.get("text", "")))
    )


def welcomes_shown(harness: BotHarness, chat_id: int) -> int:
    return sum(
        1
        for (chat, _), stored in harness.telegram.messages.items()
        if chat == chat_id and WELCOME in plain(stored.text)
    )


async def test_a_reply_that_meets_a_server_error_is_sent_once_more(harness: BotHarness) -> None:
    harness.telegram.fail(1001, Failure(502, "Bad Gateway"))
    replies = await harness.user(1001, "Sam").send("/start")
    assert_no_error(replies)
    assert welcome_sends(harness, 1001) == 2
    assert welcomes_shown(harness, 1001) == 1


async def test_a_reply_is_retried_only_once(harness: BotHarness) -> None:
    harness.telegram.fail(1001, Failure(500, "Internal Server Error", times=10**9))
    await harness.user(1001, "Sam").send("/start")
    assert welcome_sends(harness, 1001) == 2
    assert welcomes_shown(harness, 1001) == 0
