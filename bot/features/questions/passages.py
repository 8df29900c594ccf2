"""The card's own passages, for answering questions no intent is confident about.

Every passage of a profile (its sentences, each share of the work split with its percentage,
each moment of the day, each checklist sign, each project step, each source) is indexed with
BM25 (rank-bm25) over the stems of its known words. A question scores each passage of the
student's career; the best passage answers when it scores at least `passage_min_score`
(content/questions.yaml) and shares at least `passage_min_terms` distinct stems with the
question (all of them, for a shorter question), so one shared word never answers for a
question that says more.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

from rank_bm25 import BM25Okapi

from bot.content.models import Moment, Profile

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
# The intent a section answers for, and the node its button opens.
SECTION_INTENT = {
    "work": "work",
    "day": "day",
    "suits": "suits",
    "not_suited": "not_suited",
    "project": "project",
    "numbers": "pay",
    "outlook": "outlook",
    "right_now": "right_now",
    "sources": "sources",
}


@dataclass(frozen=True)
class Passage:
    """A piece of a card a question can be answered with."""

    section: str  # a key of SECTION_INTENT
    text: str
    moment: Moment | None = None

    @property
    def intent(self) -> str:
        return SECTION_INTENT[self.section]


@dataclass(frozen=True)
class Found:
    passage: Passage
    score: float


def _sentences(text: str) -> list[str]:
    return [sentence for sentence in _SENTENCE_END.split(text.strip()) if sentence]


def card_passages(profile: Profile) -> list[Passage]:
    """Every passage of the card, in reading order."""
    work, day, checklist, project = profile.work, profile.day, profile.checklist, profile.project
    found: list[Passage] = []

    def add(section: str, *texts: str) -> None:
        found.extend(Passage(section, text) for text in texts if text.strip())

    add("work", *_sentences(profile.summary))
    add("suits", *_sentences(profile.suits))
    add("not_suited", *_sentences(profile.not_suited))
    add("work", *_sentences(work.text))
    add("work", *(f"{share.percent}% · {share.label}" for share in work.split))
    add("work", work.split_note, work.split_source)
    found.extend(
        Passage("day", f"{moment.time} · {moment.title}: {moment.text}", moment)
        for moment in day.moments
    )
    add("day", day.note)
    add("suits", *(sign.sign for sign in checklist.fits))
    add("not_suited", *(sign.sign for sign in checklist.misfits))
    add("project", f"{project.title}: {project.text}")
    add("project", *(f"{step.title}: {step.text}" for step in project.steps))
    add("numbers", *_sentences(profile.numbers.text))
    add("numbers", *(f"{path.name}: {path.text}" for path in profile.numbers.pay_paths))
    add("sources", profile.numbers.note)
    add("outlook", *_sentences(profile.outlook.text))
    add("right_now", *_sentences(profile.right_now.text))
    add("sources", *(source.name for source in profile.sources.items), profile.sources.dated)
    return found


class PassageIndex:
    """BM25 over the passages of every card, scored within one card at a time.

    Word weights (IDF) come from all the catalog's cards, each distinct passage once, so a
    word most careers use ("work", "time") weighs little and a word of this career's craft
    ("mixing", "arrangement") much. `terms` reads a text into the stems it is matched on."""

    def __init__(
        self, passages: dict[str, list[Passage]], terms: Callable[[str], list[str]]
    ) -> None:
        ids: dict[str, int] = {}
        corpus: list[list[str]] = []
        self._of_card: dict[str, list[tuple[int, Passage, frozenset[str]]]] = {}
        for slug, found in passages.items():
            entries = []
            for passage in found:
                if passage.text not in ids:
                    ids[passage.text] = len(corpus)
                    corpus.append(terms(passage.text))
                doc = ids[passage.text]
                entries.append((doc, passage, frozenset(corpus[doc])))
            self._of_card[slug] = entries
        # rank-bm25 divides by the average length: a catalog without words has none.
        self._bm25 = BM25Okapi(corpus) if any(corpus) else None

    def best(self, slug: str, query: list[str], min_terms: int, limit: int = 2) -> list[Found]:
        """The card's best passages for the query's stems, best first; those sharing fewer
        than `min_terms` distinct stems with the query (or fewer than all, if it has fewer)
        are left out."""
        entries = self._of_card.get(slug)
        if self._bm25 is None or not entries or not query:
            return []
        wanted = set(query)
        min_terms = min(min_terms, len(wanted))
        scores = self._bm25.get_batch_scores(sorted(wanted), [doc for doc, _, _ in entries])
        ranked = sorted(
            (
                Found(passage, float(score))
                for (_, passage, words), score in zip(entries, scores, strict=True)
                if len(wanted & words) >= min_terms and score > 0
            ),
            key=lambda found: -found.score,
        )
        return ranked[:limit]
