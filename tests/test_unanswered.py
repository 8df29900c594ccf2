"""Unanswered questions for leads and admins, through the Dispatcher: texts only, masked,
escaped, newest first and paged; a lead sees their own cohorts' students who agreed to
share, an admin every student; anyone else is refused."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.db.models import Student, UnansweredQuestion, utcnow
from bot.engine.keyboard import action_data
from bot.features.unanswered.service import PAGE_SIZE
from bot.standin.conversation import Conversation
from tests.cohort_support import (
    ADMIN,
    ALL_COHORTS,
    LEAD_A,
    LEAD_B,
    MENU_CHANGED,
    NEW_COHORT,
    UNKNOWN_COMMAND,
    CohortRef,
    all_text_to,
    create_cohort,
    grant_lead,
    join_students,
    open_cohort,
    replies_text,
)
from tests.conftest import BotHarness
from tests.feature_support import DIALOGS, assert_no_error, screen, student_id, toasts
from tests.tour_support import plain

# Labels and wording as written in dialogs/unanswered.yaml, cohorts.yaml and stats.yaml.
UNANSWERED = "❓ Unanswered questions"
NEWER, OLDER = "⬅️ Newer", "Older ➡️"
BACK_TO_COHORT = "⬅️ Back to the cohort"
REFUSED = DIALOGS.message("unanswered_refused")
NONE_YET = "No unanswered questions yet."

SECRET = "I'm Zoe, text me on +44 7946 095899 or zoe.k@mail.com, I live at 12 Oak Street"
MASKED = "I'm [name], text me on [phone] or [e-mail], I live at [address]"


async def as_lead(harness: BotHarness, telegram_id: int, name: str) -> Conversation:
    await grant_lead(harness, telegram_id, name)
    return harness.user(telegram_id, name)


async def ask(
    harness: BotHarness, telegram_id: int, text: str, days_ago: float = 0, shares: bool = True
) -> None:
    """A question the bot could not answer, stored as the questions feature stores it; and
    whether its student agreed to share."""
    sid = await student_id(harness, telegram_id)
    async with harness.database.session_factory() as session:
        session.add(
            UnansweredQuestion(
                student_id=sid, text=text, created_at=utcnow() - timedelta(days=days_ago)
            )
        )
        await session.execute(update(Student).where(Student.id == sid).values(shares=shares))
        await session.commit()


async def name_student(harness: BotHarness, telegram_id: int, first_name: str) -> None:
    async with harness.database.session_factory() as session:
        await session.execute(
            update(Student).where(Student.telegram_id == telegram_id).values(first_name=first_name)
        )
        await session.commit()


async def class_of(harness: BotHarness, lead: Conversation, name: str, ids: list[int]) -> CohortRef:
    cohort = await create_cohort(harness, lead, name)
    await join_students(harness, cohort.code, ids)
    return cohort


async def open_unanswered(lead: Conversation, cohort_name: str) -> str:
    await open_cohort(lead, cohort_name)
    replies = await lead.press(UNANSWERED)
    assert_no_error(replies)
    return plain(screen(lead))


async def test_a_lead_sees_their_cohorts_questions_masked_newest_first(
    harness: BotHarness,
) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    alpha = await class_of(harness, lee, "Alpha 9A", [2001, 2002, 2003])
    await ask(harness, 2001, SECRET, days_ago=2)
    await name_student(harness, 2001, "Katya")
    await ask(harness, 2002, "Does katya like <b>pilots</b> & drones?", days_ago=1)
    await ask(harness, 2003, "Not shared: what do vets earn?", shares=False)

    shown = await open_unanswered(lee, alpha.name)
    assert "Alpha 9A" in shown
    assert MASKED in shown and "Zoe" not in shown and "7946" not in shown
    assert "zoe.k" not in shown and "Oak" not in shown
    # The classmate's first name is masked too; the HTML stays text.
    sent = all_text_to(harness, LEAD_A)
    assert "Does [name] like &lt;b&gt;pilots&lt;/b&gt; &amp; drones?" in sent
    assert "Katya" not in shown and "katya" not in shown
    assert shown.index("Does [name]") < shown.index(MASKED)
    day = (utcnow() - timedelta(days=2)).date().isoformat()
    assert f"{day} · {MASKED}" in shown
    # A student who did not agree to share: nothing of theirs reaches the lead.
    assert "vets" not in shown
    # Never who asked.
    assert "S2001" not in shown and "S2002" not in shown
    assert BACK_TO_COHORT in lee.current_labels() and ALL_COHORTS in lee.current_labels()
    assert_no_error(await lee.press(BACK_TO_COHORT))
    assert UNANSWERED in lee.current_labels()


async def test_the_questions_page_from_newest_to_oldest(harness: BotHarness) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    alpha = await class_of(harness, lee, "Alpha 9A", [2001])
    total = PAGE_SIZE + 3
    for number in range(total):
        await ask(harness, 2001, f"question number {number:02d}?", days_ago=total - number)
    first = await open_unanswered(lee, alpha.name)
    assert f"question number {total - 1:02d}?" in first
    assert "question number 00?" not in first
    assert f"Page 1 of 2 · {total} questions" in first
    assert NEWER not in lee.current_labels()
    assert_no_error(await lee.press(OLDER))
    second = plain(screen(lee))
    assert "question number 00?" in second and f"number {total - 1:02d}?" not in second
    assert "Page 2 of 2" in second and OLDER not in lee.current_labels()
    assert_no_error(await lee.press(NEWER))
    assert "Page 1 of 2" in plain(screen(lee))


async def test_an_empty_cohort_says_so(harness: BotHarness) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    alpha = await class_of(harness, lee, "Alpha 9A", [2001])
    assert NONE_YET in await open_unanswered(lee, alpha.name)


@pytest.mark.parametrize(
    "arg", ["{alpha}", "{alpha}.1", "{alpha}.2", "99999999", "0", "-1", "abc", "{alpha}.x", ""]
)
async def test_another_leads_cohort_or_a_forged_button_is_refused(
    harness: BotHarness, arg: str
) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    alpha = await class_of(harness, lee, "Alpha Secret", [2001])
    await ask(harness, 2001, "Alpha's private question?")
    bea = await as_lead(harness, LEAD_B, "Bea")
    await class_of(harness, bea, "Beta", [2101])

    replies = await bea.press_data(action_data("unanswered", arg.format(alpha=alpha.id)))
    assert_no_error(replies)
    assert REFUSED in toasts(replies)
    assert "Beta" in bea.current_labels() and NEW_COHORT in bea.current_labels()
    seen = all_text_to(harness, LEAD_B) + replies_text(replies)
    assert "private question" not in seen and alpha.name not in seen


async def test_a_lead_sees_all_their_cohorts_from_stats_and_no_one_elses(
    harness: BotHarness,
) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    await class_of(harness, lee, "Alpha", [2001])
    await class_of(harness, lee, "Gamma", [2002])
    bea = await as_lead(harness, LEAD_B, "Bea")
    await class_of(harness, bea, "Beta", [2101])
    await ask(harness, 2001, "alpha asks about drones?")
    await ask(harness, 2002, "gamma asks about pay?")
    await ask(harness, 2101, "beta asks about hours?")

    assert_no_error(await lee.send("/stats"))
    replies = await lee.press(UNANSWERED)
    assert_no_error(replies)
    shown = plain(screen(lee))
    assert "your cohorts" in shown
    assert "alpha asks" in shown and "gamma asks" in shown and "beta asks" not in shown
    # The "all" page of a lead is theirs only, however it is reached.
    replies = await bea.press_data(action_data("unanswered", "all"))
    assert_no_error(replies)
    shown = plain(screen(bea))
    assert "beta asks" in shown and "alpha asks" not in shown and "gamma asks" not in shown


async def test_unanswered_command_shows_the_viewers_own_questions(
    harness: BotHarness,
) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    await class_of(harness, lee, "Alpha", [2001])
    bea = await as_lead(harness, LEAD_B, "Bea")
    await class_of(harness, bea, "Beta", [2101])
    await ask(harness, 2001, SECRET)
    await ask(harness, 2101, "beta asks about hours?")
    replies = await lee.send("/unanswered")
    assert_no_error(replies)
    shown = plain(replies[-1].text)
    assert "your cohorts" in shown and MASKED in shown
    assert "beta asks" not in shown and "Zoe" not in shown
    # Junk after the command changes nothing; a student gets the unknown-command answer.
    assert plain((await lee.send("/unanswered <b>x</b> \u0000")).pop().text) == shown
    student = harness.user(2001, "S2001")
    replies = await student.send("/unanswered")
    assert "beta asks" not in replies_text(replies) and "Zoe" not in replies_text(replies)
    assert UNKNOWN_COMMAND in replies_text(replies)


async def test_a_student_cannot_open_it(harness: BotHarness) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    alpha = await class_of(harness, lee, "Alpha", [2001, 2002])
    await ask(harness, 2001, "a classmate's secret question?")
    sam = harness.user(2002, "S2002")
    for arg in (str(alpha.id), "all", f"{alpha.id}.1"):
        replies = await sam.press_data(action_data("unanswered", arg))
        assert_no_error(replies)
        assert MENU_CHANGED in toasts(replies)
        assert "secret question" not in replies_text(replies)
    assert "secret question" not in all_text_to(harness, 2002)


async def test_an_admin_sees_every_students_questions_masked(harness: BotHarness) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    alpha = await class_of(harness, lee, "Alpha", [2001, 2002])
    await ask(harness, 2001, SECRET)
    await ask(harness, 2002, "my name is Olek, can I be a vet?", shares=False)
    loner = harness.user(2500, "Mira")
    assert_no_error(await loner.send("/start"))
    await ask(harness, 2500, "Mira here: mira@example.org, call 555-1234")

    ada = harness.user(ADMIN, "Ada")
    # A cohort of any lead, sharing or not.
    await open_cohort(ada, alpha.name)
    replies = await ada.press(UNANSWERED)
    assert_no_error(replies)
    shown = plain(screen(ada))
    assert MASKED in shown and "my name is [name], can I be a vet?" in shown
    assert "Only students who agreed to share" not in shown
    # Every student, from /stats.
    assert_no_error(await ada.send("/stats"))
    assert_no_error(await ada.press(UNANSWERED))
    shown = plain(screen(ada))
    assert "all students" in shown
    assert "[name] here: [e-mail], call [phone]" in shown
    for secret in ("Zoe", "Olek", "Mira", "mira@", "555-1234", "7946"):
        assert secret not in shown


async def test_the_admins_top_texts_in_stats_are_masked(harness: BotHarness) -> None:
    sam = harness.user(2001, "Sam")
    assert_no_error(await sam.send("/start"))
    await ask(harness, 2001, SECRET)
    ada = harness.user(ADMIN, "Ada")
    replies = await ada.send("/stats")
    assert_no_error(replies)
    shown = replies_text(replies)
    assert MASKED in plain(shown)
    assert "7946" not in shown and "zoe.k" not in shown and "Oak Street" not in shown


async def test_hostile_text_is_escaped_masked_and_split(harness: BotHarness) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    alpha = await class_of(harness, lee, "Alpha", [2001])
    # As long as a stored question may be (300 characters), a page full of them.
    hostile = (
        '</b><a href="tg://x">x</a>&amp;{{ 7*7 }}{% if 1 %}\x01 call 555-123-4567 '
        + "1-" * 60
        + "Zoe@x.io "
        + "blah " * 60
    )[:300]
    assert "Zoe@x.io" in hostile
    for _ in range(PAGE_SIZE - 1):
        await ask(harness, 2001, hostile)
    await ask(harness, 2001, ("I'm Zoe " * 40)[:300])
    await open_unanswered(lee, alpha.name)
    everything = all_text_to(harness, LEAD_A)
    shown = plain(everything)
    assert '<a href="tg://x">' not in everything and "&lt;/b&gt;" in everything
    assert "{{ 7*7 }}" in shown and "49" not in shown
    assert "555-123-4567" not in everything and "Zoe@x.io" not in everything
    assert "Zoe" not in everything
    assert "[phone]" in shown and "[e-mail]" in shown


async def test_a_students_own_mydata_shows_their_question_as_typed(harness: BotHarness) -> None:
    lee = await as_lead(harness, LEAD_A, "Lee")
    await class_of(harness, lee, "Alpha", [2001])
    await ask(harness, 2001, SECRET)
    zoe = harness.user(2001, "S2001")
    replies = await zoe.send("/mydata")
    assert_no_error(replies)
    assert SECRET in plain(replies_text(replies))
    assert "[phone]" not in replies_text(replies)
