"""aiogram FSM storage in the bot's own database: the default, so state survives restarts
without Redis. With REDIS_URL set, aiogram's RedisStorage is used instead."""

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, StorageKey
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.engine import create_engine, create_session_factory
from bot.db.models import FsmRecord
from bot.db.upsert import upsert


class DatabaseStorage(BaseStorage):
    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], engine: AsyncEngine | None = None
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = DefaultKeyBuilder(with_destiny=True)
        self._engine = engine

    @classmethod
    def connect(cls, database_url: str) -> "DatabaseStorage":
        """A storage with an engine of its own. A handler holds a connection of the main pool
        while it reads or sets its state; sharing that pool, many updates at once would each
        hold one connection and wait for a second, and none would get it."""
        engine = create_engine(database_url)
        return cls(create_session_factory(engine), engine)

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._write(key, {"state": value})

    async def get_state(self, key: StorageKey) -> str | None:
        record = await self._read(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._write(key, {"data": dict(data)})

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await self._read(key)
        return dict(record.data) if record else {}

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()

    async def _read(self, key: StorageKey) -> FsmRecord | None:
        async with self.session_factory() as session:
            return await session.get(FsmRecord, self.key_builder.build(key))

    async def _write(self, key: StorageKey, values: dict[str, Any]) -> None:
        """Upserts one field; a record left with no state and no data is deleted."""
        record_key = self.key_builder.build(key)
        async with self.session_factory() as session:
            row = {"key": record_key, "user_id": key.user_id, "state": None, "data": {}, **values}
            await upsert(session, FsmRecord, row, ["key"], values)
            record = await session.get(FsmRecord, record_key, populate_existing=True)
            if record is not None and record.state is None and not record.data:
                await session.delete(record)
            await session.commit()


async def forget_user(session: AsyncSession, user_id: int) -> None:
    """Deletes every FSM record of a Telegram user (whatever bot, chat or destiny)."""
    await session.execute(delete(FsmRecord).where(FsmRecord.user_id == user_id))
