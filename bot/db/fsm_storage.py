"""aiogram FSM storage in the bot's own database: the default, so state survives restarts
without Redis. With REDIS_URL set, aiogram's RedisStorage is used instead."""

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import BlockingConnectionPool, Redis
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.db.engine import Database, update_session
from bot.db.models import FsmRecord
from bot.db.upsert import upsert_returning

# (state, data) of one key; (None, {}) when nothing is stored.
Record = tuple[str | None, dict[str, Any]]
EMPTY: Record = (None, {})
CACHE_SIZE = 10_000


class RecordCache:
    """The committed records last read by this process, newest kept.

    Every update reads its user's state before anything else, so a read from memory spares a
    query on nearly every update. Valid only where this process is the only writer of the
    records (SQLite, which one process serves). A write drops its key; a read that raced a
    write is not kept: each write moves the key's generation, and a read keeps what it found
    only if the generation did not move meanwhile. Generations of keys no longer cached are
    forgotten now and then; the epoch moves with them, so reads under way are not kept.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._records: OrderedDict[str, Record] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._epoch = 0

    def get(self, key: str) -> Record | None:
        record = self._records.get(key)
        if record is not None:
            self._records.move_to_end(key)
        return record

    def generation(self, key: str) -> tuple[int, int]:
        return self._epoch, self._generations.get(key, 0)

    def keep(self, key: str, record: Record, generation: tuple[int, int]) -> None:
        if self.generation(key) != generation:
            return
        self._records[key] = record
        self._records.move_to_end(key)
        while len(self._records) > self.size:
            self._records.popitem(last=False)

    def drop(self, key: str) -> None:
        self._generations[key] = self._generations.get(key, 0) + 1
        self._records.pop(key, None)
        if len(self._generations) > 2 * self.size:
            self._generations = {k: g for k, g in self._generations.items() if k in self._records}
            self._epoch += 1


class DatabaseStorage(BaseStorage):
    """State and data in the `fsm_records` table.

    Inside an update, reads and writes go through the update's own session: a change of state
    is committed with the rest of what the update did (or rolled back with it), and the update
    never waits for a second connection while it holds one. Outside an update (aiogram reads
    the state before the update's session opens) a short session of its own is used.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        cache: RecordCache | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = DefaultKeyBuilder(with_destiny=True)
        self._cache = cache

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, {"state": value})

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._read(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, {"data": dict(data)})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return dict((await self._read(key))[1])

    async def close(self) -> None:
        return None

    async def _read(self, key: StorageKey) -> Record:
        record_key = self.key_builder.build(key)
        cached = self._cache.get(record_key) if self._cache is not None else None
        if cached is not None:
            return cached
        session = update_session.get()
        if session is not None:
            # Might see this update's own uncommitted write: not for the cache.
            return await self._load(session, record_key)
        generation = self._cache.generation(record_key) if self._cache is not None else (0, 0)
        async with self.session_factory() as own:
            record = await self._load(own, record_key)
        if self._cache is not None:
            self._cache.keep(record_key, record, generation)
        return record

    async def _load(self, session: AsyncSession, record_key: str) -> Record:
        row = (
            await session.execute(
                select(FsmRecord.state, FsmRecord.data).where(FsmRecord.key == record_key)
            )
        ).one_or_none()
        return (row.state, dict(row.data or {})) if row is not None else EMPTY

    async def _write(self, key: StorageKey, values: dict[str, Any]) -> None:
        record_key = self.key_builder.build(key)
        if self._cache is not None:
            self._cache.drop(record_key)
        session = update_session.get()
        if session is not None:
            await self._store(session, key, record_key, values)
            return
        async with self.session_factory() as own:
            await self._store(own, key, record_key, values)
            await own.commit()

    async def _store(
        self, session: AsyncSession, key: StorageKey, record_key: str, values: dict[str, Any]
    ) -> None:
        """Upserts one field; a record left with no state and no data is deleted."""
        row = {"key": record_key, "user_id": key.user_id, "state": None, "data": {}, **values}
        stored = await upsert_returning(
            session, FsmRecord, row, ["key"], values, [FsmRecord.state, FsmRecord.data]
        )
        if stored.state is None and not stored.data:
            await session.execute(delete(FsmRecord).where(FsmRecord.key == record_key))


async def private_chat_data(storage: BaseStorage, user_id: int) -> dict[str, Any]:
    """The FSM data of a user's private chat with the bot, the only chat it works in. Neither
    this storage's keys nor RedisStorage's name the bot, so no bot id is needed."""
    return await storage.get_data(StorageKey(bot_id=0, chat_id=user_id, user_id=user_id))


def create_storage(settings: Settings, database: Database) -> BaseStorage:
    """FSM state lives in Redis when REDIS_URL is set, else in the database: never only in
    memory, so a student half way through typing a note keeps their place across a restart.
    On SQLite, which one process serves, what was read is also kept in memory."""
    if settings.redis_url:
        # Under load, updates wait (a bounded time) for a connection of the pool rather than
        # failing at once with "Too many connections".
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_pool_size,
            timeout=settings.redis_pool_timeout,
            socket_connect_timeout=settings.redis_pool_timeout,
            socket_timeout=settings.redis_pool_timeout,
        )
        return RedisStorage(Redis(connection_pool=pool))
    cache = RecordCache() if database.engine.dialect.name == "sqlite" else None
    return DatabaseStorage(database.session_factory, cache=cache)
