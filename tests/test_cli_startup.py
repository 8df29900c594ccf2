"""Commands that need no Bot API answer without importing aiogram.

Importing aiogram takes seconds (pydantic builds its ~640 Telegram types; 3 s of CPU on the
test machine, 8 s when it is loaded), so an author checking content or asking a question, or an
admin reading stats, would wait that long for nothing. Only `run`, `webhook` and `chat` talk to
Telegram (or its stand-in) and import it.
"""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aiogram.filters.callback_data import CallbackData

from bot.config import Settings
from bot.engine.callbacks import ActionCallback, NodeCallback
from bot.engine.keyboard import action_data, node_data
from tests.cli_support import clean_env, run_python

# Each command in a fresh interpreter, through the same entry point as the installed command.
SCRIPT = """
import json, sys
from bot.cli import main
code = main(sys.argv[1:])
loaded = sorted({name.split(".")[0] for name in sys.modules} & {"aiogram", "jinja2"})
print(json.dumps({"code": code, "loaded": loaded}))
"""

COMMANDS = {
    "ask": (["ask", "how much do they earn?"], "aiogram"),
    "ask-career": (["ask", "what's a typical day?", "--career", "music-producer"], "aiogram"),
    "content-check": (["content", "check"], "aiogram"),
    "content-check-stale": (["content", "check", "--stale", "6"], "aiogram"),
    # Importing cards reads text and writes YAML: no screen, so no templates either.
    "content-import": (
        ["content", "import", str(Settings(_env_file=None).content_dir / "cards"), "--dry-run"],
        "aiogram jinja2",
    ),
    "stats": (["stats", "--days", "all"], "aiogram"),
    # The commands that render no screen need no templates either.
    "export": (["export", "-o", "out.csv"], "aiogram jinja2"),
    "lead-add": (["lead", "add", "777", "Lee Jones"], "aiogram jinja2"),
    "lead-list": (["lead", "list"], "aiogram jinja2"),
    "lead-remove": (["lead", "remove", "777"], "aiogram jinja2"),
    "db-upgrade": (["db", "upgrade"], "aiogram jinja2"),
}


@pytest.mark.parametrize("name", COMMANDS)
def test_commands_that_need_no_bot_api_do_not_import_aiogram(name: str, tmp_path: Path) -> None:
    argv, forbidden = COMMANDS[name]
    env = clean_env(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    result = run_python(SCRIPT, cwd=tmp_path, env=env, args=argv)
    assert result.returncode == 0, result.stderr
    *printed, last = result.stdout.splitlines()
    outcome = json.loads(last)
    assert outcome["code"] == 0, result.stderr
    assert printed or name == "export", "the command answered"
    loaded = set(outcome["loaded"]) & set(forbidden.split())
    assert not loaded, f"`careerbot {' '.join(argv)}` imported {sorted(loaded)}"


@pytest.mark.parametrize(
    ("plain", "aiogram"),
    [
        (lambda: node_data("menu"), lambda: NodeCallback(node="menu")),
        (lambda: action_data("open", ""), lambda: ActionCallback(name="open")),
        (
            lambda: action_data("checklist_answer", "3.yes"),
            lambda: ActionCallback(name="checklist_answer", arg="3.yes"),
        ),
        (lambda: node_data("é" * 31), lambda: NodeCallback(node="é" * 31)),  # 64 bytes: fits
    ],
)
def test_buttons_are_packed_as_the_handlers_read_them(
    plain: Callable[[], str], aiogram: Callable[[], CallbackData]
) -> None:
    """Screens pack button data without aiogram; the handlers' filters unpack it with aiogram's
    CallbackData, so both must agree byte for byte."""
    packed, expected = plain(), aiogram()
    assert packed == expected.pack()
    assert type(expected).unpack(packed) == expected


@pytest.mark.parametrize(
    ("plain", "aiogram"),
    [
        (lambda: node_data("é" * 32), lambda: NodeCallback(node="é" * 32).pack()),  # 66 bytes
        (lambda: action_data("open", "a:b"), lambda: ActionCallback(name="open", arg="a:b").pack()),
    ],
)
def test_button_data_aiogram_refuses_is_refused_when_content_is_checked(
    plain: Callable[[], str], aiogram: Callable[[], str]
) -> None:
    """`content check` reports a button whose data Telegram or the handlers would refuse."""
    with pytest.raises(ValueError):
        aiogram()
    with pytest.raises(ValueError):
        plain()
