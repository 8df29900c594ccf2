"""Each update is handled once however often it is delivered, on SQLite and on PostgreSQL; and
polling, which gets no second delivery, tries an update met by an outage again in place."""

import asyncio
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.types import Update
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from bot.app import Content, build_dispatcher, create_bot
from bot.config import Settings
from bot.db.engine import Database
from bot.db.handled import CLAIM_STALE, KEEP_HANDLED, Claim, claim, prune
from bot.db.models import HandledUpdate, utcnow
from bot.outage import UpdateInHand
from bot.standin.server import message_update, user_json
from bot.standin.session import StandInSession
from bot.standin.telegram import FakeTelegram
from bot.webhook import create_app
from tests.conftest import BotHarness
from tests.feature_support import DIALOGS, ERROR
from tests.outage_support import TcpProxy

GREETING = DIALOGS.message("welcome", student={"first_name": "Sam"})


def texts(telegram: FakeTelegram, chat_id: int) -> list[str]:
    return [
        str(call.params.get("text", ""))
        for call in telegram.calls
        if call.method in {"sendMessage", "editMessageText"}
        and call.params.get("chat_id") == chat_id
    ]


async def feed(harness: BotHarness, raw: dict[str, Any]) -> None:
    event = Update.model_validate(raw, context={"bot": harness.bot})
    await harness.dispatcher.feed_update(harness.bot, event)


async def test_an_update_delivered_twice_is_handled_once(harness: BotHarness) -> None:
    await feed(harness, message_update(harness.telegram, user_json(1001, "Sam"), "/start"))
    menu = message_update(harness.telegram, user_json(1001, "Sam"), "/menu")
    await feed(harness, menu)
    answered = len(harness.telegram.calls)
    await feed(harness, menu)
    assert len(harness.telegram.calls) == answered, "the second delivery changes nothing"


async def test_a_claim_left_by_a_dead_worker_is_taken_again_once_stale(
    harness: BotHarness,
) -> None:
    start = message_update(harness.telegram, user_json(1001, "Sam"), "/start")
    async with harness.database.session_factory() as session:
        assert await claim(session, start["update_id"], utcnow()) is Claim.TAKEN
        await session.commit()  # then the worker died
    with pytest.raises(UpdateInHand):  # the webhook answers 503: deliver it again later
        await feed(harness, start)
    assert texts(harness.telegram, 1001) == [], "in hand elsewhere: not handled twice"

    async with harness.database.session_factory() as session:
        old = utcnow() - CLAIM_STALE - timedelta(seconds=1)
        await session.execute(update(HandledUpdate).values(claimed_at=old))
        await session.commit()
    await feed(harness, start)
    assert texts(harness.telegram, 1001).count(GREETING) == 1


async def test_a_worker_in_the_slot_of_a_dead_one_releases_the_updates_it_held(
    harness: BotHarness, content: Content
) -> None:
    """The supervisor starts a worker in a slot only once the one before it has died: what
    that one held is handled at its next delivery, not after CLAIM_STALE. Another slot's
    claims are left alone (that worker may still be at work)."""
    sam = message_update(harness.telegram, user_json(1001, "Sam"), "/start")
    alex = message_update(harness.telegram, user_json(1002, "Alex"), "/start")
    async with harness.database.session_factory() as session:
        assert await claim(session, sam["update_id"], utcnow(), "host:8080:w0") is Claim.TAKEN
        assert await claim(session, alex["update_id"], utcnow(), "host:8080:w1") is Claim.TAKEN
        await session.commit()  # then both workers died
    restarted = build_dispatcher(
        harness.settings,
        content,
        harness.database,
        harness.dispatcher.storage,
        holder="host:8080:w0",
    )
    await restarted.emit_startup(bot=harness.bot, **restarted.workflow_data)
    try:
        await restarted.feed_update(
            harness.bot, Update.model_validate(sam, context={"bot": harness.bot})
        )
        assert texts(harness.telegram, 1001).count(GREETING) == 1
        with pytest.raises(UpdateInHand):
            await restarted.feed_update(
                harness.bot, Update.model_validate(alex, context={"bot": harness.bot})
            )
        assert texts(harness.telegram, 1002) == []
    finally:
        await restarted.emit_shutdown(bot=harness.bot, **restarted.workflow_data)


async def test_handled_updates_older_than_the_redelivery_window_are_pruned(
    harness: BotHarness,
) -> None:
    now = utcnow()
    async with harness.database.session_factory() as session:
        session.add_all(
            [
                HandledUpdate(update_id=1, claimed_at=now - KEEP_HANDLED * 2, done=True),
                HandledUpdate(update_id=2, claimed_at=now, done=True),
            ]
        )
        await session.commit()
        await prune(session, now)
        kept = await session.scalars(select(HandledUpdate.update_id))
        assert list(kept) == [2]


async def test_polling_tries_an_update_met_by_a_database_outage_again_until_it_is_back(
    postgres_database: str, content: Content
) -> None:
    proxy = TcpProxy("127.0.0.1", make_url(postgres_database).port or 5432)
    await proxy.up()
    url = make_url(postgres_database).set(port=proxy.port).render_as_string(False)
    settings = Settings(_env_file=None, database_url=url)
    database = Database.connect(url)
    telegram = FakeTelegram()
    bot = create_bot(settings, StandInSession(telegram))
    dispatcher = build_dispatcher(settings, content, database, polling=True)
    user_id = 4100 + utcnow().microsecond  # the database is shared by the run's tests
    start = Update.model_validate(
        message_update(telegram, user_json(user_id, "Sam"), "/start"), context={"bot": bot}
    )
    try:
        async with database.session_factory() as session:
            await session.scalar(select(func.count()).select_from(HandledUpdate))  # pooled
        await proxy.down()
        handling = asyncio.ensure_future(dispatcher.feed_update(bot, start))
        await asyncio.sleep(2.5)  # a try or two meet the outage
        assert not handling.done()
        assert texts(telegram, user_id) == [], "nothing is said while it waits"
        await proxy.up()
        await asyncio.wait_for(handling, 60)
    finally:
        await proxy.down()
        await database.close()
        await bot.session.close()
    assert texts(telegram, user_id).count(GREETING) == 1
    assert ERROR not in texts(telegram, user_id)


async def test_an_update_met_by_a_locked_sqlite_database_gets_503_and_is_handled_once_later(
    tmp_path: Path, sqlite_template: Path, content: Content, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's outage: another process (a CLI command, a backup) holds the write lock past
    the busy timeout. The webhook answers 503 and sends nothing; delivered again once the lock
    is gone, the update is handled once (tests/test_webhook.py has PostgreSQL and Redis)."""
    monkeypatch.setattr("bot.db.engine.SQLITE_BUSY_TIMEOUT_MS", 300)  # not 10 s a try
    path = tmp_path / "careerbot.db"
    shutil.copy(sqlite_template, path)
    secret = "sqlite-outage"
    settings = Settings(
        _env_file=None, database_url=f"sqlite+aiosqlite:///{path}", webhook_secret=secret
    )
    telegram = FakeTelegram()
    app = create_app(settings, content, bot=create_bot(settings, StandInSession(telegram)))
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()

    async def deliver(raw: dict[str, Any]) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        response = await client.post("/telegram", json=raw, headers=headers)
        await response.read()
        return response.status

    try:
        assert await deliver(message_update(telegram, user_json(1002, "Bo"), "/start")) == 200
        start = message_update(telegram, user_json(1001, "Sam"), "/start")
        writer = sqlite3.connect(path, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")  # another process's write transaction
            assert await deliver(start) == 503
            assert await deliver(start) == 503  # delivered again: still locked
            assert texts(telegram, 1001) == [], "nothing is said while the update waits"
        finally:
            writer.close()  # its transaction rolled back, the lock gone
        assert await deliver(start) == 200
        assert await deliver(start) == 200  # once more: handled already
    finally:
        await client.close()
    assert texts(telegram, 1001).count(GREETING) == 1
    assert ERROR not in texts(telegram, 1001)
