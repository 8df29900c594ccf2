"""The roster: a cohort's students page by page for its lead and admins, and the CSV that
lists them the same way, through the real Dispatcher on SQLite and PostgreSQL.

Students join through the invite link and say yes or not now on the consent screen; what
they did comes from pressing buttons (a few "quiet" dates are set in the database). The
expected wording comes from dialogs/roster.yaml, never from the code under test.
"""

import csv
import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select, update

from bot.content.models import Profile
from bot.db.models import Cohort, Staff, Student, utcnow
from bot.features.stats.export import COLUMNS
from bot.features.tour.nodes import HOME_NODE, SECTIONS
from bot.standin.conversation import Conversation, Reply
from tests.cli_support import clean_env, run_careerbot
from tests.conftest import BotHarness
from tests.feature_support import (
    CHECKLIST_BUTTON,
    DIALOGS,
    MENU_CHANGED,
    Someone,
    assert_no_error,
    do_steps,
    profile_of,
    start_project,
    take_checklist,
    toasts,
)
from tests.tour_support import SETTINGS, plain, texts

ADMIN = 900  # settings.admin_ids in tests/conftest.py
LEAD_A, LEAD_B = 7_000_000_801, 7_000_000_802
CODE_A, CODE_B = "rosterAAAAAAAAAA", "rosterBBBBBBBBBB"
YES, NOT_NOW = "✅ Yes, share", "Not now"
ROSTER = "👥 Roster"
NEXT, PREVIOUS = "Next ➡️", "⬅️ Previous"
REFUSED = DIALOGS.message("roster_refused")
PAGE_GONE = DIALOGS.message("roster_page_gone")
HIDDEN = "Hasn't shared their progress."
# The columns a hidden student's row fills.
NAMING = ("student", "cohort", "shares")


# Cohort A, in join order: twelve students, so the roster has two pages.
CLASS_A = [
    Someone(7_300_000_001, "Ada", True, ("yes",) * 4 + ("no",) * 3, 2),
    Someone(7_300_000_002, "Bo", False, ("yes",) * 7, 5),
    Someone(7_300_000_003, "Cy", True),
    Someone(7_300_000_004, "Di", False),
    Someone(7_300_000_005, "Ed", True, ("yes",) * 3),
    Someone(7_300_000_006, "Flo", True),
    Someone(7_300_000_007, "Gil", True),
    Someone(7_300_000_008, "Hal", True),
    Someone(7_300_000_009, "Ivy", False),
    Someone(7_300_000_010, "Jo", True),
    Someone(7_300_000_011, "Kai", True),
    Someone(7_300_000_012, "Lu", True),
]
CLASS_B = [Someone(7_300_000_101, "Mo", True, ("yes",) * 7)]


async def add_staff_and_cohorts(harness: BotHarness) -> tuple[int, int]:
    async with harness.database.session_factory() as session:
        session.add(Staff(telegram_id=LEAD_A, name="Lead A", granted_by=ADMIN))
        session.add(Staff(telegram_id=LEAD_B, name="Lead B", granted_by=ADMIN))
        cohort_a = Cohort(code=CODE_A, name="Class A", lead_id=LEAD_A, career=None)
        cohort_b = Cohort(code=CODE_B, name="Class B", lead_id=LEAD_B, career=None)
        session.add_all([cohort_a, cohort_b])
        await session.commit()
        return cohort_a.id, cohort_b.id


async def join(harness: BotHarness, someone: Someone, code: str) -> Conversation:
    student = harness.user(someone.telegram_id, someone.name)
    replies = await student.send(f"/start {code}")
    assert_no_error(replies)
    assert {YES, NOT_NOW} <= set(student.current_labels()), "the consent screen comes first"
    assert_no_error(await student.press(YES if someone.shares else NOT_NOW))
    return student


async def act(student: Conversation, someone: Someone, profile: Profile) -> None:
    if len(someone.checklist) == 7:
        assert_no_error(await take_checklist(student, someone.checklist))
    elif someone.checklist:
        # Started and left partway: answered some signs only.
        await take_checklist(student, someone.checklist)
    if someone.project_steps is not None:
        await start_project(student, profile)
        await do_steps(student, profile, someone.project_steps)


async def set_last_seen(harness: BotHarness, telegram_id: int, days_ago: int) -> None:
    async with harness.database.session_factory() as session:
        await session.execute(
            update(Student)
            .where(Student.telegram_id == telegram_id)
            .values(last_seen=utcnow() - timedelta(days=days_ago))
        )
        await session.commit()


@dataclass(frozen=True)
class World:
    cohort_a: int
    cohort_b: int
    students: dict[str, Conversation]


@pytest.fixture
async def world(harness: BotHarness) -> World:
    profile = profile_of(harness.content)
    cohort_a, cohort_b = await add_staff_and_cohorts(harness)
    students = {}
    for someone in CLASS_A:
        students[someone.name] = await join(harness, someone, CODE_A)
    for someone in CLASS_B:
        students[someone.name] = await join(harness, someone, CODE_B)
    for someone in CLASS_A + CLASS_B:
        await act(students[someone.name], someone, profile)
    # Quiet for a week or more, after starting: Ada (10 days), Ed (8 days); Cy never
    # explored, so quiet as he is, he never started.
    for telegram_id, days in ((7_300_000_001, 10), (7_300_000_005, 8), (7_300_000_003, 12)):
        await set_last_seen(harness, telegram_id, days)
    # The rest active on distinct, known days, most recent last in this list.
    for days, name in enumerate(["Lu", "Kai", "Jo", "Hal", "Gil", "Flo"], start=1):
        await set_last_seen(harness, next(s.telegram_id for s in CLASS_A if s.name == name), days)
    return World(cohort_a, cohort_b, students)


def screen_lines(replies: list[Reply]) -> list[str]:
    return [line.strip() for text in texts(replies) for line in plain(text).splitlines()]


def heads(replies: list[Reply]) -> list[str]:
    """Each entry's first line: the name (or "Student N") and the quiet mark."""
    found = screen_lines(replies)
    return [found[i + 1] for i, line in enumerate(found[:-1]) if line == "" and found[i + 1]][1:]


async def roster(staff: Conversation, cohort_id: int, page: int = 1) -> list[Reply]:
    """The roster's page, as its button (a real one, or one forged with the same data) opens it
    on the staff member's latest screen."""
    if staff.latest() is None:
        assert_no_error(await staff.send("/cohorts"))
    replies = await staff.press_data(f"a:roster:{cohort_id}.{page}")
    assert_no_error(replies)
    return replies


def csv_of(replies: list[Reply], harness: BotHarness) -> bytes:
    sent = [call for call in harness.telegram.calls if call.method == "sendDocument"]
    assert any(reply.method == "sendDocument" for reply in replies), replies
    return next(iter(sent[-1].files.values()))


def rows_of(upload: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(upload.decode("utf-8-sig"))))


async def test_the_cohort_screen_opens_the_roster(harness: BotHarness, world: World) -> None:
    lead = harness.user(LEAD_A, "Lea")
    assert_no_error(await lead.send("/cohorts"))
    assert_no_error(await lead.press("Class A"))
    replies = await lead.press(ROSTER)
    assert_no_error(replies)
    assert screen_lines(replies)[0] == "Class A: students (12) · page 1 of 2"
    admin = harness.user(ADMIN, "Ada")
    assert_no_error(await admin.send("/cohorts"))
    assert_no_error(await admin.press("Class B"))
    replies = await admin.press(ROSTER)
    assert screen_lines(replies)[0] == "Class B: students (1)"


async def test_a_leads_roster_names_who_shares_quiet_first_then_hidden_by_number(
    harness: BotHarness, world: World
) -> None:
    lead = harness.user(LEAD_A, "Lea")
    first = await roster(lead, world.cohort_a)
    quiet_ada = (utcnow() - timedelta(days=10)).date().isoformat()
    quiet_ed = (utcnow() - timedelta(days=8)).date().isoformat()
    # Started and quiet for 7+ days first (most recently active first), then the others who
    # share by last active, then Student N (Bo 2, Di 4, Ivy 9) in join order.
    assert heads(first) == [
        f"Ed · 💤 quiet since {quiet_ed}",
        f"Ada · 💤 quiet since {quiet_ada}",
        "Lu",
        "Kai",
        "Jo",
        "Hal",
        "Gil",
        "Flo",
        "Cy",
        "Student 2",
    ]
    assert lead.current_labels() == [NEXT, "⬅️ Class A"]
    second = await lead.press(NEXT)
    assert_no_error(second)
    assert heads(second) == ["Student 4", "Student 9"]
    assert lead.current_labels() == [PREVIOUS, "⬅️ Class A"]
    text = "\n".join(screen_lines(second))
    assert text.count(HIDDEN) == 2
    for hidden in ("Bo", "Di", "Ivy"):
        assert hidden not in "\n".join(screen_lines(first) + screen_lines(second))
    assert_no_error(await lead.press(PREVIOUS))
    assert heads(first) == heads(await roster(lead, world.cohort_a))


async def test_a_sharing_students_progress_in_words(harness: BotHarness, world: World) -> None:
    profile = profile_of(harness.content)
    found = screen_lines(await roster(harness.user(LEAD_A, "Lea"), world.cohort_a))
    ada = found[found.index(next(line for line in found if line.startswith("Ada"))) :][:6]
    steps = profile.project.steps
    seen = _sections_seen(ada[1])
    assert ada[1] == f"{profile.title}: {seen} of {len(SECTIONS)} tour sections seen"
    assert ada[2] == "Checklist: finished, a strong fit"
    assert ada[3].startswith(f"Project: step 3 of {len(steps)}, “{steps[2].title}”")
    assert ada[4].startswith(f"Last active {(utcnow() - timedelta(days=10)).date().isoformat()}")
    assert ada[4].endswith(f"tried {profile.title}")
    ed = found[found.index(next(line for line in found if line.startswith("Ed"))) :][:5]
    assert ed[2] == "Checklist: sign 3 of 7 answered"
    assert ed[3] == "Project: not started"
    cy = found[found.index("Cy") :][:5]
    assert cy[2:4] == ["Checklist: not opened", "Project: not started"]
    assert profile.slug not in "\n".join(found)


def _sections_seen(line: str) -> int:
    return int(line.split(": ", 1)[1].split(" ")[0])


async def test_an_admin_sees_everyones_progress_but_not_unshared_names(
    harness: BotHarness, world: World
) -> None:
    admin = harness.user(ADMIN, "Ada")
    first, second = await roster(admin, world.cohort_a), await roster(admin, world.cohort_a, 2)
    text = "\n".join(screen_lines(first) + screen_lines(second))
    assert HIDDEN not in text
    assert "Student 2 (not shared with leads)" in text
    for hidden in ("Bo", "Di", "Ivy"):
        assert hidden not in text
    # Bo finished the project: admins see it.
    bo = text[text.index("Student 2 (not shared with leads)") :].splitlines()[:5]
    assert bo[3].startswith("Project: finished"), bo


async def test_forged_and_stale_roster_buttons(harness: BotHarness, world: World) -> None:
    lead = harness.user(LEAD_A, "Lea")
    before = await roster(lead, world.cohort_a)
    # Another lead's cohort, a cohort that doesn't exist, junk: refused, their cohorts shown.
    for arg in (
        f"{world.cohort_b}.1",
        "999999.1",
        "",
        "x",
        f"{world.cohort_a}",
        f"{world.cohort_a}.0",
        f"{world.cohort_a}.-1",
        f"{world.cohort_a}.1.1",
        f"{world.cohort_a}.9999999",
        f"0{world.cohort_a}.1",
        "<b>&</b>",
    ):
        replies = await lead.press_data(f"a:roster:{arg}")
        assert_no_error(replies)
        assert REFUSED in toasts(replies), arg
        assert "Your cohorts" in "\n".join(texts(replies)), arg
        assert "Class B" not in "\n".join(texts(replies))
    # A page that no longer exists (students left): said so, and the first page.
    replies = await lead.press_data(f"a:roster:{world.cohort_a}.3")
    assert PAGE_GONE in toasts(replies)
    assert heads(replies) == heads(before)
    # A student pressing a roster button learns nothing.
    student = world.students["Ada"]
    replies = await student.press_data(f"a:roster:{world.cohort_a}.1")
    assert MENU_CHANGED in toasts(replies)
    assert "Class A: students" not in "\n".join(texts(replies))


async def test_student_typed_names_are_shown_as_text(harness: BotHarness) -> None:
    cohort_a, _ = await add_staff_and_cohorts(harness)
    hostile = Someone(7_300_000_201, "<b>Zed</b> & <a href='x'>", True)
    await join(harness, hostile, CODE_A)
    replies = await roster(harness.user(LEAD_A, "Lea"), cohort_a)
    (sent,) = [reply.params["text"] for reply in replies if "text" in reply.params]
    assert "&lt;b&gt;Zed&lt;/b&gt; &amp; &lt;a href=" in sent
    assert "<b>&lt;b&gt;Zed" in sent


async def test_an_empty_cohort(harness: BotHarness) -> None:
    cohort_a, _ = await add_staff_and_cohorts(harness)
    replies = await roster(harness.user(LEAD_A, "Lea"), cohort_a)
    assert "No students yet." in "\n".join(screen_lines(replies))
    assert harness.user(LEAD_A, "Lea").current_labels() == ["⬅️ Class A"]


async def test_the_csv_lists_students_as_the_roster_does(
    harness: BotHarness, world: World, tmp_path: Path
) -> None:
    profile = profile_of(harness.content)
    lead = harness.user(LEAD_A, "Lea")
    pages = heads(await roster(lead, world.cohort_a)) + heads(await roster(lead, world.cohort_a, 2))
    replies = await lead.press_data(f"a:export_cohort:{world.cohort_a}")
    rows = rows_of(csv_of(replies, harness))
    assert list(rows[0]) == list(COLUMNS)
    assert [row["student"] for row in rows] == [head.split(" · ")[0] for head in pages]
    by_name = {row["student"]: row for row in rows}
    for hidden in ("Student 2", "Student 4", "Student 9"):
        row = by_name[hidden]
        assert row["shares"] == "no" and row["cohort"] == "Class A"
        rest = {column: value for column, value in row.items() if column not in NAMING}
        assert set(rest.values()) == {""}, row
    ada = by_name["Ada"]
    assert ada["career"] == ada["careers_tried"] == profile.title
    assert ada["checklist_finished"] == "yes" and ada["checklist_result"] == "strong"
    assert ada["project_step"] == "3"
    assert ada["project_step_title"] == profile.project.steps[2].title
    assert ada["quiet"] == "yes" and ada["pseudonym"]
    # ISO 8601 date-times in UTC.
    assert ada["last_active"].endswith("Z") and "T" in ada["last_active"]
    assert ada["joined"][:10] == utcnow().date().isoformat()
    # The bot's file and the command line's are the same bytes.
    admin = harness.user(ADMIN, "Ada")
    assert_no_error(await admin.send("/cohorts"))
    bot_file = csv_of(await admin.press_data(f"a:export_cohort:{world.cohort_a}"), harness)
    assert bot_file.startswith(b"\xef\xbb\xbf")
    env = clean_env(tmp_path, DATABASE_URL=harness.settings.database_url)
    target = tmp_path / "class-a.csv"
    result = run_careerbot(
        "export", "--cohort", str(world.cohort_a), "-o", str(target), cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert target.read_bytes() == bot_file
    admin_rows = rows_of(bot_file)
    assert {row["student"] for row in admin_rows} == {row["student"] for row in rows}
    assert all(row["last_active"] for row in admin_rows), "admins see everyone's progress"


# The proof: what a lead gets does not depend on a hidden student's progress.


async def lead_outputs(harness: BotHarness, cohort_id: int) -> tuple[list[str], bytes]:
    lead = harness.user(LEAD_A, "Lea")
    pages = ["\n".join(texts(await roster(lead, cohort_id, page))) for page in (1, 2)]
    replies = await lead.press_data(f"a:export_cohort:{cohort_id}")
    return pages, csv_of(replies, harness)


async def test_a_leads_roster_and_csv_do_not_change_with_a_hidden_students_progress(
    harness: BotHarness, world: World
) -> None:
    profile = profile_of(harness.content)
    world_a = await lead_outputs(harness, world.cohort_a)
    # World B: Di (hidden) takes the checklist to the end, starts and finishes the project,
    # explores other screens, and is active now.
    di = world.students["Di"]
    assert_no_error(await take_checklist(di, ("yes",) * 7))
    await start_project(di, profile)
    await do_steps(di, profile, len(profile.project.steps))
    assert_no_error(await di.send("/menu"))
    world_b = await lead_outputs(harness, world.cohort_a)
    assert world_b == world_a
    # A student who shares: the same change shows.
    cy = world.students["Cy"]
    assert_no_error(await cy.send("/menu"))
    assert_no_error(await cy.press(CHECKLIST_BUTTON))
    world_c = await lead_outputs(harness, world.cohort_a)
    assert world_c[0] != world_a[0] and world_c[1] != world_a[1]


def test_the_sections_are_the_tour_screens_under_the_menu() -> None:
    tour = yaml.safe_load((SETTINGS.dialogs_dir / "tour.yaml").read_text("utf-8"))["nodes"]
    for section in SECTIONS:
        assert tour[section]["parent"] == HOME_NODE, section


async def test_a_student_who_left_is_off_the_roster(harness: BotHarness, world: World) -> None:
    # Lu moves to Class B: Class A's lead no longer sees her; Class B's lead sees her once she
    # says yes again (consent is given per group).
    lu = world.students["Lu"]
    assert_no_error(await lu.send(f"/start {CODE_B}"))
    assert_no_error(await lu.press("✅ Move me to Class B"))
    assert {YES, NOT_NOW} <= set(lu.current_labels())
    lead_a = harness.user(LEAD_A, "Lea")
    first = await roster(lead_a, world.cohort_a)
    assert screen_lines(first)[0] == "Class A: students (11) · page 1 of 2"
    assert "Lu" not in heads(first) + heads(await roster(lead_a, world.cohort_a, 2))
    heads_b = heads(await roster(harness.user(LEAD_B, "Lee"), world.cohort_b))
    assert heads_b == ["Mo", "Student 2"]
    assert_no_error(await lu.press(YES))
    heads_b = heads(await roster(harness.user(LEAD_B, "Lee"), world.cohort_b))
    assert heads_b == ["Lu", "Mo"]
    async with harness.database.session_factory() as session:
        row = await session.scalar(select(Student).where(Student.telegram_id == 7_300_000_012))
        assert row is not None and row.shares is True
