"""`careerbot run` as a real polling client against a local Bot API server (TELEGRAM_API_URL).

The server is the stand-in Bot API served over HTTP (bot/standin/server.py); the bot is the
installed `careerbot` command in its own process, talking aiohttp to it like to Telegram.
"""

import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.standin.server import LocalBotApiServer
from bot.standin.telegram import Call
from tests.cli_support import STEP_SECONDS, Careerbot, clean_env

TOKEN = "123456:TEST"
CHAT_ID = 777001


@pytest.fixture
async def server() -> AsyncIterator[LocalBotApiServer]:
    running = LocalBotApiServer(max_poll_seconds=0.5)
    await running.start("127.0.0.1", 0)
    yield running
    await running.stop()


def _sent_to_chat(
    method: str, predicate: Callable[[Call], bool] | None = None
) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return (
            call.method == method
            and call.params.get("chat_id") == CHAT_ID
            and (predicate is None or predicate(call))
        )

    return matches


def _labels(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [button["text"] for row in markup.get("inline_keyboard", []) for button in row]


def _user() -> dict[str, Any]:
    return {"id": CHAT_ID, "is_bot": False, "first_name": "Ana", "language_code": "en"}


async def test_careerbot_run_polls_a_local_bot_api_server(
    server: LocalBotApiServer, tmp_path: Path
) -> None:
    database = tmp_path / "bot.db"
    env = {
        **clean_env(tmp_path),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": server.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "LOG_LEVEL": "INFO",
    }
    async with Careerbot("run", cwd=tmp_path, env=env) as bot:
        await bot.wait_until(
            lambda: any(call.method == "getUpdates" for call in server.telegram.calls),
            "polling the Bot API",
        )
        server.push_update(
            {
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": CHAT_ID, "type": "private", "first_name": "Ana"},
                    "from": _user(),
                    "text": "/start",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
                }
            }
        )
        menu = await bot.within(
            server.wait_for_call(
                _sent_to_chat("sendMessage", lambda call: "🛠 The job" in _labels(call)),
                STEP_SECONDS,
            ),
            "the menu after /start",
        )
        greeting = await server.wait_for_call(
            _sent_to_chat("sendMessage", lambda call: "Hi Ana!" in call.params["text"]), 0
        )
        assert server.telegram.calls.index(greeting) < server.telegram.calls.index(menu)
        assert "<b>Music Producer</b>" in menu.params["text"]
        assert menu.params.get("parse_mode") == "HTML"
        assert "💰 Money & future" in _labels(menu)

        menu_message = next(
            stored
            for stored in server.telegram.messages.values()
            if stored.chat_id == CHAT_ID and stored.reply_markup == menu.params["reply_markup"]
        )
        day_button = next(
            button
            for row in menu.params["reply_markup"]["inline_keyboard"]
            for button in row
            if button["text"] == "🛠 The job"
        )
        server.push_update(
            {
                "callback_query": {
                    "id": "cb-1",
                    "from": _user(),
                    "chat_instance": "ci-1",
                    "message": server.telegram.message_json(menu_message),
                    "data": day_button["callback_data"],
                }
            }
        )
        edit = await bot.within(
            server.wait_for_call(
                _sent_to_chat(
                    "editMessageText",
                    lambda call: call.params.get("message_id") == menu_message.message_id,
                ),
                STEP_SECONDS,
            ),
            "the work screen after the button",
        )
        assert "<b>The work</b>" in edit.params["text"]
        assert "🕘 A typical day" in _labels(edit)
        await bot.within(
            server.wait_for_call(
                lambda call: (
                    call.method == "answerCallbackQuery"
                    and call.params.get("callback_query_id") == "cb-1"
                ),
                STEP_SECONDS,
            ),
            "the button answered",
        )

        commands = await server.wait_for_call(lambda call: call.method == "setMyCommands", 0)
        assert {"command": "start", "description": "Pick up where you left off"} in (
            commands.params["commands"]
        )
        assert server.tokens == {TOKEN}
        exit_code = await bot.stop(signal.SIGINT)
        output = bot.output()
    assert exit_code == 0, output
    assert "Traceback" not in output
    assert TOKEN not in output  # the token never reaches the logs
    assert "objects kept out of garbage collection" in output  # start-up's last step ran

    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT first_name, career, node FROM students WHERE telegram_id = ?", (CHAT_ID,)
        ).fetchall()
    assert rows == [("Ana", "music-producer", "work")]
