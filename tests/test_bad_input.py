"""Whatever a student (or Telegram, or an old message) throws at the bot, it answers kindly:
a short note and the menu, never an error, a traceback or a template."""

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiogram.types import Update
from sqlalchemy import func, select, text

from bot.app import load_content
from bot.config import Settings
from bot.db.models import Base, Event, Student
from bot.features.tour.service import TourService
from bot.standin.conversation import Button, Conversation, Reply
from tests.conftest import BotHarness
from tests.test_tour import HOME, HOME_NODE, PROFILE, SECTIONS, SLUG
from tests.tour_support import (
    SETTINGS,
    assert_clean,
    button_to,
    callback_answers,
    plain,
    read_dialogs,
    student_row,
    texts,
)

DIALOGS = read_dialogs(SETTINGS.dialogs_dir)
FILE = {"file_id": "AgADBAAD", "file_unique_id": "AQADBAAD"}
MEDIA: dict[str, dict[str, Any]] = {
    "sticker": {
        "sticker": {
            **FILE,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "photo": {"photo": [{**FILE, "width": 90, "height": 90}], "caption": "look at this"},
    "voice": {"voice": {**FILE, "duration": 3}},
    "location": {"location": {"latitude": 52.52, "longitude": 13.405}},
    "contact": {"contact": {"phone_number": "+15550100777", "first_name": "Mum"}},
    "document": {"document": {**FILE, "file_name": "cv.pdf"}},
    # Something a newer Telegram may send that this aiogram does not know.
    "unknown kind": {"hologram": {"id": "h1", "depth": 3}},
}


async def count(harness: BotHarness, model: type[Base]) -> int:
    async with harness.database.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def everything_stored(harness: BotHarness) -> str:
    """Every row of every table, as text: what a privacy check can search."""
    rows: list[str] = []
    async with harness.database.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            result = await session.execute(text(f'SELECT * FROM "{table.name}"'))
            rows.extend(repr(tuple(row)) for row in result)
    return "\n".join(rows)


def assert_menu(screen: str, buttons: list[Button], sections: set[str] = SECTIONS) -> None:
    """The screen is the career's menu: its title and a button to every section (the summary
    shows on the first menu of a visit only)."""
    assert f"<b>{PROFILE['title']}</b>" in screen
    assert {b.data.removeprefix("n:") for b in buttons if b.data.startswith("n:")} >= sections


def reply_buttons(reply: Reply) -> list[Button]:
    return [button for row in reply.buttons for button in row]


async def note_and_menu(conversation: Conversation, replies: list[Reply], note: str) -> None:
    """The bot sent `note`, then the menu as a new message; nothing else."""
    sent = [r for r in replies if r.method == "sendMessage"]
    assert [r.text for r in sent][:1] == [note]
    assert len(sent) == 2, [r.text for r in sent]
    assert_menu(sent[1].text, reply_buttons(sent[1]))
    assert sent[1].message_id is None  # a new message, not an edit
    assert all(r.params["chat_id"] == conversation.chat_id for r in sent)
    assert_clean(replies)


# Messages the bot can't use.


@pytest.mark.parametrize("kind", list(MEDIA))
async def test_unsupported_messages_get_a_note_and_the_menu(harness: BotHarness, kind: str) -> None:
    sam = harness.user()
    replies = await sam.send_message(MEDIA[kind])
    await note_and_menu(sam, replies, DIALOGS.message("unsupported_message"))
    student = await student_row(harness, 1001)
    assert student is not None and student.career == SLUG


@pytest.mark.parametrize("kind", list(MEDIA))
async def test_unsupported_messages_mid_tour_keep_the_place(harness: BotHarness, kind: str) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press(button_to(sam.current_buttons(), "n:numbers").label)
    replies = await sam.send_message(MEDIA[kind])
    await note_and_menu(sam, replies, DIALOGS.message("unsupported_message"))


async def test_a_shared_contact_is_not_stored(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send_message(MEDIA["contact"])
    stored = await everything_stored(harness)
    phone = MEDIA["contact"]["contact"]["phone_number"]
    assert phone not in stored and phone.lstrip("+") not in stored
    assert "Mum" not in stored


async def typed_text(harness: BotHarness, conversation: Conversation, words: str) -> None:
    """Text typed where the tour expects a tap: a new message with a way home, no error."""
    replies = await conversation.send(words)
    sent = [r for r in replies if r.method == "sendMessage"]
    assert sent, "typed text got no answer"
    assert all(r.params["chat_id"] == conversation.chat_id for r in sent)
    assert DIALOGS.message("error") not in [r.text for r in sent]
    if "use_buttons" in DIALOGS.messages:
        assert sent[0].text == DIALOGS.message("use_buttons")
        assert_menu(sent[-1].text, reply_buttons(sent[-1]))
    else:  # free text is a question to the bot: its answer offers the way back to the menu
        assert (HOME, f"n:{HOME_NODE}") in [(b.label, b.data) for b in reply_buttons(sent[-1])]
    assert_clean(replies)
    assert await student_row(harness, conversation.chat_id) is not None


async def test_text_where_a_button_was_expected(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press(button_to(sam.current_buttons(), "n:numbers").label)
    await typed_text(harness, sam, "ok so what now")
    replies = await sam.press(HOME)
    assert_menu(texts(replies)[0], sam.current_buttons())
    student = await student_row(harness, 1001)
    assert student is not None and (student.career, student.node) == (SLUG, HOME_NODE)


async def test_text_as_the_very_first_message(harness: BotHarness) -> None:
    await typed_text(harness, harness.user(), "hi")


async def test_menu_after_a_first_message_of_text_is_the_only_careers_menu(
    harness: BotHarness,
) -> None:
    sam = harness.user()
    await sam.send("hi")
    replies = await sam.press(HOME)
    assert_menu(texts(replies)[0], sam.current_buttons())
    student = await student_row(harness, 1001)
    assert student is not None and (student.career, student.node) == (SLUG, HOME_NODE)


async def test_a_very_long_text_is_handled(harness: BotHarness) -> None:
    await typed_text(harness, harness.user(), "blah " * 819)


@pytest.mark.parametrize("command", ["/foo", "/foo bar baz", "/", "/menu_extra", "/START2"])
async def test_unknown_command(harness: BotHarness, command: str) -> None:
    sam = harness.user()
    replies = await sam.send(command)
    await note_and_menu(sam, replies, DIALOGS.message("unknown_command"))


async def test_menu_with_junk_arguments_shows_the_menu(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press(button_to(sam.current_buttons(), "n:work").label)
    replies = await sam.send("/menu junk junk")
    sent = [r for r in replies if r.method == "sendMessage"]
    assert len(sent) == 1
    assert_menu(sent[0].text, reply_buttons(sent[0]))
    assert_clean(replies)
    student = await student_row(harness, 1001)
    assert student is not None and student.node == HOME_NODE


def static_heading(node_id: str) -> str:
    """The first line of a node's text, when it has no template in it."""
    first = str(DIALOGS.nodes[node_id]["text"]).strip().splitlines()[0]
    assert "{" not in first, f"the first line of {node_id} is a template"
    return first


async def info_page(conversation: Conversation, command: str) -> list[Reply]:
    replies = await conversation.send(f"/{command} 123")
    sent = [r for r in replies if r.method == "sendMessage"]
    assert len(sent) == 1
    assert sent[0].text.startswith(static_heading(command))
    assert [b.label for b in reply_buttons(sent[0])][-1:] == [HOME]
    assert_clean(replies)
    return replies


@pytest.mark.parametrize("command", ["help", "privacy"])
async def test_info_commands_with_junk_arguments(harness: BotHarness, command: str) -> None:
    sam = harness.user()
    await sam.send("/start")
    await info_page(sam, command)
    student = await student_row(harness, 1001)
    assert student is not None and student.node == command


@pytest.mark.parametrize("command", ["help", "privacy"])
async def test_help_as_the_very_first_message(harness: BotHarness, command: str) -> None:
    """Help and privacy don't need a career: a new student gets them, not the career list."""
    sam = harness.user()
    await info_page(sam, command)
    student = await student_row(harness, 1001)
    assert student is not None and student.node == command


# /start and its deep-link payload.


def assert_started(replies: list[Reply], conversation: Conversation) -> None:
    """/start with a payload: the welcome, at most a note that the link is no invite, the menu."""
    sent = texts(replies)
    assert sent[0] == DIALOGS.message("welcome", student={"first_name": "Sam"})
    assert_menu(sent[-1], conversation.current_buttons())
    notes = [DIALOGS.message(name) for name in ("cohort_link_unknown",) if name in DIALOGS.messages]
    assert all(text in notes for text in sent[1:-1]), sent[1:-1]
    assert_clean(replies)


@pytest.mark.parametrize(
    "payload",
    ["!!!bad payload!!!", "x" * 65, "cohort ABC", "<b>x</b>", "кохорта", "a/b", "a" * 300],
)
async def test_start_with_a_bad_payload_works_and_stores_nothing(
    harness: BotHarness, payload: str
) -> None:
    sam = harness.user()
    replies = await sam.send(f"/start {payload}")
    assert_started(replies, sam)
    student = await student_row(harness, 1001)
    assert student is not None and student.start_payload is None
    assert payload not in await everything_stored(harness)


@pytest.mark.parametrize("payload", ["cohort_ABC-123", "x" * 64, "7"])
async def test_start_with_a_good_payload_stores_it(harness: BotHarness, payload: str) -> None:
    sam = harness.user()
    replies = await sam.send(f"/start {payload}")
    assert_started(replies, sam)
    student = await student_row(harness, 1001)
    assert student is not None and student.start_payload == payload


async def test_start_with_only_spaces_after_it(harness: BotHarness) -> None:
    sam = harness.user()
    replies = await sam.send("/start    ")
    assert texts(replies)[0] == DIALOGS.message("welcome", student={"first_name": "Sam"})
    student = await student_row(harness, 1001)
    assert student is not None and student.start_payload is None


# Group chats: the bot points people to a private chat and stores no one.

GROUP = {"id": -1001234567, "type": "group", "title": "Class 7b"}
SUPERGROUP = {"id": -1009876543, "type": "supergroup", "title": "Careers club"}


@pytest.mark.parametrize("chat", [GROUP, SUPERGROUP], ids=["group", "supergroup"])
@pytest.mark.parametrize("command", ["/start", "/menu", "/help", "/foo", "/start cohort_A"])
async def test_commands_in_a_group_point_to_a_private_chat(
    harness: BotHarness, chat: dict[str, Any], command: str
) -> None:
    sam = harness.user()
    replies = await sam.send_message({"text": command}, chat=chat)
    sent = [r for r in replies if r.method == "sendMessage"]
    assert [(r.params["chat_id"], r.text) for r in sent] == [
        (chat["id"], DIALOGS.message("group_chat"))
    ]
    assert_clean(replies)
    assert await count(harness, Student) == 0
    assert await count(harness, Event) == 0


@pytest.mark.parametrize("message", [{"text": "hello all"}, MEDIA["sticker"]])
async def test_chatter_in_a_group_is_ignored(harness: BotHarness, message: dict[str, Any]) -> None:
    sam = harness.user()
    replies = await sam.send_message(message, chat=GROUP)
    assert [r for r in replies if r.method.startswith(("send", "edit"))] == []
    assert await count(harness, Student) == 0


# Old, forged and stale buttons.

FORGED = [
    "n:nosuchnode",
    "zzz",
    "a:career:no-such-career",
    "a:career:",
    "a:nosuchaction:x",
    "n:",
    "n:menu:extra",
    "a:",
    ":",
    "n:" + "x" * 62,
    "n:../../etc",
]


async def at_numbers(harness: BotHarness) -> tuple[Conversation, int]:
    sam = harness.user()
    await sam.send("/start")
    menu = sam.latest()
    assert menu is not None
    await sam.press(button_to(sam.current_buttons(), "n:numbers").label)
    return sam, menu.message_id


def assert_menu_changed(
    replies: list[Reply],
    message_id: int,
    conversation: Conversation,
    sections: set[str] = SECTIONS,
) -> None:
    """The press is answered with the "menu changed" note and the message shows the menu."""
    answers = callback_answers(replies)
    assert len(answers) == 1
    assert answers[0].params.get("text") == DIALOGS.message("menu_changed")
    assert not answers[0].params.get("show_alert")
    edits = [r for r in replies if r.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == message_id
    assert_menu(edits[0].text, conversation.current_buttons(), sections)
    assert not [r for r in replies if r.method == "sendMessage"]
    assert_clean(replies)


@pytest.mark.parametrize("data", FORGED)
async def test_forged_buttons_get_the_current_menu(harness: BotHarness, data: str) -> None:
    sam, message_id = await at_numbers(harness)
    replies = await sam.press_data(data, message_id)
    assert_menu_changed(replies, message_id, sam)
    student = await student_row(harness, 1001)
    assert student is not None
    assert (student.career, student.node) == (SLUG, HOME_NODE)


async def test_forged_button_on_the_menu_itself_just_answers(harness: BotHarness) -> None:
    """The menu is already showing: the note, and no pointless edit."""
    sam = harness.user()
    await sam.send("/start")
    menu = sam.latest()
    assert menu is not None
    replies = await sam.press_data("n:nosuchnode", menu.message_id)
    answers = callback_answers(replies)
    assert [a.params.get("text") for a in answers] == [DIALOGS.message("menu_changed")]
    assert not [r for r in replies if r.method == "sendMessage"]
    assert_clean(replies)


async def test_a_button_on_an_inaccessible_old_message_sends_a_new_screen(
    harness: BotHarness,
) -> None:
    """Telegram sends a message older than 48 hours as inaccessible (date 0): the bot can't
    edit it, so the screen comes as a new message."""
    sam = harness.user()
    await sam.send("/start")
    menu = sam.latest()
    assert menu is not None
    before = len(harness.telegram.calls)
    callback = {
        "id": "old-1",
        "from": sam.user,
        "chat_instance": "1",
        "data": "n:numbers",
        "message": {"chat": {"id": 1001, "type": "private"}, "message_id": 1, "date": 0},
    }
    update = Update.model_validate(
        {"update_id": harness.telegram.next_update_id(), "callback_query": callback},
        context={"bot": harness.bot},
    )
    await harness.dispatcher.feed_update(harness.bot, update)
    calls = harness.telegram.calls[before:]
    sent = [c for c in calls if c.method == "sendMessage"]
    assert len(sent) == 1 and sent[0].params["chat_id"] == 1001
    assert PROFILE["numbers"]["text"] in plain(str(sent[0].params["text"]))
    assert [c.method for c in calls].count("answerCallbackQuery") == 1
    assert DIALOGS.message("error") not in str(sent[0].params["text"])


def dialogs_without(node_id: str, source: Path, target: Path) -> Path:
    """A copy of the dialog files with one node, and every button to it, removed."""
    shutil.copytree(source, target)
    for file in sorted(target.glob("*.yaml")):
        data = yaml.safe_load(file.read_text("utf-8")) or {}
        nodes: dict[str, Any] = data.get("nodes") or {}
        if not nodes:
            continue
        nodes.pop(node_id, None)
        for node in nodes.values():
            assert node.get("parent") != node_id, "pick a node without children"
            rows = []
            for entry in node.get("buttons") or []:
                if isinstance(entry, list):
                    kept = [button for button in entry if button.get("goto") != node_id]
                    if kept:
                        rows.append(kept)
                elif entry.get("goto") != node_id:
                    rows.append(entry)
            if "buttons" in node:
                node["buttons"] = rows
        file.write_text(
            yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10**6), "utf-8"
        )
    return target


REMOVED = "more"


async def restart_without_a_node(harness: BotHarness, tmp_path: Path) -> None:
    assert REMOVED in SECTIONS
    dialogs_dir = dialogs_without(REMOVED, SETTINGS.dialogs_dir, tmp_path / "dialogs")
    settings = Settings(
        _env_file=None,
        content_dir=SETTINGS.content_dir,
        dialogs_dir=dialogs_dir,
        database_url=harness.settings.database_url,
    )
    changed = load_content(settings)
    assert REMOVED not in changed.dialogs.nodes
    await harness.restart(changed)


async def test_old_button_to_a_removed_node_gets_the_current_menu(
    harness: BotHarness, tmp_path: Path
) -> None:
    sam = harness.user()
    await sam.send("/start")
    menu = sam.latest()
    assert menu is not None
    old_button = button_to(sam.current_buttons(), f"n:{REMOVED}")
    await sam.press(button_to(sam.current_buttons(), "n:numbers").label)

    await restart_without_a_node(harness, tmp_path)
    sam = harness.user()
    # The old message still shows the numbers; bring back the old menu's button by hand, as
    # if the student pressed it on a message from before the change.
    replies = await sam.press_data(old_button.data, menu.message_id)
    assert_menu_changed(replies, menu.message_id, sam, SECTIONS - {REMOVED})
    assert f"n:{REMOVED}" not in {b.data for b in sam.current_buttons()}
    student = await student_row(harness, 1001)
    assert student is not None and student.node == HOME_NODE


async def test_old_menu_message_with_a_removed_button(harness: BotHarness, tmp_path: Path) -> None:
    """The very menu message that still carries the button to the removed node."""
    sam = harness.user()
    await sam.send("/start")
    menu = sam.latest()
    assert menu is not None
    old_button = button_to(sam.current_buttons(), f"n:{REMOVED}")
    await restart_without_a_node(harness, tmp_path)
    sam = harness.user()
    replies = await sam.press(old_button.label, message_id=menu.message_id)
    assert_menu_changed(replies, menu.message_id, sam, SECTIONS - {REMOVED})
    assert old_button.label not in sam.current_labels()


async def test_returning_to_a_removed_node_lands_on_the_menu(
    harness: BotHarness, tmp_path: Path
) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press(button_to(sam.current_buttons(), f"n:{REMOVED}").label)
    await restart_without_a_node(harness, tmp_path)
    sam = harness.user()
    replies = await sam.send("/start")
    sent = texts(replies)
    assert sent[0] == DIALOGS.message("welcome_back", student={"first_name": "Sam"})
    assert_menu(sent[1], sam.current_buttons(), SECTIONS - {REMOVED})
    assert_clean(replies)
    student = await student_row(harness, 1001)
    assert student is not None and student.node == HOME_NODE


async def test_edited_messages_are_ignored_quietly(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    sam = harness.user()
    await sam.send("/start")
    before = len(harness.telegram.calls)
    update = Update.model_validate(
        {
            "update_id": harness.telegram.next_update_id(),
            "edited_message": {
                "message_id": 1,
                "date": 1,
                "edit_date": 2,
                "chat": {"id": 1001, "type": "private", "first_name": "Sam"},
                "from": sam.user,
                "text": "/start edited",
            },
        },
        context={"bot": harness.bot},
    )
    with caplog.at_level(logging.WARNING):
        await harness.dispatcher.feed_update(harness.bot, update)
    assert harness.telegram.calls[before:] == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# When something breaks inside.


# The database drivers log SQL parameters at DEBUG; that is the operator's log level to choose
# (see the report), so the rule checked here is: the app and aiogram never log message text,
# and nothing does at INFO and above.
DRIVER_LOGGERS = ("aiosqlite", "asyncpg", "sqlalchemy")


def assert_not_logged(caplog: pytest.LogCaptureFixture, secret: str) -> None:
    for record in caplog.records:
        if record.levelno < logging.INFO and record.name.startswith(DRIVER_LOGGERS):
            continue
        formatted = logging.Formatter().format(record)
        assert secret not in formatted, f"{record.name} logged the student's text: {formatted}"


async def _broken_show(self: TourService, *args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected fault")


async def test_a_failing_command_tells_the_student_and_logs_without_the_text(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sam = harness.user()
    await sam.send("/start")
    secret = "my-secret-words 4711"
    monkeypatch.setattr(TourService, "show", _broken_show)
    with caplog.at_level(logging.DEBUG):
        replies = await sam.send(f"/menu {secret}")
    sent = [r for r in replies if r.method == "sendMessage"]
    assert [r.text for r in sent] == [DIALOGS.message("error")]
    assert [(b.label, b.data) for b in reply_buttons(sent[0])] == [(HOME, f"n:{HOME_NODE}")]
    assert_clean(replies)
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures, "the failure is logged"
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in failures)
    assert_not_logged(caplog, secret)
    assert_not_logged(caplog, "4711")

    monkeypatch.undo()
    error_message = sam.latest()
    assert error_message is not None and error_message.text == sent[0].text
    replies = await sam.press(HOME)
    edits = [r for r in replies if r.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == error_message.message_id
    assert_menu(edits[0].text, sam.current_buttons())


async def test_a_failing_button_tells_the_student_and_answers_the_press(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sam = harness.user()
    await sam.send("/start")
    menu = sam.latest()
    assert menu is not None
    monkeypatch.setattr(TourService, "show", _broken_show)
    with caplog.at_level(logging.DEBUG):
        replies = await sam.press(button_to(sam.current_buttons(), "n:numbers").label)
    sent = [r for r in replies if r.method == "sendMessage"]
    assert [r.text for r in sent] == [DIALOGS.message("error")]
    assert [b.data for b in reply_buttons(sent[0])] == [f"n:{HOME_NODE}"]
    assert len(callback_answers(replies)) == 1
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)
    assert_clean(replies)

    monkeypatch.undo()
    error_message = sam.latest()
    assert error_message is not None and error_message.message_id != menu.message_id
    replies = await sam.press(HOME)
    edits = [r for r in replies if r.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == error_message.message_id
    assert_menu(edits[0].text, sam.current_buttons())


async def test_a_failing_free_text_is_not_logged(
    harness: BotHarness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sam = harness.user()
    secret = "I live at 12 Hidden Lane and my mum is Ada"
    monkeypatch.setattr(TourService, "show", _broken_show)
    with caplog.at_level(logging.DEBUG):
        replies = await sam.send(secret)
    assert DIALOGS.message("error") in texts(replies)
    assert any(r.exc_info and r.exc_info[0] is RuntimeError for r in caplog.records)
    assert_not_logged(caplog, "Hidden Lane")


async def test_a_student_who_blocked_the_bot_breaks_nothing(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    sam = harness.user()
    harness.telegram.block(sam.chat_id)
    with caplog.at_level(logging.DEBUG):
        await sam.send("/start secret_cohort_zz")
    assert_not_logged(caplog, "secret_cohort_zz")
    ann = harness.user(1002, "Ann")
    replies = await ann.send("/start")
    assert texts(replies)[0] == DIALOGS.message("welcome", student={"first_name": "Ann"})
