"""`careerbot webhook`: the aiohttp webhook application over PostgreSQL and Redis.

The application is the real one (create_app); Telegram is the in-memory stand-in behind the
Bot. Two applications over one database and one Redis are two workers. The graceful stop is
tested on the installed command in a process of its own, talking HTTP to the stand-in Bot API.
"""

import asyncio
import logging
import os
import re
import signal
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg  # type: ignore[import-untyped]
import pytest
from aiogram.fsm.storage.redis import RedisStorage
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot.app import Content, create_bot
from bot.config import Settings
from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.db.models import (
    Base,
    ChecklistAnswer,
    ChecklistAttempt,
    Event,
    Project,
    ProjectEntry,
    ProjectStepDone,
    Student,
)
from bot.standin.server import (
    LocalBotApiServer,
    button_data,
    callback_update,
    latest_with_buttons,
    message_update,
    user_json,
)
from bot.standin.session import StandInSession
from bot.standin.telegram import Call, FakeTelegram
from bot.webhook import DISPATCHER, HEALTH_PATH, create_app, serving
from tests.cli_support import READY_SECONDS, STEP_SECONDS, Careerbot, clean_env, http_ok
from tests.conftest import POSTGRES_URL, REDIS_DB_BASE, unavailable
from tests.feature_support import (
    ANSWER_BUTTONS,
    CHECKLIST_BUTTON,
    CHECKLIST_START,
    DIALOGS,
    DONE,
    ERROR,
    LOG_ITERATION,
    SOUNDS_RIGHT,
    START_PROJECT,
    WRITE_ANSWER,
    profile_of,
    project_button,
)
from tests.outage_support import TcpProxy, free_port

REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB_BASE}"
SECRET = "webhook-Secret_42"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PATH = "/telegram"
TOKEN = "123456:TEST"
# Generous limits (tests/cli_support.py): a worker imports aiogram at start, some 10-30 s on a
# loaded machine; a restart waits 1 s more. Each wait polls and ends as soon as it can.
DEADLINE = STEP_SECONDS
RESTART_DEADLINE = READY_SECONDS


# Services: a database of this module's own, and a Redis database number of its own.


async def _admin() -> asyncpg.Connection:
    return await asyncpg.connect(f"{POSTGRES_URL.rsplit('/', 1)[0]}/test", timeout=5)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    name = f"careerbot_webhook_{uuid.uuid4().hex[:10]}"

    async def execute(statement: str) -> None:
        connection = await _admin()
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    try:
        asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable("PostgreSQL", str(exc))
    url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    upgrade(url)
    yield url
    asyncio.run(execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        unavailable("Redis", str(exc))
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    """The module's database, emptied for each test."""
    db = Database.connect(postgres_url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with db.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield db
    await db.close()


@pytest.fixture
def settings(postgres_url: str, redis_url: str, database: Database) -> Settings:
    return Settings(
        _env_file=None,
        database_url=postgres_url,
        redis_url=redis_url,
        webhook_secret=SECRET,
        admin_ids=frozenset({900}),
    )


# A worker: the webhook application served by aiohttp's test server, Telegram in memory.


@dataclass
class Worker:
    client: TestClient[Any, Any]
    telegram: FakeTelegram

    async def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        response = await self.client.post(PATH, json=update, headers=headers)
        await response.read()
        return response.status

    async def get(self, path: str) -> tuple[int, Any]:
        response = await self.client.get(path)
        return response.status, await response.json()

    async def stop(self) -> None:
        await self.client.close()


async def start_worker(settings: Settings, content: Content, telegram: FakeTelegram) -> Worker:
    bot = create_bot(settings, StandInSession(telegram))
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(settings, content, bot=bot)))
    await client.start_server()
    return Worker(client, telegram)


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
async def worker(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> AsyncIterator[Worker]:
    running = await start_worker(settings, content, telegram)
    yield running
    await running.stop()


@pytest.fixture
async def second_worker(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> AsyncIterator[Worker]:
    running = await start_worker(settings, content, telegram)
    yield running
    await running.stop()


class Person:
    """A student as Telegram sees them: builds the updates their messages and taps become."""

    def __init__(self, telegram: FakeTelegram, user_id: int = 5001, first_name: str = "Ana"):
        self.telegram = telegram
        self.user = user_json(user_id, first_name)
        self.chat_id = user_id

    def says(self, words: str) -> dict[str, Any]:
        return message_update(self.telegram, self.user, words)

    def taps(self, label: str) -> dict[str, Any]:
        """A tap on the button `label` of the newest message that has it."""
        messages = self.telegram.messages.items()
        mine = sorted(
            (stored for (chat, _), stored in messages if chat == self.chat_id),
            key=lambda stored: stored.message_id,
            reverse=True,
        )
        for message in mine:
            data = button_data(message, label)
            if data is not None:
                return callback_update(self.telegram, self.user, message, data)
        latest = latest_with_buttons(self.telegram, self.chat_id)
        raise AssertionError(f"no button {label!r}; the newest keyboard: {latest}")

    def sent(self) -> list[Call]:
        return self.telegram.sent_to(self.chat_id)

    def texts(self) -> list[str]:
        """Every message sent or edited in this chat."""
        return [
            str(call.params.get("text", ""))
            for call in self.telegram.calls
            if call.method in {"sendMessage", "editMessageText"}
            and call.params.get("chat_id") == self.chat_id
        ]


async def scalar(database: Database, query: Any) -> Any:
    async with database.session_factory() as session:
        return await session.scalar(query)


async def rows(database: Database, query: Any) -> list[Any]:
    async with database.session_factory() as session:
        return list((await session.execute(query)).all())


async def students(database: Database) -> int:
    return int(await scalar(database, select(func.count()).select_from(Student)))


# The secret token.


async def test_updates_without_the_right_secret_are_refused(
    worker: Worker, telegram: FakeTelegram, database: Database
) -> None:
    ana = Person(telegram)
    calls_at_start = len(telegram.calls)  # setMyCommands at start-up
    for secret in (None, "", "wrong", SECRET[:-1], SECRET + "x", SECRET.lower()):
        assert await worker.post(ana.says("/start"), secret) == 401, secret
    assert len(telegram.calls) == calls_at_start, "nothing reached the bot"
    assert await students(database) == 0

    assert await worker.post(ana.says("/start")) == 200
    greeting = DIALOGS.message("welcome", student={"first_name": "Ana"})
    assert greeting in ana.texts()
    assert await students(database) == 1


# The health check.


async def test_health_reports_the_database_and_redis(worker: Worker) -> None:
    assert await worker.get(HEALTH_PATH) == (200, {"database": "ok", "redis": "ok"})


async def test_health_fails_when_redis_is_down(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    running = await start_worker(down, content, telegram)
    try:
        status, report = await running.get(HEALTH_PATH)
    finally:
        await running.stop()
    assert status == 503
    assert report["database"] == "ok"
    assert report["redis"] != "ok"


async def test_health_fails_when_the_database_is_down(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> None:
    url = f"postgresql+asyncpg://127.0.0.1:{free_port()}/nothing"
    down = settings.model_copy(update={"database_url": url})
    app = create_app(down, content, bot=create_bot(down, StandInSession(telegram)))
    # Only the health check is under test: the background jobs would need the database.
    app.on_startup.clear()
    app.on_shutdown.clear()
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()
    try:
        response = await client.get(HEALTH_PATH)
        status, report = response.status, await response.json()
    finally:
        await client.close()
    assert status == 503
    assert report["redis"] == "ok"
    assert report["database"] != "ok"


# The bot over the webhook, with its FSM state in Redis.


async def redis_keys() -> list[bytes | str]:
    client = Redis.from_url(REDIS_URL)
    try:
        return list(await client.keys("*"))
    finally:
        await client.aclose()


async def test_a_student_walks_the_bot_over_the_webhook_and_keeps_their_place_across_a_restart(
    settings: Settings, content: Content, telegram: FakeTelegram, database: Database
) -> None:
    profile = profile_of(content)
    ana = Person(telegram)
    first = await start_worker(settings, content, telegram)
    try:
        assert isinstance(first.client.app[DISPATCHER].storage, RedisStorage)
        for update in (ana.says("/start"),):
            assert await first.post(update) == 200
        for label in (CHECKLIST_BUTTON, CHECKLIST_START, ANSWER_BUTTONS["yes"]):
            assert await first.post(ana.taps(label)) == 200
        answers = await rows(database, select(ChecklistAnswer.sign_index, ChecklistAnswer.answer))
        assert answers == [(0, "yes")]
        assert "2/7" in ana.texts()[-1], "the second sign is asked"

        assert await first.post(ana.says("/menu")) == 200
        for label in (project_button(profile), START_PROJECT, WRITE_ANSWER):
            assert await first.post(ana.taps(label)) == 200
        assert await redis_keys(), "the wait for the note is kept in Redis"
    finally:
        await first.stop()

    restarted = await start_worker(settings, content, telegram)
    try:
        assert await restarted.post(ana.says("house, uplifting")) == 200
    finally:
        await restarted.stop()
    step = profile.project.steps[0]
    entries = await rows(
        database, select(ProjectEntry.step_id, ProjectEntry.seq, ProjectEntry.note)
    )
    assert entries == [(step.id, 1, "house, uplifting")]
    done = await rows(database, select(ProjectStepDone.step_id))
    assert done == [(step.id,)]
    assert ERROR not in "\n".join(ana.texts())


# Two workers, one student.


async def both(first: Worker, second: Worker, update: dict[str, Any]) -> None:
    """The same update delivered to both workers at once (a redelivery racing the original).

    One handles it; the other finds it handled (200) or still in hand (503), and then,
    delivered again as Telegram would, handled (200) once the first worker has marked it."""
    statuses = await asyncio.gather(first.post(update), second.post(update))
    assert sorted(statuses) in ([200, 200], [200, 503]), statuses
    for target, status in zip((first, second), statuses, strict=True):
        deadline = time.monotonic() + DEADLINE
        while status == 503 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            status = await target.post(update)
        assert status == 200


async def test_two_workers_share_a_student_without_losing_or_duplicating_progress(
    worker: Worker,
    second_worker: Worker,
    telegram: FakeTelegram,
    content: Content,
    database: Database,
) -> None:
    a, b = worker, second_worker
    profile = profile_of(content)
    ana = Person(telegram)
    signs = len(profile.checklist.fits) + len(profile.checklist.misfits)
    given = ["yes", "no", "unsure"] * signs

    assert await a.post(ana.says("/start")) == 200
    assert await b.post(ana.taps(CHECKLIST_BUTTON)) == 200
    assert await a.post(ana.taps(CHECKLIST_START)) == 200  # both at once: see the next test
    for index in range(signs):
        tap = ana.taps(ANSWER_BUTTONS[given[index]])
        if index % 3 == 0:
            await both(a, b, tap)
        else:
            assert await (a if index % 2 else b).post(tap) == 200

    assert await b.post(ana.says("/menu")) == 200
    assert await a.post(ana.taps(project_button(profile))) == 200
    await both(a, b, ana.taps(START_PROJECT))
    steps = profile.project.steps
    notes: list[tuple[str, int, str]] = []
    for number, step in enumerate(steps, start=1):
        if step.repeatable:
            for seq in (1, 2):
                await both(a, b, ana.taps(LOG_ITERATION))  # the prompt, twice
                note = f"iteration {seq}"
                await both(b, a, ana.says(note))  # the note, delivered twice
                notes.append((step.id, seq, note))
            await both(a, b, ana.taps(SOUNDS_RIGHT))
        elif step.note_prompt:
            assert await a.post(ana.taps(WRITE_ANSWER)) == 200
            note = f"my answer for {step.id}"
            assert await b.post(ana.says(note)) == 200
            notes.append((step.id, 1, note))
            if number < len(steps):
                assert await a.post(ana.taps(f"Step {number + 1} ▶️")) == 200
        else:
            await both(a, b, ana.taps(DONE))

    assert ERROR not in "\n".join(ana.texts()), "no update failed"
    assert await students(database) == 1
    attempts = await rows(database, select(ChecklistAttempt.id, ChecklistAttempt.finished_at))
    assert len(attempts) == 1 and attempts[0].finished_at is not None
    answers = await rows(
        database,
        select(ChecklistAnswer.sign_index, ChecklistAnswer.answer).order_by(
            ChecklistAnswer.sign_index
        ),
    )
    assert answers == [(index, given[index]) for index in range(signs)]
    projects = await rows(database, select(Project.id, Project.finished_at))
    assert len(projects) == 1 and projects[0].finished_at is not None
    done = await rows(database, select(ProjectStepDone.step_id).order_by(ProjectStepDone.id))
    assert [row.step_id for row in done] == [step.id for step in steps]
    entries = await rows(
        database,
        select(ProjectEntry.step_id, ProjectEntry.seq, ProjectEntry.note).order_by(
            ProjectEntry.step_id, ProjectEntry.seq
        ),
    )
    assert sorted(entries) == sorted(notes)
    events = Counter(
        f"{row.kind}:{row.name}"
        for row in await rows(
            database,
            select(Event.kind, Event.name).where(
                Event.kind.in_({"checklist", "project", "step", "iteration"})
            ),
        )
    )
    repeatable = [step.id for step in steps if step.repeatable]
    assert events == Counter(
        {
            "checklist:start": 1,
            "checklist:finish": 1,
            "project:start": 1,
            "project:finish": 1,
            **{f"step:{step.id}": 1 for step in steps},
            **{f"iteration:{step_id}": 2 for step_id in repeatable},
        }
    )


async def test_a_double_tap_on_start_the_checklist_on_two_workers_opens_one_attempt(
    worker: Worker, second_worker: Worker, telegram: FakeTelegram, database: Database
) -> None:
    people = [Person(telegram, 6100 + number) for number in range(6)]
    for person in people:
        assert await worker.post(person.says("/start")) == 200
        assert await second_worker.post(person.taps(CHECKLIST_BUTTON)) == 200
    taps = [person.taps(CHECKLIST_START) for person in people]
    await asyncio.gather(*(both(worker, second_worker, tap) for tap in taps))
    attempts = await rows(
        database,
        select(ChecklistAttempt.student_id, func.count())
        .group_by(ChecklistAttempt.student_id)
        .having(func.count() > 1),
    )
    assert attempts == [], "students with more than one attempt"


async def test_a_new_student_tapping_start_on_two_workers_at_once_is_one_student(
    worker: Worker, second_worker: Worker, telegram: FakeTelegram, database: Database
) -> None:
    people = [Person(telegram, 6000 + number) for number in range(8)]
    await asyncio.gather(
        *(w.post(person.says("/start")) for person in people for w in (worker, second_worker))
    )
    assert await students(database) == len(people)
    for person in people:
        assert ERROR not in "\n".join(person.texts()), f"student {person.chat_id} saw an error"


# Graceful stop of the real command.


def _to_chat(chat_id: int) -> Any:
    return lambda call: call.method == "sendMessage" and call.params.get("chat_id") == chat_id


class WebhookCommand(Careerbot):
    """`careerbot webhook` in a process of its own (tests/cli_support.py), with what the
    supervision tests ask of it."""

    def __init__(self, workers: int, url: str, cwd: Path, env: dict[str, str]) -> None:
        super().__init__("webhook", "--workers", str(workers), cwd=cwd, env=env)
        self.url = url  # where Telegram posts updates

    async def wait_for_output(self, pattern: str, count: int = 1) -> list[re.Match[str]]:
        """Polls the output until `pattern` matched `count` times; fails if the command ends."""
        await self.wait_until(
            lambda: len(re.findall(pattern, self.output())) >= count,
            f"{pattern!r} seen {count} time(s)",
            RESTART_DEADLINE,
        )
        return list(re.finditer(pattern, self.output()))

    async def wait_healthy(self, http: aiohttp.ClientSession) -> None:
        await self.wait_until(lambda: http_ok(http, self.url.replace(PATH, HEALTH_PATH)), "healthy")

    async def post(self, http: aiohttp.ClientSession, update: dict[str, Any]) -> int:
        async with http.post(self.url, json=update, headers={SECRET_HEADER: SECRET}) as response:
            return response.status


def webhook_command(
    tmp_path: Path, bot_api: LocalBotApiServer, workers: int = 1, **settings: str
) -> WebhookCommand:
    """`careerbot webhook --workers N` (SQLite unless `settings` say otherwise), to run with
    `async with`: on the way out it kills what is left and prints the output (shown when a
    test fails)."""
    port = settings.pop("WEBHOOK_PORT", None) or str(free_port())
    url = f"http://127.0.0.1:{port}{PATH}"
    env = clean_env(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=bot_api.url,
        WEBHOOK_URL=url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_PORT=port,
        LOG_LEVEL="INFO",
        **{"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", **settings},
    )
    return WebhookCommand(workers, url, tmp_path, env)


@pytest.mark.parametrize("stop", ["sigterm-to-the-command", "sigint-to-the-process-group"])
async def test_a_stopping_worker_finishes_the_update_in_hand(
    bot_api: LocalBotApiServer, tmp_path: Path, stop: str
) -> None:
    ana = Person(bot_api.telegram, 7001)
    async with webhook_command(tmp_path, bot_api) as command, aiohttp.ClientSession() as http:
        process = command.process
        await command.wait_healthy(http)
        registered = await bot_api.wait_for_call(lambda c: c.method == "setWebhook", 0)
        assert registered.params["url"] == command.url
        assert registered.params["secret_token"] == SECRET

        bot_api.delays["sendMessage"] = 1.0  # a slow Telegram: each message takes a second
        posting = asyncio.create_task(command.post(http, ana.says("/start")))
        await bot_api.wait_for_call(_to_chat(ana.chat_id), DEADLINE)  # the greeting is out
        if stop == "sigterm-to-the-command":
            process.send_signal(signal.SIGTERM)
        else:  # Ctrl-C in a terminal, or a supervisor signalling every process
            os.killpg(process.pid, signal.SIGINT)
        status = await asyncio.wait_for(posting, DEADLINE)
        exit_code = await asyncio.wait_for(process.wait(), DEADLINE)
    output = command.output()
    assert status == 200
    sent = [str(call.params["text"]) for call in ana.sent()]
    assert len(sent) == 2, f"the greeting and the menu were both sent: {sent}"
    assert DIALOGS.message("welcome", student={"first_name": "Ana"}) in sent
    assert exit_code == 0, output
    assert "Traceback" not in output
    assert "failed" not in output
    assert TOKEN not in output
    # What start-up built is left out of garbage collections (see freeze_startup_objects).
    assert "objects kept out of garbage collection" in output


# Supervision: a worker that dies is replaced; one that cannot start ends the command.

STARTED = r"webhook worker w(\d+) started: pid (\d+)"
READY = r"objects kept out of garbage collection"


async def test_a_killed_worker_is_replaced_and_serves_the_next_update(
    bot_api: LocalBotApiServer, tmp_path: Path
) -> None:
    await kill_every_worker_and_check_they_are_replaced(tmp_path, bot_api, 1)


async def test_killed_workers_of_several_are_replaced_and_serve_the_next_update(
    bot_api: LocalBotApiServer, tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    services = {"DATABASE_URL": postgres_url, "REDIS_URL": redis_url}
    await kill_every_worker_and_check_they_are_replaced(tmp_path, bot_api, 2, **services)


async def kill_every_worker_and_check_they_are_replaced(
    tmp_path: Path, bot_api: LocalBotApiServer, workers: int, **services: str
) -> None:
    """SIGKILL of every worker: each is started again, the next update is answered by a new
    worker, the command keeps running, and SIGTERM still stops it with exit code 0."""
    ana = Person(bot_api.telegram, 7002)
    async with (
        webhook_command(tmp_path, bot_api, workers, **services) as command,
        aiohttp.ClientSession() as http,
    ):
        await command.wait_for_output(READY, workers)
        first = {int(m[1]): int(m[2]) for m in await command.wait_for_output(STARTED, workers)}
        for pid in first.values():
            os.kill(pid, signal.SIGKILL)
        started = await command.wait_for_output(STARTED, 2 * workers)
        await command.wait_for_output(READY, 2 * workers)
        replaced = {int(m[1]): int(m[2]) for m in started[workers:]}
        assert sorted(replaced) == sorted(first), "each worker was started again"
        assert not set(replaced.values()) & set(first.values())

        await command.wait_healthy(http)
        assert await command.post(http, ana.says("/start")) == 200
        await bot_api.wait_for_call(_to_chat(ana.chat_id), DEADLINE)
        assert command.process.returncode is None, "the command keeps running"

        command.process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.wait_for(command.process.wait(), DEADLINE)
    output = command.output()
    assert exit_code == 0, output
    assert "Traceback" not in output
    for index, pid in first.items():
        assert f"webhook worker w{index} (pid {pid}) died after" in output
        assert f"(pid {pid}) died after" in output and "killed by SIGKILL" in output
        assert f"restarting webhook worker w{index} in 1 s" in output
    assert DIALOGS.message("welcome", student={"first_name": "Ana"}) in [
        str(call.params["text"]) for call in ana.sent()
    ]


async def test_a_worker_that_cannot_start_ends_the_command_with_an_error(
    bot_api: LocalBotApiServer, tmp_path: Path
) -> None:
    """Another program holds the port: every worker fails to listen, and after
    WORKER_CRASH_LIMIT quick deaths the command fails (so systemd's Restart=on-failure acts)."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = str(squatter.getsockname()[1])
        async with webhook_command(
            tmp_path, bot_api, WEBHOOK_PORT=port, WORKER_CRASH_LIMIT="2"
        ) as command:
            exit_code = await asyncio.wait_for(command.process.wait(), RESTART_DEADLINE)
    output = command.output()
    assert exit_code == 1, output
    assert "Traceback" not in output
    listen = f"cannot listen on 127.0.0.1:{port} (Address already in use)"
    assert output.count(listen) == 2, "one line from each try"
    assert output.count("died after") == 2
    assert output.count("restarting webhook worker w0 in 1 s") == 1
    assert output.rstrip().splitlines()[-1] == (
        "careerbot: webhook: worker w0 died 2 times in a row, each within 60 s of starting "
        "(last: exit code 1); stopped the workers: see the log above for why"
    )


async def test_the_stand_in_reports_each_call_and_can_answer_slowly(
    bot_api: LocalBotApiServer,
) -> None:
    """What the graceful-stop test and the benchmark rely on in bot/standin/server.py."""
    seen: list[tuple[str, bool]] = []
    bot_api.listeners.append(lambda call, body: seen.append((call.method, bool(body["ok"]))))
    bot_api.delays["sendMessage"] = 0.3
    url = f"{bot_api.url}/bot{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as http:
        started = time.monotonic()
        async with http.post(url, json={"chat_id": 5, "text": "hi"}) as response:
            assert (await response.json())["ok"] is True
        assert time.monotonic() - started >= 0.3
        async with http.post(url, json={"chat_id": 5, "text": " "}) as response:
            assert response.status == 400
    assert seen == [("sendMessage", True), ("sendMessage", False)]


# Nothing acknowledged before it is handled: outages and repeated deliveries.


def welcomes(person: Person) -> int:
    greeting = DIALOGS.message("welcome", student={"first_name": "Ana"})
    return person.texts().count(greeting)


def through(url: str, proxy: TcpProxy) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


async def test_an_update_met_by_a_database_outage_gets_503_and_is_handled_once_when_it_is_back(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> None:
    proxy = TcpProxy("127.0.0.1", make_url(settings.database_url).port or 5432)
    await proxy.up()
    proxied = settings.model_copy(update={"database_url": through(settings.database_url, proxy)})
    running = await start_worker(proxied, content, telegram)
    try:
        assert await running.post(Person(telegram, 5002, "Bo").says("/start")) == 200
        await proxy.down()  # the pool's connections are reset, new ones refused
        ana = Person(telegram)
        start = ana.says("/start")
        assert await running.post(start) == 503
        assert await running.post(start) == 503  # Telegram delivers it again: still down
        assert ana.sent() == [], "the student is told nothing while the update waits"
        status, report = await running.get(HEALTH_PATH)
        assert status == 503 and report["database"] != "ok"

        await proxy.up()
        assert await running.post(start) == 200
        assert await running.post(start) == 200  # once more: handled already
    finally:
        await running.stop()
        await proxy.down()
    assert welcomes(ana) == 1
    assert ERROR not in ana.texts()


async def test_an_update_met_by_a_redis_outage_gets_503_and_is_handled_once_when_it_is_back(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> None:
    redis = make_url(settings.redis_url or "")
    proxy = TcpProxy("127.0.0.1", redis.port or 6379)
    await proxy.up()
    proxied = settings.model_copy(
        update={"redis_url": f"redis://127.0.0.1:{proxy.port}/{redis.database}"}
    )
    running = await start_worker(proxied, content, telegram)
    try:
        await proxy.down()
        ana = Person(telegram)
        start = ana.says("/start")
        assert await running.post(start) == 503
        assert ana.sent() == []
        await proxy.up()
        assert await running.post(start) == 200
        assert await running.post(start) == 200
    finally:
        await running.stop()
        await proxy.down()
    assert welcomes(ana) == 1
    assert ERROR not in ana.texts()


async def test_an_update_delivered_again_is_handled_once(
    worker: Worker, telegram: FakeTelegram
) -> None:
    ana = Person(telegram)
    assert await worker.post(ana.says("/start")) == 200
    step = ana.says("/menu")
    assert await worker.post(step) == 200
    answered = len(ana.sent())
    assert await worker.post(step) == 200
    assert len(ana.sent()) == answered, "the second delivery changes nothing"


async def test_an_update_delivered_to_two_workers_at_once_is_handled_once(
    worker: Worker, second_worker: Worker, telegram: FakeTelegram
) -> None:
    people = [Person(telegram, 7000 + number, "Ana") for number in range(8)]
    for person in people:
        await both(worker, second_worker, person.says("/start"))
    assert [welcomes(person) for person in people] == [1] * len(people)


async def test_a_burst_of_updates_over_small_pools_is_back_pressure_not_errors(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> None:
    """200 updates at once on a worker with pools far smaller: every update is handled, some
    after a 503 and a delivery again (as Telegram does), none answered with an error."""
    small = settings.model_copy(
        update={
            "webhook_max_updates": 16,
            "webhook_queue_timeout": 0.5,
            "db_pool_size": 2,
            "db_pool_overflow": 0,
            "redis_pool_size": 2,
        }
    )
    app = create_app(small, content, bot=create_bot(small, StandInSession(telegram)))
    # No client-side cap on connections: all 200 reach the worker at once.
    client: TestClient[Any, Any] = TestClient(
        TestServer(app), connector=aiohttp.TCPConnector(limit=0)
    )
    await client.start_server()
    running = Worker(client, telegram)
    people = [Person(telegram, 8000 + number, "Ana") for number in range(200)]
    statuses: Counter[int] = Counter()

    async def deliver(update: dict[str, Any]) -> None:
        for _attempt in range(60):
            status = await running.post(update)
            statuses[status] += 1
            if status != 503:
                return
            await asyncio.sleep(0.2)

    try:
        await asyncio.gather(*(deliver(person.says("/start")) for person in people))
    finally:
        await running.stop()
    assert set(statuses) <= {200, 503}, statuses
    assert [welcomes(person) for person in people] == [1] * len(people)
    assert not any(ERROR in person.texts() for person in people)


# Hostile input.

NOT_UPDATES = {
    "bad JSON": b'{"update_id": 1, "message": {"text": "dear diary',
    "a JSON array": b'[{"update_id": 1}]',
    "an empty object": b"{}",
    "a non-integer update_id": b'{"update_id": "one"}',
    "a shape aiogram rejects": b'{"update_id": 7, "message": {"text": "dear diary"}}',
    "no update type": b'{"update_id": 8}',
}


@pytest.mark.parametrize("body", NOT_UPDATES.values(), ids=NOT_UPDATES.keys())
async def test_a_request_that_is_not_an_update_gets_400_and_one_log_line(
    worker: Worker, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.clear()
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    response = await worker.client.post(PATH, data=body, headers=headers)
    assert response.status == 400
    logged = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(logged) == 1, [record.getMessage() for record in logged]
    assert logged[0].exc_info is None
    assert "diary" not in logged[0].getMessage()
    headers[SECRET_HEADER] = "wrong"
    assert (await worker.client.post(PATH, data=body, headers=headers)).status == 401


async def test_clients_that_never_finish_a_request_head_are_cut(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> None:
    """Headers dribbled a byte at a time, or nothing sent at all: cut after the read timeout,
    where aiohttp would have kept the socket for its keep-alive time (an hour)."""
    tuned = settings.model_copy(update={"webhook_read_timeout": 1.0})
    app = create_app(tuned, content, bot=create_bot(tuned, StandInSession(telegram)))
    port = free_port()
    cap = 10

    async def held(first: bytes, dribble: bytes) -> float:
        """Seconds until the server closed a connection sending `first`, then `dribble`
        every 0.2 s (nothing, if empty)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        try:
            writer.write(first)
            read = asyncio.ensure_future(reader.read())
            while not read.done():
                if dribble:
                    writer.write(dribble)
                await asyncio.wait([read], timeout=0.2)
        except ConnectionError:
            pass
        finally:
            writer.close()
        return time.monotonic() - started

    head = f"POST {PATH} HTTP/1.1\r\nHost: bot\r\nX-Padding: ".encode()
    async with serving(app, "127.0.0.1", port, cap), aiohttp.ClientSession() as http:
        held_for = await asyncio.wait_for(
            asyncio.gather(*(held(head, b"a") for _ in range(cap)), held(b"", b"")), DEADLINE
        )
        ana = Person(telegram)
        async with http.post(
            f"http://127.0.0.1:{port}{PATH}",
            json=ana.says("/start"),
            headers={SECRET_HEADER: SECRET},
        ) as response:
            after = response.status
    # Cut at the read timeout (1 s), with room for a busy machine, not after an hour.
    assert all(seconds < 30 for seconds in held_for), held_for
    assert after == 200


async def test_slow_clients_are_cut_and_cannot_take_every_connection(
    settings: Settings, content: Content, telegram: FakeTelegram
) -> None:
    tuned = settings.model_copy(update={"webhook_read_timeout": 1.0})
    app = create_app(tuned, content, bot=create_bot(tuned, StandInSession(telegram)))
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    cap = 10
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: bot\r\n{SECRET_HEADER}: {SECRET}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    ).encode()

    async def dribble() -> bytes:
        """Sends the head of a request, then its body a byte every 0.2 s; what came back."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(head)
            # The first bytes of the answer, as soon as they come: a byte written after the
            # server answered and closed draws a reset, which on a busy machine can overtake
            # a read of the whole answer and hide its status.
            read = asyncio.ensure_future(reader.read(65536))
            while not read.done():
                writer.write(b" ")
                await asyncio.wait([read], timeout=0.2)
            first = read.result()
            try:  # then until the server lets go of the connection
                return first + await reader.read()
            except ConnectionError:
                return first or b"reset"
        except ConnectionError:
            return b"reset"
        finally:
            writer.close()

    async def post(http: aiohttp.ClientSession) -> int | str:
        ana = Person(telegram)
        try:
            async with http.post(
                url, json=ana.says("/start"), headers={SECRET_HEADER: SECRET}
            ) as response:
                return response.status
        except aiohttp.ClientError as exc:
            return type(exc).__name__

    async with serving(app, "127.0.0.1", port, cap), aiohttp.ClientSession() as http:
        slow = [asyncio.ensure_future(dribble()) for _ in range(3 * cap)]
        await asyncio.sleep(0.3)
        refused = await post(http)  # every connection held: turned away, not left waiting
        answers = await asyncio.wait_for(asyncio.gather(*slow), DEADLINE)
        after = await post(http)
    firsts = Counter(answer.split(b" ", 2)[1] if b" " in answer else answer for answer in answers)
    # The first `cap` are read until the read timeout, then cut; the others are turned away.
    assert firsts[b"408"] == cap, firsts
    assert firsts[b"503"] + firsts[b"reset"] + firsts[b""] == 2 * cap, firsts
    assert refused != 200
    assert after == 200
