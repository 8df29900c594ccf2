"""The fit checklist walkthrough, driven through the real Dispatcher on SQLite and PostgreSQL."""

import pytest

from bot.app import Content
from bot.content.models import Profile
from bot.db.models import ChecklistAttempt
from tests.conftest import BotHarness
from tests.feature_support import (
    ANSWER_BUTTONS,
    ANSWER_WORDS,
    CHECKLIST_BUTTON,
    CHECKLIST_START,
    CONTINUE_LATER,
    PREVIOUS_SIGN,
    TAKE_AGAIN,
    all_answer_rows,
    answer_signs,
    answers,
    assert_menu_changed,
    assert_no_error,
    at_each_answer,
    attempts,
    count,
    data_of,
    events,
    open_checklist,
    profile_of,
    question_sign,
    screen,
    shown,
    signs,
    take_checklist,
    you_forms,
)


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


def result_lines(text: str, marker: str) -> list[str]:
    """The signs a result lists after a marker (✅ recognised, ⚠️ applies, 🤷 not sure)."""
    return [
        line.strip().removeprefix(marker).strip()
        for line in text.splitlines()
        if line.strip().startswith(marker)
    ]


def project_label(profile: Profile) -> str:
    return f"🚀 {profile.project.heading}: {profile.project.title}"


def mixed_answers(profile: Profile) -> list[str]:
    """yes / no / not sure in turn, over every sign."""
    cycle = ["yes", "no", "unsure"]
    return [cycle[index % 3] for index in range(len(signs(profile)))]


async def test_one_sign_at_a_time_fits_first_then_warning_signs(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    replies = await open_checklist(sam)
    assert_no_error(replies)
    assert CHECKLIST_START in sam.current_labels()
    await sam.press(CHECKLIST_START)
    every_sign = signs(profile)
    total = len(every_sign)
    assert total == len(profile.checklist.fits) + len(profile.checklist.misfits) == 7
    for index, sign in enumerate(every_sign):
        text = screen(sam)
        assert f"{index + 1}/{total}" in text
        assert question_sign(text, every_sign) == sign
        heading = (
            profile.checklist.fits_heading
            if index < len(profile.checklist.fits)
            else profile.checklist.misfits_heading
        )
        assert heading in text
        labels = sam.current_labels()
        assert [label for label in labels if label in ANSWER_BUTTONS.values()] == list(
            ANSWER_BUTTONS.values()
        )
        assert (PREVIOUS_SIGN in labels) == (index > 0), "no way back from the first sign"
        assert CONTINUE_LATER in labels
        replies = await sam.press(ANSWER_BUTTONS["yes"])
        assert_no_error(replies)
    assert "Your result" in screen(sam)


async def test_result_lists_exactly_the_signs_recognised_and_offers_the_project(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    given = mixed_answers(profile)
    replies = await take_checklist(sam, given)
    result = shown(replies)[-1]
    fits, misfits = you_forms(profile.checklist.fits), you_forms(profile.checklist.misfits)
    recognised = [sign for sign, answer in zip(fits, given, strict=False) if answer == "yes"]
    applying = [s for s, a in zip(misfits, given[len(fits) :], strict=True) if a == "yes"]
    every = you_forms([*profile.checklist.fits, *profile.checklist.misfits])
    unsure = [s for s, a in zip(every, given, strict=True) if a == "unsure"]
    assert result_lines(result, "✅") == recognised
    assert result_lines(result, "⚠️") == applying
    assert result_lines(result, "🤷") == unsure
    for sign, answer in zip(signs(profile), given, strict=True):
        if answer == "no":
            assert sign not in result, "a sign answered No is not listed"
    assert profile.project.title in result
    assert project_label(profile) in sam.current_labels()
    assert "🔗 Related careers" not in sam.current_labels()


async def test_a_clear_fit_is_sent_to_the_project(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    fits, misfits = you_forms(profile.checklist.fits), you_forms(profile.checklist.misfits)
    replies = await take_checklist(sam, ["yes"] * len(fits) + ["no"] * len(misfits))
    result = shown(replies)[-1]
    assert result_lines(result, "✅") == fits
    assert result_lines(result, "⚠️") == []
    assert profile.project.title in result
    assert project_label(profile) in sam.current_labels()
    replies = await sam.press(project_label(profile))
    assert_no_error(replies)
    assert profile.project.text in screen(sam)


async def test_a_weak_fit_is_pointed_to_related_careers(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    fits, misfits = you_forms(profile.checklist.fits), you_forms(profile.checklist.misfits)
    replies = await take_checklist(sam, ["no"] * len(fits) + ["yes"] * len(misfits))
    result = shown(replies)[-1]
    assert result_lines(result, "✅") == []
    assert result_lines(result, "⚠️") == misfits
    for career in profile.related:
        assert career.title in result
    labels = sam.current_labels()
    assert "🔗 Related careers" in labels
    assert project_label(profile) not in labels
    replies = await sam.press("🔗 Related careers")
    assert_no_error(replies)
    assert all(career.title in screen(sam) for career in profile.related)


async def test_answers_are_stored_per_student_and_career(
    harness: BotHarness, profile: Profile
) -> None:
    sam, alex = harness.user(1001, "Sam"), harness.user(1002, "Alex")
    sam_answers = mixed_answers(profile)
    alex_answers = ["no"] * len(signs(profile))
    await take_checklist(sam, sam_answers)
    await take_checklist(alex, alex_answers)
    [sam_attempt] = await attempts(harness, 1001)
    [alex_attempt] = await attempts(harness, 1002)
    assert sam_attempt.finished_at is not None and alex_attempt.finished_at is not None
    assert await answers(harness, sam_attempt.id) == dict(enumerate(sam_answers))
    assert await answers(harness, alex_attempt.id) == dict(enumerate(alex_answers))
    assert await count(harness, ChecklistAttempt) == 2
    # The last result is the student's own.
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    await sam.press("📋 My last result")
    fits = you_forms(profile.checklist.fits)
    expected = [sign for sign, answer in zip(fits, sam_answers, strict=False) if answer == "yes"]
    assert result_lines(screen(sam), "✅") == expected


async def test_previous_sign_goes_back_and_shows_the_earlier_answer(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    every_sign = signs(profile)
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["unsure", "yes"])
    assert question_sign(screen(sam), every_sign) == every_sign[2]
    replies = await sam.press(PREVIOUS_SIGN)
    assert_no_error(replies)
    text = screen(sam)
    assert question_sign(text, every_sign) == every_sign[1]
    assert f"2/{len(every_sign)}" in text
    assert f"Your answer so far: {ANSWER_WORDS['yes']}" in text
    await sam.press(PREVIOUS_SIGN)
    text = screen(sam)
    assert question_sign(text, every_sign) == every_sign[0]
    assert f"Your answer so far: {ANSWER_WORDS['unsure']}" in text
    assert PREVIOUS_SIGN not in sam.current_labels()
    # Changing the first answer updates it in place and moves on to the second sign.
    await sam.press(ANSWER_BUTTONS["no"])
    text = screen(sam)
    assert question_sign(text, every_sign) == every_sign[1]
    assert f"Your answer so far: {ANSWER_WORDS['yes']}" in text
    [attempt] = await attempts(harness, 1001)
    assert await answers(harness, attempt.id) == {0: "no", 1: "yes"}
    # Carrying on ends with every sign answered once, the changed answer kept.
    await answer_signs(sam, ["yes"] * (len(every_sign) - 1))
    stored = await answers(harness, attempt.id)
    assert stored == {0: "no", **{index: "yes" for index in range(1, len(every_sign))}}


async def test_leave_half_way_restart_and_resume_from_the_menu(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    every_sign = signs(profile)
    total = len(every_sign)
    given = mixed_answers(profile)
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, given[:3])
    replies = await sam.press(CONTINUE_LATER)
    assert_no_error(replies)
    await harness.restart()
    sam = harness.user()
    await sam.send("/menu")
    replies = await sam.press(CHECKLIST_BUTTON)
    assert_no_error(replies)
    assert f"You stopped at question 4 of {total}" in screen(sam)
    labels = sam.current_labels()
    assert f"▶️ Continue (4/{total})" in labels
    assert CHECKLIST_START not in labels
    await sam.press(f"▶️ Continue (4/{total})")
    text = screen(sam)
    assert f"4/{total}" in text
    assert question_sign(text, every_sign) == every_sign[3]
    # Back over the restart shows what was answered before it.
    await sam.press(PREVIOUS_SIGN)
    assert f"Your answer so far: {ANSWER_WORDS[given[2]]}" in screen(sam)
    await answer_signs(sam, given[2:])
    [attempt] = await attempts(harness, 1001)
    assert attempt.finished_at is not None
    assert await answers(harness, attempt.id) == dict(enumerate(given))


async def test_resume_after_a_restart_in_the_middle_of_a_question(
    harness: BotHarness, profile: Profile
) -> None:
    """No "continue later": the student simply stops answering, and comes back days later."""
    sam = harness.user()
    every_sign = signs(profile)
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["yes"] * 5)
    await harness.restart()
    sam = harness.user()
    await sam.send("/start")
    await sam.press(CHECKLIST_BUTTON)
    await sam.press(f"▶️ Continue (6/{len(every_sign)})")
    assert question_sign(screen(sam), every_sign) == every_sign[5]


async def test_retake_creates_a_new_attempt_and_keeps_the_old_one(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    every_sign = signs(profile)
    first = ["yes"] * len(every_sign)
    await take_checklist(sam, first)
    replies = await sam.press(TAKE_AGAIN)
    assert_no_error(replies)
    text = screen(sam)
    assert f"1/{len(every_sign)}" in text
    assert question_sign(text, every_sign) == every_sign[0]
    assert "Your answer so far" not in text, "a new attempt starts blank"
    await answer_signs(sam, ["no", "no"])
    old, new = await attempts(harness, 1001)
    assert old.finished_at is not None and new.finished_at is None
    assert await answers(harness, old.id) == dict(enumerate(first))
    assert await answers(harness, new.id) == {0: "no", 1: "no"}
    # Half way through the retake the menu offers both: carry on, or see the last result.
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    labels = sam.current_labels()
    assert f"▶️ Continue (3/{len(every_sign)})" in labels and "📋 My last result" in labels
    await sam.press("📋 My last result")
    assert result_lines(screen(sam), "✅") == you_forms(profile.checklist.fits)
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    await sam.press("▶️ Continue")
    await answer_signs(sam, ["no"] * (len(every_sign) - 2))
    old, new = await attempts(harness, 1001)
    assert old.finished_at is not None and new.finished_at is not None
    assert await answers(harness, old.id) == dict(enumerate(first))
    assert await events(harness, 1001, "checklist") == {
        "checklist:start": 2,
        "checklist:finish": 2,
    }


async def test_double_tap_of_start_opens_one_attempt(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    await open_checklist(sam)
    data, message_id = data_of(sam, CHECKLIST_START)
    await sam.press_data(data, message_id)
    replies = await sam.press_data(data, message_id)
    assert_no_error(replies)
    assert len(await attempts(harness, 1001)) == 1
    assert await events(harness, 1001, "checklist") == {"checklist:start": 1}


async def test_double_tap_of_an_answer_stores_it_once(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    every_sign = signs(profile)
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    data, message_id = data_of(sam, ANSWER_BUTTONS["yes"])
    await sam.press_data(data, message_id)
    replies = await sam.press_data(data, message_id)
    assert_no_error(replies)
    assert question_sign(screen(sam), every_sign) == every_sign[1], "no sign skipped"
    [attempt] = await attempts(harness, 1001)
    assert await answers(harness, attempt.id) == {0: "yes"}


async def test_double_tap_of_the_last_answer_finishes_once(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    total = len(signs(profile))
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["yes"] * (total - 1))
    data, message_id = data_of(sam, ANSWER_BUTTONS["no"])
    first = await sam.press_data(data, message_id)
    second = await sam.press_data(data, message_id)
    assert_no_error(first + second)
    assert "Your result" in screen(sam)
    [attempt] = await attempts(harness, 1001)
    assert attempt.finished_at is not None
    stored = await answers(harness, attempt.id)
    assert stored == {**{index: "yes" for index in range(total - 1)}, total - 1: "no"}
    assert len(await all_answer_rows(harness)) == total
    assert (await events(harness, 1001, "checklist"))["checklist:finish"] == 1


async def press_stale_earlier_sign(harness: BotHarness) -> None:
    """Sam answers sign 1 on the first message, carries on from a new menu message up to
    sign 5, then presses sign 2's "Yes" (Sam's answer to it) on the first message."""
    sam = harness.user()
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["yes"])
    old_data, old_message = data_of(sam, ANSWER_BUTTONS["yes"])  # sign 2, on the first message
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    await sam.press("▶️ Continue")
    assert sam.latest().message_id != old_message  # type: ignore[union-attr]
    await answer_signs(sam, ["yes", "no", "unsure"])
    [attempt] = await attempts(harness, 1001)
    before = await all_answer_rows(harness)
    assert await answers(harness, attempt.id) == {0: "yes", 1: "yes", 2: "no", 3: "unsure"}
    replies = await sam.press_data(old_data, old_message)
    assert_no_error(replies)
    assert await all_answer_rows(harness) == before, "the same answer again changes nothing"


async def test_stale_press_of_an_earlier_sign_changes_no_answer(
    harness: BotHarness, profile: Profile
) -> None:
    await press_stale_earlier_sign(harness)
    sam = harness.user()
    [attempt] = await attempts(harness, 1001)
    # The walk still ends with one answer per sign, each given once, and one finish.
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    await sam.press("▶️ Continue")
    while "Your result" not in screen(sam):
        text = screen(sam)
        earlier = next((word for word in ANSWER_WORDS.values() if f"so far: {word}" in text), None)
        key = next((k for k, word in ANSWER_WORDS.items() if word == earlier), "yes")
        await sam.press(ANSWER_BUTTONS[key])  # the answer given before, if any
    stored = await answers(harness, attempt.id)
    assert stored == {
        **{index: "yes" for index in range(len(signs(profile)))},
        2: "no",
        3: "unsure",
    }
    assert (await events(harness, 1001, "checklist"))["checklist:finish"] == 1


async def test_stale_press_of_an_earlier_sign_keeps_the_students_place(
    harness: BotHarness, profile: Profile
) -> None:
    await press_stale_earlier_sign(harness)
    sam = harness.user()
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    assert f"▶️ Continue (5/{len(signs(profile))})" in sam.current_labels()


async def test_stale_press_from_a_finished_attempt_changes_nothing(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    total = len(signs(profile))
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["yes"] * (total - 1))
    last_no, message_id = data_of(sam, ANSWER_BUTTONS["no"])
    await sam.press(ANSWER_BUTTONS["yes"])  # finishes the first attempt
    await sam.press(TAKE_AGAIN)
    await answer_signs(sam, ["no", "no"])
    before = await all_answer_rows(harness)
    # The old question's message now shows the retake; its old "No" is pressed again.
    replies = await sam.press_data(last_no, message_id)
    assert_no_error(replies)
    assert await all_answer_rows(harness) == before
    old, new = await attempts(harness, 1001)
    assert (await answers(harness, old.id))[total - 1] == "yes"
    assert old.finished_at is not None and new.finished_at is None
    assert (await events(harness, 1001, "checklist"))["checklist:finish"] == 1


@pytest.mark.parametrize(
    "forged",
    [
        "{other}.0.yes",  # an attempt that isn't there
        "999.0.yes",
        "{attempt}.6.yes",  # a sign not reached yet
        "{attempt}.7.yes",  # a sign that doesn't exist
        "{attempt}.x.yes",
        "x.y.z",
        "{attempt}.0.maybe",  # an answer that isn't offered
        "{attempt}",
        "",
    ],
)
async def test_forged_answers_get_the_menu_changed_note_and_change_nothing(
    harness: BotHarness, profile: Profile, forged: str
) -> None:
    sam = harness.user()
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["yes", "no"])
    [attempt] = await attempts(harness, 1001)
    before = await all_answer_rows(harness)
    arg = forged.format(attempt=attempt.id, other=attempt.id + 998)
    replies = await sam.press_data(f"a:checklist_answer:{arg}")
    assert_menu_changed(replies)
    assert await all_answer_rows(harness) == before
    [after] = await attempts(harness, 1001)
    assert (after.cursor, after.finished_at) == (attempt.cursor, attempt.finished_at)
    assert await events(harness, 1001, "checklist") == {"checklist:start": 1}
    # The walk carries on at the third sign.
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    assert f"▶️ Continue (3/{len(signs(profile))})" in sam.current_labels()


async def test_forged_back_before_the_first_sign_changes_nothing(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    [attempt] = await attempts(harness, 1001)
    for arg in (f"{attempt.id}.0", "x.1", f"{attempt.id + 998}.1"):
        replies = await sam.press_data(f"a:checklist_back:{arg}")
        assert_menu_changed(replies)
    assert await all_answer_rows(harness) == []


async def test_another_students_attempt_is_refused(harness: BotHarness, profile: Profile) -> None:
    sam, alex = harness.user(1001, "Sam"), harness.user(1002, "Alex")
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["yes", "yes"])
    await open_checklist(alex)
    await alex.press(CHECKLIST_START)
    [sam_attempt] = await attempts(harness, 1001)
    before = await all_answer_rows(harness)
    for data in (
        f"a:checklist_answer:{sam_attempt.id}.2.no",
        f"a:checklist_answer:{sam_attempt.id}.0.no",
        f"a:checklist_back:{sam_attempt.id}.2",
    ):
        replies = await alex.press_data(data)
        assert_menu_changed(replies)
    assert await all_answer_rows(harness) == before
    [after] = await attempts(harness, 1001)
    assert after.cursor == sam_attempt.cursor and after.finished_at is None
    assert await answers(harness, sam_attempt.id) == {0: "yes", 1: "yes"}
    [alex_attempt] = await attempts(harness, 1002)
    assert await answers(harness, alex_attempt.id) == {}
    # Sam carries on where Sam was.
    await sam.send("/menu")
    await sam.press(CHECKLIST_BUTTON)
    assert f"▶️ Continue (3/{len(signs(profile))})" in sam.current_labels()


async def test_answers_and_the_finish_are_committed_before_the_bot_answers(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    total = len(signs(profile))
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    [attempt] = await attempts(harness, 1001)
    async with at_each_answer(harness, lambda: answers(harness, attempt.id)) as seen:
        await sam.press(ANSWER_BUTTONS["unsure"])
    assert seen and all(snapshot == {0: "unsure"} for snapshot in seen), seen
    await answer_signs(sam, ["yes"] * (total - 2))

    async def finished() -> bool:
        [latest] = await attempts(harness, 1001)
        return latest.finished_at is not None

    async with at_each_answer(harness, finished) as seen:
        await sam.press(ANSWER_BUTTONS["no"])
    assert seen and all(seen), "the result is shown only once the finish is stored"
