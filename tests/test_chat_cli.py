"""`careerbot chat`: the real bot in a terminal, driven through the installed command's stdin."""

import re
import sqlite3
from pathlib import Path

from tests.cli_support import READY_SECONDS, STEP_SECONDS, Careerbot, clean_env, run_careerbot

BUTTON = re.compile(r"^  \[(\d+)\] (.+)$")


def chat_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    database = tmp_path / "chat.db"
    return clean_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{database}"), database


def students(database: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT telegram_id, first_name, career, start_payload FROM students"
        ).fetchall()


class Terminal:
    """A person at the terminal: reads each screen the chat prints, then types a line."""

    def __init__(self, chat: Careerbot) -> None:
        self.chat = chat

    async def screen(self, seconds: float = STEP_SECONDS) -> list[str]:
        """The lines up to the blank line that ends a screen with its numbered buttons."""
        lines: list[str] = []
        while True:
            raw = await self.chat.read_line("a screen with buttons", seconds)
            if not raw:
                self.chat.fail("the chat ended early")
            line = raw.rstrip("\n")
            if not line and any(BUTTON.match(seen) for seen in lines):
                return lines
            lines.append(line)

    async def type(self, text: str) -> None:
        stdin = self.chat.process.stdin
        assert stdin is not None
        stdin.write(f"{text}\n".encode())
        await stdin.drain()


def buttons(screen: list[str]) -> dict[str, str]:
    """The numbered buttons shown last on a screen, by label."""
    found = [match for line in screen if (match := BUTTON.match(line))]
    return {match[2]: match[1] for match in found}


async def test_chat_shows_buttons_and_presses_them_by_number(tmp_path: Path) -> None:
    env, database = chat_env(tmp_path)
    async with Careerbot("chat", cwd=tmp_path, env=env, interactive=True) as chat:
        terminal = Terminal(chat)
        first = await terminal.screen(READY_SECONDS)  # the first screen: start-up included
        assert "Hi Student! 👋 I help you try a career on for size" in "\n".join(first)
        assert "Music Producer" in first
        menu = buttons(first)
        assert menu["🛠 The job"] == "1"  # numbered from 1, in keyboard order
        assert list(menu.values()) == [str(n) for n in range(1, len(menu) + 1)]

        await terminal.type(menu["🛠 The job"])
        work = buttons(await terminal.screen())
        await terminal.type(work["🕘 A typical day"])
        day = "\n".join(await terminal.screen())
        assert "A typical early-career day" in day
        assert "3:00 pm · Mix & tweak" in day  # Telegram HTML shown as plain text
        assert "<b>" not in day and "&amp;" not in day

        await terminal.type("/start x")
        again = "\n".join(await terminal.screen())
        assert "Welcome back, Student!" in again

        await terminal.type("hello")
        await terminal.type("999")  # no such button: sent as a message, not a crash
        code, transcript = await chat.finish()
        errors = chat.log_path.read_text("utf-8")
    assert code == 0, errors
    assert transcript.rstrip().endswith("bye")
    assert "Traceback" not in errors
    assert students(database) == [(1, "Student", "music-producer", "x")]


def test_careerbot_without_a_token_opens_the_chat(tmp_path: Path) -> None:
    env, database = chat_env(tmp_path)
    result = run_careerbot(cwd=tmp_path, env=env, stdin="")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "No BOT_TOKEN set: starting `careerbot chat` (the bot in this terminal)."
    assert "Hi Student! 👋" in result.stdout
    assert any(BUTTON.match(line) for line in lines)
    assert lines[-1] == "bye"
    assert students(database) == [(1, "Student", "music-producer", None)]


def test_chat_plays_the_student_given_on_the_command_line(tmp_path: Path) -> None:
    env, database = chat_env(tmp_path)
    result = run_careerbot(
        "chat", "--user-id", "4242001", "--name", "Ana", cwd=tmp_path, env=env, stdin="/menu\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Hi Ana! 👋" in result.stdout
    assert students(database) == [(4242001, "Ana", "music-producer", None)]
    # A second session is the same student coming back, not a new one.
    again = run_careerbot(
        "chat", "--user-id", "4242001", "--name", "Ana", cwd=tmp_path, env=env, stdin=""
    )
    assert again.returncode == 0, again.stderr
    assert "Welcome back, Ana!" in again.stdout
    assert len(students(database)) == 1


def test_several_webhook_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path,
        BOT_TOKEN="123:TEST",
        WEBHOOK_URL="https://bot.example.org/telegram",
        WEBHOOK_SECRET="s3cret",
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    result = run_careerbot("webhook", "--workers", "2", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "several workers need PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bot.db").exists(), "refused before touching the database"


PHOTO_SAVED = re.compile(r"^\[photo saved: (.+?)\] ")


def test_chat_saves_each_picture_and_prints_its_path(tmp_path: Path) -> None:
    env, _database = chat_env(tmp_path)
    # /passport, then "🖼 As a picture" (its second button) twice.
    result = run_careerbot("chat", cwd=tmp_path, env=env, stdin="/passport\n2\n2\n")
    assert result.returncode == 0, result.stderr
    assert "  [2] 🖼 As a picture" in result.stdout
    saved = [
        Path(match[1]) for line in result.stdout.splitlines() if (match := PHOTO_SAVED.match(line))
    ]
    assert len(saved) == 2 and saved[0] != saved[1], "a second picture does not overwrite the first"
    for path in saved:
        assert path.is_absolute() and path.parent == tmp_path / "careerbot-chat-files"
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert saved[0].name == "career-passport.png"
    assert "Traceback" not in result.stderr
