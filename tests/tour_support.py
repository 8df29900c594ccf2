"""Helpers shared by the tour tests: reading what the bot should say straight from the dialog
and content files, walking the whole tour by pressing buttons, and reading database rows.

Expectations come from the YAML files (rendered with a plain Jinja2 environment of our own),
never from the code under test.
"""

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment
from sqlalchemy import select

from bot.config import Settings
from bot.db.models import Student
from bot.standin.conversation import Button, Conversation, Reply
from tests.conftest import BotHarness

# Where the bot under test reads its dialogs and content (the environment may point elsewhere).
SETTINGS = Settings(_env_file=None)
_TAG = re.compile(r"<[^>]+>")
# What must never reach a student: template syntax, Python leftovers, tracebacks.
LEAKS = ("{{", "}}", "{%", "%}", "None", "Traceback", "Exception", "Error:")


def plain(markup: str) -> str:
    """Telegram HTML as the student reads it."""
    return html.unescape(_TAG.sub("", markup))


@dataclass(frozen=True)
class DialogFiles:
    """The dialog YAML files, merged, as an author wrote them."""

    nodes: dict[str, dict[str, Any]]
    messages: dict[str, str]
    labels: dict[str, str]
    commands: list[dict[str, str]]
    node_files: dict[str, str]

    def message(self, name: str, **context: Any) -> str:
        template = Environment(autoescape=True).from_string(self.messages[name])
        return template.render(**context).strip()

    def label(self, name: str) -> str:
        return self.labels[name].strip()


def read_dialogs(dialogs_dir: Path) -> DialogFiles:
    nodes: dict[str, dict[str, Any]] = {}
    messages: dict[str, str] = {}
    labels: dict[str, str] = {}
    commands: list[dict[str, str]] = []
    node_files: dict[str, str] = {}
    for file in sorted(dialogs_dir.glob("*.yaml")):
        data = yaml.safe_load(file.read_text("utf-8")) or {}
        for node_id, node in (data.get("nodes") or {}).items():
            nodes[node_id] = node
            node_files[node_id] = file.name
        messages.update(data.get("messages") or {})
        labels.update(data.get("labels") or {})
        commands.extend(data.get("commands") or [])
    return DialogFiles(nodes, messages, labels, commands, node_files)


def read_profile(file: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(file.read_text("utf-8"))
    return data


async def student_row(harness: BotHarness, telegram_id: int) -> Student | None:
    async with harness.database.session_factory() as session:
        result = await session.execute(select(Student).where(Student.telegram_id == telegram_id))
        return result.scalar_one_or_none()


def texts(replies: list[Reply]) -> list[str]:
    """The texts of the messages sent or edited, in order."""
    return [reply.text for reply in replies if reply.method in {"sendMessage", "editMessageText"}]


def callback_answers(replies: list[Reply]) -> list[Reply]:
    return [reply for reply in replies if reply.method == "answerCallbackQuery"]


def assert_clean(replies: list[Reply]) -> None:
    """Nothing the bot sent leaks a template, a None or a traceback."""
    for reply in replies:
        shown = [reply.text, *reply.labels, str(reply.params.get("text") or "")]
        for piece in shown:
            for leak in LEAKS:
                assert leak not in piece, f"{reply.method} shows {leak!r}: {piece!r}"


def button_to(buttons: list[Button], data: str) -> Button:
    found = [button for button in buttons if button.data == data]
    assert found, f"no button with data {data!r}; have {[(b.label, b.data) for b in buttons]}"
    return found[0]


@dataclass(frozen=True)
class Press:
    """One button pressed during a walk, and what it led to."""

    from_node: str
    button: Button
    to_node: str
    replies: list[Reply]


def is_navigation(button: Button) -> bool:
    """A button that opens a node (as opposed to an action handled by a feature)."""
    return button.data.startswith("n:")


@dataclass
class Walk:
    """Everything seen while pressing every reachable navigation button, from /start."""

    root: str
    message_id: int
    start_replies: list[Reply]
    screens: dict[str, str] = field(default_factory=dict)
    keyboards: dict[str, list[Button]] = field(default_factory=dict)
    paths: dict[str, list[Button]] = field(default_factory=dict)
    presses: list[Press] = field(default_factory=list)

    def all_texts(self) -> list[str]:
        sent = texts(self.start_replies)
        for press in self.presses:
            sent.extend(texts(press.replies))
        return sent

    def actions(self) -> list[tuple[str, Button]]:
        """Every feature (non-navigation) button seen, with the node it is on."""
        return [
            (node, button)
            for node, keyboard in self.keyboards.items()
            for button in keyboard
            if not is_navigation(button)
        ]


class TourWalker:
    """Walks the tour as a student would: only ever presses a button that is on the screen.

    `walk` presses every navigation button of every node it reaches (breadth first). To expand
    a node it goes home with the home button, then replays the presses that first led there,
    so every press happens on the message that currently shows its button. Feature buttons
    (actions) are recorded, not followed: they change the student's state.
    """

    def __init__(self, harness: BotHarness, conversation: Conversation, home_label: str) -> None:
        self.harness = harness
        self.conversation = conversation
        self.home_label = home_label
        self.current = ""
        self.root = ""
        self.message_id = 0

    async def node(self) -> str:
        student = await student_row(self.harness, self.conversation.chat_id)
        assert student is not None and student.node is not None
        return student.node

    def on_screen(self) -> list[Button]:
        stored = self.harness.telegram.messages[(self.conversation.chat_id, self.message_id)]
        rows = (stored.reply_markup or {}).get("inline_keyboard", [])
        return [Button(b["text"], b.get("callback_data", "")) for row in rows for b in row]

    def screen_text(self) -> str:
        return self.harness.telegram.messages[(self.conversation.chat_id, self.message_id)].text

    async def press(self, button: Button) -> Press:
        assert button in self.on_screen(), f"{button} is not on the screen of {self.current}"
        from_node = self.current
        replies = await self.conversation.press_data(button.data, self.message_id)
        self.current = await self.node()
        return Press(from_node, button, self.current, replies)

    async def start(self) -> list[Reply]:
        replies = await self.conversation.send("/start")
        latest = self.conversation.latest()
        assert latest is not None, "/start showed no buttons"
        self.message_id = latest.message_id
        self.current = self.root = await self.node()
        return replies

    async def walk(self) -> Walk:
        walk = Walk(self.root, self.message_id, await self.start())
        walk.root = self.root
        walk.message_id = self.message_id
        walk.paths[self.root] = []
        walk.screens[self.root] = self.screen_text()
        walk.keyboards[self.root] = self.on_screen()
        queue = [self.root]
        while queue:
            node = queue.pop(0)
            for button in walk.keyboards[node]:
                if not is_navigation(button):
                    continue
                await self.go(walk.paths[node])
                assert self.current == node, f"replaying the way to {node} led to {self.current}"
                press = await self.press(button)
                walk.presses.append(press)
                if press.to_node not in walk.paths:
                    walk.paths[press.to_node] = [*walk.paths[node], button]
                    walk.screens[press.to_node] = self.screen_text()
                    walk.keyboards[press.to_node] = self.on_screen()
                    queue.append(press.to_node)
        return walk

    async def go(self, path: list[Button]) -> None:
        """From wherever the student is, home and then along `path`."""
        if self.current != self.root:
            student = await student_row(self.harness, self.conversation.chat_id)
            assert student is not None
            # Home is the home button; on the career list, picking one's own career again.
            home = [
                b
                for b in self.on_screen()
                if b.label == self.home_label or b.data == f"a:career:{student.career}"
            ]
            assert home, f"no {self.home_label!r} button on {self.current}"
            await self.press(home[0])
        for button in path:
            await self.press(button)
