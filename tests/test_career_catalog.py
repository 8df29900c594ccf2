"""A catalog of several careers, as a student meets it: the career list grouped by interest
area, comparing two careers, related careers that open, and progress kept per career."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.app import load_content
from bot.config import Settings
from bot.content.models import AREAS
from bot.db.engine import Database
from bot.db.models import UnansweredQuestion
from bot.standin.telegram import FakeTelegram
from tests.conftest import CATALOG_DIR, BotHarness, start_bot
from tests.feature_support import (
    START_PROJECT,
    assert_menu_changed,
    assert_no_error,
    press_in_more,
    project,
    scalars,
    screen,
    shown,
    take_checklist,
)
from tests.test_tour import PROFILE, QUIZ_BUTTON, SLUG, SOUND_DESIGNER
from tests.tour_support import plain

# The test career, in another interest area than the shipped one.
SECOND_TEXT = SOUND_DESIGNER.replace(
    "title: Sound Designer\n", "title: Sound Designer\narea: investigative\n", 1
)
SECOND = yaml.safe_load(SECOND_TEXT)
SECOND_SLUG = "sound-designer"
COMPARE = "⚖️ Compare with…"
OTHER_CAREERS = "🔄 Other careers"


@pytest.fixture
async def catalog(
    tmp_path: Path, database_url: str, database: Database
) -> AsyncIterator[BotHarness]:
    content_dir = tmp_path / "content"
    # The shipped first career, whose related careers link by slug, and one other.
    shutil.copytree(CATALOG_DIR, content_dir, ignore=shutil.ignore_patterns("cards"))
    for extra in (content_dir / "careers").glob("*.yaml"):
        if extra.stem != SLUG:
            extra.unlink()
    (content_dir / "careers" / f"{SECOND_SLUG}.yaml").write_text(SECOND_TEXT, "utf-8")
    settings = Settings(_env_file=None, content_dir=content_dir, database_url=database_url)
    running = await start_bot(settings, load_content(settings), FakeTelegram())
    yield running
    await running.stop()


async def test_the_career_list_is_grouped_by_interest_area(catalog: BotHarness) -> None:
    sam = catalog.user()
    replies = await sam.send("/start")
    assert_no_error(replies)
    listing = plain(shown(replies)[-1])
    # Investigative comes before artistic in the order of the six areas.
    investigative = listing.index("Investigative")
    artistic = listing.index("Artistic")
    assert (
        investigative < listing.index(SECOND["title"]) < artistic < listing.index(PROFILE["title"])
    )
    assert [button.label for button in sam.current_buttons()] == [
        QUIZ_BUTTON,
        SECOND["title"],
        PROFILE["title"],
    ]


async def test_every_career_of_the_list_opens_its_menu(catalog: BotHarness) -> None:
    sam = catalog.user()
    await sam.send("/start")
    for title in (SECOND["title"], PROFILE["title"]):
        replies = await sam.press(title)
        assert_no_error(replies)
        assert f"{title}" in plain(screen(sam)).splitlines()[0]
        await press_in_more(sam, OTHER_CAREERS)


async def test_two_careers_side_by_side(catalog: BotHarness) -> None:
    sam = catalog.user()
    await sam.send("/start")
    await sam.press(PROFILE["title"])
    await press_in_more(sam, COMPARE)
    assert sam.current_labels()[0] == SECOND["title"]
    replies = await sam.press(SECOND["title"])
    assert_no_error(replies)
    text = plain(screen(sam))
    assert f"{PROFILE['title']} vs {SECOND['title']}" in text
    first_path = PROFILE["numbers"]["pay_paths"][0]
    assert f"{PROFILE['title']}: {first_path['median']} · {first_path['name']}" in text
    assert f"{SECOND['title']}: {SECOND['numbers']['pay_paths'][0]['median']}" in text
    assert f"{PROFILE['title']}: {first_path['growth']}" in text
    assert f"{SECOND['title']}: no figure on the card" in text
    # The biggest block: 12:30 to 3:00 in the shipped day, 2½ hours.
    assert f"{PROFILE['title']}: 12:30 Track & arrange" in text
    assert f"{PROFILE['title']}: {PROFILE['project']['title']}" in text
    assert f"{SECOND['title']}: {SECOND['project']['title']}" in text
    assert "Mixing & editing 30% · Recording & tracking 25%" in text
    replies = await sam.press(f"↪ Switch to {SECOND['title']}")
    assert_no_error(replies)
    assert SECOND["title"] in plain(screen(sam)).splitlines()[0]


@pytest.mark.parametrize("arg", [SLUG, "astronaut", "", "../" * 10])
async def test_comparing_with_itself_or_no_career_is_an_old_button(
    catalog: BotHarness, arg: str
) -> None:
    sam = catalog.user()
    await sam.send("/start")
    await sam.press(PROFILE["title"])
    replies = await sam.press_data(f"a:compare:{arg}")
    assert_menu_changed(replies)
    assert "vs" not in plain(screen(sam)).splitlines()[0]


async def test_a_student_without_a_career_cannot_compare(catalog: BotHarness) -> None:
    sam = catalog.user()
    await sam.send("/start")
    replies = await sam.press_data(f"a:compare:{SECOND_SLUG}")
    assert_menu_changed(replies)


async def test_a_weak_checklist_result_offers_the_related_careers_there_are(
    catalog: BotHarness,
) -> None:
    sam = catalog.user()
    await sam.send("/start")
    await sam.press(PROFILE["title"])
    fits, misfits = PROFILE["checklist"]["fits"], PROFILE["checklist"]["misfits"]
    replies = await take_checklist(sam, ["no"] * len(fits) + ["yes"] * len(misfits))
    result = plain(shown(replies)[-1])
    assert f"may suit you better: {SECOND['title']}." in result
    labels = sam.current_labels()
    assert f"🔗 {SECOND['title']}" in labels
    # Related careers not in the catalog are no button.
    assert not any(label.startswith("🔗 Filmmaker") for label in labels)
    replies = await sam.press(f"🔗 {SECOND['title']}")
    assert_no_error(replies)
    assert SECOND["title"] in plain(screen(sam)).splitlines()[0]


async def test_switching_careers_keeps_each_careers_progress(catalog: BotHarness) -> None:
    sam = catalog.user()
    await sam.send("/start")
    await sam.press(PROFILE["title"])
    await sam.press("🚀 Try it")
    await sam.press(START_PROJECT)
    first = await project(catalog, 1001)
    assert first is not None and first.career == SLUG
    await sam.press_data("n:careers")
    await sam.press(SECOND["title"])
    replies = await sam.send("/progress")
    assert_no_error(replies)
    text = plain(shown(replies)[-1])
    assert f"Your progress · {SECOND['title']}" in text
    steps = len(PROFILE["project"]["steps"])
    assert f"• {PROFILE['title']}: checklist not taken · project 0/{steps} steps" in text
    replies = await sam.press(f"↪ {PROFILE['title']}")
    assert_no_error(replies)
    replies = await sam.send("/progress")
    text = plain(shown(replies)[-1])
    assert f"Your progress · {PROFILE['title']}" in text
    assert "Next: " in text  # the project started before the switch is still there
    assert f"• {SECOND['title']}: checklist not taken · project not started" in text


async def test_every_shipped_career_is_reached_from_the_career_list(shipped: BotHarness) -> None:
    """The walk a new student can make: the list, each career, each part of its tour."""
    catalog = load_content(Settings(_env_file=None, content_dir=CATALOG_DIR)).catalog
    assert len(catalog) >= 12
    assert {profile.area for profile in catalog} == set(AREAS)
    sam = shipped.user()
    replies = await sam.send("/start")
    assert_no_error(replies)
    assert sorted(sam.current_labels()) == sorted([QUIZ_BUTTON, *(p.title for p in catalog)])
    for profile in catalog.by_area:
        replies = await sam.press(profile.title)
        assert_no_error(replies)
        assert plain(screen(sam)).splitlines()[0] == profile.title
        sections = [b for b in sam.current_buttons() if b.data.startswith("n:")]
        for button in sections:
            if button.data == "n:careers":
                continue
            replies = await sam.press_data(button.data)
            assert_no_error(replies)
            text = plain(screen(sam))
            assert "None" not in text.split() and "{{" not in text
            await sam.press_data("n:menu")
        await press_in_more(sam, OTHER_CAREERS)


@pytest.mark.parametrize(
    ("question", "says", "kept"),
    [
        ("how much do they make", "Which career do you mean?", True),
        ("hi", "Pick a career from the list, then ask me anything", False),
        ("how much does a dj make", "I don't have a card for dj yet", True),
    ],
)
async def test_a_question_before_any_career_is_chosen_leads_to_the_list(
    shipped: BotHarness, question: str, says: str, kept: bool
) -> None:
    sam = shipped.user()
    await sam.send("/start")
    replies = await sam.send(question)
    assert_no_error(replies)
    text = plain(screen(sam))
    assert says in text
    assert "$" not in text and "None" not in text.split() and "{{" not in text
    assert "🗂 All careers" in sam.current_labels()
    for section in ("💰 Money & future", "🛠 The job"):
        assert section not in sam.current_labels()
    await sam.press("🗂 All careers")
    catalog = load_content(Settings(_env_file=None, content_dir=CATALOG_DIR)).catalog
    assert sorted(sam.current_labels()) == sorted([QUIZ_BUTTON, *(p.title for p in catalog)])
    assert (await scalars(shipped, select(UnansweredQuestion.text))) == ([question] if kept else [])


async def test_a_question_naming_a_career_is_answered_before_one_is_chosen(
    shipped: BotHarness,
) -> None:
    sam = shipped.user()
    await sam.send("/start")
    await sam.send("how much do electricians make")
    electrician = load_content(Settings(_env_file=None, content_dir=CATALOG_DIR)).catalog.get(
        "electrician"
    )
    assert electrician is not None
    assert plain(screen(sam)).startswith(f"💰 {electrician.title} · ")
    assert f"🔎 Explore {electrician.title}" in sam.current_labels()


async def test_help_is_true_for_the_catalog(harness: BotHarness, shipped: BotHarness) -> None:
    """/start picks up where the student left off (it never starts over); the quiz and the
    career switch are offered only where there are careers to choose from."""
    alone = plain(shown(await harness.user().send("/help"))[-1])
    assert "/start — pick up where you left off" in alone
    assert "/quiz" not in alone and "Other careers" not in alone and "pick a career" not in alone
    many = plain(shown(await shipped.user().send("/help"))[-1])
    assert "/quiz — " in many and "🔄 Other careers" in many
    # Each command on a line of its own, whichever the catalog.
    for shown_help in (alone, many):
        assert "\n/privacy — " in shown_help, shown_help
