"""Staff can find their tools: /help and the command menu per role.

Everyone's menu (the default scope) lists the students' commands; each lead's and admin's own
chat gets a menu of its own (Telegram's per-chat command scope) with their tools, set at
start and when an admin grants or removes a lead. Commands and wording come from the dialog
files (dialogs/bot.yaml), read by the tests' own loader.
"""

from typing import Any

from bot.standin.telegram import NO_ANSWER, Failure
from tests.cohort_support import ADMIN, LEAD_A, LEAD_B, grant_lead
from tests.conftest import BotHarness, start_bot
from tests.feature_support import DIALOGS, assert_no_error
from tests.tour_support import plain, texts

STUDENT = 1001


def menu_of(*roles: str) -> list[dict[str, str]]:
    """The commands of dialogs/bot.yaml that a role sees, as setMyCommands sends them."""
    return [
        {"command": c["command"], "description": c["description"]}
        for c in DIALOGS.commands
        if not c.get("roles") or set(c["roles"]) & set(roles)
    ]


STUDENT_MENU = menu_of("student")
LEAD_MENU = menu_of("student", "lead")
ADMIN_MENU = menu_of("student", "admin")


def menu_calls(harness: BotHarness, since: int = 0) -> list[tuple[str, Any, Any]]:
    """(method, scope's chat or None, commands) of each menu call, in order."""
    return [
        (
            call.method,
            (call.params.get("scope") or {}).get("chat_id"),
            [
                {"command": c["command"], "description": c["description"]}
                for c in call.params.get("commands") or []
            ],
        )
        for call in harness.telegram.calls[since:]
        if call.method in {"setMyCommands", "deleteMyCommands"}
    ]


def test_the_menus_differ_by_role() -> None:
    """The dialog files give leads and admins more than students, and students no staff tool."""
    student = {c["command"] for c in STUDENT_MENU}
    assert {"start", "help", "privacy"} <= student
    staff = {"cohorts", "stats", "export", "digest", "unanswered", "dashboard", "leads", "addlead"}
    assert not student & staff
    lead = {c["command"] for c in LEAD_MENU}
    assert lead - student == {"cohorts", "stats", "export", "digest", "unanswered", "dashboard"}
    admin = {c["command"] for c in ADMIN_MENU}
    assert admin - student == {
        "cohorts",
        "stats",
        "export",
        "digest",
        "unanswered",
        "dashboard",
        "leads",
        "addlead",
        "removelead",
    }  # fmt: skip


async def test_start_sets_everyones_menu_and_each_admins(harness: BotHarness) -> None:
    calls = menu_calls(harness)
    assert ("setMyCommands", None, STUDENT_MENU) in calls
    assert ("setMyCommands", ADMIN, ADMIN_MENU) in calls
    assert len(calls) == 2, calls


async def test_start_sets_each_leads_menu(harness: BotHarness) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    await grant_lead(harness, LEAD_B, "Kim")
    await harness.restart()
    since = len(harness.telegram.calls)
    await harness.restart()
    calls = menu_calls(harness, since)
    assert ("setMyCommands", LEAD_A, LEAD_MENU) in calls
    assert ("setMyCommands", LEAD_B, LEAD_MENU) in calls
    assert ("setMyCommands", ADMIN, ADMIN_MENU) in calls
    assert ("setMyCommands", STUDENT, STUDENT_MENU) not in calls


async def test_granting_and_removing_a_lead_changes_their_menu(harness: BotHarness) -> None:
    admin = harness.user(ADMIN, "Ada")
    since = len(harness.telegram.calls)
    assert_no_error(await admin.send(f"/addlead {LEAD_A} Lee"))
    assert menu_calls(harness, since) == [("setMyCommands", LEAD_A, LEAD_MENU)]
    since = len(harness.telegram.calls)
    assert_no_error(await admin.send(f"/addlead {LEAD_A} Lee"))  # already one: nothing new
    assert menu_calls(harness, since) == []
    assert_no_error(await admin.send(f"/removelead {LEAD_A}"))
    assert menu_calls(harness, since) == [("deleteMyCommands", LEAD_A, [])]
    since = len(harness.telegram.calls)
    for junk in ("/removelead 12345", "/removelead abc", "/addlead", "/addlead -5 X"):
        assert_no_error(await admin.send(junk))
    assert menu_calls(harness, since) == []


async def test_a_lead_who_never_started_the_bot_is_still_granted(harness: BotHarness) -> None:
    harness.telegram.fail(LEAD_A, Failure(400, "Bad Request: chat not found"))
    replies = await harness.user(ADMIN, "Ada").send(f"/addlead {LEAD_A} Lee")
    assert_no_error(replies)
    assert DIALOGS.message("lead_added", telegram_id=LEAD_A, lead_name="Lee") in texts(replies)
    assert menu_calls(harness)[-1] == ("setMyCommands", LEAD_A, LEAD_MENU)


async def test_a_student_cannot_grant_themselves_a_menu(harness: BotHarness) -> None:
    since = len(harness.telegram.calls)
    student = harness.user(STUDENT)
    assert_no_error(await student.send("/start"))
    assert_no_error(await student.send(f"/addlead {STUDENT} Me"))
    assert menu_calls(harness, since) == []


async def test_start_goes_on_when_staff_menus_are_refused_or_unanswered(
    harness: BotHarness,
) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    await grant_lead(harness, LEAD_B, "Kim")
    await harness.stop()
    telegram = harness.telegram
    # The admin's chat is refused; then Telegram stops answering at the first lead.
    telegram.fail(ADMIN, Failure(400, "Bad Request: chat not found"))
    telegram.fail(LEAD_A, Failure(NO_ANSWER, "timeout", times=5))
    since = len(telegram.calls)
    restarted = await start_bot(harness.settings, harness.content, telegram)
    try:
        chats = [chat for _, chat, _ in menu_calls(restarted, since)]
        assert ADMIN in chats and LEAD_A in chats
        assert LEAD_B not in chats  # given up on for this start: Telegram is out of reach
        # The bot works all the same.
        assert_no_error(await restarted.user(STUDENT).send("/start"))
    finally:
        await restarted.stop()


async def help_text(harness: BotHarness, user_id: int) -> str:
    conversation = harness.user(user_id, "Ann")
    assert_no_error(await conversation.send("/start"))
    replies = await conversation.send("/help")
    assert_no_error(replies)
    return plain(texts(replies)[-1])


async def test_help_lists_each_roles_tools(harness: BotHarness) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    student = await help_text(harness, STUDENT)
    lead = await help_text(harness, LEAD_A)
    admin = await help_text(harness, ADMIN)
    assert "/progress" in student and "/progress" in lead and "/progress" in admin
    for command in ("/cohorts", "/stats", "/export", "/digest"):
        assert command not in student
        assert command in lead and command in admin
    for command in ("/leads", "/addlead", "/removelead"):
        assert command not in student and command not in lead
        assert command in admin
    for text in (student, lead, admin):
        assert "None" not in text and "{" not in text and "role" not in text


async def test_help_follows_a_lead_removed(harness: BotHarness) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    assert "/cohorts" in await help_text(harness, LEAD_A)
    assert_no_error(await harness.user(ADMIN, "Ada").send(f"/removelead {LEAD_A}"))
    assert "/cohorts" not in await help_text(harness, LEAD_A)
