"""Test harness: the real Dispatcher (from build_dispatcher) against the stand-in Bot API,
on SQLite and on PostgreSQL.

PostgreSQL tests need the server at TEST_POSTGRES_URL (default: the local `test` database).
Locally they are skipped with the reason when it is unreachable; in CI (CI=true) they fail.
"""

import asyncio
import atexit
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from selenium.webdriver.chrome.webdriver import WebDriver
from sqlalchemy import text

from bot.app import Content, build_dispatcher, create_bot, load_content
from bot.config import PROJECT_DIR, Settings
from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.db.models import Base
from bot.standin.conversation import Conversation
from bot.standin.server import LocalBotApiServer
from bot.standin.session import StandInSession
from bot.standin.telegram import FakeTelegram
from tests.browser_support import missing_browser, start_chrome

# The bot as most tests describe it: the program's first career alone, so that /start opens
# its menu; tests of the shipped catalog say so (CATALOG_DIR). A catalog of one has no other
# career for a related one to link to: its related careers carry no slug, as an import writes.
CATALOG_DIR = PROJECT_DIR / "content"
FIRST_CAREER = "music-producer"


def _one_career_dir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="careerbot-one-career-"))
    (root / "careers").mkdir()
    (root / "cards").mkdir()
    shutil.copy(CATALOG_DIR / "questions.yaml", root / "questions.yaml")
    shutil.copy(CATALOG_DIR / "quiz.yaml", root / "quiz.yaml")
    shutil.copy(CATALOG_DIR / "reasons.yaml", root / "reasons.yaml")
    shutil.copytree(CATALOG_DIR / "examples", root / "examples")
    shutil.copy(CATALOG_DIR / "cards" / f"{FIRST_CAREER}.txt", root / "cards")
    profile = (CATALOG_DIR / "careers" / f"{FIRST_CAREER}.yaml").read_text("utf-8")
    profile = re.sub(r"(?m)^    slug: .*\n", "", profile)
    (root / "careers" / f"{FIRST_CAREER}.yaml").write_text(profile, "utf-8")
    return root


ONE_CAREER_DIR = _one_career_dir() if "CONTENT_DIR" not in os.environ else None
if ONE_CAREER_DIR is not None:
    # Set before xdist starts its workers, which inherit it (and do not make their own).
    os.environ["CONTENT_DIR"] = str(ONE_CAREER_DIR)
    atexit.register(shutil.rmtree, ONE_CAREER_DIR, ignore_errors=True)

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
# Two Redis databases that test files flush: TEST_REDIS_DB and the one after it. Checkouts that
# run their suites at once on one machine each set a base of their own.
REDIS_DB_BASE = int(os.environ.get("TEST_REDIS_DB", "14"))
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(service: str, reason: str) -> None:
    """Locally a missing service skips its tests; in CI it is a failure, never a silent skip."""
    message = f"{service} is not reachable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}; CI must run these tests", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def content() -> Content:
    return load_content(Settings(_env_file=None))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test so every test starts from an empty schema."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


async def _postgres_admin(database: str = "test") -> asyncpg.Connection:
    base = POSTGRES_URL.rsplit("/", 1)[0]
    return await asyncpg.connect(f"{base}/{database}", timeout=5)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A database of its own for this test run, migrated to head, dropped at the end."""
    name = f"careerbot_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await _postgres_admin()
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop() -> None:
        connection = await _postgres_admin()
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable("PostgreSQL", str(exc))
    url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    upgrade(url)
    yield url
    asyncio.run(drop())


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "careerbot.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.connect(database_url)
    if db.engine.dialect.name == "postgresql":
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        async with db.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield db
    await db.close()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url, admin_ids=frozenset({900}))


# Makes the FSM storage of one bot process (a fresh one after each restart); None: the default.
StorageFactory = Callable[[], BaseStorage]


@dataclass
class BotHarness:
    """The bot as it runs, with Telegram replaced by the in-memory stand-in."""

    settings: Settings
    content: Content
    database: Database
    telegram: FakeTelegram
    bot: Bot
    dispatcher: Dispatcher
    storage: StorageFactory | None = None

    def user(self, user_id: int = 1001, first_name: str = "Sam") -> Conversation:
        return Conversation(self.dispatcher, self.bot, self.telegram, user_id, first_name)

    async def restart(self, content: Content | None = None) -> None:
        """As if the process restarted: new Dispatcher, Bot and engine over the same database.
        Telegram (the stand-in) keeps its messages, so old buttons can still be pressed."""
        await self.stop()
        fresh = await start_bot(
            self.settings, content or self.content, self.telegram, storage=self.storage
        )
        self.content, self.database = fresh.content, fresh.database
        self.bot, self.dispatcher = fresh.bot, fresh.dispatcher

    async def stop(self) -> None:
        await self.dispatcher.emit_shutdown(bot=self.bot, **self.dispatcher.workflow_data)
        if self.storage is not None:
            await self.dispatcher.storage.close()
        await self.database.close()


async def start_bot(
    settings: Settings,
    content: Content,
    telegram: FakeTelegram,
    storage: StorageFactory | None = None,
) -> BotHarness:
    """Starts the bot; `storage` makes the FSM storage to use instead of the configured one."""
    database = Database.connect(settings.database_url)
    session = StandInSession(telegram)
    bot = create_bot(settings, session)
    dispatcher = build_dispatcher(
        settings, content, database, storage=storage() if storage is not None else None
    )
    await dispatcher.emit_startup(bot=bot, **dispatcher.workflow_data)
    return BotHarness(settings, content, database, telegram, bot, dispatcher, storage)


@pytest.fixture
async def harness(
    settings: Settings, content: Content, database: Database
) -> AsyncIterator[BotHarness]:
    running = await start_bot(settings, content, FakeTelegram())
    yield running
    await running.stop()


@pytest.fixture
async def shipped(settings: Settings, database: Database) -> AsyncIterator[BotHarness]:
    """The bot with the whole shipped catalog, for tests that need several careers (with the
    test settings' admin)."""
    settings = settings.model_copy(update={"content_dir": CATALOG_DIR})
    running = await start_bot(settings, load_content(settings), FakeTelegram())
    yield running
    await running.stop()


@pytest.fixture
async def bot_api() -> AsyncIterator[LocalBotApiServer]:
    """The stand-in Bot API over HTTP on a free port of 127.0.0.1."""
    running = LocalBotApiServer()
    await running.start("127.0.0.1", 0)
    yield running
    await running.stop()


@pytest.fixture
def seed_text() -> str:
    return (PROJECT_DIR.parent / "shared" / "seed" / "music-producer.txt").read_text("utf-8")


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    """Where the `browser` saves what it downloads."""
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
def browser(downloads: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    """Headless Chromium (tests/browser_support.py); skipped locally without it, failed in CI."""
    reason = missing_browser()
    if reason is not None:
        unavailable("Chromium", reason)
    # The driver is named, so Selenium Manager has nothing to find; offline, it cannot download
    # a browser or driver of its own should a later Selenium consult it anyway.
    monkeypatch.setenv("SE_OFFLINE", "true")
    driver = start_chrome(downloads)
    try:
        yield driver
    finally:
        driver.quit()
