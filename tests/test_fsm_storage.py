"""FSM storage: the database storage on its own, and typed input surviving a restart with the
database storage (the default) and with Redis."""

from collections.abc import AsyncIterator

import pytest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from bot.app import Content
from bot.config import Settings
from bot.content.models import Profile
from bot.db.engine import Database
from bot.db.fsm_storage import DatabaseStorage
from bot.db.models import FsmRecord
from bot.standin.telegram import FakeTelegram
from tests.conftest import (
    REDIS_DB_BASE,
    BotHarness,
    StorageFactory,
    start_bot,
    unavailable,
)
from tests.feature_support import (
    WRITE_ANSWER,
    assert_no_error,
    count,
    entries,
    profile_of,
    start_project,
    steps_done,
)

REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB_BASE + 1}"
BOT_ID = 42


class Flow(StatesGroup):
    typing = State()
    other = State()


def key(user_id: int = 1001, chat_id: int | None = None, destiny: str = "default") -> StorageKey:
    return StorageKey(BOT_ID, chat_id if chat_id is not None else user_id, user_id, destiny=destiny)


async def records(database: Database) -> list[FsmRecord]:
    async with database.session_factory() as session:
        return list((await session.execute(select(FsmRecord))).scalars())


@pytest.fixture
def storage(database: Database) -> DatabaseStorage:
    return DatabaseStorage(database.session_factory)


async def test_nothing_stored_reads_as_no_state_and_no_data(storage: DatabaseStorage) -> None:
    assert await storage.get_state(key()) is None
    assert await storage.get_data(key()) == {}


async def test_state_and_data_round_trip(storage: DatabaseStorage, database: Database) -> None:
    await storage.set_state(key(), Flow.typing)
    assert await storage.get_state(key()) == Flow.typing.state
    await storage.set_state(key(), "Flow:other")
    assert await storage.get_state(key()) == "Flow:other"
    data = {"career": "music-producer", "step": "mood", "seq": 2, "nested": {"ü": ["ß", 1.5]}}
    await storage.set_data(key(), data)
    assert await storage.get_data(key()) == data
    assert await storage.get_state(key()) == "Flow:other", "data doesn't touch the state"
    await storage.set_state(key(), Flow.typing)
    assert await storage.get_data(key()) == data, "the state doesn't touch the data"
    [record] = await records(database)
    assert record.user_id == 1001


async def test_update_data_merges(storage: DatabaseStorage) -> None:
    await storage.set_data(key(), {"a": 1})
    merged = await storage.update_data(key(), {"b": 2})
    assert merged == {"a": 1, "b": 2}
    assert await storage.get_data(key()) == {"a": 1, "b": 2}


async def test_clearing_deletes_the_row(storage: DatabaseStorage, database: Database) -> None:
    await storage.set_state(key(), Flow.typing)
    await storage.set_data(key(), {"step": "mood"})
    await storage.set_state(key(), None)
    assert len(await records(database)) == 1, "data alone keeps the row"
    assert await storage.get_data(key()) == {"step": "mood"}
    await storage.set_data(key(), {})
    assert await records(database) == []
    # The same through aiogram's FSMContext, as the handlers use it.
    context = FSMContext(storage, key())
    await context.set_state(Flow.typing)
    await context.set_data({"step": "cover"})
    assert len(await records(database)) == 1
    await context.clear()
    assert await records(database) == []
    assert await context.get_state() is None and await context.get_data() == {}


async def test_a_state_alone_keeps_the_row(storage: DatabaseStorage, database: Database) -> None:
    await storage.set_state(key(), Flow.typing)
    await storage.set_data(key(), {})
    assert await storage.get_state(key()) == Flow.typing.state
    assert len(await records(database)) == 1


async def test_keys_are_kept_apart(storage: DatabaseStorage, database: Database) -> None:
    keys = [
        key(1001),
        key(1002),
        key(1001, chat_id=-100500),  # the same person in a group
        key(1002, chat_id=-100500),
        key(1001, destiny="other"),
    ]
    for number, each in enumerate(keys):
        await storage.set_state(each, f"Flow:s{number}")
        await storage.set_data(each, {"n": number})
    for number, each in enumerate(keys):
        assert await storage.get_state(each) == f"Flow:s{number}"
        assert await storage.get_data(each) == {"n": number}
    assert len(await records(database)) == len(keys)
    assert sorted(record.user_id for record in await records(database)) == sorted(
        each.user_id for each in keys
    )
    await storage.set_state(keys[0], None)
    await storage.set_data(keys[0], {})
    assert await storage.get_state(keys[1]) == "Flow:s1"
    assert await storage.get_state(keys[2]) == "Flow:s2"
    assert len(await records(database)) == len(keys) - 1


async def test_state_survives_a_new_engine(database_url: str, database: Database) -> None:
    first = DatabaseStorage(database.session_factory)
    await first.set_state(key(), Flow.typing)
    await first.set_data(key(), {"step": "mood"})
    await first.close()
    other = Database.connect(database_url)
    try:
        second = DatabaseStorage(other.session_factory)
        assert await second.get_state(key()) == Flow.typing.state
        assert await second.get_data(key()) == {"step": "mood"}
    finally:
        await other.close()


async def test_the_bot_uses_the_database_storage_by_default(
    harness: BotHarness, content: Content
) -> None:
    profile = profile_of(content)
    sam = harness.user()
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    [record] = await records(harness.database)
    assert record.user_id == 1001 and record.state is not None
    await sam.send("/menu")
    left = await records(harness.database)
    assert [record.state for record in left] in ([], [None]), "a command ends the wait"


# The same restart survival with Redis.


@pytest.fixture
async def redis_storage() -> AsyncIterator[StorageFactory]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        unavailable("Redis", str(exc))
    await client.flushdb()
    yield lambda: RedisStorage.from_url(REDIS_URL)
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def redis_harness(
    settings: Settings, content: Content, database: Database, redis_storage: StorageFactory
) -> AsyncIterator[BotHarness]:
    running = await start_bot(settings, content, FakeTelegram(), storage=redis_storage)
    yield running
    await running.stop()


async def redis_keys() -> list[bytes]:
    client = Redis.from_url(REDIS_URL)
    try:
        return list(await client.keys("*"))
    finally:
        await client.aclose()


async def test_the_wait_for_a_note_survives_a_restart_with_redis(
    redis_harness: BotHarness, content: Content
) -> None:
    harness = redis_harness
    profile: Profile = profile_of(content)
    first = profile.project.steps[0]
    sam = harness.user()
    await start_project(sam, profile)
    replies = await sam.press(WRITE_ANSWER)
    assert_no_error(replies)
    assert isinstance(harness.dispatcher.storage, RedisStorage)
    assert await redis_keys(), "the wait is kept in Redis"
    assert await count(harness, FsmRecord) == 0, "…and not in the database"
    await harness.restart()
    assert isinstance(harness.dispatcher.storage, RedisStorage)
    sam = harness.user()
    replies = await sam.send("house, uplifting")
    assert_no_error(replies)
    assert await entries(harness, 1001) == [(first.id, 1, "house, uplifting")]
    assert await steps_done(harness, 1001) == [first.id]
    # The wait is over: the next text is not a note.
    await harness.restart()
    sam = harness.user()
    await sam.send("not a note")
    assert await entries(harness, 1001) == [(first.id, 1, "house, uplifting")]


async def test_a_command_cancels_the_wait_across_a_restart_with_redis(
    redis_harness: BotHarness, content: Content
) -> None:
    harness = redis_harness
    profile = profile_of(content)
    sam = harness.user()
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    await harness.restart()
    sam = harness.user()
    await sam.send("/menu")
    await harness.restart()
    sam = harness.user()
    await sam.send("techno")
    assert await entries(harness, 1001) == []
