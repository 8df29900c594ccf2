"""The student's journey as a phone shows it: a short menu with progress, a checklist that
asks the student, project steps that say how, plain words, and /mydata in sentences.

Through the real Dispatcher; the shipped catalog where every career must hold.
"""

import re

from bot.app import Content
from bot.content.models import Day, Moment, Profile
from bot.engine.keyboard import action_data, node_data
from tests.conftest import BotHarness
from tests.feature_support import (
    ANSWER_BUTTONS,
    CHECKLIST_BUTTON,
    CHECKLIST_START,
    answer_signs,
    assert_no_error,
    do_steps,
    open_checklist,
    profile_of,
    screen,
    shown,
    start_project,
    take_checklist,
)

MENU_LIMIT = 6
MORE = "➕ More"
PROGRESS_PREFIX = "📊 "


def menu_buttons(labels: list[str]) -> list[str]:
    return [label for label in labels if label != "🏠 Menu"]


async def test_every_careers_menu_fits_a_thumb(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/start")
    for profile in shipped_profiles(shipped):
        replies = await sam.press_data(action_data("career", profile.slug))
        assert_no_error(replies)
        labels = sam.current_labels()
        assert len(labels) <= MENU_LIMIT, f"{profile.slug}: {labels}"
        assert {"🛠 The job", "💰 Money & future", "🤔 Is it me?", "🚀 Try it", MORE} <= set(labels)
        assert profile.summary in screen(sam), "a career chosen opens a visit: the summary shows"


def shipped_profiles(harness: BotHarness) -> list[Profile]:
    return list(harness.content.catalog)


async def test_the_summary_shows_once_per_visit(harness: BotHarness, content: Content) -> None:
    profile = profile_of(content)
    sam = harness.user()
    await sam.send("/start")
    assert profile.summary in screen(sam)
    await sam.press("🛠 The job")
    await sam.press("🏠 Menu")
    again = screen(sam)
    assert profile.summary not in again and profile.title in again
    assert "What next?" in again
    await sam.press("💰 Money & future")
    await sam.press("🏠 Menu")
    assert profile.summary not in screen(sam)
    await sam.send("/menu")
    assert profile.summary in screen(sam), "/menu opens a new visit"


async def test_the_progress_line_counts_and_opens_progress(
    harness: BotHarness, content: Content
) -> None:
    profile = profile_of(content)
    total = len(profile.checklist.fits) + len(profile.checklist.misfits)
    sam = harness.user()
    await sam.send("/start")
    progress = [label for label in sam.current_labels() if label.startswith(PROGRESS_PREFIX)]
    assert progress == [f"📊 Checklist 0/{total} · project not started"]
    await sam.press(CHECKLIST_BUTTON)
    await sam.press(CHECKLIST_START)
    await answer_signs(sam, ["yes", "no", "unsure", "yes"])
    await start_project(sam, profile)
    await do_steps(sam, profile, 1)
    await sam.send("/menu")
    steps = len(profile.project.steps)
    expected = f"📊 Checklist 4/{total} · step 2 of {steps}"
    assert expected in sam.current_labels()
    replies = await sam.press(expected)
    assert_no_error(replies)
    assert f"Your progress · {profile.title}" in screen(sam)


async def test_the_checklist_lists_no_sign_before_it_is_asked(
    harness: BotHarness, content: Content
) -> None:
    profile = profile_of(content)
    sam = harness.user()
    await open_checklist(sam)
    overview = screen(sam)
    for sign in [*profile.checklist.fits, *profile.checklist.misfits]:
        assert sign.sign not in overview
    assert profile.suits in overview and profile.not_suited in overview


async def test_each_question_asks_the_student_and_keeps_the_cards_words(
    harness: BotHarness, content: Content
) -> None:
    profile = profile_of(content)
    sam = harness.user()
    await open_checklist(sam)
    await sam.press(CHECKLIST_START)
    for sign in [*profile.checklist.fits, *profile.checklist.misfits]:
        text = screen(sam)
        assert sign.ask and sign.ask in text
        assert sign.sign in text, "the card's sign stays visible, verbatim"
        assert "they " not in text.split(sign.sign)[0].split("\n", 2)[-1]
        await sam.press(ANSWER_BUTTONS["yes"])
    result = screen(sam)
    for sign in profile.checklist.fits:
        assert sign.you and sign.you in result
    assert "they " not in result.lower().replace(profile.project.title.lower(), "")


async def test_a_sign_without_question_forms_falls_back_to_the_cards_words(
    harness: BotHarness, content: Content
) -> None:
    """A freshly imported card has bare signs: the bot asks about the card's words."""
    profile = profile_of(content)
    bare = profile.model_copy(
        update={
            "checklist": profile.checklist.model_copy(
                update={
                    "fits": [
                        s.model_copy(update={"ask": None, "you": None})
                        for s in profile.checklist.fits
                    ]
                }
            )
        }
    )
    harness.content.catalog.profiles[profile.slug] = bare
    try:
        sam = harness.user()
        await take_checklist(sam, ["yes"] * 7)
        result = screen(sam)
        for sign in bare.checklist.fits:
            assert sign.sign in result
        await sam.press("🔁 Take it again")
        text = screen(sam)
        assert "Does this sound like you?" in text and bare.checklist.fits[0].sign in text
    finally:
        harness.content.catalog.profiles[profile.slug] = profile


async def test_every_project_step_says_how_and_never_repeats_its_title(
    shipped: BotHarness,
) -> None:
    for profile in shipped_profiles(shipped):
        for step in profile.project.steps:
            assert step.how, f"{profile.slug}.{step.id} has no how"
            assert step.time, f"{profile.slug}.{step.id} has no time estimate"
            title = re.findall(r"\w+", step.title.casefold())
            assert re.findall(r"\w+", step.text.casefold())[: len(title)] != title


async def test_a_project_step_screen_shows_how_tools_and_time(
    harness: BotHarness, content: Content
) -> None:
    profile = profile_of(content)
    sam = harness.user()
    await start_project(sam, profile)
    first = profile.project.steps[0]
    text = screen(sam)
    assert first.text in text and first.time and first.time in text
    for action in first.how:
        assert action in text
    await do_steps(sam, profile, 1)
    second = profile.project.steps[1]
    text = screen(sam)
    for tool in second.tools:
        assert tool in text
    assert "Free tools you could use" in text


async def test_numbers_explain_words_and_date_the_growth(
    harness: BotHarness, content: Content
) -> None:
    profile = profile_of(content)
    sam = harness.user()
    await sam.send("/start")
    await sam.press("💰 Money & future")
    text = screen(sam)
    assert "Growth: +11–17% (the source gives no period)" in text
    assert "Figures as of May 2024" in text
    terms = {term.term: term.means for term in profile.glossary}
    assert f"sync placement: {terms['sync placement']}" in text
    assert f"royalties: {terms['royalties']}" in text
    assert "tracking" not in text.split("Words on this screen")[1], "only the screen's words"


async def test_growth_with_a_period_and_sources_as_links(shipped: BotHarness) -> None:
    with_period = [
        profile
        for profile in shipped_profiles(shipped)
        if any(path.growth_period for path in profile.numbers.pay_paths)
    ]
    assert with_period, "some shipped career gives its growth period"
    profile = with_period[0]
    path = next(path for path in profile.numbers.pay_paths if path.growth_period)
    sam = shipped.user()
    await sam.send("/start")
    await sam.press_data(action_data("career", profile.slug))
    await sam.press("💰 Money & future")
    assert f"Growth: {path.growth} over {path.growth_period}" in screen(sam)
    linked = [
        (p, source) for p in shipped_profiles(shipped) for source in p.sources.items if source.url
    ]
    if linked:
        owner, source = linked[0]
        await sam.press_data(action_data("career", owner.slug))
        replies = await sam.press_data(node_data("sources"))
        html = "\n".join(reply.text or "" for reply in replies if reply.text)
        assert f'<a href="{source.url}">' in html


async def test_the_day_reads_as_a_working_day(harness: BotHarness, content: Content) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press("🛠 The job")
    await sam.press("🕘 A typical day")
    text = screen(sam)
    assert "A working day, from 11:00 am to 6:00 pm." in text
    for time in ("11:00 am", "12:30 pm", "3:00 pm", "5:00 pm", "6:00 pm"):
        assert time in text


async def test_mydata_reads_as_sentences_without_ids(harness: BotHarness, content: Content) -> None:
    profile = profile_of(content)
    sam = harness.user()
    await take_checklist(sam, ["yes", "no", "unsure", "yes", "no", "no", "yes"])
    await start_project(sam, profile)
    await do_steps(sam, profile, 2)
    replies = await sam.send("/mydata")
    text = "\n".join(shown(replies))
    assert_no_error(replies)
    step_ids = {step.id for step in profile.project.steps}
    for forbidden in (
        profile.slug,
        "answer_hello",
        "view:",
        "command:",
        "sign 1",
        "checklist_question",
        "project_step",
        *(f"{step_id} #" for step_id in step_ids),
        *(f"done: {step_id}" for step_id in step_ids),
    ):
        assert forbidden not in text, f"{forbidden!r} in /mydata:\n{text}"
    assert profile.checklist.fits[0].ask in text  # type: ignore[operator]
    assert "You said yes" in text
    assert f"Finished “{profile.project.steps[0].title}”" in text
    assert "Opened the checklist" in text
    assert f"You're exploring {profile.title}" in text


def test_a_days_clock_reads_as_a_working_day() -> None:
    def day(*times: str) -> Day:
        moments = [Moment(time=time, title="t", text="x") for time in times]
        return Day(heading="h", moments=moments, note="n")

    assert day("7:00", "8:00", "12:00", "3:00", "6:30").clock() == [
        "7:00 am",
        "8:00 am",
        "12:00 pm",
        "3:00 pm",
        "6:30 pm",
    ]
    assert day("7:00", "4:00", "7:00").clock() == ["7:00 am", "4:00 pm", "7:00 pm"]
    assert day("9:30", "14:00", "16:30").clock() == ["9:30 am", "14:00", "16:30"]
