"""How the bot uses its database: no update keeps a transaction open while Telegram answers,
many students at once share SQLite's single connection without errors or losses, and the FSM
record cache never serves what a write replaced."""

import asyncio
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import select

from bot.app import Content
from bot.content.models import Profile
from bot.db.engine import Database, update_session
from bot.db.fsm_storage import EMPTY, DatabaseStorage, RecordCache
from bot.db.models import ChecklistAnswer, ChecklistAttempt, Student
from tests.conftest import BotHarness
from tests.feature_support import (
    ANSWER_BUTTONS,
    CHECKLIST_BUTTON,
    CHECKLIST_START,
    STICKER,
    assert_no_error,
    before_each_call,
    profile_of,
    scalars,
    start_project,
    write_note,
)

ADMIN = 900  # in the test settings' ADMIN_IDS


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


async def in_transaction(_method: Any) -> bool:
    """Whether the update being handled is inside a transaction."""
    current = update_session.get()
    return current is not None and current.in_transaction()


async def test_no_update_keeps_a_transaction_open_while_telegram_answers(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user(1001)
    admin = harness.user(ADMIN, "Ada")
    async with before_each_call(harness, in_transaction) as seen:
        assert_no_error(await sam.send("/start"))
        assert_no_error(await sam.press("🛠 The job"))
        assert_no_error(await sam.press("🕘 A typical day"))
        assert_no_error(await sam.send("how much do producers earn?"))
        assert_no_error(await sam.send("/menu"))
        assert_no_error(await sam.press(CHECKLIST_BUTTON))
        assert_no_error(await sam.press(CHECKLIST_START))
        assert_no_error(await sam.press(ANSWER_BUTTONS["yes"]))
        await start_project(sam, profile)
        await write_note(sam, "lo-fi, calm")
        for command in ("/progress", "/mydata", "/help"):
            assert_no_error(await sam.send(command))
        assert_no_error(await sam.send_message(STICKER))
        assert_no_error(await admin.send("/stats"))
    assert len(seen) > 20 and not any(seen)
    methods = {call.method for call in harness.telegram.calls}
    assert {"sendMessage", "editMessageText", "answerCallbackQuery", "sendPhoto"} <= methods


async def test_many_students_at_once_lose_nothing(harness: BotHarness) -> None:
    """On SQLite they all queue for its one connection; on PostgreSQL they share the pool."""
    ids = list(range(3001, 3033))

    async def visit(telegram_id: int) -> None:
        student = harness.user(telegram_id, f"S{telegram_id}")
        for step in ("/start", CHECKLIST_BUTTON, CHECKLIST_START, "👍", "👎"):
            replies = await (student.send(step) if step == "/start" else student.press(step))
            assert_no_error(replies)

    await asyncio.gather(*(visit(telegram_id) for telegram_id in ids))
    stored = await scalars(harness, select(Student.telegram_id).order_by(Student.telegram_id))
    assert stored == ids
    cursors = await scalars(harness, select(ChecklistAttempt.cursor))
    assert cursors == [2] * len(ids), "each student is on their third sign"
    answered = await scalars(harness, select(ChecklistAnswer.answer))
    assert sorted(answered) == sorted(["yes", "no"] * len(ids))
    if harness.database.engine.dialect.name == "sqlite":
        assert harness.database.engine.pool.size() == 1


# The FSM record cache (used on SQLite).


def test_a_read_that_raced_a_write_is_not_kept() -> None:
    cache = RecordCache()
    cache.keep("k", EMPTY, cache.generation("k"))
    generation = cache.generation("k")  # a read starts…
    cache.drop("k")  # …a write lands meanwhile…
    cache.keep("k", EMPTY, generation)  # …and the read comes back with the old record
    assert cache.get("k") is None
    cache.keep("k", ("Flow:typing", {}), cache.generation("k"))  # the next read is kept
    assert cache.get("k") == ("Flow:typing", {})


def test_forgetting_old_generations_does_not_let_a_raced_read_in() -> None:
    cache = RecordCache(size=2)
    generation = cache.generation("k")  # a read starts…
    cache.drop("k")  # …a write lands…
    for number in range(10):  # …and enough other writes that old generations are forgotten
        cache.drop(f"other-{number}")
    cache.keep("k", EMPTY, generation)
    assert cache.get("k") is None


def test_the_cache_keeps_the_most_recently_used_records() -> None:
    cache = RecordCache(size=2)
    for key in ("a", "b"):
        cache.keep(key, (key, {}), cache.generation(key))
    assert cache.get("a") == ("a", {})
    cache.keep("c", ("c", {}), cache.generation("c"))
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (("a", {}), None, ("c", {}))


async def test_a_cached_storage_writes_through_to_the_database(database: Database) -> None:
    cached = DatabaseStorage(database.session_factory, cache=RecordCache())
    key = StorageKey(42, 1001, 1001)
    assert await cached.get_state(key) is None
    await cached.set_state(key, "Flow:typing")
    await cached.set_data(key, {"step": "mood"})
    fresh = DatabaseStorage(database.session_factory)  # another process, after a restart
    assert await fresh.get_state(key) == "Flow:typing"
    assert await fresh.get_data(key) == {"step": "mood"}
    data = await cached.get_data(key)
    data["step"] = "changed by the caller"
    assert await cached.get_data(key) == {"step": "mood"}, "callers get a copy"
    await cached.set_state(key, None)
    await cached.set_data(key, {})
    assert await fresh.get_state(key) is None
    assert (await cached.get_state(key), await cached.get_data(key)) == (None, {})


async def test_a_state_set_by_an_update_that_failed_is_not_served(database: Database) -> None:
    storage = DatabaseStorage(database.session_factory, cache=RecordCache())
    key = StorageKey(42, 1001, 1001)
    await storage.set_state(key, "Flow:before")
    assert await storage.get_state(key) == "Flow:before"
    async with database.session_factory() as session:
        token = update_session.set(session)
        try:
            await storage.set_state(key, "Flow:during")
            assert await storage.get_state(key) == "Flow:during", "the update sees its change"
        finally:
            update_session.reset(token)
        await session.rollback()  # the update failed
    assert await storage.get_state(key) == "Flow:before"
