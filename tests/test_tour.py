"""The career tour, driven through the real Dispatcher."""

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from bot.app import Content, load_content
from bot.config import Settings
from bot.db.engine import Database
from bot.db.models import Event, Student
from bot.features.tour.nodes import CAREER_LIST_NODE
from bot.standin.telegram import FakeTelegram
from tests.conftest import BotHarness, start_bot
from tests.tour_support import (
    SETTINGS,
    TourWalker,
    Walk,
    assert_clean,
    button_to,
    callback_answers,
    plain,
    read_dialogs,
    read_profile,
    student_row,
    texts,
)

DIALOGS = read_dialogs(SETTINGS.dialogs_dir)


def only_profile_file() -> Path:
    files = sorted((SETTINGS.content_dir / "careers").glob("*.yaml"))
    assert len(files) == 1, "these tests describe the bot with its single shipped career"
    return files[0]


def goto_targets(node: dict[str, Any]) -> set[str]:
    """The nodes a node's buttons open, as written in the dialog file."""
    found: set[str] = set()
    for entry in node.get("buttons") or []:
        for button in entry if isinstance(entry, list) else [entry]:
            if "goto" in button:
                found.add(button["goto"])
    return found


PROFILE_FILE = only_profile_file()
SLUG = PROFILE_FILE.stem
PROFILE = read_profile(PROFILE_FILE)
HOME = DIALOGS.label("home")
BACK = DIALOGS.label("back")
HOME_NODE = "menu"
# The sections the menu opens (the career list and comparing careers only appear once there
# are two careers).
SECTIONS = goto_targets(DIALOGS.nodes[HOME_NODE]) - {CAREER_LIST_NODE, "compare_pick"}
# What the menu's groups open one tap further: the day from the job, the future from the
# money, the rest under "more".
FURTHER = {"day", "outlook", "related", "sources"}


def _name(source: str | dict[str, str]) -> str:
    return source if isinstance(source, str) else source["name"]


def section_facts(profile: dict[str, Any]) -> dict[str, list[str]]:
    """What each section of the tour must show, taken from the profile file."""
    work, day, checklist = profile["work"], profile["day"], profile["checklist"]
    project, numbers, sources = profile["project"], profile["numbers"], profile["sources"]
    return {
        "menu": [profile["title"], profile["summary"]]
        + [career["title"] for career in profile.get("related", [])],
        "work": [work["heading"], work["subheading"], work["text"], work["split_note"]]
        + [work["split_source"]]
        + [f"{share['percent']}% · {share['label']}" for share in work["split"]],
        "day": [day["heading"], day["note"]]
        + [part for m in day["moments"] for part in (m["time"], m["title"], m["text"])],
        # "Is it me?": who it suits, then the checklist, whose signs are asked one at a time
        # (tests/test_checklist.py and the seed's fidelity test see each of them).
        "checklist": [checklist[key] for key in ("heading", "intro")]
        + [profile["suits"], profile["not_suited"]],
        "project": [project["heading"], project["title"], project["text"], profile["closing"]]
        + [step["title"] for step in project["steps"]],
        "numbers": [numbers["heading"], numbers["subheading"], numbers["text"], numbers["note"]]
        + [path["name"] for path in numbers["pay_paths"]],
        "outlook": [
            profile["outlook"]["heading"],
            profile["outlook"]["text"],
            profile["right_now"]["heading"],
            profile["right_now"]["text"],
        ],
        "related": [career["title"] for career in profile.get("related", [])],
        "sources": [_name(item) for item in sources["items"]] + [sources["dated"]],
    }


async def walk_tour(harness: BotHarness, user_id: int = 1001) -> Walk:
    return await TourWalker(harness, harness.user(user_id), HOME).walk()


async def test_start_greets_and_goes_straight_to_the_only_career(harness: BotHarness) -> None:
    sam = harness.user()
    replies = await sam.send("/start")
    sent = texts(replies)
    assert sent[0] == DIALOGS.message("welcome", student={"first_name": "Sam"})
    assert sent[0].startswith("Hi Sam!")
    assert f"<b>{PROFILE['title']}</b>" in sent[1]
    assert PROFILE["summary"] in plain(sent[1])
    assert "💰 Money & future" in sam.current_labels()
    assert all(reply.method == "sendMessage" for reply in replies if reply.method != "getMe")
    student = await student_row(harness, 1001)
    assert student is not None
    assert (student.first_name, student.career, student.node) == ("Sam", SLUG, "menu")
    assert student.start_payload is None


async def test_first_name_is_escaped_not_interpreted_as_html(harness: BotHarness) -> None:
    name = "<b>Jo</b> & {{ 7*7 }}"
    jo = harness.user(1002, first_name=name)
    replies = await jo.send("/start")
    greeting = texts(replies)[0]
    assert greeting == DIALOGS.message("welcome", student={"first_name": name})
    assert "&lt;b&gt;Jo&lt;/b&gt; &amp; {{ 7*7 }}" in greeting
    assert "49" not in greeting


async def test_navigation_edits_the_message_and_back_home_work(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send("/start")
    menu_id = sam.latest().message_id  # type: ignore[union-attr]
    await sam.press("🛠 The job")
    replies = await sam.press("🕘 A typical day")
    edits = [reply for reply in replies if reply.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == menu_id
    assert "<b>3:00 pm</b> · <b>Mix &amp; tweak</b>" in edits[0].text
    await sam.press(f"🛠 {PROFILE['work']['heading']}")
    replies = await sam.press(HOME)
    edits = [reply for reply in replies if reply.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == menu_id
    assert "What next?" in edits[0].text
    assert not [reply for reply in replies if reply.method == "sendMessage"]


async def test_views_and_position_are_stored(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press("💰 Money & future")
    async with harness.database.session_factory() as session:
        student = (await session.execute(select(Student))).scalar_one()
        assert (student.career, student.node) == ("music-producer", "numbers")
        views = await session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "view")
        )
        assert views == 2


async def test_every_button_of_the_tour_opens_its_section_and_leads_back(
    harness: BotHarness,
) -> None:
    walk = await walk_tour(harness)
    assert walk.root == HOME_NODE
    assert set(walk.screens) >= {HOME_NODE} | SECTIONS | FURTHER, "every section is reachable"
    facts = section_facts(PROFILE)
    assert set(facts) <= set(walk.screens), "every part of the profile has a section"
    for node_id, fragments in facts.items():
        shown = plain(walk.screens[node_id])
        missing = [fact for fact in fragments if fact not in shown]
        assert not missing, f"section {node_id!r} does not show {missing}"
    error_text = DIALOGS.message("error")
    for press in walk.presses:
        where = f"{press.from_node} → {press.button.label!r}"
        assert_clean(press.replies)
        assert not [r for r in press.replies if r.method == "sendMessage"], where
        edits = [r for r in press.replies if r.method == "editMessageText"]
        assert len(edits) == 1, f"{where}: navigation must edit the message once"
        assert edits[0].message_id == walk.message_id
        assert edits[0].params["chat_id"] == 1001
        assert error_text not in edits[0].text
        answers = callback_answers(press.replies)
        assert len(answers) == 1 and not answers[0].params.get("text"), where
        assert press.to_node == press.button.data.removeprefix("n:"), where
    for node_id in set(walk.screens) - {walk.root}:
        parent = DIALOGS.nodes[node_id].get("parent")
        assert parent is not None, f"{node_id} is reachable but has no way back"
        keyboard = walk.keyboards[node_id]
        assert button_to(keyboard, f"n:{walk.root}").label == HOME
        if parent != walk.root:
            assert button_to(keyboard, f"n:{parent}").label == BACK
        for label, target in ((HOME, walk.root), (BACK, parent)):
            leaving = [
                p for p in walk.presses if p.from_node == node_id and p.button.label == label
            ]
            assert all(p.to_node == target for p in leaving), f"{label} on {node_id}"
            if label == HOME or parent != walk.root:
                assert leaving, f"{label} on {node_id} was never pressed"
    menu_targets = {b.data.removeprefix("n:") for b in walk.keyboards[walk.root]}
    assert menu_targets >= SECTIONS


async def test_every_feature_button_in_the_tour_answers_without_error(
    harness: BotHarness,
) -> None:
    """Buttons that start a feature (not navigation): each pressed by a fresh student."""
    walk = await walk_tour(harness)
    error_text = DIALOGS.message("error")
    for number, (node_id, button) in enumerate(walk.actions()):
        walker = TourWalker(harness, harness.user(5000 + number), HOME)
        await walker.start()
        await walker.go(walk.paths[node_id])
        press = await walker.press(button)
        where = f"{node_id} → {button.label!r}"
        assert_clean(press.replies)
        shown = texts(press.replies)
        pictures = [reply for reply in press.replies if reply.method == "sendPhoto"]
        assert shown or pictures, f"{where} showed nothing"
        assert all(error_text not in text for text in shown), where
        answers = callback_answers(press.replies)
        assert len(answers) == 1, where


async def test_related_careers_with_one_profile_offers_no_missing_careers(
    harness: BotHarness,
) -> None:
    sam = harness.user()
    await sam.send("/start")
    replies = await sam.press_data("n:related", sam.latest().message_id)  # type: ignore[union-attr]
    screen = texts(replies)[0]
    for career in PROFILE["related"]:
        assert f"• {career['title']}" in plain(screen)
    assert sam.current_labels() == [HOME]
    assert "Tap one to explore it here." not in screen


async def test_restart_mid_tour_loses_nothing(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send("/start")
    first_message = sam.latest().message_id  # type: ignore[union-attr]
    numbers = button_to(sam.current_buttons(), "n:numbers")
    await sam.press(numbers.label)

    await harness.restart()

    sam = harness.user()
    replies = await sam.send("/start")
    sent = texts(replies)
    assert sent[0] == DIALOGS.message("welcome_back", student={"first_name": "Sam"})
    assert all(fact in plain(sent[1]) for fact in section_facts(PROFILE)["numbers"])
    assert len(sent) == 2
    new_message = sam.latest().message_id  # type: ignore[union-attr]
    assert new_message != first_message

    old_sources = button_to(sam.current_buttons(), "n:sources")
    replies = await sam.press(old_sources.label, message_id=first_message)
    edits = [r for r in replies if r.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == first_message
    assert all(item in plain(edits[0].text) for item in PROFILE["sources"]["items"])
    assert_clean(replies)

    student = await student_row(harness, 1001)
    assert student is not None
    assert (student.career, student.node) == (SLUG, "sources")
    async with harness.database.session_factory() as session:
        count = await session.scalar(select(func.count()).select_from(Student))
    assert count == 1


async def test_returning_after_restart_keeps_career_and_node_in_the_row(
    harness: BotHarness,
) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press(button_to(sam.current_buttons(), "n:work").label)
    await sam.press(button_to(sam.current_buttons(), "n:day").label)
    await harness.restart()
    student = await student_row(harness, 1001)
    assert student is not None
    assert (student.career, student.node) == (SLUG, "day")


async def test_two_students_keep_their_own_place(harness: BotHarness) -> None:
    sam, ann = harness.user(1001, "Sam"), harness.user(1002, "Ann")
    await sam.send("/start")
    await ann.send("/start")
    await sam.press(button_to(sam.current_buttons(), "n:numbers").label)
    await ann.press(button_to(ann.current_buttons(), "n:checklist").label)
    ann_student, sam_student = await student_row(harness, 1002), await student_row(harness, 1001)
    assert sam_student is not None and ann_student is not None
    assert (sam_student.node, ann_student.node) == ("numbers", "checklist")
    assert (sam_student.first_name, ann_student.first_name) == ("Sam", "Ann")
    replies = await ann.send("/start")
    assert texts(replies)[0] == DIALOGS.message("welcome_back", student={"first_name": "Ann"})
    assert PROFILE["checklist"]["intro"] in plain(texts(replies)[1])


async def test_bot_commands_are_registered_at_startup(harness: BotHarness) -> None:
    calls = [
        call
        for call in harness.telegram.calls
        if call.method == "setMyCommands" and "scope" not in call.params
    ]
    assert len(calls) == 1
    registered = [
        {"command": c["command"], "description": c["description"]}
        for c in calls[0].params["commands"]
    ]
    # Everyone's menu: the commands without `roles` (staff get theirs per chat).
    everyone = [
        {"command": c["command"], "description": c["description"]}
        for c in DIALOGS.commands
        if not c.get("roles")
    ]
    assert registered == everyone
    assert "scope" not in calls[0].params or calls[0].params["scope"]["type"] == "default"
    assert {c["command"] for c in registered} >= {"start", "menu", "help", "privacy"}


# A second profile, added as content only: the bot must offer it without a code change.

SOUND_DESIGNER = """\
title: Sound Designer

summary: >-
  Sound designers build the sounds of games, films and apps — footsteps, engines, spells and
  interface clicks — recording and shaping them until a scene feels real.

related:
  - title: Music Producer
    slug: music-producer
  - title: Game Developer

suits: >-
  Worth a look if you notice the sound of things and enjoy tinkering with audio tools.

not_suited: >-
  Maybe not if you want to write songs rather than make effects.

work:
  heading: The work
  subheading: What you’d actually do all day
  text: >-
    Recording props, editing libraries of effects and fitting them to picture or gameplay.
  split:
    - label: Recording & foley
      percent: 35
    - label: Editing & layering
      percent: 45
    - label: Meetings & reviews
      percent: 20
  split_note: >-
    Juniors edit more; seniors design and review more.
  split_source: >-
    Rough split for a test profile.

day:
  heading: A typical studio day
  moments:
    - time: "9:30"
      title: Foley session
      text: >-
        Crunch celery, drag chains, record footsteps on gravel.
    - time: "14:00"
      title: Review with the team
      text: >-
        Play the new effects against the latest build.
  note: >-
    A test day for a test profile.

checklist:
  heading: Would you actually like it?
  intro: >-
    Signs from people who tried it.
  fits_heading: People realize it’s their thing when…
  fits:
    - they record odd noises for fun
  misfits_heading: …and it probably isn’t their thing when
  misfits:
    - they find repeating one sound fifty times boring

project:
  heading: Start here
  title: Foley Footsteps
  text: >-
    Record footsteps on three surfaces and cut them to a short clip.
  steps:
    - id: record
      title: Record the steps
      text: Record footsteps on three surfaces.
      note_prompt: Which surfaces did you use?
    - id: cut
      title: Cut them to the clip
      text: Cut the footsteps to a short clip.
      repeatable: true

numbers:
  heading: The numbers
  subheading: The money and market
  text: >-
    A test paragraph about pay.
  pay_paths:
    - name: Staff job
      text: >-
        A test sentence about a staff job.
      median: "~$1K"
  note: >-
    Test figures only.

outlook:
  heading: Where it’s going
  text: >-
    A test outlook.

right_now:
  heading: Right now
  text: >-
    A test situation.

sources:
  items:
    - Test source (2026)
  dated: June 2026

closing: |-
  Try it.
  See how it feels.
"""


@pytest.fixture
async def two_careers(
    tmp_path: Path, database_url: str, database: Database
) -> AsyncIterator[BotHarness]:
    """The shipped content plus a second profile file, nothing else changed."""
    content_dir = tmp_path / "content"
    shutil.copytree(SETTINGS.content_dir, content_dir)
    (content_dir / "careers" / "sound-designer.yaml").write_text(SOUND_DESIGNER, "utf-8")
    # A related career links to its profile once there is one (as an import would record).
    profile = content_dir / "careers" / "music-producer.yaml"
    text = profile.read_text("utf-8")
    linked = "  - title: Sound Designer\n    slug: sound-designer\n"
    profile.write_text(text.replace("  - title: Sound Designer\n", linked), "utf-8")
    settings = Settings(_env_file=None, content_dir=content_dir, database_url=database_url)
    running = await start_bot(settings, load_content(settings), FakeTelegram())
    yield running
    await running.stop()


SECOND = yaml.safe_load(SOUND_DESIGNER)
SECOND_SLUG = "sound-designer"
QUIZ_BUTTON = "🧭 Not sure? Take the interest quiz"


async def test_two_careers_start_with_the_career_list(two_careers: BotHarness) -> None:
    sam = two_careers.user()
    replies = await sam.send("/start")
    sent = texts(replies)
    assert sent[0] == DIALOGS.message("welcome", student={"first_name": "Sam"})
    listing = plain(sent[1])
    assert PROFILE["title"] in listing and SECOND["title"] in listing
    quiz, *buttons = sam.current_buttons()
    assert (quiz.label, quiz.data) == (QUIZ_BUTTON, "n:quiz")
    assert sorted(b.label for b in buttons) == sorted([PROFILE["title"], SECOND["title"]])
    assert {b.data for b in buttons} == {f"a:career:{SLUG}", f"a:career:{SECOND_SLUG}"}
    student = await student_row(two_careers, 1001)
    assert student is not None
    assert (student.career, student.node) == (None, CAREER_LIST_NODE)
    assert_clean(replies)


@pytest.mark.parametrize("pick", ["first", "second"])
async def test_picking_a_career_opens_its_menu(two_careers: BotHarness, pick: str) -> None:
    slug, profile = (SLUG, PROFILE) if pick == "first" else (SECOND_SLUG, SECOND)
    sam = two_careers.user()
    await sam.send("/start")
    list_id = sam.latest().message_id  # type: ignore[union-attr]
    replies = await sam.press(profile["title"])
    edits = [r for r in replies if r.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == list_id
    assert f"<b>{profile['title']}</b>" in edits[0].text
    assert profile["summary"] in plain(edits[0].text)
    labels = sam.current_labels()
    assert "💰 Money & future" in labels
    student = await student_row(two_careers, 1001)
    assert student is not None
    assert (student.career, student.node) == (slug, "menu")
    assert_clean(replies)
    await sam.press("➕ More")
    assert button_to(sam.current_buttons(), f"n:{CAREER_LIST_NODE}").label.endswith("Other careers")


async def test_other_careers_goes_back_to_the_list(two_careers: BotHarness) -> None:
    sam = two_careers.user()
    await sam.send("/start")
    await sam.press(SECOND["title"])
    replies = await sam.press_data(f"n:{CAREER_LIST_NODE}", sam.latest().message_id)  # type: ignore[union-attr]
    buttons = sam.current_buttons()
    assert QUIZ_BUTTON in {b.label for b in buttons}
    careers = {b.label for b in buttons if b.data.startswith("a:career:")}
    assert careers == {PROFILE["title"], SECOND["title"]}
    # The rest ask, optionally, why the student leaves the career (tests/test_reasons.py).
    assert all(b.data.startswith(("a:career:", "a:reason:leave.", "n:quiz")) for b in buttons)
    assert_clean(replies)
    await sam.press(PROFILE["title"])
    student = await student_row(two_careers, 1001)
    assert student is not None and student.career == SLUG


async def test_related_career_that_now_exists_opens_its_menu(two_careers: BotHarness) -> None:
    sam = two_careers.user()
    await sam.send("/start")
    await sam.press(PROFILE["title"])
    await sam.press("➕ More")
    replies = await sam.press(button_to(sam.current_buttons(), "n:related").label)
    assert "Tap one to explore it here." in texts(replies)[0]
    related_buttons = [b for b in sam.current_buttons() if b.data.startswith("a:")]
    assert [(b.label, b.data) for b in related_buttons] == [
        (SECOND["title"], f"a:career:{SECOND_SLUG}")
    ]
    replies = await sam.press(SECOND["title"])
    assert f"<b>{SECOND['title']}</b>" in texts(replies)[0]
    student = await student_row(two_careers, 1001)
    assert student is not None and student.career == SECOND_SLUG
    # Sound Designer's own related list links back only to the career the bot has.
    await sam.press("➕ More")
    await sam.press(button_to(sam.current_buttons(), "n:related").label)
    assert [b.label for b in sam.current_buttons() if b.data.startswith("a:")] == [PROFILE["title"]]
    assert_clean(replies)


async def test_second_career_whole_tour_renders(two_careers: BotHarness) -> None:
    sam = two_careers.user()
    await sam.send("/start")
    await sam.press(SECOND["title"])
    walk = await TourWalker(two_careers, sam, HOME).walk()
    assert set(walk.screens) >= {HOME_NODE} | SECTIONS | FURTHER
    facts = section_facts(SECOND)
    assert set(facts) <= set(walk.screens)
    for node_id, fragments in facts.items():
        missing = [fact for fact in fragments if fact not in plain(walk.screens[node_id])]
        assert not missing, f"section {node_id!r} does not show {missing}"
    for press in walk.presses:
        assert_clean(press.replies)


def test_text_without_template_syntax_renders_as_jinja_would(content: Content) -> None:
    """Static text skips Jinja (`Dialogs.render_text`): the result must be the same."""
    dialogs = content.dialogs
    node_sources = [node.text for node in dialogs.nodes.values()] + [
        source
        for node in dialogs.nodes.values()
        for button in node.all_buttons()
        for source in button.templates().values()
        if source
    ]
    sources = [
        *dialogs.messages.values(),
        *dialogs.labels.values(),
        *node_sources,
        "Tom & Jerry <3",
        "two lines\nend\n",
        "ends with blank lines\n\n",
        "",
    ]
    static = [source for source in sources if "{" not in source]
    assert len(static) > 10
    for source in static:
        for html in (True, False):
            assert dialogs.render_text(source, {}, html=html) == dialogs.template(
                source, html=html
            ).render({})
