"""The career passport, driven through the real Dispatcher with the shipped catalog on SQLite and
PostgreSQL: every fact after the quiz, a checklist and project steps; the first name only when
asked for, and made harmless; the picture; nothing of another student and no ids; forged
buttons; a student with nothing yet, and one who had everything deleted."""

import html
import struct
import time
from typing import Any

import pytest
from sqlalchemy import func, select, text

from bot.app import load_content
from bot.config import Settings
from bot.content.models import Profile
from bot.db.models import ChecklistAttempt, Project, ProjectEntry, QuizAttempt, Student, utcnow
from bot.engine.keyboard import action_data
from bot.engine.text import MESSAGE_LIMIT, plain_text
from bot.features.passport import card
from bot.features.passport.service import (
    NAME_LIMIT,
    CareerLine,
    ChecklistLine,
    Passport,
    ProjectLine,
    QuizLine,
    clean_name,
)
from bot.standin.conversation import Conversation, Reply
from tests.conftest import CATALOG_DIR, BotHarness
from tests.feature_support import (
    CHECKLIST_BUTTON,
    CHECKLIST_START,
    START_PROJECT,
    answer_signs,
    assert_menu_changed,
    assert_no_error,
    do_steps,
    press_in_more,
    project_button,
    screen,
)

SETTINGS = Settings(_env_file=None, content_dir=CATALOG_DIR)
CONTENT = load_content(SETTINGS)
SPEC = CONTENT.quiz
EMOJI = [point.emoji for point in SPEC.scale]

PASSPORT_BUTTON = "🪪 My career passport"
ADD_NAME = "🙋 Add my first name"
REMOVE_NAME = "🙅 Remove my name"
PICTURE = "🖼 As a picture"
OTHER_CAREERS = "🔄 Other careers"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EMPTY = "Nothing here yet"
SAM_ID, ANA_ID = 913_572_468, 913_572_469
# Row ids start here (bump_ids), so that one shown anywhere would stand out.
FIRST_ROW_ID = 7_000_001


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the card renderer is given to draw, call by call; it still draws it."""
    seen: list[str] = []
    real = card.render_card

    def spy(markup: str) -> bytes:
        seen.append(markup)
        return real(markup)

    monkeypatch.setattr(card, "render_card", spy)
    return seen


def career(slug: str) -> Profile:
    profile = CONTENT.catalog.get(slug)
    assert profile is not None
    return profile


def today() -> str:
    return utcnow().date().isoformat()


async def take_quiz(student: Conversation, *areas: str) -> list[str]:
    """Loves the statements of `areas`, none of the rest; the careers the result suggests."""
    assert_no_error(await student.send("/quiz"))
    await student.press("▶️ Start")
    for item in SPEC.items:
        loved = any(item.areas.get(area) == 1 for area in areas)
        assert_no_error(await student.press(EMOJI[-1] if loved else EMOJI[0]))
    return [label.removeprefix("👉 ") for label in student.current_labels() if "👉" in label]


async def choose(student: Conversation, profile: Profile) -> None:
    await student.send("/menu")
    if profile.title not in student.current_labels():
        await press_in_more(student, OTHER_CAREERS)
    assert_no_error(await student.press(profile.title))
    assert profile.title in screen(student)


async def take_checklist(student: Conversation, profile: Profile, fits: str, misfits: str) -> None:
    await student.send("/menu")
    await student.press(CHECKLIST_BUTTON)
    await student.press(CHECKLIST_START)
    checklist = profile.checklist
    await answer_signs(student, [fits] * len(checklist.fits) + [misfits] * len(checklist.misfits))


async def work_on_project(student: Conversation, profile: Profile, steps: int) -> None:
    await student.send("/menu")
    await student.press(project_button(profile))
    assert_no_error(await student.press(START_PROJECT))
    await do_steps(student, profile, steps)


async def open_passport(student: Conversation, *, named: bool = False) -> str:
    """The passport screen as sent (Telegram HTML)."""
    assert_no_error(await student.send("/passport"))
    if named:
        assert_no_error(await student.press(ADD_NAME))
    latest = student.latest()
    assert latest is not None
    return latest.text


def photo_of(replies: list[Reply]) -> tuple[bytes, str]:
    photos = [reply for reply in replies if reply.method == "sendPhoto"]
    assert len(photos) == 1, f"expected one picture, got {[r.method for r in replies]}"
    (data,) = photos[0].files.values()
    return data, photos[0].text


def assert_telegram_photo(data: bytes) -> None:
    """A PNG Telegram takes as a photo: under 10 MB, width + height at most 10000, ratio ≤ 20."""
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width + height <= 10_000 and max(width, height) / min(width, height) <= 20
    assert len(data) < 10 * 1024 * 1024


async def bump_ids(harness: BotHarness) -> None:
    """Rows of a placeholder student with ids in the millions: the students' rows made after
    them get ids no date or count could be mistaken for."""
    row_ids = {
        Student: FIRST_ROW_ID,
        QuizAttempt: FIRST_ROW_ID + 100,
        ChecklistAttempt: FIRST_ROW_ID + 200,
        Project: FIRST_ROW_ID + 300,
        ProjectEntry: FIRST_ROW_ID + 400,
    }
    async with harness.database.session_factory() as session:
        session.add(Student(id=row_ids[Student], telegram_id=1, first_name="Placeholder"))
        await session.flush()
        session.add(QuizAttempt(id=row_ids[QuizAttempt], student_id=FIRST_ROW_ID))
        session.add(
            ChecklistAttempt(id=row_ids[ChecklistAttempt], student_id=FIRST_ROW_ID, career="x")
        )
        session.add(Project(id=row_ids[Project], student_id=FIRST_ROW_ID, career="x"))
        await session.flush()
        session.add(
            ProjectEntry(id=row_ids[ProjectEntry], project_id=row_ids[Project], step_id="x", seq=1)
        )
        if session.bind.dialect.name == "postgresql":
            for model in row_ids:
                table = model.__tablename__  # type: ignore[attr-defined]
                await session.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :at)"),
                    {"at": row_ids[model] + 1},
                )
        await session.commit()


async def row_ids_of(harness: BotHarness, telegram_id: int) -> set[int]:
    """Every row id of the student's passport facts: student, attempts, project, entries."""
    async with harness.database.session_factory() as session:
        student = await session.scalar(select(Student.id).where(Student.telegram_id == telegram_id))
        found = {student}
        for model in (QuizAttempt, ChecklistAttempt, Project):
            found |= set(await session.scalars(select(model.id).where(model.student_id == student)))
        projects = select(Project.id).where(Project.student_id == student)
        found |= set(
            await session.scalars(
                select(ProjectEntry.id).where(ProjectEntry.project_id.in_(projects))
            )
        )
    assert None not in found
    return {int(row_id) for row_id in found if row_id is not None}


async def test_the_passport_shows_every_fact(shipped: BotHarness, drawn: list[str]) -> None:
    sam = shipped.user(SAM_ID, "Samantha")
    await sam.send("/start")
    suggested = await take_quiz(sam, "artistic")
    assert len(suggested) == 3
    assert_no_error(await sam.press(PASSPORT_BUTTON))  # from the quiz result
    first = screen(sam)
    assert "leans towards making and creating" in first
    assert "Careers explored: 0" in first and "None yet" in first

    producer, electrician = career("music-producer"), career("electrician")
    await choose(sam, producer)
    await take_checklist(sam, producer, "yes", "no")
    await work_on_project(sam, producer, 2)
    await choose(sam, electrician)
    await sam.send("/menu")
    assert_no_error(await press_in_more(sam, PASSPORT_BUTTON))  # from the career's menu
    latest = sam.latest()
    assert latest is not None
    markup = latest.text
    shown = plain_text(markup)

    assert f"as of {today()}" in shown
    assert f"Taken {today()}: leans towards making and creating." in shown
    assert f"Careers it suggested: {', '.join(suggested)}." in shown
    assert "Careers explored: 2" in shown
    # The catalog's order, the current career marked.
    titles = [profile.title for profile in CONTENT.catalog.by_area]
    assert titles.index(producer.title) > titles.index(electrician.title)
    assert shown.index(f"{electrician.title} (exploring now)") < shown.index(producer.title)
    assert f"{producer.title} (exploring now)" not in shown
    fits, misfits = len(producer.checklist.fits), len(producer.checklist.misfits)
    assert (
        f"Fit checklist, {today()}: sounds a lot like me. Recognised {fits} of {fits} signs it "
        f"fits, 0 of {misfits} warning signs." in shown
    )
    async with shipped.database.session_factory() as session:
        entries = await session.scalar(select(func.count()).select_from(ProjectEntry))
    assert entries
    total = len(producer.project.steps)
    entry_words = "note or iteration" if entries == 1 else "notes and iterations"
    assert f"2 of {total} steps done, {entries} {entry_words}, last note {today()}." in shown
    assert "Fit checklist: not taken yet." in shown and "Starter project: not started." in shown
    assert "Samantha" not in shown, "the name only when the student asks for it"
    assert "my answer for" not in shown and "tweak for" not in shown, "no note's text"
    assert len(latest.text) < MESSAGE_LIMIT

    replies = await sam.press(PICTURE)
    assert_no_error(replies)
    data, caption = photo_of(replies)
    assert_telegram_photo(data)
    assert caption == f"🪪 My career passport, as of {today()}"
    assert drawn == [markup], "the picture draws the screen's text, nothing else"


async def test_the_first_name_only_when_asked_and_made_harmless(
    shipped: BotHarness, drawn: list[str]
) -> None:
    hostile = "<b>x</b>\x00" + "y" * 300
    sam = shipped.user(SAM_ID, hostile)
    await take_quiz(sam, "social")
    plain = await open_passport(sam)
    assert "yyyy" not in plain and "&lt;b&gt;" not in plain
    assert ADD_NAME in sam.current_labels()

    named = await open_passport(sam, named=True)
    name = "<b>x</b>" + "y" * (NAME_LIMIT - len("<b>x</b>"))
    assert f"<b>{html.escape(name)}</b>" in named
    assert "y" * (NAME_LIMIT - len("<b>x</b>") + 1) not in named
    assert "\x00" not in named and "<b>x</b>" not in named
    assert REMOVE_NAME in sam.current_labels() and ADD_NAME not in sam.current_labels()

    replies = await sam.press(PICTURE)
    assert_telegram_photo(photo_of(replies)[0])
    drawn_lines = [line for _style, line in card.card_lines(drawn[-1])]
    assert drawn_lines[1] == name, "drawn as the letters typed, not as markup"

    assert_no_error(await sam.press(REMOVE_NAME))
    assert "yyyy" not in screen(sam)
    # Nothing is stored: opened afresh, the passport is without the name again.
    assert "yyyy" not in await open_passport(sam)


def test_a_first_name_is_cleaned() -> None:
    assert clean_name("\u202eAna 😀\u2066") == "Ana 😀"
    assert clean_name("  Mia\n\tRose ") == "Mia Rose"
    assert clean_name("\x00\x07") is None
    assert clean_name("   ") is None
    assert clean_name("😀") is None  # nothing to call anyone by
    assert clean_name("José" * 20) == ("José" * 20)[:NAME_LIMIT]


def test_the_card_draws_any_name_safely() -> None:
    """Emoji, right-to-left script, a `$` (matplotlib's maths) and markup in a name."""
    name = "$\\frac{1}{ سارا 😀 <i>"
    markup = "\n".join(
        [
            "<b>🪪 Career passport</b>",
            f"<b>{html.escape(name)}</b>",
            "<i>as of 2025-01-01</i>",
            "",
            "A line " + "long " * 60,
        ]
    )
    lines = card.card_lines(markup)
    assert lines[0][1] == "Career passport", "emoji the font lacks are left out"
    assert lines[1][1].startswith("$\\frac{1}{ سارا") and lines[1][1].endswith(" <i>")
    drawable = card._font_has()
    assert all(ord(char) in drawable for _style, line in lines for char in line)
    assert all(len(line) <= style.wrap for style, line in lines)
    assert_telegram_photo(card.render_card(markup))


async def test_a_passport_holds_nothing_of_another_student(
    shipped: BotHarness, drawn: list[str]
) -> None:
    await bump_ids(shipped)
    sam = shipped.user(SAM_ID, "Samantha")
    ana = shipped.user(ANA_ID, "Anastasia")
    sam_suggested = await take_quiz(sam, "artistic")
    ana_suggested = await take_quiz(ana, "social")
    producer, electrician = career("music-producer"), career("electrician")
    assert producer.title not in ana_suggested and electrician.title not in sam_suggested
    await choose(sam, producer)
    await take_checklist(sam, producer, "yes", "no")
    await work_on_project(sam, producer, 2)
    await choose(ana, electrician)
    await take_checklist(ana, electrician, "no", "yes")
    await work_on_project(ana, electrician, 1)

    seen: dict[int, list[str]] = {}
    for student in (sam, ana):
        markup = await open_passport(student, named=True)
        data = [button.data for button in student.current_buttons()]
        replies = await student.press(PICTURE)
        photo, caption = photo_of(replies)
        assert_telegram_photo(photo)
        seen[int(student.user["id"])] = [markup, plain_text(markup), caption, drawn[-1], *data]
    own_ids = {SAM_ID: await row_ids_of(shipped, SAM_ID), ANA_ID: await row_ids_of(shipped, ANA_ID)}
    assert min(own_ids[SAM_ID] | own_ids[ANA_ID]) > FIRST_ROW_ID

    # A career the quiz suggested to both is a fact of each.
    only_ana = [title for title in ana_suggested if title not in sam_suggested]
    only_sam = [title for title in sam_suggested if title not in ana_suggested]
    assert only_ana and only_sam
    theirs: dict[int, list[str]] = {
        SAM_ID: ["Anastasia", electrician.title, "helping and teaching people", *only_ana],
        ANA_ID: ["Samantha", producer.title, "making and creating", *only_sam],
    }
    mine = {SAM_ID: ["Samantha", producer.title], ANA_ID: ["Anastasia", electrician.title]}
    for telegram_id, outputs in seen.items():
        everything = "\n".join(outputs)
        for fact in mine[telegram_id]:
            assert fact in outputs[1] and fact in outputs[3]
        for fact in theirs[telegram_id]:
            assert fact not in everything, f"{fact!r} of the other student"
        for row_id in [SAM_ID, ANA_ID, *own_ids[SAM_ID], *own_ids[ANA_ID]]:
            assert str(row_id) not in everything, f"an id ({row_id}) in the passport"


@pytest.mark.parametrize("action", ["passport", "passport_card"])
async def test_forged_passport_buttons(shipped: BotHarness, action: str) -> None:
    sam = shipped.user(SAM_ID)
    await open_passport(sam)
    for arg in ("", "yes", "named.1", "NAMED", "plain;drop", str(SAM_ID), "7000001"):
        replies = await sam.press_data(action_data(action, arg))
        assert_menu_changed(replies)
        assert not [reply for reply in replies if reply.method == "sendPhoto"]
        assert "Samantha" not in "".join(reply.text for reply in replies)


async def test_a_student_with_nothing_yet(shipped: BotHarness, drawn: list[str]) -> None:
    sam = shipped.user(SAM_ID)
    markup = await open_passport(sam)  # the very first message: no /start, no career
    assert EMPTY in plain_text(markup)
    labels = sam.current_labels()
    assert {ADD_NAME, PICTURE, "🧭 Take the interest quiz"} <= set(labels)
    replies = await sam.press(PICTURE)
    assert_telegram_photo(photo_of(replies)[0])
    assert drawn == [markup]

    await take_quiz(sam, "hands-on")
    shown = plain_text(await open_passport(sam))
    assert EMPTY not in shown
    assert "building and fixing things" in shown and "None yet" in shown


async def test_the_passport_after_forget(shipped: BotHarness) -> None:
    sam = shipped.user(SAM_ID, "Samantha")
    await take_quiz(sam, "artistic")
    producer = career("music-producer")
    await choose(sam, producer)
    await take_checklist(sam, producer, "yes", "yes")
    assert producer.title in await open_passport(sam)
    await sam.send("/forget")
    assert_no_error(await sam.press("🗑 Yes, delete everything"))
    shown = plain_text(await open_passport(sam, named=True))
    assert EMPTY in shown
    assert producer.title not in shown and "Taken" not in shown and "Fit checklist" not in shown


def _full_passport() -> Passport:
    """Every shipped career explored, each with a checklist and a project, the longest name."""
    day = utcnow().date()
    careers = [
        CareerLine(
            profile.title,
            index == 0,
            ChecklistLine("mixed", 12, 12, 12, 12, day),
            ProjectLine(99, 99, 999, day, True),
        )
        for index, profile in enumerate(CONTENT.catalog.by_area)
    ]
    titles = [profile.title for profile in CONTENT.catalog.by_area]
    quiz = QuizLine("clear", ["figuring things out", "keeping things in order"], titles[:3], day)
    return Passport(True, "W" * NAME_LIMIT, careers, [], quiz, day)


def test_every_career_fits_one_message_and_a_quick_picture() -> None:
    context: dict[str, Any] = {
        "profile": None,
        "careers": CONTENT.catalog.by_area,
        "areas": CONTENT.catalog.areas,
        "student": {"first_name": "W" * 64},
        "passport": _full_passport(),
    }
    assert len(CONTENT.catalog.by_area) >= 14
    shown = CONTENT.dialogs.render("passport", context)
    assert len(shown.parts) == 1 and len(shown.parts[0]) < MESSAGE_LIMIT
    card.render_card("<b>warm-up</b>")
    started = time.perf_counter()
    picture = card.render_card(shown.parts[0])
    elapsed = time.perf_counter() - started
    assert_telegram_photo(picture)
    assert elapsed < 3, f"drawing took {elapsed:.2f} s"  # about 0.3 s on an idle machine
