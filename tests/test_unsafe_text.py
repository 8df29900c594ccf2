"""A NUL or a lone surrogate in what a student sends (their name, a message, a note) never
blocks them: the text is made safe where updates come in, whichever way they come in (the
stand-in, a webhook body, getUpdates), and nothing stored holds such a character.

A note made only of invisible characters is refused like an empty one.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.app import Content, build_dispatcher, create_bot
from bot.config import Settings
from bot.content.models import Profile
from bot.db.engine import Database
from bot.db.models import Base, ProjectEntry
from bot.standin.server import LocalBotApiServer, message_update, user_json
from bot.standin.session import StandInSession
from bot.standin.telegram import FakeTelegram
from bot.webhook import create_app
from tests.conftest import BotHarness
from tests.feature_support import (
    DIALOGS,
    WRITE_ANSWER,
    assert_no_error,
    profile_of,
    scalars,
    shown,
    start_project,
    write_note,
)
from tests.tour_support import texts

SAM = 1001
NUL = "\x00"
LONE_SURROGATE = "\ud83d"  # the first half of an emoji's UTF-16 pair, without the second
# Zero-width space, zero-width non-joiner and joiner, word joiner, BOM, and a no-break space.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00a0"
UNSAFE = (NUL, LONE_SURROGATE, "\x07", "\x1b")
SECRET = "unsafe-text-secret"
POLL_DEADLINE = 60  # seconds: generous, the machine may be loaded


def unsafe_in(text: str) -> list[str]:
    found = [char for char in UNSAFE if char in text]
    found += [char for char in text if "\ud800" <= char <= "\udfff"]
    return found


async def stored_unsafe(database: Database) -> list[str]:
    """Every stored value (any table, any column) that holds a NUL, a control character or a
    surrogate, named table.column."""
    found = []
    async with database.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    text = json.dumps(value, default=str, ensure_ascii=False)
                    if unsafe_in(text) or "\\u0000" in text:
                        found.append(f"{table.name}.{column}: {value!r}")
    return found


def assert_served(replies: list[Any]) -> None:
    assert_no_error(replies)
    assert texts(replies), "the bot answered nothing"
    for text in texts(replies):
        assert not unsafe_in(text), f"sent back an unsafe character: {text!r}"


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


async def test_a_first_name_with_nul_does_not_block_the_student(harness: BotHarness) -> None:
    sam = harness.user(SAM, f"Sa{NUL}m\x07")
    replies = await sam.send("/start")
    assert_served(replies)
    assert shown(replies)[0] == DIALOGS.message("welcome", student={"first_name": "Sam"})
    assert_served(await sam.send("/menu"))
    assert_served(await sam.send("/mydata"))
    assert await stored_unsafe(harness.database) == []


async def test_a_message_with_a_lone_surrogate_does_not_block_the_student(
    harness: BotHarness,
) -> None:
    sam = harness.user(SAM, f"Sam{LONE_SURROGATE}")
    assert_served(await sam.send("/start"))
    assert_served(await sam.send(f"how much do they earn {LONE_SURROGATE}?"))
    assert_served(await sam.send(f"blorf {LONE_SURROGATE} quux zint"))
    assert_served(await sam.send("/mydata"))
    assert await stored_unsafe(harness.database) == []


async def test_a_note_with_nul_is_stored_without_it(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user(SAM)
    await start_project(sam, profile)
    await write_note(sam, f"my{NUL} mood: dark{NUL}wave {LONE_SURROGATE}")
    notes = await scalars(harness, select(ProjectEntry.note))
    assert notes == ["my mood: darkwave \ufffd"]
    assert_served(await sam.send("/mydata"))
    assert await stored_unsafe(harness.database) == []


async def test_a_note_of_invisible_characters_is_refused_like_an_empty_one(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user(SAM)
    await start_project(sam, profile)
    step = profile.project.steps[0]
    empty = DIALOGS.message("note_empty", step={"step": {"note_prompt": step.note_prompt}})
    assert_no_error(await sam.press(WRITE_ANSWER))
    for note in (INVISIBLE, f" {INVISIBLE}\n\t{NUL}", "\u3164\u2800"):
        replies = await sam.send(note)
        assert_no_error(replies)
        assert empty in shown(replies), f"{note!r} was not refused"
    assert await scalars(harness, select(ProjectEntry.note)) == []
    replies = await sam.send(f"{INVISIBLE}a real answer")
    assert_no_error(replies)
    assert await scalars(harness, select(ProjectEntry.note)) == [f"{INVISIBLE}a real answer"]


# The other ways in: a webhook body and getUpdates, as raw JSON with escapes as Telegram sends.


@pytest.fixture
async def webhook(
    settings: Settings, content: Content, database: Database
) -> AsyncIterator[tuple[TestClient[Any, Any], FakeTelegram]]:
    telegram = FakeTelegram()
    configured = Settings(_env_file=None, database_url=settings.database_url, webhook_secret=SECRET)
    bot = create_bot(configured, StandInSession(telegram))
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(configured, content, bot)))
    await client.start_server()
    yield client, telegram
    await client.close()


async def test_webhook_bodies_with_nul_and_lone_surrogates_are_served(
    webhook: tuple[TestClient[Any, Any], FakeTelegram], database: Database
) -> None:
    client, telegram = webhook
    user = user_json(SAM, f"Sa{NUL}m{LONE_SURROGATE}")
    for words in ("/start", f"what is the pay {NUL}{LONE_SURROGATE}", "/menu"):
        # json.dumps writes both as \u escapes, as any JSON encoder must.
        body = json.dumps(message_update(telegram, user, words))
        response = await client.post(
            "/telegram",
            data=body,
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status == 200, await response.text()
    sent = [str(call.params.get("text", "")) for call in telegram.sent_to(SAM)]
    assert DIALOGS.message("welcome", student={"first_name": "Sam\ufffd"}) in sent
    assert DIALOGS.message("error") not in sent
    assert await stored_unsafe(database) == []


async def test_polled_updates_with_nul_and_lone_surrogates_are_served(
    settings: Settings, content: Content, database: Database, bot_api: LocalBotApiServer
) -> None:
    polling = Settings(
        _env_file=None,
        database_url=settings.database_url,
        telegram_api_url=bot_api.url,
        bot_token="123:polling",
    )
    bot: Bot = create_bot(polling)
    dispatcher = build_dispatcher(polling, content, database)
    task = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    welcome = DIALOGS.message("welcome", student={"first_name": "Sam"})
    user = user_json(SAM, f"Sa{NUL}m")
    try:
        for words in ("/start", f"pay? {NUL}{LONE_SURROGATE}", "/menu"):
            before = len(bot_api.telegram.calls)
            bot_api.push_update(
                {"message": message_update(bot_api.telegram, user, words)["message"]}
            )
            await bot_api.wait_for_call(
                lambda call, before=before: (
                    call.method == "sendMessage"
                    and call.params.get("chat_id") == SAM
                    and bot_api.telegram.calls.index(call) >= before
                ),
                POLL_DEADLINE,
            )
    finally:
        await dispatcher.stop_polling()
        await task
        await bot.session.close()
    sent = [str(call.params.get("text", "")) for call in bot_api.telegram.sent_to(SAM)]
    assert welcome in sent, sent
    assert DIALOGS.message("error") not in sent
    assert await stored_unsafe(database) == []
