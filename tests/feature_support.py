"""Helpers shared by the checklist, project, privacy, reminder and FSM storage tests.

What the bot should say comes from the content and dialog YAML files; what it stored is read
straight from the database with plain queries.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute

from bot.app import Content
from bot.content.models import Profile, ProjectStep, Sign
from bot.db.models import (
    ChecklistAnswer,
    ChecklistAttempt,
    Event,
    Project,
    ProjectEntry,
    ProjectStepDone,
    Student,
)
from bot.standin.conversation import Conversation, Reply
from tests.conftest import BotHarness
from tests.tour_support import SETTINGS, callback_answers, plain, read_dialogs, texts

SLUG = "music-producer"
DIALOGS = read_dialogs(SETTINGS.dialogs_dir)
MENU_CHANGED = DIALOGS.message("menu_changed")
ERROR = DIALOGS.message("error")

# Button labels, as written in dialogs/*.yaml.
CHECKLIST_BUTTON = "🤔 Is it me?"
CHECKLIST_START = "▶️ Check it against myself"
ANSWER_BUTTONS = {"yes": "👍 Yes", "unsure": "🤷 Not sure", "no": "👎 No"}
ANSWER_WORDS = {"yes": "Yes", "unsure": "Not sure", "no": "No"}
PREVIOUS_SIGN = "⬅️ Previous"
CONTINUE_LATER = "⏸ Continue later"
TAKE_AGAIN = "🔁 Take it again"
START_PROJECT = "▶️ Start the project"
WRITE_ANSWER = "✏️ Write my answer"
LOG_ITERATION = "🔁 Log an iteration"
DONE = "✅ Done"
SOUNDS_RIGHT = "✅ Happy with it — next step"
REMIND_ON = f"🔔 Remind me after {SETTINGS.reminder_after_days} quiet days"
REMIND_OFF = "🔕 Stop reminders"
NOTE_LIMIT = 500  # the limit the issue and the note prompt name
# The reasons a student may tap, as content/reasons.yaml lists them.
REASONS: list[dict[str, str]] = yaml.safe_load(
    (SETTINGS.content_dir / "reasons.yaml").read_text("utf-8")
)["reasons"]


def profile_of(content: Content) -> Profile:
    profile = content.catalog.get(SLUG)
    assert profile is not None
    return profile


def signs(profile: Profile) -> list[str]:
    """The checklist as the student walks it: the signs it fits, then the warning signs."""
    return [sign.sign for sign in (*profile.checklist.fits, *profile.checklist.misfits)]


MORE = "➕ More"


async def press_in_more(conversation: Conversation, label: str) -> list[Reply]:
    """A button of the menu's "more" group (other careers, compare, sources, passport): from
    wherever the student is, through the menu and "more" when it is not on the screen."""
    if label not in conversation.current_labels():
        if MORE not in conversation.current_labels():
            await conversation.send("/menu")
        await conversation.press(MORE)
    return await conversation.press(label)


def project_button(profile: Profile) -> str:
    """The menu button that opens the starter project."""
    return "🚀 Try it"


def step_by_id(profile: Profile, step_id: str) -> ProjectStep:
    return next(step for step in profile.project.steps if step.id == step_id)


def screen(conversation: Conversation) -> str:
    """What the newest message with buttons says, as the student reads it."""
    latest = conversation.latest()
    assert latest is not None, "the bot shows no buttons"
    return plain(latest.text)


def shown(replies: list[Reply]) -> list[str]:
    """The texts of the messages sent or edited in answer, as the student reads them."""
    return [plain(text) for text in texts(replies)]


def toasts(replies: list[Reply]) -> list[str]:
    """The short notes shown when a button press is answered."""
    return [str(reply.params.get("text") or "") for reply in callback_answers(replies)]


def assert_no_error(replies: list[Reply]) -> None:
    for text in texts(replies):
        assert ERROR not in text, "the bot failed and showed its error message"


def assert_menu_changed(replies: list[Reply]) -> None:
    assert_no_error(replies)
    assert MENU_CHANGED in toasts(replies), f"expected the 'menu changed' note, got {replies}"


def you_forms(written: Sequence[Sign]) -> list[str]:
    """Signs as a result names them: in the student's words."""
    return [sign.you or sign.sign for sign in written]


def question_sign(text: str, all_signs: Sequence[str]) -> str:
    """The one sign a checklist question shows."""
    found = [sign for sign in all_signs if sign in text]
    assert len(found) == 1, f"a question shows exactly one sign, this one shows {found}: {text}"
    return found[0]


def data_of(conversation: Conversation, label: str) -> tuple[str, int]:
    """The callback data of a button on the newest message that has it, and that message."""
    latest = conversation.latest()
    assert latest is not None
    for row in (latest.reply_markup or {}).get("inline_keyboard", []):
        for button in row:
            if button["text"] == label or button["text"].startswith(label):
                return str(button["callback_data"]), latest.message_id
    raise AssertionError(f"no {label!r} on the newest message: {conversation.current_labels()}")


# The database, read directly.


@contextmanager
def statements_run(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements `engine` runs while the block runs, in order."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


@contextmanager
def held_by_this_task(engine: AsyncEngine) -> Iterator[Callable[[], int]]:
    """How many pool connections the calling task holds. Counted per task: on PostgreSQL
    other tasks (the lease's heartbeat, the done marks of handled updates) may hold one of
    their own at any moment; what a test of "no connection while Telegram answers" means is
    the sender's."""
    pool = engine.pool
    holders: dict[int, asyncio.Task[Any] | None] = {}

    def on_checkout(_connection: Any, record: Any, _proxy: Any) -> None:
        holders[id(record)] = asyncio.current_task()

    def on_checkin(_connection: Any, record: Any) -> None:
        holders.pop(id(record), None)

    event.listen(pool, "checkout", on_checkout)
    event.listen(pool, "checkin", on_checkin)
    try:
        yield lambda: sum(1 for task in holders.values() if task is asyncio.current_task())
    finally:
        event.remove(pool, "checkout", on_checkout)
        event.remove(pool, "checkin", on_checkin)


async def scalars(harness: BotHarness, query: Any) -> list[Any]:
    async with harness.database.session_factory() as session:
        return list((await session.execute(query)).scalars())


async def count(harness: BotHarness, model: Any, *where: Any) -> int:
    async with harness.database.session_factory() as session:
        total = await session.scalar(select(func.count()).select_from(model).where(*where))
        return int(total or 0)


async def student_id(harness: BotHarness, telegram_id: int) -> int:
    found = await scalars(harness, select(Student.id).where(Student.telegram_id == telegram_id))
    assert len(found) == 1, f"expected one student {telegram_id}, found {len(found)}"
    return int(found[0])


async def student(harness: BotHarness, telegram_id: int) -> Student:
    found = await scalars(harness, select(Student).where(Student.telegram_id == telegram_id))
    assert len(found) == 1
    return found[0]  # type: ignore[no-any-return]


async def attempts(harness: BotHarness, telegram_id: int) -> list[ChecklistAttempt]:
    query = (
        select(ChecklistAttempt)
        .join(Student, Student.id == ChecklistAttempt.student_id)
        .where(Student.telegram_id == telegram_id, ChecklistAttempt.career == SLUG)
        .order_by(ChecklistAttempt.id)
    )
    return await scalars(harness, query)


async def answers(harness: BotHarness, attempt_id: int) -> dict[int, str]:
    """sign index (0 = the first sign it fits) → stored answer."""
    rows = await scalars(
        harness, select(ChecklistAnswer).where(ChecklistAnswer.attempt_id == attempt_id)
    )
    indexes = [row.sign_index for row in rows]
    assert len(indexes) == len(set(indexes)), f"a sign answered twice: {indexes}"
    return {row.sign_index: row.answer for row in rows}


async def all_answer_rows(harness: BotHarness) -> list[tuple[int, int, str]]:
    rows = await scalars(harness, select(ChecklistAnswer).order_by(ChecklistAnswer.id))
    return [(row.attempt_id, row.sign_index, row.answer) for row in rows]


async def project(harness: BotHarness, telegram_id: int) -> Project | None:
    query = (
        select(Project)
        .join(Student, Student.id == Project.student_id)
        .where(Student.telegram_id == telegram_id, Project.career == SLUG)
    )
    found = await scalars(harness, query)
    assert len(found) <= 1
    return found[0] if found else None


async def steps_done(harness: BotHarness, telegram_id: int) -> list[str]:
    """The ids of the steps marked done, one entry per stored row."""
    query = (
        select(ProjectStepDone.step_id)
        .join(Project, Project.id == ProjectStepDone.project_id)
        .join(Student, Student.id == Project.student_id)
        .where(Student.telegram_id == telegram_id)
        .order_by(ProjectStepDone.id)
    )
    return [str(step) for step in await scalars(harness, query)]


async def entries(harness: BotHarness, telegram_id: int) -> list[tuple[str, int, str | None]]:
    """(step id, seq, note) of every stored project entry."""
    query = (
        select(ProjectEntry)
        .join(Project, Project.id == ProjectEntry.project_id)
        .join(Student, Student.id == Project.student_id)
        .where(Student.telegram_id == telegram_id)
        .order_by(ProjectEntry.id)
    )
    return [(row.step_id, row.seq, row.note) for row in await scalars(harness, query)]


async def events(harness: BotHarness, telegram_id: int, kind: str | None = None) -> Counter[str]:
    """How many events of each `kind:name` the student has (of one kind, if given)."""
    query = (
        select(Event)
        .join(Student, Student.id == Event.student_id)
        .where(Student.telegram_id == telegram_id)
    )
    if kind is not None:
        query = query.where(Event.kind == kind)
    return Counter(f"{row.kind}:{row.name}" for row in await scalars(harness, query))


async def column_values(harness: BotHarness, column: InstrumentedAttribute[Any]) -> list[Any]:
    return await scalars(harness, select(column))


# Walking the features as a student.


@dataclass(frozen=True)
class Someone:
    """A student as a test writes them: who they are, whether they share with their lead,
    the checklist answers they give and how many project steps they complete."""

    telegram_id: int
    name: str
    shares: bool
    checklist: tuple[str, ...] = ()
    project_steps: int | None = None


async def open_checklist(conversation: Conversation) -> list[Reply]:
    await conversation.send("/start")
    return await conversation.press(CHECKLIST_BUTTON)


async def answer_signs(conversation: Conversation, given: Sequence[str]) -> list[Reply]:
    """Answers the current question and the ones after it; the replies to the last answer."""
    replies: list[Reply] = []
    for answer in given:
        replies = await conversation.press(ANSWER_BUTTONS[answer])
        assert_no_error(replies)
    return replies


async def take_checklist(conversation: Conversation, given: Sequence[str]) -> list[Reply]:
    """From /start: opens the checklist, starts it and answers every sign."""
    await open_checklist(conversation)
    await conversation.press(CHECKLIST_START)
    return await answer_signs(conversation, given)


async def start_project(conversation: Conversation, profile: Profile) -> list[Reply]:
    await conversation.send("/start")
    if project_button(profile) not in conversation.current_labels():
        # /start returns a student to where they were; the menu has the project.
        await conversation.send("/menu")
    await conversation.press(project_button(profile))
    replies = await conversation.press(START_PROJECT)
    assert_no_error(replies)
    return replies


async def write_note(conversation: Conversation, note: str, button: str = WRITE_ANSWER) -> None:
    replies = await conversation.press(button)
    assert_no_error(replies)
    replies = await conversation.send(note)
    assert_no_error(replies)


async def go_to_step(conversation: Conversation, number: int) -> None:
    """Presses "Step n ▶️" on the current step screen."""
    replies = await conversation.press(f"Step {number} ▶️")
    assert_no_error(replies)


async def finish_step(conversation: Conversation, profile: Profile, step_id: str) -> None:
    """Completes one step from its own screen the way a student would."""
    step = step_by_id(profile, step_id)
    if step.repeatable:
        if step.note_prompt:
            await write_note(conversation, f"tweak for {step_id}", LOG_ITERATION)
        replies = await conversation.press(SOUNDS_RIGHT)
    elif step.note_prompt:
        await write_note(conversation, f"my answer for {step_id}")
        return
    else:
        replies = await conversation.press(DONE)
    assert_no_error(replies)


async def do_steps(conversation: Conversation, profile: Profile, upto: int) -> None:
    """From the first step's screen, completes steps 1..upto and opens the step after them."""
    steps = profile.project.steps
    for number, step in enumerate(steps[:upto], start=1):
        await finish_step(conversation, profile, step.id)
        if number < len(steps) and step.note_prompt and not step.repeatable:
            # A note completes the step and stays on it; the next one is a button away.
            await go_to_step(conversation, number + 1)


STICKER = {
    "sticker": {
        "file_id": "AgADBAAD",
        "file_unique_id": "AQADBAAD",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
}

# What the bot answers with: a message sent or edited, or a button press answered.
ANSWER_METHODS = frozenset({"sendMessage", "editMessageText", "answerCallbackQuery"})


@asynccontextmanager
async def before_each_call(
    harness: BotHarness, observe: Callable[[Any], Awaitable[Any]]
) -> AsyncIterator[list[Any]]:
    """Runs `observe(method)` each time a Bot API call is about to reach the stand-in, and
    collects what it returns. Only the stand-in is wrapped; the bot runs unchanged."""
    session = harness.bot.session
    original = session.make_request
    seen: list[Any] = []

    async def make_request(bot: Any, method: Any, timeout: int | None = None) -> Any:
        seen.append(await observe(method))
        return await original(bot, method, timeout)

    session.make_request = make_request  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del session.make_request


@asynccontextmanager
async def at_each_answer(
    harness: BotHarness, read: Callable[[], Awaitable[Any]]
) -> AsyncIterator[list[Any]]:
    """Runs `read` (a query on its own connection) each time the bot is about to answer, and
    collects the results: what anyone else could see in the database at that moment."""

    answers: list[Any] = []

    async def observe(method: Any) -> None:
        if method.__api_method__ in ANSWER_METHODS:
            answers.append(await read())

    async with before_each_call(harness, observe):
        yield answers
