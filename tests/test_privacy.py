"""/privacy and the consent asked on joining a group; /mydata shows everything stored about a
student; /forget deletes all of it."""

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import Table, func, or_, select, tuple_, update

from bot.app import Content
from bot.content.models import Profile
from bot.db.models import (
    Announcement,
    Base,
    ChecklistAttempt,
    Cohort,
    Delivery,
    HandledUpdate,
    Project,
    Student,
    utcnow,
)
from bot.features.privacy.service import MYDATA_COLUMNS, SHOWN
from bot.standin.conversation import Reply
from tests.conftest import BotHarness
from tests.feature_support import (
    DIALOGS,
    DONE,
    LOG_ITERATION,
    MENU_CHANGED,
    REASONS,
    REMIND_ON,
    assert_no_error,
    at_each_answer,
    attempts,
    events,
    go_to_step,
    profile_of,
    project,
    project_button,
    screen,
    shown,
    start_project,
    student,
    student_id,
    take_checklist,
    toasts,
    write_note,
)
from tests.tour_support import texts

SAM, ALEX = 1001, 1002
COHORT_CODE = "class7b"
SAM_NOTE = "Sam's secret mood: melancholic synth-pop"
SAM_ITERATION = "Sam turned the reverb down"
ALEX_NOTE = "Alex likes upbeat funk"
# The consent screen after joining a group, and /privacy's buttons (dialogs/privacy.yaml).
SHARE_YES, SHARE_NOT_NOW = "✅ Yes, share", "Not now"
SHARE_NOW, STOP_SHARING = "✅ Share my name and progress", "🙈 Stop sharing"
# Columns that hold a Telegram user id rather than a row id.
TELEGRAM_ID_COLUMNS = {"telegram_id", "user_id", "chat_id"}


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


async def fill_everything(harness: BotHarness, profile: Profile, telegram_id: int) -> None:
    """A student who joined a class, took the checklist, started the project, wrote notes,
    asked a question the bot could not answer and opted in to reminders."""
    someone = harness.user(telegram_id, "Sam" if telegram_id == SAM else "Alex")
    async with harness.database.session_factory() as session:
        if await session.scalar(select(Cohort).where(Cohort.code == COHORT_CODE)) is None:
            session.add(Cohort(code=COHORT_CODE, name="Class 7b", career=None, lead_id=900))
            await session.commit()
    assert_no_error(await someone.send(f"/start {COHORT_CODE}"))
    assert_no_error(await someone.send(f"blorf quux zint {telegram_id}?"))
    await take_checklist(someone, ["yes", "no", "unsure", "yes", "no", "yes", "no"])
    assert_no_error(await someone.press(REASONS[0]["label"]))
    assert_no_error(await someone.send("/quiz"))
    assert_no_error(await someone.press("▶️ Start"))
    scale = [point.emoji for point in harness.content.quiz.scale]
    for index, item in enumerate(harness.content.quiz.items):
        value = len(scale) - 1 if "artistic" in item.areas else index % 3
        assert_no_error(await someone.press(scale[value]))
    await start_project(someone, profile)
    note = SAM_NOTE if telegram_id == SAM else ALEX_NOTE
    await write_note(someone, note)
    await go_to_step(someone, 2)
    await someone.press(DONE)
    await write_note(
        someone, SAM_ITERATION if telegram_id == SAM else "Alex iterated", LOG_ITERATION
    )
    await someone.send("/menu")
    await someone.press(project_button(profile))
    await someone.press(REMIND_ON)


async def set_pending_state_elsewhere(harness: BotHarness, telegram_id: int) -> None:
    """FSM state of the student kept in another chat (a group, say): it must go too."""
    storage = harness.dispatcher.storage
    key = StorageKey(bot_id=harness.bot.id, chat_id=-100500, user_id=telegram_id)
    await storage.set_state(key, "SomeFlow:waiting")
    await storage.set_data(key, {"draft": f"typed by {telegram_id}"})


def mentions(table: Table, ids: dict[str, set[Any]], telegram_id: int) -> Any:
    """A WHERE clause matching the rows of `table` that concern the student.

    `ids` holds the primary keys of the student's rows per table, gathered before deletion.
    """
    conditions = []
    own = ids.get(table.name)
    if own:
        keys = list(table.primary_key.columns)
        conditions.append(keys[0].in_(own) if len(keys) == 1 else tuple_(*keys).in_(own))
    for column in table.columns:
        if column.name in TELEGRAM_ID_COLUMNS:
            conditions.append(column == telegram_id)
        for foreign_key in column.foreign_keys:
            parent = ids.get(foreign_key.column.table.name)
            if parent:
                conditions.append(column.in_(parent))
    return or_(*conditions) if conditions else None


async def rows_of_student(harness: BotHarness, telegram_id: int) -> dict[str, set[Any]]:
    """The primary keys of every row that concerns the student, per table, following foreign
    keys from the student's row (tables come parents first)."""
    ids: dict[str, set[Any]] = {}
    async with harness.database.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            where = mentions(table, ids, telegram_id)
            if where is None:
                continue
            keys = list(table.primary_key.columns)
            found = await session.execute(select(*keys).where(where))
            rows = {row[0] if len(keys) == 1 else tuple(row) for row in found.all()}
            if rows:
                ids[table.name] = rows
    return ids


async def table_counts(harness: BotHarness) -> dict[str, int]:
    async with harness.database.session_factory() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def text_anywhere(harness: BotHarness, needle: str) -> list[str]:
    """The tables that hold `needle` in any text or JSON column."""
    found = []
    async with harness.database.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                if any(needle in str(value) for value in row):
                    found.append(table.name)
    return found


async def test_mydata_lists_what_is_stored(harness: BotHarness, profile: Profile) -> None:
    await fill_everything(harness, profile, SAM)
    sam = harness.user(SAM)
    replies = await sam.send("/mydata")
    assert_no_error(replies)
    text = "\n".join(shown(replies))
    assert "You are Sam to me" in text
    assert str(SAM) in text
    assert f"You're exploring {profile.title}" in text
    assert SAM_NOTE in text and SAM_ITERATION in text
    [attempt] = await attempts(harness, SAM)
    assert attempt.finished_at is not None
    signs = [*profile.checklist.fits, *profile.checklist.misfits]
    given = ["yes", "no", "unsure", "yes", "no", "yes", "no"]
    for sign, answer in zip(signs, given, strict=True):
        assert f"· {sign.ask} You said {ANSWER_WORDS[answer]} (" in text
    stored = await events(harness, SAM)
    total = re.search(r"What you did \((\d+) things in all\)", text)
    assert total is not None and int(total.group(1)) >= sum(stored.values()) - 2
    assert f"· Started the project ({profile.title}): 1 time(s)" in text
    assert f"· Finished the step “{profile.project.steps[0].title}” ({profile.title})" in text
    assert "Reminders are on" in text
    for id_like in ("checklist_question", "project_step", "sign 1", "view:", profile.slug):
        assert id_like not in text
    assert "🗑 Delete all my data" in sam.current_labels()


async def test_mydata_shows_nothing_of_another_student(
    harness: BotHarness, profile: Profile
) -> None:
    await fill_everything(harness, profile, ALEX)
    sam = harness.user(SAM)
    await sam.send("/start")
    replies = await sam.send("/mydata")
    text = "\n".join(shown(replies))
    assert ALEX_NOTE not in text and "Alex" not in text and str(ALEX) not in text
    assert text.count("Nothing yet.") == 2


async def test_forget_asks_first_and_no_keeps_everything(
    harness: BotHarness, profile: Profile
) -> None:
    await fill_everything(harness, profile, SAM)
    sam = harness.user(SAM)
    before = await rows_of_student(harness, SAM)
    replies = await sam.send("/forget")
    assert_no_error(replies)
    labels = sam.current_labels()
    assert "🗑 Yes, delete everything" in labels and "✖️ No, keep it" in labels
    assert await rows_of_student(harness, SAM) != {}
    replies = await sam.press("✖️ No, keep it")
    assert_no_error(replies)
    after = await rows_of_student(harness, SAM)
    for table, rows in before.items():
        assert rows <= after[table], f"{table} lost rows"
    assert await text_anywhere(harness, SAM_NOTE) == ["project_entries"]
    assert (await project(harness, SAM)) is not None


async def test_forget_deletes_every_row_that_mentions_the_student(
    harness: BotHarness, profile: Profile
) -> None:
    await fill_everything(harness, profile, ALEX)
    await fill_everything(harness, profile, SAM)
    await set_pending_state_elsewhere(harness, SAM)
    await set_pending_state_elsewhere(harness, ALEX)
    sam = harness.user(SAM)
    sam_id = await student_id(harness, SAM)
    sam_rows = await rows_of_student(harness, SAM)
    alex_rows = await rows_of_student(harness, ALEX)
    # Sam has rows in every table that can mention a student, so the check below means it.
    expected_tables = {
        "students",
        "active_days",
        "cohort_moves",
        "unanswered_questions",
        "events",
        "checklist_attempts",
        "checklist_answers",
        "projects",
        "project_steps_done",
        "project_entries",
        "fsm_records",
    }
    assert expected_tables <= set(sam_rows), f"missing: {expected_tables - set(sam_rows)}"
    counts_before = await table_counts(harness)
    await sam.send("/forget")
    replies = await sam.press("🗑 Yes, delete everything")
    assert_no_error(replies)
    assert DIALOGS.message("forgotten") in [reply.text for reply in replies]
    async with harness.database.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            where = mentions(table, sam_rows, SAM)
            if where is None:
                continue
            left = await session.scalar(select(func.count()).select_from(table).where(where))
            assert left == 0, f"{table.name} still has {left} rows about the student"
            for column in table.columns:
                if column.name.endswith("student_id"):
                    rows = await session.scalar(
                        select(func.count()).select_from(table).where(column == sam_id)
                    )
                    assert rows == 0, f"{table.name}.{column.name} still names the student"
    assert await text_anywhere(harness, SAM_NOTE) == []
    assert await text_anywhere(harness, SAM_ITERATION) == []
    assert await text_anywhere(harness, f"typed by {SAM}") == []
    # Alex is untouched: the same rows, the same numbers in every table but Sam's.
    assert await rows_of_student(harness, ALEX) == alex_rows
    counts_after = await table_counts(harness)
    for table, number in counts_before.items():
        if table == HandledUpdate.__tablename__:
            continue  # a row per update (its id and when), nothing about who sent it
        assert counts_after[table] == number - len(sam_rows.get(table, ())), table
    assert await text_anywhere(harness, ALEX_NOTE) == ["project_entries"]


async def test_after_forget_start_is_a_brand_new_student(
    harness: BotHarness, profile: Profile
) -> None:
    await fill_everything(harness, profile, SAM)
    sam = harness.user(SAM)
    old = await student(harness, SAM)
    await sam.send("/forget")
    await sam.press("🗑 Yes, delete everything")
    replies = await sam.send("/start")
    assert_no_error(replies)
    assert shown(replies)[0] == DIALOGS.message("welcome", student={"first_name": "Sam"})
    fresh = await student(harness, SAM)
    assert fresh.start_payload is None and fresh.blocked_at is None
    assert fresh.first_seen > old.first_seen
    assert await attempts(harness, SAM) == []
    assert await project(harness, SAM) is None
    kinds = {key.split(":", 1)[0] for key in await events(harness, SAM)}
    assert kinds <= {"command", "view", "career"}, "nothing from before is counted"
    await sam.press("🤔 Is it me?")
    labels = sam.current_labels()
    assert "▶️ Check it against myself" in labels
    assert not [label for label in labels if "Continue" in label or "last result" in label]
    replies = await sam.send("/mydata")
    text = "\n".join(shown(replies))
    assert text.count("Nothing yet.") == 2 and SAM_NOTE not in text
    replies = await sam.send("/progress")
    assert "Not started yet" in shown(replies)[-1]


async def test_old_buttons_after_forget_restore_nothing(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user(SAM)
    await start_project(sam, profile)
    await write_note(sam, SAM_NOTE)
    step_message = sam.latest()
    assert step_message is not None
    await sam.send("/forget")
    await sam.press("🗑 Yes, delete everything")
    # The step screen from before is still in the chat; its buttons lead nowhere old.
    replies = await sam.press("Step 2 ▶️", step_message.message_id)
    assert_no_error(replies)
    assert await project(harness, SAM) is None
    assert await text_anywhere(harness, SAM_NOTE) == []


async def double_tap_yes_delete(harness: BotHarness, profile: Profile) -> list[Reply]:
    await fill_everything(harness, profile, SAM)
    sam = harness.user(SAM)
    await sam.send("/forget")
    latest = sam.latest()
    assert latest is not None
    await sam.press("🗑 Yes, delete everything", latest.message_id)
    return await sam.press_data("a:forget:yes", latest.message_id)


async def test_double_tap_of_yes_delete_leaves_nothing(
    harness: BotHarness, profile: Profile
) -> None:
    await double_tap_yes_delete(harness, profile)
    assert await rows_of_student(harness, SAM) == {}
    assert await text_anywhere(harness, SAM_NOTE) == []


async def test_double_tap_of_yes_delete_shows_no_error(
    harness: BotHarness, profile: Profile
) -> None:
    replies = await double_tap_yes_delete(harness, profile)
    assert_no_error(replies)


async def test_the_delete_button_on_mydata_asks_first(
    harness: BotHarness, profile: Profile
) -> None:
    """The delete button on /mydata leads to the same confirmation."""
    sam = harness.user(SAM)
    await sam.send("/mydata")
    await sam.press("🗑 Delete all my data")
    assert "🗑 Yes, delete everything" in sam.current_labels()
    assert "Delete everything?" in screen(sam)
    assert await student_id(harness, SAM), "asking deletes nothing"


async def test_forget_is_committed_before_the_bot_answers(
    harness: BotHarness, profile: Profile
) -> None:
    await fill_everything(harness, profile, SAM)
    sam = harness.user(SAM)
    await sam.send("/forget")
    async with at_each_answer(harness, lambda: rows_of_student(harness, SAM)) as seen:
        replies = await sam.press("🗑 Yes, delete everything")
    assert_no_error(replies)
    assert seen and all(snapshot == {} for snapshot in seen), seen


# /mydata against the schema: every column about a student is shown, or said why not.

FSM_TABLE = "fsm_records"  # keyed by the Telegram user id, not by a foreign key
OTHER_COHORT = ("class8c", "Class 8c")
ANNOUNCEMENT_TEXT = "Field trip on Friday: bring headphones"
PENDING = {"draft": "a half-typed note about synths"}


def tables_about_a_student() -> set[str]:
    """The students table and every table that references it, directly or through another."""
    found = {"students"}
    grew = True
    while grew:
        grew = False
        for table in Base.metadata.sorted_tables:
            referenced = {key.column.table.name for key in table.foreign_keys}
            if table.name not in found and referenced & found and table.name != "cohorts":
                found.add(table.name)
                grew = True
    return found


def test_mydata_declares_every_column_about_a_student() -> None:
    tables = tables_about_a_student()
    assert {"students", "cohort_moves", "checklist_answers", "deliveries"} <= tables
    assert set(MYDATA_COLUMNS) == tables | {FSM_TABLE}
    for table in Base.metadata.sorted_tables:
        if table.name in MYDATA_COLUMNS:
            columns = {column.name for column in table.columns}
            assert set(MYDATA_COLUMNS[table.name]) == columns, table.name
            for column, verdict in MYDATA_COLUMNS[table.name].items():
                assert verdict == SHOWN or len(verdict) > 10, f"{table.name}.{column}: a reason"


async def fill_every_table(harness: BotHarness, profile: Profile) -> None:
    """Sam with rows in every table about a student, and a value in every column."""
    await fill_everything(harness, profile, SAM)
    sam = harness.user(SAM)
    async with harness.database.session_factory() as session:
        session.add(Cohort(code=OTHER_COHORT[0], name=OTHER_COHORT[1], career=None, lead_id=900))
        await session.commit()
    assert_no_error(await sam.send(f"/start {OTHER_COHORT[0]}"))
    assert_no_error(await sam.press(f"✅ Move me to {OTHER_COHORT[1]}"))  # asked first
    assert_no_error(await sam.press(SHARE_YES))  # then whether the lead may see their progress
    now = utcnow()
    async with harness.database.session_factory() as session:
        sam_row = await session.scalar(select(Student).where(Student.telegram_id == SAM))
        assert sam_row is not None and sam_row.cohort_id is not None
        announcement = Announcement(
            draft="d" * 32, cohort_id=sam_row.cohort_id, sender_id=900, text=ANNOUNCEMENT_TEXT
        )
        session.add(announcement)
        await session.flush()
        session.add(
            Delivery(
                announcement_id=announcement.id,
                student_id=sam_row.id,
                status="pending",
                attempts=2,
                # Not due for a day: the sender leaves it as it is while /mydata is read.
                next_attempt_at=now + timedelta(days=1),
                reason="chat_not_found",
            )
        )
        await session.execute(
            update(Student).where(Student.id == sam_row.id).values(blocked_at=now)
        )
        await session.execute(
            update(Project)
            .where(Project.student_id == sam_row.id)
            .values(reminded_at=now, finished_at=now)
        )
        await session.commit()
    key = StorageKey(bot_id=harness.bot.id, chat_id=SAM, user_id=SAM)
    await harness.dispatcher.storage.set_data(key, PENDING)


async def stored_value(harness: BotHarness, query: Any) -> Any:
    """The one value a query selects, which must exist."""
    async with harness.database.session_factory() as session:
        value = await session.scalar(query)
    assert value is not None
    return value


async def cohort_name(harness: BotHarness, cohort_id: int) -> str:
    return str(await stored_value(harness, select(Cohort.name).where(Cohort.id == cohort_id)))


async def announcement_text(harness: BotHarness, announcement_id: int) -> str:
    query = select(Announcement.text).where(Announcement.id == announcement_id)
    return str(await stored_value(harness, query))


def minute(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")


# How /mydata presents a value where it is not the value as written.
ANSWER_WORDS = {"yes": "yes", "unsure": "not sure", "no": "no"}
DELIVERY_WORDS = {
    "pending": "waiting to be sent",
    "sending": "being sent",
    "sent": "delivered",
    "blocked": "not delivered: you had blocked the bot",
    "failed": "not delivered",
    "gave_up": "not delivered after many tries",
}
# Ids are shown as the content names them: a career by its title, a sign by its question…
# /mydata speaks in sentences, so each stored value is looked for in the words it reads as.
PRESENTED: dict[tuple[str, str], Callable[[Any, Content], str]] = {
    ("checklist_answers", "answer"): lambda answer, _: f"You said {ANSWER_WORDS[answer]} (",
    ("projects", "reminders"): lambda on, _: f"Reminders are {'on' if on else 'off'}",
    ("events", "created_at"): lambda moment, _: moment.strftime("%Y-%m-%d"),
    ("events", "kind"): lambda kind, _: "",  # each kind and name reads as its own sentence
    ("events", "name"): lambda name, _: "",
    ("deliveries", "attempts"): lambda count, _: f"after {count} tries" if count > 1 else "",
    # The sender may have delivered it by the time /mydata is read.
    ("deliveries", "status"): lambda status, _: DELIVERY_WORDS[status],
    ("quiz_answers", "value"): lambda value, _: f": {value + 1} out of 5 (",
    ("quiz_answers", "item"): lambda item, c: next(i.text for i in c.quiz.items if i.id == item),
    ("quiz_attempts", "matches"): lambda slugs, c: ", ".join(
        c.catalog.profiles[slug].title for slug in slugs.split(",")
    ),
    ("career_reasons", "reason"): lambda reason, c: c.reasons.by_id[reason].label,
    ("career_reasons", "moment"): lambda moment, _: {"checklist": ", after the checklist"}[moment],
    ("students", "node"): lambda node, _: {"mydata": "last on this page"}[node],
    ("students", "language"): lambda language, _: f"language “{language}”",
    ("students", "shares"): lambda shares, _: f"with its lead: {'yes' if shares else 'no'}",
    ("project_entries", "seq"): lambda seq, _: f"(round {seq})" if seq > 1 else "",
    ("checklist_attempts", "cursor"): lambda cursor, _: f"you went through {cursor} question",
    ("quiz_attempts", "cursor"): lambda cursor, _: f"you went through {cursor} statement",
}
CAREER_COLUMNS = {"career"}


async def shown_as(
    harness: BotHarness, table: str, column: str, value: Any, row: dict[str, Any]
) -> list[str]:
    """The texts /mydata must contain for this stored value."""
    content = harness.content
    if (table, column) in PRESENTED:
        return [PRESENTED[(table, column)](value, content)]
    if column in CAREER_COLUMNS:
        return [content.catalog.profiles[value].title]
    if column == "step_id":
        career = await project_career(harness, row["project_id"])
        steps = content.catalog.profiles[career].project.steps
        return [next(step.title for step in steps if step.id == value)]
    if column == "sign_index":
        career = await attempt_career(harness, row["attempt_id"])
        profile = content.catalog.profiles[career]
        sign = [*profile.checklist.fits, *profile.checklist.misfits][value]
        return [sign.ask or sign.sign]
    if column in {"cohort_id", "from_cohort_id", "to_cohort_id"}:
        return [await cohort_name(harness, value)]
    if column == "announcement_id":
        return [await announcement_text(harness, value)]
    if isinstance(value, dict):
        return [f"{name}: {item}" for name, item in value.items()]
    if isinstance(value, datetime):
        return [minute(value)]
    if isinstance(value, date):
        return [value.isoformat()]
    return [str(value)]


async def project_career(harness: BotHarness, project_id: int) -> str:
    return str(await stored_value(harness, select(Project.career).where(Project.id == project_id)))


async def attempt_career(harness: BotHarness, attempt_id: int) -> str:
    query = select(ChecklistAttempt.career).where(ChecklistAttempt.id == attempt_id)
    return str(await stored_value(harness, query))


async def test_mydata_shows_every_column_it_declares(harness: BotHarness, profile: Profile) -> None:
    await fill_every_table(harness, profile)
    sam = harness.user(SAM)
    # Twice: what /mydata shows is read before the update's own writes (its place in the
    # menu, its view); the second shows what the first stored.
    await sam.send("/mydata")
    await harness.dispatcher.storage.set_data(
        StorageKey(bot_id=harness.bot.id, chat_id=SAM, user_id=SAM), PENDING
    )
    replies = await sam.send("/mydata")
    assert_no_error(replies)
    text = "\n".join(shown(replies))
    ids = await rows_of_student(harness, SAM)
    assert set(MYDATA_COLUMNS) <= set(ids), f"no rows in {set(MYDATA_COLUMNS) - set(ids)}"
    stored: list[tuple[str, dict[str, Any]]] = []
    async with harness.database.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in MYDATA_COLUMNS:
                found = await session.execute(select(table).where(mentions(table, ids, SAM)))
                stored += [(table.name, dict(row)) for row in found.mappings()]
    for table_name, row in stored:
        for column, verdict in MYDATA_COLUMNS[table_name].items():
            if verdict != SHOWN or row[column] is None:
                continue
            for piece in await shown_as(harness, table_name, column, row[column], row):
                assert piece in text, f"{table_name}.{column} = {row[column]!r}: {piece!r}"
    for moved_to in ("Class 7b", OTHER_COHORT[1]):
        assert f"to “{moved_to}”" in text
    assert f"You're in the group “{OTHER_COHORT[1]}”" in text
    assert "Opened your checklist result (" in text and "Chose " in text


# Consent: whether a group's lead may see the student's first name and progress.


async def add_group(harness: BotHarness, code: str, name: str) -> int:
    async with harness.database.session_factory() as session:
        cohort = Cohort(code=code, name=name, career=None, lead_id=900)
        session.add(cohort)
        await session.commit()
        return cohort.id


async def sharing_of(harness: BotHarness, telegram_id: int) -> tuple[bool | None, bool]:
    """The stored choice, and whether a time is stored with it."""
    row = await student(harness, telegram_id)
    return row.shares, row.shared_at is not None


@pytest.mark.parametrize(("button", "stored"), [(SHARE_YES, True), (SHARE_NOT_NOW, False)])
async def test_joining_asks_whether_to_share_then_goes_on(
    harness: BotHarness, profile: Profile, button: str, stored: bool
) -> None:
    await add_group(harness, "consent8c", "Class 8C")
    sam = harness.user(SAM)
    replies = await sam.send("/start consent8c")
    assert_no_error(replies)
    assert DIALOGS.message("cohort_joined", cohort={"name": "Class 8C"}) in texts(replies)
    text = screen(sam)
    assert "Share your progress with Class 8C?" in text
    assert "your first name" in text and "never see the questions you type" in text
    assert sam.current_labels() == [SHARE_YES, SHARE_NOT_NOW]
    assert await sharing_of(harness, SAM) == (None, False)
    replies = await sam.press(button)
    assert_no_error(replies)
    assert DIALOGS.message("sharing_yes" if stored else "sharing_no") in toasts(replies)
    assert screen(sam).splitlines()[0] == profile.title, "then the career's menu"
    assert await sharing_of(harness, SAM) == (stored, True)


async def test_privacy_shows_the_choice_and_changes_it(harness: BotHarness) -> None:
    await add_group(harness, "consent8c", "Class 8C")
    sam = harness.user(SAM)
    await sam.send("/start consent8c")
    replies = await sam.send("/privacy")
    assert_no_error(replies)
    assert "You haven't said yet whether the lead of Class 8C" in screen(sam)
    assert SHARE_NOW in sam.current_labels() and STOP_SHARING not in sam.current_labels()
    replies = await sam.press(SHARE_NOW)
    assert_no_error(replies)
    assert DIALOGS.message("sharing_yes") in toasts(replies)
    assert "You share your first name and progress with the lead of Class 8C" in screen(sam)
    assert await sharing_of(harness, SAM) == (True, True)
    replies = await sam.press(STOP_SHARING)
    assert "You chose not to share with the lead of Class 8C" in screen(sam)
    assert SHARE_NOW in sam.current_labels()
    assert await sharing_of(harness, SAM) == (False, True)
    replies = await sam.send("/mydata")
    assert "Sharing your first name and progress with its lead: no (not now), chosen" in screen(sam)


async def test_privacy_outside_a_group_has_no_one_to_share_with(harness: BotHarness) -> None:
    sam = harness.user(SAM)
    await sam.send("/start")
    replies = await sam.send("/privacy")
    assert_no_error(replies)
    text = screen(sam)
    assert "You're not in a group, so there's no program to share your progress with." in text
    assert "I store your Telegram id" in text
    assert not {SHARE_NOW, STOP_SHARING} & set(sam.current_labels())
    await sam.send("/mydata")
    assert "Sharing your first name" not in screen(sam)


async def test_old_and_forged_consent_buttons_change_nothing(harness: BotHarness) -> None:
    group_a = await add_group(harness, "consentA", "Class A")
    group_b = await add_group(harness, "consentB", "Class B")
    sam = harness.user(SAM)
    await sam.send("/start consentA")
    latest = sam.latest()
    assert latest is not None
    question_a = latest.message_id
    # Left unanswered; the student moves to another group, which asks afresh.
    await sam.send("/start consentB")
    await sam.press("✅ Move me to Class B")
    assert sam.current_labels() == [SHARE_YES, SHARE_NOT_NOW]
    assert await sharing_of(harness, SAM) == (None, False)
    # Class A's question, answered again after leaving it: said so, nothing changes.
    replies = await sam.press(SHARE_YES, message_id=question_a)
    assert_no_error(replies)
    assert DIALOGS.message("sharing_stale") in toasts(replies)
    assert await sharing_of(harness, SAM) == (None, False)
    for data in (
        f"a:share:{group_a}.yes",
        f"a:share_change:{group_a}.no",
        "a:share:999999.yes",
    ):
        replies = await sam.press_data(data)
        assert DIALOGS.message("sharing_stale") in toasts(replies), data
    for data in (
        "a:share:",
        "a:share:yes",
        f"a:share:{group_b}",
        f"a:share:{group_b}.maybe",
        f"a:share:{group_b}.yes.1",
        f"a:share:-{group_b}.yes",
        f"a:share_change:{group_b}.YES",
        "a:share:<b>.yes",
    ):
        replies = await sam.press_data(data)
        assert_no_error(replies)
        assert MENU_CHANGED in toasts(replies), data
    assert await sharing_of(harness, SAM) == (None, False)
    # A student in no group: any consent button is stale.
    alex = harness.user(ALEX, "Alex")
    await alex.send("/start")
    replies = await alex.press_data(f"a:share:{group_b}.yes")
    assert DIALOGS.message("sharing_stale") in toasts(replies)
    assert await sharing_of(harness, ALEX) == (None, False)
    # Text typed where a button was expected is a question, and changes nothing either.
    await sam.send("/start consentB")
    assert_no_error(await sam.send("yes share"))
    assert await sharing_of(harness, SAM) == (None, False)


async def test_forget_clears_the_choice(harness: BotHarness) -> None:
    await add_group(harness, "consent8c", "Class 8C")
    sam = harness.user(SAM)
    await sam.send("/start consent8c")
    await sam.press(SHARE_YES)
    await sam.send("/forget")
    await sam.press("🗑 Yes, delete everything")
    await sam.send("/start")
    assert await sharing_of(harness, SAM) == (None, False)
    await sam.send("/start consent8c")
    assert sam.current_labels() == [SHARE_YES, SHARE_NOT_NOW], "asked again"
