"""Program leads and cohorts through the real Dispatcher, on SQLite and PostgreSQL: who may
manage leads, creating cohorts with their invite link and QR code, students joining through
the link, and what a student or another lead can (not) reach with forged buttons."""

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import Content
from bot.config import Settings
from bot.content.models import Profile
from bot.db.models import Announcement, Cohort, CohortMove, Staff, Student, utcnow
from bot.engine.keyboard import action_data
from bot.standin.conversation import Conversation
from tests.cli_support import clean_env, run_careerbot
from tests.cohort_support import (
    ADMIN,
    ALL_COHORTS,
    ANNOUNCE,
    CLOSE,
    DEEP_LINK_CODE,
    LEAD_A,
    LEAD_B,
    LEAD_USAGE,
    LET_THEM_CHOOSE,
    LINK,
    LINK_UNKNOWN,
    MENU_CHANGED,
    MOVE_ME,
    NAME_INVALID,
    NEW_COHORT,
    QR_CODE,
    RENAME,
    REOPEN,
    SECOND_CAREER_SLUG,
    SECOND_CAREER_TITLE,
    UNKNOWN_COMMAND,
    WELCOME,
    CohortRef,
    HarnessFactory,
    all_text_to,
    announcements,
    answer_consent,
    cohort_row,
    cohort_rows,
    content_with_two_careers,
    create_cohort,
    grant_lead,
    harness_factory,
    join_students,
    joined,
    lines,
    member_ids,
    moved,
    open_cohort,
    replies_text,
    screen_text,
    staff_rows,
)
from tests.conftest import BotHarness
from tests.feature_support import (
    DIALOGS,
    STICKER,
    assert_no_error,
    count,
    profile_of,
    scalars,
    student,
    toasts,
)
from tests.tour_support import plain, texts


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


@pytest.fixture
async def start_harness(
    settings: Settings, content: Content, database: Any
) -> AsyncIterator[HarnessFactory]:
    async with harness_factory(settings, content) as make:
        yield make


@pytest.fixture(scope="module")
def two_careers(tmp_path_factory: pytest.TempPathFactory) -> Content:
    return content_with_two_careers(tmp_path_factory.mktemp("two-careers"))


async def lead(harness: BotHarness, telegram_id: int = LEAD_A, name: str = "Lee") -> Conversation:
    await grant_lead(harness, telegram_id, name)
    return harness.user(telegram_id, name)


def on_menu(conversation: Conversation, profile: Profile) -> bool:
    """The newest screen with buttons is the career's menu (its title, then its summary)."""
    shown = lines(screen_text(conversation))
    return bool(shown) and shown[0] == profile.title


def photos_to(harness: BotHarness, chat_id: int) -> list[bytes]:
    """The image files the bot sent to a chat, in order."""
    return [
        file
        for call in harness.telegram.calls
        if call.method == "sendPhoto" and call.params.get("chat_id") == chat_id
        for file in call.files.values()
    ]


async def moves(harness: BotHarness, telegram_id: int) -> list[tuple[int | None, int]]:
    rows = await scalars(
        harness,
        select(CohortMove)
        .join(Student, Student.id == CohortMove.student_id)
        .where(Student.telegram_id == telegram_id)
        .order_by(CohortMove.id),
    )
    return [(row.from_cohort_id, row.to_cohort_id) for row in rows]


# Roles: admins grant and revoke program leads.


async def test_admin_adds_lists_and_removes_a_lead(harness: BotHarness) -> None:
    admin = harness.user(ADMIN, "Ada")
    replies = await admin.send("/addlead 777 Lee")
    assert_no_error(replies)
    assert DIALOGS.message("lead_added", telegram_id=777, lead_name="Lee") in texts(replies)
    assert await staff_rows(harness) == [(777, "Lee", ADMIN)]

    replies = await admin.send("/addlead 777 Lee")
    assert DIALOGS.message("lead_exists", telegram_id=777) in texts(replies)
    assert await staff_rows(harness) == [(777, "Lee", ADMIN)]

    await admin.send("/addlead 778 Kim Park")
    replies = await admin.send("/leads")
    assert_no_error(replies)
    listed = lines(texts(replies)[-1])
    assert "Lee · id 777" in listed
    assert "Kim Park · id 778" in listed

    replies = await admin.send("/removelead 777")
    assert DIALOGS.message("lead_removed", telegram_id=777) in texts(replies)
    assert await staff_rows(harness) == [(778, "Kim Park", ADMIN)]
    replies = await admin.send("/removelead 777")
    assert DIALOGS.message("lead_unknown", telegram_id=777) in texts(replies)
    replies = await admin.send("/leads")
    assert not any("id 777" in line for line in lines(texts(replies)[-1]))


async def test_a_long_lead_name_is_cut_to_fit(harness: BotHarness) -> None:
    replies = await harness.user(ADMIN, "Ada").send("/addlead 777 " + "L" * 100)
    assert_no_error(replies)
    [(telegram_id, name, _)] = await staff_rows(harness)
    assert telegram_id == 777 and name == "L" * 64


@pytest.mark.parametrize(
    "command",
    [
        "/addlead",
        "/addlead abc",
        "/addlead 99999999999999999999",
        "/addlead -5 Lee",
        "/addlead 7.5 Lee",
        "/addlead Lee 777",
        "/removelead",
        "/removelead abc",
        "/addlead ² Lee",
        "/addlead 0 Lee",
    ],
)
async def test_junk_lead_arguments_get_the_usage(harness: BotHarness, command: str) -> None:
    replies = await harness.user(ADMIN, "Ada").send(command)
    assert_no_error(replies)
    assert LEAD_USAGE in texts(replies)
    assert await staff_rows(harness) == []


@pytest.mark.parametrize("command", ["/addlead 779 Eve", "/leads", "/removelead 777"])
@pytest.mark.parametrize("who", ["lead", "student"])
async def test_lead_commands_are_unknown_to_non_admins(
    harness: BotHarness, profile: Profile, who: str, command: str
) -> None:
    await grant_lead(harness, 777, "Lee")
    caller = harness.user(777 if who == "lead" else 1001, "Lee" if who == "lead" else "Sam")
    before = await staff_rows(harness)
    replies = await caller.send(command)
    assert_no_error(replies)
    assert texts(replies)[0] == UNKNOWN_COMMAND
    assert on_menu(caller, profile)
    shown = replies_text(replies)
    assert "Lee" not in shown and "777" not in shown and "Program leads" not in shown
    assert await staff_rows(harness) == before


async def test_a_student_typing_cohorts_gets_the_unknown_command(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user(1001)
    replies = await sam.send("/cohorts")
    assert_no_error(replies)
    assert texts(replies)[0] == UNKNOWN_COMMAND
    assert on_menu(sam, profile)


async def test_the_role_is_checked_on_every_call(harness: BotHarness, profile: Profile) -> None:
    lee = await lead(harness)
    replies = await lee.send("/cohorts")
    assert_no_error(replies)
    assert NEW_COHORT in lee.current_labels()
    listing = lee.latest()
    assert listing is not None

    await harness.user(ADMIN, "Ada").send("/removelead 777")
    replies = await lee.send("/cohorts")
    assert texts(replies)[0] == UNKNOWN_COMMAND
    # The old list is still on screen; its button is now like any unknown button.
    replies = await lee.press(NEW_COHORT, listing.message_id)
    assert_no_error(replies)
    assert MENU_CHANGED in toasts(replies)
    assert on_menu(lee, profile)
    replies = await lee.send("Class 7")
    assert await count(harness, Cohort) == 0


async def test_the_cli_grants_lists_and_revokes_leads(
    harness: BotHarness, profile: Profile, database_url: str, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, DATABASE_URL=database_url, ADMIN_IDS="900")
    added = run_careerbot("lead", "add", "777", "Lee Jones", cwd=tmp_path, env=env)
    assert added.returncode == 0, added.stderr
    assert "777" in added.stdout
    assert await staff_rows(harness) == [(777, "Lee Jones", None)]
    again = run_careerbot("lead", "add", "777", "Lee Jones", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert len(await staff_rows(harness)) == 1
    listed = run_careerbot("lead", "list", cwd=tmp_path, env=env)
    assert listed.returncode == 0, listed.stderr
    assert any("777" in line and "Lee Jones" in line for line in listed.stdout.splitlines())

    # The running bot sees the new lead at once.
    lee = harness.user(777, "Lee")
    assert_no_error(await lee.send("/cohorts"))
    assert NEW_COHORT in lee.current_labels()

    removed = run_careerbot("lead", "remove", "777", cwd=tmp_path, env=env)
    assert removed.returncode == 0, removed.stderr
    assert await staff_rows(harness) == []
    replies = await lee.send("/cohorts")
    assert texts(replies)[0] == UNKNOWN_COMMAND
    assert on_menu(lee, profile)


@pytest.mark.parametrize(
    "telegram_id",
    [
        "abc",
        "7.5",
        "99999999999999999999",
        "-5",
        "0",
    ],
)
async def test_the_cli_refuses_a_bad_lead_id(
    harness: BotHarness, database_url: str, tmp_path: Path, telegram_id: str
) -> None:
    env = clean_env(tmp_path, DATABASE_URL=database_url, ADMIN_IDS="900")
    result = run_careerbot("lead", "add", telegram_id, "Lee", cwd=tmp_path, env=env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "telegram_id" in result.stderr or "id" in result.stderr
    assert await staff_rows(harness) == []


# Creating and managing cohorts.


async def test_a_lead_creates_a_cohort_with_its_link_and_qr_code(
    harness: BotHarness, profile: Profile
) -> None:
    lee = await lead(harness)
    replies = await lee.send("/cohorts")
    assert_no_error(replies)
    assert NEW_COHORT in lee.current_labels()
    await lee.press(NEW_COHORT)
    replies = await lee.send("Class 9B — spring")
    assert_no_error(replies)
    assert profile.title in lee.current_labels()
    assert LET_THEM_CHOOSE in lee.current_labels()
    replies = await lee.press(profile.title)
    assert_no_error(replies)

    [cohort] = await scalars(harness, select(Cohort))
    assert (cohort.name, cohort.lead_id, cohort.career) == ("Class 9B — spring", 777, profile.slug)
    assert cohort.closed_at is None
    assert DEEP_LINK_CODE.fullmatch(cohort.code), cohort.code
    screen = plain(screen_text(lee))
    assert "Class 9B — spring" in screen
    assert LINK.findall(screen) == [cohort.code]
    assert f"https://t.me/careerbot_bot?start={cohort.code}" in screen
    assert {ANNOUNCE, CLOSE, QR_CODE, RENAME, ALL_COHORTS} <= set(lee.current_labels())

    [png] = photos_to(harness, 777)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    [photo_call] = [call for call in replies if call.method == "sendPhoto"]
    assert f"https://t.me/careerbot_bot?start={cohort.code}" in photo_call.text

    replies = await lee.press(QR_CODE)
    assert_no_error(replies)
    assert len(photos_to(harness, 777)) == 2
    assert photos_to(harness, 777)[1].startswith(b"\x89PNG")

    second = await create_cohort(harness, lee, "Class 9C")
    assert second.code != cohort.code
    assert DEEP_LINK_CODE.fullmatch(second.code)
    assert (await cohort_row(harness, second.id)).career is None


async def test_many_cohorts_get_distinct_well_formed_codes(harness: BotHarness) -> None:
    lee = await lead(harness)
    codes = [(await create_cohort(harness, lee, f"Group {n}")).code for n in range(6)]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert DEEP_LINK_CODE.fullmatch(code) and len(code) <= 64
        # Unguessable: not a counter or a name, and long enough.
        assert len(code) >= 12 and "Group" not in code


@pytest.mark.parametrize(
    "name",
    ["   ", "\n\t ", "\u200b\u2060\ufeff", "x" * 65, "Class " + "9" * 59],
    ids=["spaces", "ws", "invisible", "65", "65b"],
)
async def test_bad_cohort_names_are_refused(harness: BotHarness, name: str) -> None:
    lee = await lead(harness)
    await lee.send("/cohorts")
    await lee.press(NEW_COHORT)
    replies = await lee.send(name)
    assert_no_error(replies)
    assert texts(replies) == [NAME_INVALID]
    assert await count(harness, Cohort) == 0
    # Still waiting for a name: a good one goes through.
    replies = await lee.send("x" * 64)
    assert_no_error(replies)
    await lee.press(LET_THEM_CHOOSE)
    [cohort] = await scalars(harness, select(Cohort))
    assert cohort.name == "x" * 64


async def test_a_sticker_is_no_cohort_name(harness: BotHarness) -> None:
    lee = await lead(harness)
    await lee.send("/cohorts")
    await lee.press(NEW_COHORT)
    replies = await lee.send_message(STICKER)
    assert_no_error(replies)
    assert texts(replies)[0] in {NAME_INVALID, DIALOGS.message("unsupported_message")}
    assert await count(harness, Cohort) == 0


async def test_rename_close_and_reopen(harness: BotHarness, profile: Profile) -> None:
    lee = await lead(harness)
    cohort = await create_cohort(harness, lee, "Class 9B")

    await lee.press(RENAME)
    replies = await lee.send("y" * 65)
    assert texts(replies) == [NAME_INVALID]
    assert (await cohort_row(harness, cohort.id)).name == "Class 9B"
    replies = await lee.send("  9B <Beats> &  Co  ")
    assert_no_error(replies)
    assert (await cohort_row(harness, cohort.id)).name == "9B <Beats> & Co"
    assert lines(screen_text(lee))[0] == "9B <Beats> & Co"
    assert "9B &lt;Beats&gt; &amp; Co" in screen_text(lee)
    assert (await cohort_row(harness, cohort.id)).code == cohort.code

    replies = await lee.press(CLOSE)
    assert_no_error(replies)
    assert (await cohort_row(harness, cohort.id)).closed_at is not None
    assert REOPEN in lee.current_labels() and CLOSE not in lee.current_labels()
    assert cohort.link not in plain(screen_text(lee))

    sam = harness.user(1001)
    replies = await sam.send(f"/start {cohort.code}")
    assert_no_error(replies)
    assert texts(replies)[:2] == [WELCOME, LINK_UNKNOWN]
    assert on_menu(sam, profile)
    assert (await student(harness, 1001)).cohort_id is None
    assert await moves(harness, 1001) == []

    replies = await lee.press(REOPEN)
    assert_no_error(replies)
    assert (await cohort_row(harness, cohort.id)).closed_at is None
    assert cohort.link in plain(screen_text(lee))
    replies = await sam.send(f"/start {cohort.code}")
    assert joined("9B <Beats> & Co") in texts(replies)
    assert await member_ids(harness, cohort.id) == {1001}


async def test_the_cohort_list_shows_member_counts(harness: BotHarness) -> None:
    lee = await lead(harness)
    alpha = await create_cohort(harness, lee, "Alpha")
    beta = await create_cohort(harness, lee, "Beta")
    await create_cohort(harness, lee, "Gamma")
    await join_students(harness, alpha.code, range(2001, 2004))
    await join_students(harness, beta.code, [2101])
    await open_cohort(lee, "Beta")
    await lee.press(CLOSE)

    replies = await lee.send("/cohorts")
    assert_no_error(replies)
    listed = lines(texts(replies)[-1])
    assert "Alpha · 3 students" in listed
    assert "Beta (closed) · 1 student" in listed
    assert "Gamma · 0 students" in listed
    assert {"Alpha", "Beta", "Gamma", NEW_COHORT} <= set(lee.current_labels())
    replies = await lee.press("Alpha")
    assert "Students: 3" in lines(screen_text(lee))


# Students joining through the link.


async def test_thirty_students_join_through_the_link(
    start_harness: HarnessFactory, two_careers: Content
) -> None:
    harness = await start_harness(two_careers)
    second = two_careers.catalog.get(SECOND_CAREER_SLUG)
    assert second is not None and len(two_careers.catalog) == 2
    lee = await lead(harness)
    cohort = await create_cohort(harness, lee, "Class 10A", SECOND_CAREER_TITLE)
    assert (await cohort_row(harness, cohort.id)).career == SECOND_CAREER_SLUG

    students = await join_students(harness, cohort.code, range(3001, 3031))
    assert await member_ids(harness, cohort.id) == set(range(3001, 3031))
    for someone in students:
        received = [call.params["text"] for call in harness.telegram.sent_to(someone.chat_id)]
        assert received.count(joined("Class 10A")) == 1
        assert on_menu(someone, second), screen_text(someone)
        row = await student(harness, someone.chat_id)
        assert row.career == SECOND_CAREER_SLUG
        assert row.start_payload == cohort.code
        assert await moves(harness, someone.chat_id) == [(None, cohort.id)]

    # Without the link, a student chooses a career first.
    loner = harness.user(3999)
    await loner.send("/start")
    assert (await student(harness, 3999)).career is None
    assert lines(screen_text(loner))[0] != SECOND_CAREER_TITLE

    await open_cohort(lee, "Class 10A")
    assert "Students: 30" in lines(screen_text(lee))


async def test_a_returning_student_joins_and_lands_on_the_cohorts_career(
    start_harness: HarnessFactory, two_careers: Content
) -> None:
    harness = await start_harness(two_careers)
    second = two_careers.catalog.get(SECOND_CAREER_SLUG)
    first = next(profile for profile in two_careers.catalog if profile.slug != SECOND_CAREER_SLUG)
    assert second is not None
    sam = harness.user(1001)
    await sam.send("/start")
    await sam.press(first.title)
    assert (await student(harness, 1001)).career == first.slug

    cohort = await create_cohort(harness, await lead(harness), "Class 10B", SECOND_CAREER_TITLE)
    replies = await sam.send(f"/start {cohort.code}")
    assert_no_error(replies)
    assert joined("Class 10B") in texts(replies)
    assert (await student(harness, 1001)).career == SECOND_CAREER_SLUG
    await answer_consent(sam, False)
    assert on_menu(sam, second)


async def test_joining_another_cohort_asks_first_then_moves_the_student(
    harness: BotHarness,
) -> None:
    lee = await lead(harness)
    alpha = await create_cohort(harness, lee, "Alpha")
    beta = await create_cohort(harness, lee, "Beta")
    sam = harness.user(1001)
    await sam.send(f"/start {alpha.code}")

    replies = await sam.send(f"/start {beta.code}")
    assert_no_error(replies)
    asked = texts(replies)[-1]
    assert "You're in <b>Alpha</b>. This link is for <b>Beta</b>." in asked
    assert moved("Beta") not in texts(replies), "no silent move"
    assert (await student(harness, 1001)).cohort_id == alpha.id
    assert "✖️ Stay in Alpha" in sam.current_labels()

    replies = await sam.press(f"{MOVE_ME}Beta")
    assert_no_error(replies)
    assert moved("Beta") in toasts(replies)
    assert (await student(harness, 1001)).cohort_id == beta.id
    assert await moves(harness, 1001) == [(None, alpha.id), (alpha.id, beta.id)]
    assert await member_ids(harness, alpha.id) == set()

    replies = await sam.send(f"/start {beta.code}")
    assert_no_error(replies)
    assert moved("Beta") not in texts(replies) and joined("Beta") not in texts(replies)
    assert LINK_UNKNOWN not in texts(replies)
    assert await moves(harness, 1001) == [(None, alpha.id), (alpha.id, beta.id)]
    assert await member_ids(harness, beta.id) == {1001}

    await sam.send(f"/start {alpha.code}")
    assert_no_error(await sam.press("✖️ Stay in Beta"))
    assert (await student(harness, 1001)).cohort_id == beta.id
    assert len(await moves(harness, 1001)) == 2


async def test_a_yes_to_moving_after_the_link_closed_moves_nobody(harness: BotHarness) -> None:
    lee = await lead(harness)
    alpha = await create_cohort(harness, lee, "Alpha")
    beta = await create_cohort(harness, lee, "Beta")
    sam = harness.user(1001)
    await sam.send(f"/start {alpha.code}")
    await sam.send(f"/start {beta.code}")
    async with harness.database.session_factory() as session:
        await session.execute(update(Cohort).where(Cohort.id == beta.id).values(closed_at=utcnow()))
        await session.commit()
    replies = await sam.press(f"{MOVE_ME}Beta")
    assert_no_error(replies)
    assert LINK_UNKNOWN in toasts(replies)
    assert (await student(harness, 1001)).cohort_id == alpha.id


@pytest.mark.parametrize("code", ["", "nope", "x" * 40, "<b>", "'; DROP TABLE cohorts; --"])
async def test_a_forged_move_button_moves_nobody(harness: BotHarness, code: str) -> None:
    lee = await lead(harness)
    alpha = await create_cohort(harness, lee, "Alpha")
    sam = harness.user(1001)
    await sam.send(f"/start {alpha.code}")
    replies = await sam.press_data(action_data("cohort_switch", code))
    assert_no_error(replies)
    assert (await student(harness, 1001)).cohort_id == alpha.id
    assert await moves(harness, 1001) == [(None, alpha.id)]


async def test_staff_opening_an_invite_link_are_told_and_not_enrolled(
    harness: BotHarness,
) -> None:
    lee = await lead(harness)
    alpha = await create_cohort(harness, lee, "Alpha")
    replies = await lee.send(f"/start {alpha.code}")
    assert_no_error(replies)
    assert DIALOGS.message("cohort_link_staff", cohort={"name": "Alpha"}) in texts(replies)
    assert await member_ids(harness, alpha.id) == set()
    admin = harness.user(ADMIN, "Ada")
    replies = await admin.send(f"/start {alpha.code}")
    assert_no_error(replies)
    assert await member_ids(harness, alpha.id) == set()


BAD_PAYLOADS = {
    "unknown": lambda code: "abcdefghijklmnop",
    "one-char-short": lambda code: code[:-1],
    "case-changed": lambda code: code.swapcase(),
    "65-chars": lambda code: (code + "x" * 65)[:65],
    "punctuation": lambda code: "!!!",
    "spaces-inside": lambda code: f"{code} {code}",
}


@pytest.mark.parametrize("kind", list(BAD_PAYLOADS))
async def test_a_bad_link_gets_a_friendly_note_and_the_normal_start(
    harness: BotHarness, profile: Profile, kind: str
) -> None:
    cohort = await create_cohort(harness, await lead(harness), "Alpha")
    payload = BAD_PAYLOADS[kind](cohort.code)
    assert payload != cohort.code
    sam = harness.user(1001)
    replies = await sam.send(f"/start {payload}")
    assert_no_error(replies)
    assert texts(replies)[:2] == [WELCOME, LINK_UNKNOWN]
    assert on_menu(sam, profile)
    assert (await student(harness, 1001)).cohort_id is None
    assert await count(harness, CohortMove) == 0


async def test_an_expired_link_is_refused(harness: BotHarness, profile: Profile) -> None:
    lee = await lead(harness)
    old = await create_cohort(harness, lee, "Last year")
    fresh = await create_cohort(harness, lee, "This year")
    async with harness.database.session_factory() as session:
        await session.execute(
            update(Cohort)
            .where(Cohort.id == old.id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        await session.execute(
            update(Cohort)
            .where(Cohort.id == fresh.id)
            .values(expires_at=utcnow() + timedelta(days=1))
        )
        await session.commit()

    sam = harness.user(1001)
    replies = await sam.send(f"/start {old.code}")
    assert_no_error(replies)
    assert texts(replies)[:2] == [WELCOME, LINK_UNKNOWN]
    assert on_menu(sam, profile)
    assert (await student(harness, 1001)).cohort_id is None

    replies = await sam.send(f"/start {fresh.code}")
    assert joined("This year") in texts(replies)
    assert (await student(harness, 1001)).cohort_id == fresh.id


# Safety: forged and replayed buttons.


async def a_foreign_cohort(harness: BotHarness) -> CohortRef:
    """Lead A's cohort, with two members."""
    alpha = await create_cohort(harness, await lead(harness, LEAD_A, "Ann"), "Alpha Secret 9A")
    await join_students(harness, alpha.code, [2001, 2002])
    return alpha


STAFF_BUTTONS = [
    "a:cohort_open:{id}",
    "a:announce_send:{id}",
    "a:cohort_close:{id}",
    "a:cohort_reopen:{id}",
    "a:cohort_qr:{id}",
    "a:cohort_rename:{id}",
    "a:announce:{id}",
    "a:announce_history:{id}",
    "a:announce_history:{id}.2",
    "a:cohorts:",
    "a:cohort_new:",
    "a:cohort_create:-",
    "a:announce_button:checklist",
]


@pytest.mark.parametrize("data", STAFF_BUTTONS)
async def test_a_student_replaying_a_staff_button_gets_the_menu(
    harness: BotHarness, profile: Profile, data: str
) -> None:
    alpha = await a_foreign_cohort(harness)
    before = await cohort_rows(harness)
    sam = harness.user(1001)
    await sam.send("/start")
    replies = await sam.press_data(data.format(id=alpha.id))
    assert_no_error(replies)
    assert MENU_CHANGED in toasts(replies)
    assert on_menu(sam, profile)
    # Had it opened an input step, this would now be taken as a name or an announcement.
    await sam.send("Hacked")
    assert await cohort_rows(harness) == before
    assert await announcements(harness) == []
    assert photos_to(harness, 1001) == []
    seen = all_text_to(harness, 1001) + replies_text(replies)
    assert alpha.name not in seen and alpha.code not in seen
    for member in (2001, 2002):
        assert not any(
            "Hacked" in str(c.params.get("text")) for c in harness.telegram.sent_to(member)
        )


@pytest.mark.parametrize(
    "data",
    [
        *[button for button in STAFF_BUTTONS if "{id}" in button],
        "a:cohort_open:99999999999",
        "a:cohort_open:-1",
        "a:cohort_open:abc",
    ],
)
async def test_a_lead_cannot_reach_another_leads_cohort(harness: BotHarness, data: str) -> None:
    alpha = await a_foreign_cohort(harness)
    bea = await lead(harness, LEAD_B, "Bea")
    beta = await create_cohort(harness, bea, "Beta")
    before = await cohort_rows(harness)
    photos = len(photos_to(harness, LEAD_B))

    replies = await bea.press_data(data.format(id=alpha.id))
    assert_no_error(replies)
    assert MENU_CHANGED in toasts(replies)
    # Bea lands on her own cohort list.
    assert "Beta" in bea.current_labels() and NEW_COHORT in bea.current_labels()
    await bea.send("Pwned")
    assert await cohort_rows(harness) == before
    assert await announcements(harness) == []
    assert len(photos_to(harness, LEAD_B)) == photos
    seen = all_text_to(harness, LEAD_B) + replies_text(replies)
    assert alpha.name not in seen and alpha.code not in seen
    assert beta.name in seen
    for member in (2001, 2002):
        assert not any(
            "Pwned" in str(c.params.get("text")) for c in harness.telegram.sent_to(member)
        )


async def test_a_lead_cannot_send_another_leads_cohort_her_announcement(
    harness: BotHarness,
) -> None:
    """Bea has an announcement ready for her own cohort and forges the send for Ann's."""
    alpha = await a_foreign_cohort(harness)
    bea = await lead(harness, LEAD_B, "Bea")
    beta = await create_cohort(harness, bea, "Beta")
    await join_students(harness, beta.code, [2101])
    await open_cohort(bea, "Beta")
    await bea.press(ANNOUNCE)
    await bea.send("Exam moved to Friday")
    await bea.press("No button")
    replies = await bea.press_data(f"a:announce_send:{alpha.id}")
    assert_no_error(replies)
    assert await announcements(harness) == []
    for member in (2001, 2002):
        assert not any(
            "Exam moved" in str(call.params.get("text"))
            for call in harness.telegram.sent_to(member)
        )
    assert alpha.name not in all_text_to(harness, LEAD_B) + replies_text(replies)


async def test_each_lead_lists_only_their_cohorts_and_the_admin_all(harness: BotHarness) -> None:
    alpha = await a_foreign_cohort(harness)
    bea = await lead(harness, LEAD_B, "Bea")
    await create_cohort(harness, bea, "Beta")

    replies = await bea.send("/cohorts")
    assert_no_error(replies)
    assert "Beta" in bea.current_labels()
    assert alpha.name not in replies_text(replies)
    assert "Beta · 0 students" in lines(texts(replies)[-1])

    ann = harness.user(LEAD_A, "Ann")
    replies = await ann.send("/cohorts")
    assert "Beta" not in replies_text(replies)
    assert alpha.name in ann.current_labels()

    admin = harness.user(ADMIN, "Ada")
    replies = await admin.send("/cohorts")
    assert_no_error(replies)
    listed = lines(texts(replies)[-1])
    assert f"{alpha.name} · 2 students" in listed and "Beta · 0 students" in listed
    beta_id = await cohort_id_named(harness, "Beta")
    assert f"id {beta_id} · lead: Bea ({LEAD_B})" in listed, "whose cohort, and its id"
    assert not [line for line in lines(texts(await ann.send("/cohorts"))[-1]) if "lead:" in line]
    replies = await admin.press(alpha.name)
    assert_no_error(replies)
    assert alpha.link in plain(screen_text(admin))
    assert "Students: 2" in lines(screen_text(admin))


async def cohort_id_named(harness: BotHarness, name: str) -> int:
    async with harness.database.session_factory() as session:
        found = await session.scalar(select(Cohort.id).where(Cohort.name == name))
    assert found is not None
    return found


async def test_no_one_can_message_a_cohort_without_a_role(harness: BotHarness) -> None:
    """The student who replays the whole announcement flow of a lead gets nothing sent."""
    alpha = await a_foreign_cohort(harness)
    sam = harness.user(1001)
    await sam.send("/start")
    for data in (
        f"a:announce:{alpha.id}",
        "a:announce_button:checklist",
        f"a:announce_send:{alpha.id}",
    ):
        replies = await sam.press_data(data)
        assert_no_error(replies)
        assert MENU_CHANGED in toasts(replies)
    assert await count(harness, Announcement) == 0
    assert await count(harness, Staff) == 1
