"""The interest quiz, driven through the real Dispatcher with the shipped catalog, on SQLite
and PostgreSQL: from /start with no career to a matched career's card, resuming after a
restart, retaking, answers that can't tell, and forged buttons."""

import pytest
from sqlalchemy import select

from bot.app import load_content
from bot.config import Settings
from bot.content.quiz import QuizSpec
from bot.db.models import QuizAnswer, QuizAttempt
from bot.standin.conversation import Conversation
from tests.conftest import CATALOG_DIR, BotHarness
from tests.feature_support import (
    assert_menu_changed,
    assert_no_error,
    data_of,
    events,
    scalars,
    screen,
    student_id,
)

QUIZ_BUTTON = "🧭 Not sure? Take the interest quiz"
START = "▶️ Start"
AGAIN = "🔁 Take it again"
ALL_CAREERS = "🗂 All careers"
LATER = "⏸ Carry on later"
PREVIOUS = "⬅️ Previous"
SETTINGS = Settings(_env_file=None, content_dir=CATALOG_DIR)
SPEC: QuizSpec = load_content(SETTINGS).quiz
EMOJI = [point.emoji for point in SPEC.scale]
LOVE, NO = len(EMOJI) - 1, 0


def liking(*areas: str) -> list[int]:
    """Love the statements whose own area (weight 1) is one of `areas`, none of the rest."""
    return [LOVE if any(item.areas.get(a) == 1 for a in areas) else NO for item in SPEC.items]


async def answer_all(sam: Conversation, values: list[int]) -> int:
    """Taps each value in turn on the statement shown; returns the taps made."""
    for number, value in enumerate(values, start=1):
        assert f"{number}/{len(SPEC.items)}" in screen(sam)
        assert SPEC.items[number - 1].text in screen(sam)
        assert_no_error(await sam.press(EMOJI[value]))
    return len(values)


async def test_a_student_with_no_career_reaches_a_matched_card_in_16_taps(
    shipped: BotHarness,
) -> None:
    sam = shipped.user()
    assert_no_error(await sam.send("/start"))
    assert QUIZ_BUTTON in sam.current_labels()
    taps = 0
    for label in (QUIZ_BUTTON, START):
        assert_no_error(await sam.press(label))
        taps += 1
    taps += await answer_all(sam, liking("artistic"))
    result = screen(sam)
    assert "making and creating" in result
    assert "starting point, not a verdict" in result
    matched = [label for label in sam.current_labels() if label.startswith("👉 ")]
    assert len(matched) == 3
    titles = {profile.title: profile for profile in shipped.content.catalog}
    for label in matched:
        profile = titles[label.removeprefix("👉 ")]
        assert profile.interests[0] == "artistic"
        # The reason is the student's own liked statements.
        line = next(line for line in result.splitlines() if profile.title in line)
        assert "you liked " in line
        liked = {item.liked for item in SPEC.items if item.areas.get("artistic") == 1}
        assert any(words in line for words in liked)
    replies = await sam.press(matched[0])
    taps += 1
    assert_no_error(replies)
    assert taps <= 16
    assert titles[matched[0].removeprefix("👉 ")].summary.split()[0] in screen(sam)
    assert (await events(shipped, 1001, "quiz")) == {"quiz:start": 1, "quiz:finish": 1}


async def test_the_match_follows_the_answers_and_names_each_reason(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    await sam.press(START)
    await answer_all(sam, liking("social"))
    result = screen(sam)
    assert "helping and teaching people" in result
    first = next(label for label in sam.current_labels() if label.startswith("👉 "))
    assert first in {"👉 High School Teacher", "👉 Registered Nurse"}
    assert "explaining things" in result or "looking after younger kids" in result
    assert "fixing bikes" not in result


async def test_resuming_mid_quiz_after_a_restart(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    await sam.press(START)
    values = liking("hands-on")
    await answer_all(sam, values[:5])
    await shipped.restart()
    sam = shipped.user()
    replies = await sam.send("/quiz")
    assert_no_error(replies)
    total = len(SPEC.items)
    assert f"You stopped at 6 of {total}." in screen(sam)
    await sam.press(f"▶️ Carry on (6/{total})")
    assert SPEC.items[5].text in screen(sam)
    for value in values[5:]:
        assert_no_error(await sam.press(EMOJI[value]))
    assert "building and fixing things" in screen(sam)
    assert len(await scalars(shipped, select(QuizAttempt.id))) == 1
    assert len(await scalars(shipped, select(QuizAnswer.id))) == total


async def test_carry_on_later_and_previous_keep_the_answers(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    await sam.press(START)
    await sam.press(EMOJI[LOVE])
    await sam.press(EMOJI[2])
    await sam.press(PREVIOUS)
    text = screen(sam)
    assert SPEC.items[1].text in text and f"Your answer so far: {EMOJI[2]}" in text
    await sam.press(PREVIOUS)
    assert SPEC.items[0].text in screen(sam)
    await sam.press(LATER)
    assert f"You stopped at 1 of {len(SPEC.items)}." in screen(sam)


async def test_retake_starts_afresh_and_keeps_the_earlier_result(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    await sam.press(START)
    await answer_all(sam, liking("organising"))
    assert "keeping things in order" in screen(sam)
    await sam.press(AGAIN)
    assert f"1/{len(SPEC.items)}" in screen(sam)
    await answer_all(sam, liking("enterprising"))
    assert "persuading and leading" in screen(sam)
    finished = await scalars(
        shipped, select(QuizAttempt.matches).where(QuizAttempt.finished_at.is_not(None))
    )
    assert len(finished) == 2 and finished[0] != finished[1]
    await sam.send("/quiz")
    await sam.press("📋 My last result")
    assert "persuading and leading" in screen(sam)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param([3] * 13, id="all-the-same"),
        pytest.param([LOVE] * 13, id="loves-everything"),
        pytest.param([4, 3] * 6 + [4], id="flat"),
    ],
)
async def test_answers_that_cannot_tell_say_so_and_offer_the_list(
    shipped: BotHarness, values: list[int]
) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    await sam.press(START)
    await answer_all(sam, values[: len(SPEC.items)])
    text = screen(sam)
    assert "can't honestly tell" in text
    assert not [label for label in sam.current_labels() if label.startswith("👉 ")]
    assert ALL_CAREERS in sam.current_labels()
    await sam.press(ALL_CAREERS)
    assert "Which career would you like to try on?" in screen(sam)
    assert await scalars(shipped, select(QuizAttempt.matches)) == [""]


async def test_nothing_liked_is_said_honestly(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    await sam.press(START)
    await answer_all(sam, [NO if item.areas.get("artistic") else 2 for item in SPEC.items])
    assert "Nothing in the quiz really grabbed you" in screen(sam)
    assert not [label for label in sam.current_labels() if label.startswith("👉 ")]


async def test_forged_and_stale_quiz_buttons_change_nothing(shipped: BotHarness) -> None:
    sam, alex = shipped.user(), shipped.user(2002, "Alex")
    await sam.send("/quiz")
    await sam.press(START)
    data, _ = data_of(sam, EMOJI[LOVE])
    prefix, attempt_arg = data.rsplit(":", 1)
    attempt = attempt_arg.split(".")[0]
    second = SPEC.items[1].id
    forged = [
        f"{prefix}:{attempt}.{SPEC.items[0].id}.9",  # no such point
        f"{prefix}:{attempt}.{SPEC.items[0].id}.-1",
        f"{prefix}:{attempt}.nosuch.1",  # no such statement
        f"{prefix}:{attempt}.{second}.1",  # not reached yet
        f"{prefix}:99999.{SPEC.items[0].id}.1",  # no such attempt
        f"{prefix}:junk",
        f"{prefix}:",
        f"{prefix}:{attempt}..",
        "a:quiz_back:" + attempt,
        "a:quiz_back:x.y.z",
    ]
    for payload in forged:
        assert_menu_changed(await sam.press_data(payload))
    assert await scalars(shipped, select(QuizAnswer.id)) == []
    # Another student's attempt: Alex cannot answer for Sam.
    await alex.send("/quiz")
    assert_menu_changed(await alex.press_data(f"{prefix}:{attempt}.{SPEC.items[0].id}.4"))
    assert await scalars(shipped, select(QuizAnswer.id)) == []
    sam_id = await student_id(shipped, 1001)
    assert await scalars(shipped, select(QuizAttempt.student_id)) == [sam_id]


async def test_a_double_tap_on_start_opens_one_attempt(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    data, message_id = data_of(sam, START)
    assert_no_error(await sam.press_data(data, message_id))
    assert_no_error(await sam.press_data(data, message_id))
    assert len(await scalars(shipped, select(QuizAttempt.id))) == 1


async def test_text_typed_during_the_quiz_does_not_lose_it(shipped: BotHarness) -> None:
    sam = shipped.user()
    await sam.send("/quiz")
    await sam.press(START)
    await sam.press(EMOJI[LOVE])
    assert_no_error(await sam.send("<b>hi</b>\x00 =1+1"))
    await sam.send("/quiz")
    assert f"You stopped at 2 of {len(SPEC.items)}." in screen(sam)


async def test_stats_count_the_quiz_and_its_matches_within_the_viewers_scope(
    shipped: BotHarness,
) -> None:
    from tests.cohort_support import SHARE_YES
    from tests.test_stats import ADMIN, LEAD_A, LEAD_B, add_cohort, add_lead, lines

    await add_lead(shipped, LEAD_A, "Lead A")
    await add_lead(shipped, LEAD_B, "Lead B")
    await add_cohort(shipped, "Class A", "codeAAAAAAAAAAAA", LEAD_A)
    await add_cohort(shipped, "Class B", "codeBBBBBBBBBBBB", LEAD_B)
    for number in range(7):
        student = shipped.user(7_200_000_000 + number, f"Student{number}")
        await student.send("/start codeAAAAAAAAAAAA")
        await student.press(SHARE_YES)  # a lead counts the students who share
        await student.send("/quiz")
        await student.press(START)
        # Six finish liking the artistic statements; the seventh stops after one.
        await answer_all(student, liking("artistic") if number < 6 else liking("artistic")[:1])
    loner = shipped.user(7_200_000_100, "Loner")
    await loner.send("/start codeBBBBBBBBBBBB")
    await loner.press(SHARE_YES)
    await loner.send("/quiz")
    await loner.press(START)
    await answer_all(loner, liking("social"))

    admin = lines(await shipped.user(ADMIN, "Ada").send("/stats"))
    assert "Interest quiz: started 8 · finished 7" in admin
    matched = next(line for line in admin if line.startswith("Careers it matched most: "))
    artistic = [p.title for p in shipped.content.catalog if p.interests[:1] == ["artistic"]]
    # Each of the six matched three artistic careers; the loner of cohort B a social one.
    assert sum(f"{title} (6)" in matched or f"{title} (7)" in matched for title in artistic) == 3
    assert "High School Teacher (1)" in matched or "Registered Nurse (1)" in matched

    lead_a = lines(await shipped.user(LEAD_A, "Lea").send("/stats"))
    assert "Interest quiz: started 7 · finished 6" in lead_a
    matched = next(line for line in lead_a if line.startswith("Careers it matched most: "))
    assert sum(f"{title} (6)" in matched for title in artistic) == 3
    assert "Teacher" not in matched and "Nurse" not in matched  # cohort B's match
    lead_b = lines(await shipped.user(LEAD_B, "Leo").send("/stats"))
    assert "Interest quiz: started 1 · finished 1" in lead_b


def test_reasons_come_only_from_statements_the_student_liked() -> None:
    from bot.features.quiz.scoring import CLEAR, read_answers

    catalog = load_content(SETTINGS).catalog
    answers = {item.id: 2 for item in SPEC.items} | {"video": 4, "explain": 3, "bike": 1}
    reading = read_answers(SPEC, catalog, answers)
    assert reading.verdict == CLEAR
    liked = {"editing video", "explaining things"}
    for match in reading.matches:
        assert match.reasons and set(match.reasons) <= liked
    # Scores never rise down the list; equal scores keep the career list's order.
    scores = [match.score for match in reading.matches]
    assert scores == sorted(scores, reverse=True)
    order = [profile.slug for profile in catalog.by_area]
    for first, second in zip(reading.matches, reading.matches[1:], strict=False):
        if first.score == second.score:
            assert order.index(first.profile.slug) < order.index(second.profile.slug)


def test_unanswered_or_removed_statements_do_not_count() -> None:
    from bot.features.quiz.scoring import area_scores

    scores = area_scores(SPEC, {"bike": 4, "no-longer-in-content": 0})
    assert scores["hands-on"] == 4
    assert scores["social"] == 0


async def test_start_after_leaving_mid_quiz_opens_the_career_list(shipped: BotHarness) -> None:
    """The place kept is a statement, which only a button can show: /start shows the entry
    node instead, with the variables it uses of its own (the career list's reasons)."""
    sam = shipped.user()
    await sam.send("/start")
    await sam.press("Music Producer")
    await sam.send("/quiz")
    await sam.press(START)
    await sam.press(EMOJI[LOVE])
    await shipped.restart()
    sam = shipped.user()
    replies = await sam.send("/start")
    assert_no_error(replies)
    assert "Music Producer" in screen(sam)
    alex = shipped.user(2002, "Alex")
    await alex.send("/quiz")
    await alex.press(START)
    replies = await alex.send("/start")
    assert_no_error(replies)
    assert "Which career would you like to try on?" in screen(alex)
