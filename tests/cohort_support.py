"""Helpers shared by the cohort and announcement tests: the staff flows walked through the bot
as a lead or an admin would, and what the bot stored, read straight from the database.

Wording and button labels come from the dialog YAML files (rendered with a plain Jinja2
environment of our own), never from the code under test.
"""

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment
from sqlalchemy import select

from bot.app import Content, load_content
from bot.config import Settings
from bot.db.models import Announcement, Cohort, Delivery, Staff, Student
from bot.standin.conversation import Conversation, Reply
from bot.standin.telegram import BOT_USER, FakeTelegram
from tests.conftest import BotHarness, start_bot
from tests.feature_support import DIALOGS, assert_no_error, scalars, toasts
from tests.tour_support import plain, texts

ADMIN = 900  # settings.admin_ids in tests/conftest.py
LEAD_A, LEAD_B = 777, 778

BOT_USERNAME = BOT_USER["username"]
LINK = re.compile(r"https://t\.me/" + re.escape(BOT_USERNAME) + r"\?start=(\S+)")
DEEP_LINK_CODE = re.compile(r"[A-Za-z0-9_-]{1,64}")

# Button labels, as written in dialogs/cohorts.yaml.
NEW_COHORT = "➕ New cohort"
LET_THEM_CHOOSE = "Let them choose"
QR_CODE = "📷 QR code"
RENAME = "✏️ Rename"
ANNOUNCE = "📣 Send an announcement"
CLOSE = "🔒 Close the link"
REOPEN = "🔓 Reopen the link"
ALL_COHORTS = "⬅️ All cohorts"
SEND_NOW = "📣 Send now"
NO_BUTTON = "No button"
CANCEL = "✖️ Cancel"
CHECKLIST_CHOICE = DIALOGS.label("node_checklist")

UNKNOWN_COMMAND = DIALOGS.message("unknown_command")
MENU_CHANGED = DIALOGS.message("menu_changed")
LINK_UNKNOWN = DIALOGS.message("cohort_link_unknown")
NAME_INVALID = DIALOGS.message("cohort_name_invalid")
LEAD_USAGE = DIALOGS.message("lead_usage")
WELCOME = DIALOGS.message("welcome", student={"first_name": "Sam"})


def joined(name: str) -> str:
    return DIALOGS.message("cohort_joined", cohort={"name": name})


MOVE_ME = "✅ Move me to "
# The consent screen after joining (dialogs/privacy.yaml).
SHARE_YES, SHARE_NOT_NOW = "✅ Yes, share", "Not now"


def moved(name: str) -> str:
    return DIALOGS.message("cohort_moved", cohort={"name": name})


def text_invalid(limit: int = 3500) -> str:
    return DIALOGS.message("announcement_text_invalid", limit=limit)


def lines(markup: str) -> list[str]:
    """The non-empty lines of a message, as the reader sees them."""
    return [line.strip() for line in plain(markup).splitlines() if line.strip()]


def progress_lines(
    sent: int,
    blocked: int,
    failed: int = 0,
    failures: dict[str, int] | None = None,
    pending: int = 0,
    retrying: int = 0,
) -> list[str]:
    """The progress message, rendered from dialogs/cohorts.yaml: finished unless `pending`.
    `failures` counts the failed deliveries by reason (each named by a `delivery_<reason>`
    label, in the order given)."""
    failures = failures or {}
    failed = failed or sum(failures.values())
    template = DIALOGS.nodes["announcement_progress"]["text"]
    progress = {
        "done": pending == 0,
        "sent": sent,
        "blocked": blocked,
        "failed": failed,
        "pending": pending,
        "retrying": retrying,
        "total": sent + blocked + failed + pending,
        "failures": [
            {"label": DIALOGS.labels[f"delivery_{reason}"], "count": count}
            for reason, count in failures.items()
        ],
    }
    rendered = Environment(autoescape=True).from_string(template).render(progress=progress)
    return lines(rendered)


def all_text_to(harness: BotHarness, chat_id: int) -> str:
    """Everything the bot ever showed in a chat: messages, captions, edits, notes, buttons."""
    pieces: list[str] = []
    for call in harness.telegram.calls:
        params = call.params
        if params.get("chat_id") != chat_id and call.method != "answerCallbackQuery":
            continue
        if call.method == "answerCallbackQuery":
            continue  # handled through the replies of the chat's own presses
        pieces.append(str(params.get("text") or params.get("caption") or ""))
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            pieces.extend(str(button.get("text", "")) for button in row)
    return "\n".join(pieces)


def replies_text(replies: list[Reply]) -> str:
    """Everything shown in answer to one update, toasts and button labels included."""
    pieces = [*texts(replies), *toasts(replies)]
    pieces += [str(reply.params.get("caption") or "") for reply in replies]
    for reply in replies:
        pieces.extend(reply.labels)
    return "\n".join(pieces)


# Through the bot, as staff.


@dataclass(frozen=True)
class CohortRef:
    id: int
    code: str
    link: str
    name: str


async def grant_lead(harness: BotHarness, telegram_id: int, name: str) -> None:
    replies = await harness.user(ADMIN, "Ada").send(f"/addlead {telegram_id} {name}")
    assert_no_error(replies)
    added = DIALOGS.message("lead_added", telegram_id=telegram_id, lead_name=name)
    assert added in texts(replies), replies


def screen_text(conversation: Conversation) -> str:
    latest = conversation.latest()
    assert latest is not None, "the bot shows no buttons"
    return latest.text


def link_in(text: str) -> str:
    found = LINK.findall(plain(text))
    assert len(found) == 1, f"expected one invite link in {text!r}"
    return f"https://t.me/{BOT_USERNAME}?start={found[0]}"


async def create_cohort(
    harness: BotHarness, lead: Conversation, name: str, career_label: str = LET_THEM_CHOOSE
) -> CohortRef:
    """/cohorts → New cohort → the name → the career: the cohort screen with its link."""
    assert_no_error(await lead.send("/cohorts"))
    assert_no_error(await lead.press(NEW_COHORT))
    assert_no_error(await lead.send(name))
    replies = await lead.press(career_label)
    assert_no_error(replies)
    found = await scalars(
        harness, select(Cohort).where(Cohort.lead_id == lead.chat_id).order_by(Cohort.id.desc())
    )
    assert found, "no cohort was created"
    cohort = found[0]
    link = link_in(screen_text(lead))
    assert link == f"https://t.me/{BOT_USERNAME}?start={cohort.code}"
    return CohortRef(cohort.id, cohort.code, link, cohort.name)


async def open_cohort(lead: Conversation, name: str) -> list[Reply]:
    assert_no_error(await lead.send("/cohorts"))
    replies = await lead.press(name)
    assert_no_error(replies)
    return replies


async def prepare_announcement(
    lead: Conversation, cohort_name: str, text: str, button: str = NO_BUTTON
) -> None:
    """Everything up to the confirmation screen with "📣 Send now"."""
    await open_cohort(lead, cohort_name)
    assert_no_error(await lead.press(ANNOUNCE))
    assert_no_error(await lead.send(text))
    assert_no_error(await lead.press(button))
    assert SEND_NOW in lead.current_labels()


async def join_students(
    harness: BotHarness, code: str, ids: range | list[int], *, share: bool = False
) -> list[Conversation]:
    """Students joining through the link; on the consent screen that follows they say yes
    (`share`) or not now."""
    students = []
    for telegram_id in ids:
        student = harness.user(telegram_id, f"S{telegram_id}")
        assert_no_error(await student.send(f"/start {code}"))
        # A student already in another cohort is asked first; these ones say yes.
        move = [label for label in student.current_labels() if label.startswith(MOVE_ME)]
        if move:
            assert_no_error(await student.press(move[0]))
        await answer_consent(student, share)
        students.append(student)
    return students


async def answer_consent(student: Conversation, share: bool) -> list[Reply]:
    """The screen after joining asks whether the lead may see the student's name and progress."""
    assert {SHARE_YES, SHARE_NOT_NOW} <= set(student.current_labels()), student.current_labels()
    replies = await student.press(SHARE_YES if share else SHARE_NOT_NOW)
    assert_no_error(replies)
    return replies


# The database, read directly.


async def cohort_row(harness: BotHarness, cohort_id: int) -> Cohort:
    found = await scalars(harness, select(Cohort).where(Cohort.id == cohort_id))
    assert len(found) == 1
    return found[0]  # type: ignore[no-any-return]


async def cohort_rows(harness: BotHarness) -> list[tuple[Any, ...]]:
    """Every cohort as a plain tuple, to compare before and after."""
    rows = await scalars(harness, select(Cohort).order_by(Cohort.id))
    return [
        (row.id, row.code, row.name, row.career, row.lead_id, row.expires_at, row.closed_at)
        for row in rows
    ]


async def staff_rows(harness: BotHarness) -> list[tuple[int, str, int | None]]:
    rows = await scalars(harness, select(Staff).order_by(Staff.telegram_id))
    return [(row.telegram_id, row.name, row.granted_by) for row in rows]


async def member_ids(harness: BotHarness, cohort_id: int) -> set[int]:
    found = await scalars(
        harness, select(Student.telegram_id).where(Student.cohort_id == cohort_id)
    )
    return {int(value) for value in found}


async def announcements(harness: BotHarness) -> list[Announcement]:
    return await scalars(harness, select(Announcement).order_by(Announcement.id))


async def delivery_rows(
    harness: BotHarness, announcement_id: int
) -> dict[int, tuple[str, str | None, int]]:
    """telegram id → the delivery's status, reason and attempts."""
    async with harness.database.session_factory() as session:
        rows = await session.execute(
            select(Student.telegram_id, Delivery.status, Delivery.reason, Delivery.attempts)
            .join(Student, Student.id == Delivery.student_id)
            .where(Delivery.announcement_id == announcement_id)
        )
        return {
            int(telegram_id): (str(status), reason, int(attempts))
            for telegram_id, status, reason, attempts in rows.all()
        }


async def delivery_statuses(harness: BotHarness, announcement_id: int) -> dict[int, str]:
    """telegram id → delivery status."""
    async with harness.database.session_factory() as session:
        rows = await session.execute(
            select(Student.telegram_id, Delivery.status)
            .join(Student, Student.id == Delivery.student_id)
            .where(Delivery.announcement_id == announcement_id)
        )
        return {int(telegram_id): str(status) for telegram_id, status in rows.all()}


# Announcements as the students receive them.


def copies(harness: BotHarness, chat_id: int, text: str) -> int:
    """How many messages with the announcement's text the student has in their chat."""
    return sum(
        1
        for (chat, _), stored in harness.telegram.messages.items()
        if chat == chat_id and text in plain(stored.text)
    )


def send_attempts(harness: BotHarness, chat_id: int, text: str) -> int:
    """sendMessage calls with the text to the chat, refused ones included."""
    return sum(
        1
        for call in harness.telegram.calls
        if call.method == "sendMessage"
        and call.params.get("chat_id") == chat_id
        and text in plain(str(call.params.get("text", "")))
    )


async def wait_until(
    check: Callable[[], Awaitable[bool]], what: str, deadline: float = 20.0
) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + deadline
    while not await check():
        if loop.time() > give_up:
            raise AssertionError(f"gave up waiting {deadline:.0f} s for {what}")
        await asyncio.sleep(0.02)


def progress_message(harness: BotHarness, announcement: Announcement) -> str:
    assert announcement.progress_message_id is not None
    stored = harness.telegram.messages.get(
        (announcement.sender_id, announcement.progress_message_id)
    )
    assert stored is not None, "the lead's progress message is gone"
    return stored.text


async def wait_finished(harness: BotHarness, announcement_id: int) -> Announcement:
    """Waits until the announcement is finished and its final counts reached the lead."""

    async def finished() -> bool:
        found = await scalars(
            harness, select(Announcement).where(Announcement.id == announcement_id)
        )
        if not found or found[0].finished_at is None:
            return False
        done = progress_lines(0, 0, 0)[0]
        return lines(progress_message(harness, found[0]))[0] == done

    await wait_until(finished, f"announcement {announcement_id} to finish")
    [announcement] = await scalars(
        harness, select(Announcement).where(Announcement.id == announcement_id)
    )
    return announcement  # type: ignore[no-any-return]


# Bots of our own: other settings or other content than the `harness` fixture's.

HarnessFactory = Callable[..., Awaitable[BotHarness]]


@asynccontextmanager
async def harness_factory(settings: Settings, content: Content) -> AsyncIterator[HarnessFactory]:
    """Starts bots over the test database with settings changed (and other content, if
    given); stops them at the end."""
    running: list[BotHarness] = []

    async def make(content_: Content | None = None, **changes: Any) -> BotHarness:
        custom = settings.model_copy(update=changes)
        started = await start_bot(custom, content_ or content, FakeTelegram())
        running.append(started)
        return started

    try:
        yield make
    finally:
        for started in running:
            await started.stop()


SECOND_CAREER_TITLE = "Sound Designer Test"
SECOND_CAREER_SLUG = "sound-designer-test"


def content_with_two_careers(folder: Path) -> Content:
    """The real content plus a second career (a retitled copy of the first), so that where a
    student starts is a choice the cohort makes, not the only career there is."""
    source = Settings(_env_file=None).content_dir
    target = folder / "content"
    shutil.copytree(source, target)
    careers = target / "careers"
    first = sorted(careers.glob("*.yaml"))[0]
    text = first.read_text("utf-8")
    title = re.search(r"^title: (.+)$", text, re.MULTILINE)
    assert title is not None
    copy = text.replace(f"title: {title.group(1)}", f"title: {SECOND_CAREER_TITLE}", 1)
    (careers / f"{SECOND_CAREER_SLUG}.yaml").write_text(copy, "utf-8")
    return load_content(Settings(_env_file=None, content_dir=target))
