"""A service or a setting that stops `careerbot` is named in one line on stderr, with what to
do, and a non-zero exit code: never a traceback, whichever command meets it. Telegram out of
reach at start is waited out (one log line per try), not a crash."""

import asyncio
import signal
import socket
from pathlib import Path

import pytest

from bot.standin.server import LocalBotApiServer, message_update, user_json
from tests.cli_support import CAREERBOT, clean_env, run_careerbot

TOKEN = "123456:TEST"
DEADLINE = 120.0  # start-up imports aiogram: 10-20 s on a loaded machine
WEBHOOK = {"WEBHOOK_URL": "https://bot.example.org/telegram", "WEBHOOK_SECRET": "s3cret"}

# Every command that opens the database, with the settings it needs besides DATABASE_URL.
DATABASE_COMMANDS = {
    "run": ((), {"BOT_TOKEN": TOKEN}),
    "chat": ((), {}),
    "webhook": ((), {"BOT_TOKEN": TOKEN, **WEBHOOK}),
    "db upgrade": ((), {}),
    "stats": ((), {}),
    "export": ((), {}),
    "lead list": ((), {}),
}
ALL_COMMANDS = [*DATABASE_COMMANDS, "ask hi", "content check"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def fails_with_one_line(
    tmp_path: Path, command: str, expected: str, code: int = 1, **settings: str
) -> None:
    env = clean_env(tmp_path, **DATABASE_COMMANDS.get(command, ((), {}))[1], **settings)
    result = run_careerbot(*command.split(), cwd=tmp_path, env=env)
    said = [line for line in result.stderr.splitlines() if line.startswith("careerbot:")]
    assert said == [expected], result.stderr
    assert result.stderr.rstrip().splitlines()[-1] == expected
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == code, result.stderr


# The database.


@pytest.mark.parametrize("command", list(DATABASE_COMMANDS))
def test_a_refused_postgresql_connection_is_one_line_for_every_command(
    tmp_path: Path, command: str
) -> None:
    port = free_port()
    fails_with_one_line(
        tmp_path,
        command,
        f"careerbot: database: cannot connect to 127.0.0.1:{port} (connection refused): "
        "is PostgreSQL running? check DATABASE_URL",
        DATABASE_URL=f"postgresql+asyncpg://bot@127.0.0.1:{port}/careerbot",
    )


@pytest.mark.parametrize("command", ["lead list", "webhook"])
def test_an_unknown_database_host_is_one_line(tmp_path: Path, command: str) -> None:
    fails_with_one_line(
        tmp_path,
        command,
        "careerbot: database: cannot find the host 'db.invalid' (Name or service not known): "
        "check DATABASE_URL",
        DATABASE_URL="postgresql+asyncpg://bot@db.invalid:5432/careerbot",
    )


@pytest.mark.parametrize("command", ["db upgrade", "run"])
def test_a_sqlite_file_under_a_file_is_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    path = tmp_path / "notes.txt" / "bot.db"
    fails_with_one_line(
        tmp_path,
        command,
        f"careerbot: database: cannot create the SQLite file {path}: {tmp_path / 'notes.txt'} "
        "is a file, not a folder: check DATABASE_URL",
        DATABASE_URL=f"sqlite+aiosqlite:///{path}",
    )


@pytest.mark.parametrize("command", ["stats", "chat"])
def test_a_sqlite_path_that_is_a_folder_is_one_line(tmp_path: Path, command: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    fails_with_one_line(
        tmp_path,
        command,
        f"careerbot: database: cannot open the SQLite file {folder} (unable to open database "
        "file): check DATABASE_URL (a file, in a folder the bot may write to)",
        DATABASE_URL=f"sqlite+aiosqlite:///{folder}",
    )


@pytest.mark.parametrize("command", ["lead list", "webhook", "chat"])
def test_an_in_memory_sqlite_database_is_refused_as_a_setting(tmp_path: Path, command: str) -> None:
    fails_with_one_line(
        tmp_path,
        command,
        "careerbot: setting DATABASE_URL: SQLite needs a file (an in-memory database would "
        "vanish with each process and each worker): sqlite+aiosqlite:///path/to/careerbot.db",
        code=2,
        DATABASE_URL="sqlite+aiosqlite:///:memory:",
    )


# Settings.


@pytest.mark.parametrize("command", ALL_COMMANDS)
def test_a_dotenv_that_is_not_utf8_is_one_line(tmp_path: Path, command: str) -> None:
    (tmp_path / ".env").write_bytes(b"ADMIN_IDS=1\nPSEUDONYM_KEY=caf\xe9\n")
    fails_with_one_line(
        tmp_path,
        command,
        "careerbot: file .env: byte 0xe9 at offset 29 is not UTF-8 text: save the file as UTF-8",
        code=2,
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "26", "fast"])
def test_broadcast_per_second_must_be_a_number_between_0_and_25(tmp_path: Path, value: str) -> None:
    fails_with_one_line(
        tmp_path,
        "content check",
        "careerbot: setting BROADCAST_PER_SECOND: must be a number between 0 and 25 "
        f"(messages per second: more than 0, at most 25), not '{value}'",
        code=2,
        BROADCAST_PER_SECOND=value,
    )


# Telegram out of reach at start.


@pytest.mark.parametrize(("command", "call"), [("run", "getMe"), ("webhook", "setWebhook")])
def test_telegram_out_of_reach_at_start_is_retried_then_one_line(
    tmp_path: Path, command: str, call: str
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = clean_env(
        tmp_path,
        **DATABASE_COMMANDS[command][1],
        TELEGRAM_API_URL=url,
        STARTUP_RETRY_SECONDS="4",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    result = run_careerbot(command, cwd=tmp_path, env=env)
    lines = result.stderr.rstrip().splitlines()
    tries = [line for line in lines if f"telegram: {call} failed (" in line and "try " in line]
    assert [line.split(", try ")[1] for line in tries] == [
        "1: trying again in 1 s",
        "2: trying again in 2 s",
    ], result.stderr
    assert lines[-1].startswith(f"careerbot: telegram: {call} failed (ClientConnectorError: ")
    assert lines[-1].endswith(
        f"for 4 s: is {url} reachable? check the network and TELEGRAM_API_URL"
    )
    assert "Traceback" not in result.stderr
    assert TOKEN not in result.stderr
    assert result.returncode == 1


async def test_the_bot_starts_once_telegram_comes_within_reach(tmp_path: Path) -> None:
    """`careerbot run` started while Telegram is out of reach keeps trying, starts polling
    when it answers, and still stops cleanly."""
    port = free_port()
    env = clean_env(
        tmp_path,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        LOG_LEVEL="INFO",
    )
    log_path = tmp_path / "careerbot.log"
    server = LocalBotApiServer()
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            str(CAREERBOT), "run", cwd=tmp_path, env=env, stdout=log, stderr=log
        )
        try:
            deadline = asyncio.get_running_loop().time() + DEADLINE
            while "telegram: getMe failed" not in log_path.read_text("utf-8", "replace"):
                assert process.returncode is None, log_path.read_text("utf-8", "replace")
                assert asyncio.get_running_loop().time() < deadline, "no retry was logged"
                await asyncio.sleep(0.2)
            await server.start("127.0.0.1", port)
            server.push_update(message_update(server.telegram, user_json(7100), "/start"))
            greeting = await server.wait_for_call(
                lambda call: call.method == "sendMessage" and call.params["chat_id"] == 7100,
                DEADLINE,
            )
            assert "Hi Ana!" in str(greeting.params["text"])
            process.send_signal(signal.SIGTERM)
            exit_code = await asyncio.wait_for(process.wait(), DEADLINE)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
            await server.stop()
            output = log_path.read_text("utf-8", errors="replace")
            print(output)  # shown by pytest when the test fails
    assert exit_code == 0, output
    assert "Traceback" not in output
    assert TOKEN not in output


async def test_a_stop_signal_while_telegram_is_out_of_reach_stops_cleanly(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        BOT_TOKEN=TOKEN,
        **WEBHOOK,
        TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    process = await asyncio.create_subprocess_exec(
        str(CAREERBOT),
        "webhook",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen = b""
    try:
        while b"telegram: setWebhook failed" not in seen:
            line = await asyncio.wait_for(process.stdout.readline(), DEADLINE)
            assert line, seen.decode()
            seen += line
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), DEADLINE)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = (seen + rest).decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
