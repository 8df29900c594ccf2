"""The starter project: steps, notes typed as messages, iterations and /progress."""

import pytest
from sqlalchemy import select

from bot.app import Content
from bot.content.models import Profile
from bot.db.models import (
    CareerReason,
    FsmRecord,
    ProjectEntry,
    ProjectStepDone,
    UnansweredQuestion,
)
from bot.standin.conversation import Conversation
from tests.conftest import BotHarness
from tests.feature_support import (
    DIALOGS,
    DONE,
    LOG_ITERATION,
    NOTE_LIMIT,
    REASONS,
    SOUNDS_RIGHT,
    WRITE_ANSWER,
    assert_menu_changed,
    assert_no_error,
    at_each_answer,
    count,
    data_of,
    do_steps,
    entries,
    events,
    go_to_step,
    profile_of,
    project,
    project_button,
    scalars,
    screen,
    shown,
    start_project,
    step_by_id,
    steps_done,
    take_checklist,
    toasts,
    write_note,
)

PHOTO = {"photo": [{"file_id": "ph", "file_unique_id": "ph", "width": 90, "height": 90}]}
STICKER = {
    "sticker": {
        "file_id": "st",
        "file_unique_id": "st",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
}


@pytest.fixture
def profile(content: Content) -> Profile:
    return profile_of(content)


def step_context(profile: Profile, step_id: str) -> dict[str, object]:
    """What the dialog messages about a step may refer to, from the profile."""
    step = step_by_id(profile, step_id)
    return {"step": {"step": {"title": step.title, "note_prompt": step.note_prompt}}}


def bar_share(text: str) -> float:
    """The filled share of the progress bar in a screen."""
    filled, empty = text.count("▰"), text.count("▱")
    assert filled + empty > 0, f"no progress bar in {text!r}"
    return filled / (filled + empty)


async def test_start_the_project_shows_the_first_step(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await sam.send("/start")
    replies = await sam.press(project_button(profile))
    assert_no_error(replies)
    text = screen(sam)
    assert profile.project.title in text and profile.project.text in text
    for step in profile.project.steps:
        assert step.title in text
    assert await project(harness, 1001) is None, "opening the screen starts nothing"
    replies = await sam.press("▶️ Start the project")
    assert_no_error(replies)
    first = profile.project.steps[0]
    text = screen(sam)
    assert f"step 1 of {len(profile.project.steps)}" in text
    assert first.title in text and first.text in text
    started = await project(harness, 1001)
    assert started is not None and started.finished_at is None
    assert await events(harness, 1001, "project") == {"project:start": 1}


async def test_a_note_is_saved_and_marks_the_step_done(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    first = profile.project.steps[0]
    assert first.note_prompt and not first.repeatable
    await start_project(sam, profile)
    replies = await sam.press(WRITE_ANSWER)
    assert_no_error(replies)
    prompt = screen(sam)
    assert first.note_prompt in prompt
    assert str(NOTE_LIMIT) in prompt
    note = "  Dreamy lo-fi & <rainy> evening  "
    replies = await sam.send(note)
    assert_no_error(replies)
    assert await entries(harness, 1001) == [(first.id, 1, note.strip())]
    assert await steps_done(harness, 1001) == [first.id]
    text = screen(sam)
    assert note.strip() in text, "the note is shown back, as typed"
    assert f"{first.title} ✅" in text
    # Only the next message was the note.
    await sam.send("something else")
    assert await entries(harness, 1001) == [(first.id, 1, note.strip())]


async def test_changing_the_answer_replaces_the_note(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    first = profile.project.steps[0]
    await start_project(sam, profile)
    await write_note(sam, "techno, dark")
    await write_note(sam, "ambient, calm", "✏️ Change my answer")
    assert await entries(harness, 1001) == [(first.id, 1, "ambient, calm")]
    shown = screen(sam)
    assert "ambient, calm" in shown and "techno, dark" not in shown, "the new note is shown"
    assert await steps_done(harness, 1001) == [first.id]
    assert (await events(harness, 1001, "step"))[f"step:{first.id}"] == 1


@pytest.mark.parametrize("kind", ["photo", "sticker"])
async def test_a_photo_or_sticker_instead_of_the_note_is_refused(
    harness: BotHarness, profile: Profile, kind: str
) -> None:
    sam = harness.user()
    first = profile.project.steps[0]
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    replies = await sam.send_message(PHOTO if kind == "photo" else STICKER)
    assert_no_error(replies)
    expected = DIALOGS.message("note_needs_text", **step_context(profile, first.id))
    assert expected in [reply.text for reply in replies]
    assert await entries(harness, 1001) == []
    assert await steps_done(harness, 1001) == []
    # Still waiting for the note.
    await sam.send("jazzy house")
    assert await entries(harness, 1001) == [(first.id, 1, "jazzy house")]


async def test_a_blank_note_is_refused(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    first = profile.project.steps[0]
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    replies = await sam.send(" \n\t  ")
    assert_no_error(replies)
    expected = DIALOGS.message("note_empty", **step_context(profile, first.id))
    assert expected in [reply.text for reply in replies]
    assert await entries(harness, 1001) == []
    await sam.send("synthwave")
    assert await entries(harness, 1001) == [(first.id, 1, "synthwave")]


async def test_a_note_over_the_limit_is_refused_naming_the_limit(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    first = profile.project.steps[0]
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    too_long = "a" * (NOTE_LIMIT + 1)
    replies = await sam.send(too_long)
    assert_no_error(replies)
    refusals = [reply.text for reply in replies if reply.method == "sendMessage"]
    assert len(refusals) == 1
    assert str(NOTE_LIMIT) in refusals[0]
    expected = DIALOGS.message(
        "note_too_long", limit=NOTE_LIMIT, length=len(too_long), **step_context(profile, first.id)
    )
    assert refusals[0] == expected
    assert await entries(harness, 1001) == []
    # Exactly at the limit is fine, and the wait was still on.
    longest = "b" * NOTE_LIMIT
    await sam.send(longest)
    assert await entries(harness, 1001) == [(first.id, 1, longest)]


async def test_the_wait_for_a_note_survives_a_restart(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    first = profile.project.steps[0]
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    await harness.restart()
    sam = harness.user()
    replies = await sam.send("drum and bass, energetic")
    assert_no_error(replies)
    assert await entries(harness, 1001) == [(first.id, 1, "drum and bass, energetic")]
    assert await steps_done(harness, 1001) == [first.id]
    assert await count(harness, FsmRecord) == 0, "the wait is over once the note is saved"


async def test_a_command_while_waiting_cancels_the_wait(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    replies = await sam.send("/menu")
    assert_no_error(replies)
    assert "Where do you want to start?" in shown(replies)[-1]
    await sam.send("trap, moody")
    assert await entries(harness, 1001) == []
    assert await steps_done(harness, 1001) == []


async def test_a_button_while_waiting_cancels_the_wait(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    replies = await sam.press("✖️ Cancel")
    assert_no_error(replies)
    assert profile.project.steps[0].text in screen(sam)
    await sam.send("trap, moody")
    assert await entries(harness, 1001) == []


async def test_done_on_a_step_without_text_moves_on(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    steps = profile.project.steps
    await start_project(sam, profile)
    await write_note(sam, "lo-fi, chill")
    await go_to_step(sam, 2)
    assert steps[1].note_prompt is None and not steps[1].repeatable
    assert steps[1].title in screen(sam)
    replies = await sam.press(DONE)
    assert_no_error(replies)
    assert await steps_done(harness, 1001) == [steps[0].id, steps[1].id]
    text = screen(sam)
    assert f"step 3 of {len(steps)}" in text and steps[2].title in text


async def test_two_iterations_with_a_restart_in_between(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    iterate = profile.project.steps[2]
    assert iterate.repeatable and iterate.note_prompt
    await start_project(sam, profile)
    await do_steps(sam, profile, 2)
    assert iterate.title in screen(sam)
    replies = await sam.press(LOG_ITERATION)
    assert_no_error(replies)
    assert iterate.note_prompt in screen(sam)
    await sam.send("more bass in the chorus")
    assert "Iterations logged: 1" in screen(sam)
    await harness.restart()
    sam = harness.user()
    await write_note(sam, "slower tempo", LOG_ITERATION)
    assert await entries(harness, 1001) == [
        (profile.project.steps[0].id, 1, "my answer for mood"),
        (iterate.id, 1, "more bass in the chorus"),
        (iterate.id, 2, "slower tempo"),
    ]
    text = screen(sam)
    assert "Iterations logged: 2" in text
    assert "#1: more bass in the chorus" in text and "#2: slower tempo" in text
    assert iterate.id not in await steps_done(harness, 1001), "iterating doesn't finish it"
    assert (await events(harness, 1001, "iteration"))[f"iteration:{iterate.id}"] == 2
    # Coming back after another restart shows the same.
    await harness.restart()
    sam = harness.user()
    replies = await sam.send("/progress")
    assert "Iterations logged: 2" in shown(replies)[-1]
    await sam.press("▶️ Continue")
    text = screen(sam)
    assert "#1: more bass in the chorus" in text and "#2: slower tempo" in text


async def test_double_tap_of_done_marks_the_step_once(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    steps = profile.project.steps
    await start_project(sam, profile)
    await do_steps(sam, profile, 1)
    assert steps[1].title in screen(sam)
    data, message_id = data_of(sam, DONE)
    first = await sam.press_data(data, message_id)
    second = await sam.press_data(data, message_id)
    assert_no_error(first + second)
    assert await steps_done(harness, 1001) == [steps[0].id, steps[1].id]
    assert (await events(harness, 1001, "step"))[f"step:{steps[1].id}"] == 1
    assert steps[2].title in screen(sam), "the next step is not skipped or marked"


async def test_double_tap_of_log_an_iteration_logs_one(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    iterate = profile.project.steps[2]
    await start_project(sam, profile)
    await do_steps(sam, profile, 2)
    data, message_id = data_of(sam, LOG_ITERATION)
    await sam.press_data(data, message_id)
    replies = await sam.press_data(data, message_id)
    assert_no_error(replies)
    await sam.send("brighter synths")
    await sam.send("brighter synths")  # the second message is not a note any more
    assert [e for e in await entries(harness, 1001) if e[0] == iterate.id] == [
        (iterate.id, 1, "brighter synths")
    ]
    assert (await events(harness, 1001, "iteration"))[f"iteration:{iterate.id}"] == 1
    # A stale "log an iteration" for the first iteration doesn't add a second one.
    await sam.press_data(data, message_id)
    await sam.send("another try")
    assert [e for e in await entries(harness, 1001) if e[0] == iterate.id] == [
        (iterate.id, 1, "brighter synths")
    ]


async def test_forged_done_for_a_step_not_reached_is_refused(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    steps = profile.project.steps
    await start_project(sam, profile)
    await do_steps(sam, profile, 1)
    for step in steps[2:]:
        replies = await sam.press_data(f"a:project_done:{step.id}")
        assert_no_error(replies)
        assert DIALOGS.message("step_not_reached") in toasts(replies)
    assert await steps_done(harness, 1001) == [steps[0].id]
    started = await project(harness, 1001)
    assert started is not None and started.finished_at is None
    assert await events(harness, 1001, "step") == {f"step:{steps[0].id}": 1}
    assert await count(harness, ProjectStepDone) == 1


@pytest.mark.parametrize(
    "data",
    [
        "a:project_note:cover.1",  # a step not reached
        "a:project_step:done",
        "a:project_log:iterate.1",
        "a:project_note:nosuchstep.1",
        "a:project_note:mood",
        "a:project_note:mood.x",
        "a:project_remind:maybe",
    ],
)
async def test_forged_project_buttons_change_nothing(
    harness: BotHarness, profile: Profile, data: str
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    replies = await sam.press_data(data)
    assert_menu_changed(replies)
    await sam.send("a note nobody asked for")
    assert await entries(harness, 1001) == []
    assert await steps_done(harness, 1001) == []
    assert await count(harness, FsmRecord) == 0


async def test_done_before_starting_is_refused(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    await sam.send("/start")
    replies = await sam.press_data(f"a:project_done:{profile.project.steps[0].id}")
    assert_no_error(replies)
    assert await project(harness, 1001) is None
    assert await count(harness, ProjectStepDone) == 0
    assert await count(harness, ProjectEntry) == 0


async def test_progress_shows_the_checklist_result_and_the_project(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    steps = profile.project.steps
    fits, misfits = profile.checklist.fits, profile.checklist.misfits
    given = ["yes", "no", "yes", "unsure"][: len(fits)] + ["yes", "no", "no"][: len(misfits)]
    await take_checklist(sam, given)
    await start_project(sam, profile)
    await do_steps(sam, profile, 2)
    replies = await sam.send("/progress")
    assert_no_error(replies)
    text = shown(replies)[-1]
    recognised = given[: len(fits)].count("yes")
    warnings = given[len(fits) :].count("yes")
    assert (
        f"Recognised {recognised} of {len(fits)} signs it fits, "
        f"and {warnings} of {len(misfits)} warning signs" in text
    )
    assert f"2/{len(steps)}" in text
    assert bar_share(text) == pytest.approx(2 / len(steps))
    assert f"Next: {steps[2].title}" in text
    assert f"▶️ Continue: {steps[2].title}" in sam.current_labels()


async def test_progress_before_anything_is_done(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    replies = await sam.send("/progress")
    assert_no_error(replies)
    text = shown(replies)[-1]
    assert profile.project.title in text
    assert "Not taken yet" in text and "Not started yet" in text
    assert "▶️ Start the project" not in text


async def test_finishing_every_step_finishes_the_project_once(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    steps = profile.project.steps
    await start_project(sam, profile)
    await do_steps(sam, profile, len(steps) - 1)
    assert steps[-1].title in screen(sam)
    data, message_id = data_of(sam, DONE)
    first = await sam.press_data(data, message_id)
    second = await sam.press_data(data, message_id)
    assert_no_error(first + second)
    assert sorted(await steps_done(harness, 1001)) == sorted(step.id for step in steps)
    finished = await project(harness, 1001)
    assert finished is not None and finished.finished_at is not None
    assert (await events(harness, 1001, "project"))["project:finish"] == 1
    assert f"You finished {profile.project.title}!" in screen(sam)
    # Pressing the last "done" again later neither moves nor repeats the finish.
    await sam.press_data(f"a:project_done:{steps[-1].id}")
    again = await project(harness, 1001)
    assert again is not None and again.finished_at == finished.finished_at
    assert (await events(harness, 1001, "project"))["project:finish"] == 1
    replies = await sam.send("/progress")
    text = shown(replies)[-1]
    assert f"{len(steps)}/{len(steps)}" in text and "Finished" in text
    assert bar_share(text) == 1


async def test_it_sounds_right_ends_the_iterations(harness: BotHarness, profile: Profile) -> None:
    sam = harness.user()
    steps = profile.project.steps
    await start_project(sam, profile)
    await do_steps(sam, profile, 2)
    await write_note(sam, "first pass", LOG_ITERATION)
    replies = await sam.press(SOUNDS_RIGHT)
    assert_no_error(replies)
    assert await steps_done(harness, 1001) == [s.id for s in steps[:3]]
    assert steps[3].title in screen(sam)


async def test_a_note_is_committed_before_the_bot_answers(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    first = profile.project.steps[0]
    await start_project(sam, profile)
    await sam.press(WRITE_ANSWER)
    async with at_each_answer(harness, lambda: entries(harness, 1001)) as seen:
        replies = await sam.send("chillwave, hazy")
    assert_no_error(replies)
    assert seen, "the bot answered"
    assert all(snapshot == [(first.id, 1, "chillwave, hazy")] for snapshot in seen), seen


async def test_done_is_committed_before_the_bot_answers(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    steps = profile.project.steps
    await start_project(sam, profile)
    await do_steps(sam, profile, 1)
    async with at_each_answer(harness, lambda: steps_done(harness, 1001)) as seen:
        replies = await sam.press(DONE)
    assert_no_error(replies)
    assert seen
    assert all(snapshot == [steps[0].id, steps[1].id] for snapshot in seen), seen


# Text typed on a project screen that is no question: offered as a note (issue 18, item 6)

KEEP = "📝 Keep it as a note"
NOT_A_NOTE = "✖️ No, back to the step"
TYPED_NOTE = "went with a rainy lo-fi mood & slow <b>tempo</b>"


async def test_text_typed_on_a_step_is_offered_as_its_note(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    replies = await sam.send(TYPED_NOTE)
    assert_no_error(replies)
    offer = screen(sam)
    assert TYPED_NOTE in offer and profile.project.steps[0].title in offer
    assert "I don't know that one" not in offer
    assert await count(harness, UnansweredQuestion) == 0  # a note is no question for authors
    await sam.press(KEEP)
    assert TYPED_NOTE in screen(sam) and "Your notes:" in screen(sam)
    assert await entries(harness, 1001) == [("mood", 1, TYPED_NOTE)]
    # The offer is used up: a second tap keeps nothing more.
    assert_menu_changed(await sam.press_data("a:project_keep_note:mood"))
    assert await entries(harness, 1001) == [("mood", 1, TYPED_NOTE)]


async def test_on_a_repeatable_step_the_note_is_a_new_iteration(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    await do_steps(sam, profile, 2)  # now on "iterate", which logs iterations
    for text in ("made the drums punchier", "slowed the whole thing down"):
        await sam.send(text)
        await sam.press(KEEP)
    found = [entry for entry in await entries(harness, 1001) if entry[0] == "iterate"]
    assert found == [
        ("iterate", 1, "made the drums punchier"),
        ("iterate", 2, "slowed the whole thing down"),
    ]


async def test_questions_and_other_places_are_not_taken_for_notes(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    await sam.send("how much do they earn")
    assert KEEP not in sam.current_labels()  # a question the bot answers stays a question
    await sam.send("/menu")
    await sam.press(project_button(profile))
    await sam.press("▶️ Continue: ")
    await sam.send("x" * (NOTE_LIMIT + 1))  # too long for a note: answered as a question
    assert KEEP not in sam.current_labels()
    await sam.send("/menu")
    await sam.send("went with a rainy lo-fi mood")  # not on the project: no offer
    assert KEEP not in sam.current_labels()
    assert await entries(harness, 1001) == []


async def test_declining_or_forging_the_offer_keeps_nothing(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    await sam.send(TYPED_NOTE)
    await sam.press(NOT_A_NOTE)
    assert profile.project.steps[0].title in screen(sam)
    await sam.send(TYPED_NOTE)
    for forged in ("a:project_keep_note:cover", "a:project_keep_note:", "a:project_keep_note:x.y"):
        assert_menu_changed(await sam.press_data(forged))
    alex = harness.user(2002, "Alex")
    await start_project(alex, profile)
    assert_menu_changed(await alex.press_data("a:project_keep_note:mood"))  # not Alex's offer
    assert await entries(harness, 1001) == [] and await entries(harness, 2002) == []


# The finish (issue 18, item 4): how it felt, the checklist again, the passport


async def finish_project(sam: Conversation, profile: Profile, started: bool = False) -> None:
    if not started:
        await start_project(sam, profile)
    await do_steps(sam, profile, len(profile.project.steps) - 1)
    assert_no_error(await sam.press(DONE))


async def test_the_finish_asks_how_it_felt_and_offers_the_checklist_again(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await take_checklist(sam, ["yes"] * 4 + ["no"] * 3)
    await finish_project(sam, profile)
    text = screen(sam)
    assert "How did it feel?" in text
    assert "the fit checklist said it sounded a lot like you (4 of 4 fit signs" in text
    assert profile.closing not in text  # "Pick a project and see how it feels" is for before
    labels = sam.current_labels()
    assert "🔁 Retake the fit checklist" in labels and "🪪 My career passport" in labels
    first = REASONS[0]["label"]
    assert_no_error(await sam.press(first))
    assert f"You said: {first}" in screen(sam)
    finish = select(CareerReason.reason).where(CareerReason.moment == "finish")
    assert await scalars(harness, finish) == [REASONS[0]["id"]]
    # The last step stays a tap away, and the finish a tap from it.
    await sam.press("📝 My project and notes")
    assert profile.project.steps[-1].title in screen(sam)
    await sam.press("🏁 How did it feel?")
    assert f"You said: {first}" in screen(sam)
    await sam.press("🔁 Retake the fit checklist")
    assert f"1/{len(profile.checklist.fits) + len(profile.checklist.misfits)}" in screen(sam)


async def test_a_finish_reason_before_the_finish_is_refused(
    harness: BotHarness, profile: Profile
) -> None:
    sam = harness.user()
    await start_project(sam, profile)
    assert_menu_changed(await sam.press_data(f"a:reason:finish.{REASONS[0]['id']}"))
    assert await scalars(harness, select(CareerReason.id)) == []
    await sam.press_data(f"a:project_step:{profile.project.steps[0].id}")
    await finish_project(sam, profile, started=True)
    assert "🔁 Take the fit checklist" in sam.current_labels()  # none taken before


async def test_a_note_sharing_the_steps_words_is_still_offered_as_a_note(
    harness: BotHarness, profile: Profile
) -> None:
    """A note on "Pick a mood and genre" says "mood": the card's passages would quote the
    step back. Not phrased as a question, it is offered as a note; a question is answered."""
    sam = harness.user()
    await start_project(sam, profile)
    await sam.send("went with a rainy lo-fi mood")
    assert KEEP in sam.current_labels()
    await sam.press(NOT_A_NOTE)
    await sam.send("what mood should i pick?")
    assert KEEP not in sam.current_labels()
