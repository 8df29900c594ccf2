"""An admin hands a cohort to another lead: the lead changes, both leads are told, and
forged or stale buttons (a lead removed meanwhile, a cohort gone, a lead pressing) change
nothing."""

from pathlib import Path

import pytest
from sqlalchemy import delete

from bot.db.models import Cohort
from bot.engine.keyboard import action_data
from bot.standin.conversation import Conversation
from bot.standin.telegram import Failure
from tests.cli_support import clean_env, run_careerbot
from tests.cohort_support import (
    ADMIN,
    LEAD_A,
    LEAD_B,
    MENU_CHANGED,
    NEW_COHORT,
    CohortRef,
    cohort_row,
    cohort_rows,
    create_cohort,
    grant_lead,
    join_students,
    member_ids,
)
from tests.conftest import BotHarness
from tests.feature_support import DIALOGS, assert_no_error, screen, toasts
from tests.tour_support import plain, texts

HAND = "🔁 Hand to another lead"
CANCEL = "✖️ Cancel"
LEAD_C = 779


def confirm_label(name: str) -> str:
    return f"✅ Hand it to {name}"


def test_the_labels_are_the_dialogs() -> None:
    labels = [
        button["label"]
        for entry in DIALOGS.nodes["cohort"]["buttons"]
        for button in (entry if isinstance(entry, list) else [entry])
    ]
    assert HAND in labels
    assert DIALOGS.nodes["cohort_hand_confirm"]["buttons"][0]["label"].startswith("✅ Hand it to")


async def setting(harness: BotHarness) -> tuple[Conversation, Conversation, CohortRef]:
    """Lee leads Alpha (two students); Bea and Cy are leads too; Ada is the admin."""
    await grant_lead(harness, LEAD_A, "Lee")
    await grant_lead(harness, LEAD_B, "Bea")
    await grant_lead(harness, LEAD_C, "Cy")
    lee = harness.user(LEAD_A, "Lee")
    alpha = await create_cohort(harness, lee, "Alpha")
    await join_students(harness, alpha.code, [2001, 2002])
    ada = harness.user(ADMIN, "Ada")
    assert_no_error(await ada.send("/cohorts"))
    assert_no_error(await ada.press("Alpha"))
    return ada, lee, alpha


def told(harness: BotHarness, chat_id: int, name: str) -> str:
    message = DIALOGS.message(name, cohort={"name": "Alpha"}, lead_name="Bea")
    return (
        message
        if any(call.params.get("text") == message for call in harness.telegram.sent_to(chat_id))
        else ""
    )


async def test_an_admin_hands_a_cohort_to_another_lead(harness: BotHarness) -> None:
    ada, lee, alpha = await setting(harness)
    assert "Lead: Lee" in screen(ada)
    assert_no_error(await ada.press(HAND))
    labels = ada.current_labels()
    assert "Bea" in labels and "Cy" in labels and "Lee" not in labels
    assert_no_error(await ada.press("Bea"))
    assert "Hand Alpha to Bea?" in screen(ada)
    replies = await ada.press(confirm_label("Bea"))
    assert_no_error(replies)
    assert DIALOGS.message("cohort_handed", cohort={"name": "Alpha"}, lead_name="Bea") in toasts(
        replies
    )
    assert "Lead: Bea" in screen(ada)
    assert (await cohort_row(harness, alpha.id)).lead_id == LEAD_B
    assert await member_ids(harness, alpha.id) == {2001, 2002}
    assert told(harness, LEAD_B, "cohort_handed_to_you")
    assert told(harness, LEAD_A, "cohort_handed_away")
    # Bea has it now; Lee no longer reaches it, even with the old buttons.
    bea = harness.user(LEAD_B, "Bea")
    assert_no_error(await bea.send("/cohorts"))
    assert "Alpha" in bea.current_labels()
    assert_no_error(await lee.send("/cohorts"))
    assert "Alpha" not in lee.current_labels()
    replies = await lee.press_data(action_data("cohort_open", str(alpha.id)))
    assert MENU_CHANGED in toasts(replies)


async def test_a_removed_leads_cohort_shows_no_lead_and_can_be_handed(
    harness: BotHarness,
) -> None:
    ada, _, alpha = await setting(harness)
    assert_no_error(await ada.send(f"/removelead {LEAD_A}"))
    assert_no_error(await ada.send("/cohorts"))
    assert "lead: no lead" in plain(screen(ada))
    assert_no_error(await ada.press("Alpha"))
    assert "Lead: no lead" in screen(ada)
    assert_no_error(await ada.press(HAND))
    assert_no_error(await ada.press("Bea"))
    before = len(harness.telegram.sent_to(LEAD_A))
    assert_no_error(await ada.press(confirm_label("Bea")))
    assert (await cohort_row(harness, alpha.id)).lead_id == LEAD_B
    assert told(harness, LEAD_B, "cohort_handed_to_you")
    assert len(harness.telegram.sent_to(LEAD_A)) == before  # no longer staff: not told


async def test_a_lead_removed_before_the_confirmation_is_refused(harness: BotHarness) -> None:
    ada, _, alpha = await setting(harness)
    assert_no_error(await ada.press(HAND))
    assert_no_error(await ada.press("Bea"))
    confirm = ada.latest()
    assert confirm is not None
    assert_no_error(await harness.user(ADMIN, "Ada").send(f"/removelead {LEAD_B}"))
    replies = await ada.press(confirm_label("Bea"), confirm.message_id)
    assert_no_error(replies)
    assert DIALOGS.message("cohort_hand_lead_gone") in toasts(replies)
    assert (await cohort_row(harness, alpha.id)).lead_id == LEAD_A
    assert "Bea" not in ada.current_labels() and "Cy" in ada.current_labels()
    assert not told(harness, LEAD_B, "cohort_handed_to_you")


async def test_a_lead_who_never_started_the_bot_still_gets_the_cohort(
    harness: BotHarness,
) -> None:
    ada, _, alpha = await setting(harness)
    harness.telegram.fail(LEAD_B, Failure(400, "Bad Request: chat not found"))
    assert_no_error(await ada.press(HAND))
    assert_no_error(await ada.press("Bea"))
    assert_no_error(await ada.press(confirm_label("Bea")))
    assert (await cohort_row(harness, alpha.id)).lead_id == LEAD_B
    assert "Lead: Bea" in screen(ada)


@pytest.mark.parametrize(
    ("action", "arg"),
    [
        ("cohort_handed", "{id}.{lead}"),
        ("cohort_hand_to", "{id}.{lead}"),
        ("cohort_hand", "{id}"),
    ],
)
async def test_a_lead_cannot_hand_cohorts(harness: BotHarness, action: str, arg: str) -> None:
    _, lee, alpha = await setting(harness)
    bea = harness.user(LEAD_B, "Bea")
    assert_no_error(await bea.send("/cohorts"))
    before = await cohort_rows(harness)
    for who, lead in ((lee, LEAD_B), (bea, LEAD_B), (lee, LEAD_A)):
        replies = await who.press_data(action_data(action, arg.format(id=alpha.id, lead=lead)))
        assert_no_error(replies)
        assert MENU_CHANGED in toasts(replies)
        assert NEW_COHORT in who.current_labels()
    sam = harness.user(2001, "S2001")
    replies = await sam.press_data(action_data(action, arg.format(id=alpha.id, lead=2001)))
    assert MENU_CHANGED in toasts(replies)
    assert await cohort_rows(harness) == before


@pytest.mark.parametrize(
    "arg",
    ["{id}", "{id}.", ".{lead}", "{id}.0", "{id}.-5", "{id}.abc", "x.{lead}", "{id}.{lead}.1",
     "99999.{lead}", "{id}.{lead}0", ""],
)  # fmt: skip
async def test_junk_handover_buttons_change_nothing(harness: BotHarness, arg: str) -> None:
    ada, _, alpha = await setting(harness)
    before = await cohort_rows(harness)
    replies = await ada.press_data(
        action_data("cohort_handed", arg.format(id=alpha.id, lead=LEAD_B))
    )
    assert_no_error(replies)
    assert toasts(replies) and set(toasts(replies)) <= {
        MENU_CHANGED,
        DIALOGS.message("cohort_hand_lead_gone"),
    }
    assert await cohort_rows(harness) == before
    assert "cohort_hand" not in " ".join(texts(replies))


async def test_handing_to_a_student_or_the_current_lead_is_refused(harness: BotHarness) -> None:
    ada, _, alpha = await setting(harness)
    for lead in (2001, LEAD_A, 424242):
        replies = await ada.press_data(action_data("cohort_handed", f"{alpha.id}.{lead}"))
        assert DIALOGS.message("cohort_hand_lead_gone") in toasts(replies)
    assert (await cohort_row(harness, alpha.id)).lead_id == LEAD_A


async def test_a_cohort_gone_is_refused(harness: BotHarness) -> None:
    ada, _, alpha = await setting(harness)
    assert_no_error(await ada.press(HAND))
    assert_no_error(await ada.press("Bea"))
    async with harness.database.session_factory() as session:
        await session.execute(delete(Cohort).where(Cohort.id == alpha.id))
        await session.commit()
    replies = await ada.press(confirm_label("Bea"))
    assert MENU_CHANGED in toasts(replies)
    assert NEW_COHORT in ada.current_labels()
    assert not told(harness, LEAD_B, "cohort_handed_to_you")


async def test_with_no_other_lead_the_admin_is_told_how_to_add_one(harness: BotHarness) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    lee = harness.user(LEAD_A, "Lee")
    await create_cohort(harness, lee, "Alpha")
    ada = harness.user(ADMIN, "Ada")
    assert_no_error(await ada.send("/cohorts"))
    assert_no_error(await ada.press("Alpha"))
    assert_no_error(await ada.press(HAND))
    assert "/addlead" in screen(ada)
    assert ada.current_labels() == [CANCEL]


async def test_a_lead_sees_no_hand_button(harness: BotHarness) -> None:
    _, lee, _ = await setting(harness)
    assert_no_error(await lee.send("/cohorts"))
    assert_no_error(await lee.press("Alpha"))
    assert HAND not in lee.current_labels()
    assert "Lead:" not in screen(lee)


async def test_the_cli_hands_a_cohort(
    harness: BotHarness, database_url: str, tmp_path: Path
) -> None:
    _, _, alpha = await setting(harness)
    env = clean_env(tmp_path, DATABASE_URL=database_url, ADMIN_IDS="900")
    handed = run_careerbot("cohort", "hand", str(alpha.id), str(LEAD_C), cwd=tmp_path, env=env)
    assert handed.returncode == 0, handed.stderr
    assert f"cohort {alpha.id} (Alpha) is now led by Cy ({LEAD_C})" in handed.stdout
    assert (await cohort_row(harness, alpha.id)).lead_id == LEAD_C
    before = await cohort_rows(harness)
    for args, said in (
        ((str(alpha.id), "2001"), "2001 is not a program lead"),
        (("99999", str(LEAD_B)), "cohort 99999: no such cohort"),
        (("abc", str(LEAD_B)), "not a cohort id: 'abc'"),
        ((str(alpha.id), "-5"), "careerbot cohort hand"),
        ((str(2**40), str(LEAD_B)), "not a cohort id"),
    ):
        result = run_careerbot("cohort", "hand", *args, cwd=tmp_path, env=env)
        assert result.returncode != 0, args
        assert said in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert await cohort_rows(harness) == before
