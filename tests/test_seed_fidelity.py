"""Every fact of the client's seed text reaches the student exactly.

The whole tour is walked by pressing every button reachable from /start; everything the bot
sent is collected as the student reads it, and each figure and each sentence of
`../shared/seed/music-producer.txt` must appear in it verbatim.
"""

import re
from dataclasses import dataclass

from tests.conftest import BotHarness
from tests.feature_support import ANSWER_BUTTONS, CHECKLIST_START, open_checklist, screen
from tests.tour_support import SETTINGS, TourWalker, plain, read_dialogs

# A number, time, percentage or amount, with its sign, currency, unit and ranges: "~$66K",
# "+11–17%", "12:30", "27-4014", "2025–26", "$150K–$500K+".
FIGURE = re.compile(r"[~$+]*\d[\d.,:–-]*[K%+]*")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
SPLIT_LINE = re.compile(r"^- (?P<label>.*\D)(?P<percent>\d+%)$")
DAY_LINE = re.compile(r"^- (?P<time>\d{1,2}:\d{2})(?P<title>\S.*)$")


@dataclass(frozen=True)
class Fact:
    line: int
    kind: str
    text: str


def figures(line: str) -> list[str]:
    # A figure at the end of a sentence keeps its full stop or comma out of the match.
    return [match.rstrip(".,:–-") for match in FIGURE.findall(line)]


def sentences(line: str) -> list[str]:
    return [part.strip() for part in SENTENCE_END.split(line) if part.strip()]


def seed_facts(seed: str) -> list[Fact]:
    """What the seed says, line by line, in the form it must appear in the bot."""
    facts: list[Fact] = []
    for number, raw in enumerate(seed.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        facts.extend(Fact(number, "figure", figure) for figure in figures(line))
        if line.startswith("Related:"):
            titles = line.removeprefix("Related:").split("·")
            facts.extend(Fact(number, "related career", title.strip()) for title in titles)
        elif line.startswith("Sources:"):
            body, _, dated = line.removeprefix("Sources:").partition("Dated ")
            for item in body.strip().rstrip(".").split(";"):
                facts.append(Fact(number, "source", item.strip()))
            facts.append(Fact(number, "source date", dated.strip().rstrip(".")))
        elif match := SPLIT_LINE.match(line):
            facts.append(Fact(number, "work split label", match["label"].strip()))
            facts.append(Fact(number, "work split share", match["percent"]))
        elif match := DAY_LINE.match(line):
            facts.append(Fact(number, "day time", match["time"]))
            facts.append(Fact(number, "day title", match["title"].strip()))
        else:
            prose = line.removeprefix("- ")
            facts.extend(Fact(number, "sentence", sentence) for sentence in sentences(prose))
    return facts


def test_the_seed_parses_into_facts(seed_text: str) -> None:
    """The checker itself: it finds the seed's figures and splits lines as the seed is laid out."""
    facts = seed_facts(seed_text)
    kinds = {fact.kind for fact in facts}
    assert kinds == {
        "figure",
        "related career",
        "source",
        "source date",
        "work split label",
        "work split share",
        "day time",
        "day title",
        "sentence",
    }
    found = {fact.text for fact in facts if fact.kind == "figure"}
    for figure in ("~$66K", "~$34K", "~$105K", "$150K", "$500K+", "+11–17%", "12:30", "25%"):
        assert figure in found
    assert all(not fact.text.endswith((".", ",")) for fact in facts if fact.kind == "figure")


async def checklist_questions(harness: BotHarness) -> list[str]:
    """Every question of the checklist as the student reads it: the card's signs are shown
    one at a time, as each is asked, so the tour's walk (which presses no answer) never
    sees them."""
    student = harness.user(2002, "Cam")
    await open_checklist(student)
    await student.press(CHECKLIST_START)
    questions = []
    while "Your result" not in screen(student):
        questions.append(screen(student))
        await student.press(ANSWER_BUTTONS["yes"])
    return questions


async def test_every_fact_of_the_seed_reaches_the_student(
    harness: BotHarness, seed_text: str
) -> None:
    dialogs = read_dialogs(SETTINGS.dialogs_dir)
    walk = await TourWalker(harness, harness.user(), dialogs.label("home")).walk()
    texts = [plain(text) for text in walk.all_texts()] + await checklist_questions(harness)
    shown = "\n\n".join(texts)
    missing = [fact for fact in seed_facts(seed_text) if fact.text not in shown]
    report = "\n".join(f"  seed line {f.line}: {f.kind}: {f.text!r}" for f in missing)
    assert not missing, f"{len(missing)} seed fragments never reach the student:\n{report}"


async def test_no_money_figure_is_invented(harness: BotHarness, seed_text: str) -> None:
    """Every amount of money the student is shown is one the seed states, written the same."""
    dialogs = read_dialogs(SETTINGS.dialogs_dir)
    walk = await TourWalker(harness, harness.user(), dialogs.label("home")).walk()
    shown = "\n\n".join(plain(text) for text in walk.all_texts())
    money = re.compile(r"[~+]*\$\d[\d.,]*[K+]*")
    shown_money = {amount.rstrip(".,") for amount in money.findall(shown)}
    seed_money = {amount.rstrip(".,") for amount in money.findall(seed_text)}
    assert shown_money, "the tour shows no pay figures at all"
    assert shown_money <= seed_money, f"amounts not in the seed: {sorted(shown_money - seed_money)}"
