"""Answering free-text questions from content, offline.

How a question is answered (words.py reads it into the words content knows):

1. Career names: the longest span naming a career of the catalog (title or alias) becomes the
   word `career` — so one phrase covers them all — and the question is about that career.
   A span naming a career without a card (a related career, an unlisted one, or a word that
   stands where jobs stand: "how much does a dj make") gets "I don't have a card for X yet",
   with the closest careers there are: never this card's figures.
2. Scoring: each intent scores the weights of its keywords present (`word*` matches words
   starting with `word`; a profile's own keywords are added to, or override, the general
   ones) plus the weights of its phrases found in order. Naming a moment of the typical day
   (its clock time, or a word of its title) or a clock time scores for `day`.
3. The intent `unknown` lists what the bot has no content for (other subjects): when it
   reaches `min_score` the bot says it doesn't know, whatever else matched. A subject cards
   do not cover (`uncovered`: education, equipment, hours) that scores at least `min_score`
   and more than any intent gets "the card doesn't cover that".
4. Otherwise the best intent scoring at least `min_score` answers (ties: the first in
   content); below it, the card's own passages (passages.py); below their calibrated score,
   the honest fallback.
5. Over steps 2-4, the intent learnt from content's example questions (examples.py) answers
   when the classifier is sure of it (`example_min_probability`) and the rules said another
   thing; steps 1 and 3 (no card, veto, uncovered) are never undone by examples.

Everything a word may mean lives in content, chat spellings included.
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.content.models import Moment, Profile
from bot.content.questions import QuestionSpec
from bot.db.models import Student, UnansweredQuestion
from bot.features.questions.examples import ExampleModel
from bot.features.questions.jobs import CAREER_WORD, JobFinder, singular
from bot.features.questions.passages import Found, PassageIndex, card_passages
from bot.features.questions.words import (
    PREFIX_MARK,
    Vocabulary,
    clock_times,
    stem,
    tokenize,
)
from bot.services.students import record_event

FALLBACK = "unknown"
# The one intent answered before a career is chosen: its answer needs no card.
GREETING = "hello"
DAY_INTENT = "day"
UNANSWERED_TEXT_LIMIT = 300
# What naming a moment of the typical day adds to `day`: its clock time ("what happens at
# 3?") is enough on its own; another clock time, a word of a moment's title ("when do they
# do the editing?") or of its text alone, or "first thing", adds a little.
TIME_WEIGHT = 1.5
# A clock time naming a moment outweighs any phrasing around it ("at 5, what do they do").
CLOCK_WEIGHT = 3
MOMENT_TITLE_WEIGHT = 1.5
# Uncovered subjects score beside the intents under this mark.
UNCOVERED_MARK = "uncovered:"
# An intent scoring less than min_score + WEAK_MARGIN gives way to a passage scoring
# STRONG_PASSAGE times passage_min_score (calibrated on content/examples: bench/README.md).
WEAK_MARGIN = 1.5
STRONG_PASSAGE = 3.0
# Keywords scoring min_score + SURE_MARGIN are trusted without asking the examples (about a
# millisecond saved; the same accuracy when a file of examples is left out: bench/README.md).
SURE_MARGIN = 3.0
# How many of the card's best passages are looked at for one naming an uncovered subject.
COVERED_LOOK = 5
# A second passage is shown when it scores at least this share of the best.
SECOND_PASSAGE_SHARE = 0.8

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Answer:
    """What the bot makes of a question; `intent` is FALLBACK when it can't answer."""

    intent: str
    profile: Profile | None
    other_career: bool = False
    moment: Moment | None = None
    sentences: list[str] = field(default_factory=list)
    missing_career: str | None = None
    score: float = 0.0
    # For a career the catalog lacks: the closest careers it has.
    closest: list[Profile] = field(default_factory=list)
    # Answered from the card's passages: their texts and the section they are from.
    passages: list[str] = field(default_factory=list)
    section: str | None = None
    # A subject the card does not cover: the words that complete "doesn't cover …".
    uncovered: str | None = None
    # The intent learnt from the examples answered, this sure of it.
    learnt: float | None = None

    @property
    def answered(self) -> bool:
        return self.intent != FALLBACK

    @property
    def from_passages(self) -> bool:
        """Answered by quoting the card, not by an intent: words in common, maybe no more."""
        return self.node == "answer_passage"

    @property
    def understood(self) -> bool:
        """Whether the bot made anything of it: an answer, or at least a job or a subject it
        could name. Text it did not understand at all may be no question (a note, say)."""
        return self.answered or bool(self.missing_career or self.uncovered or self.other_career)

    @property
    def node(self) -> str:
        """The dialog node that phrases this answer."""
        if self.passages and self.moment is None:
            return "answer_passage"
        return f"answer_{self.intent}"

    @property
    def reason(self) -> str:
        """What answered, for authors trying questions (`careerbot ask`)."""
        if self.missing_career:
            return f"no card for {self.missing_career!r}"
        if self.uncovered:
            return f"not covered: {self.uncovered}"
        if self.passages:
            return f"passage from {self.section}: {self.passages[0]!r}"
        if self.learnt is not None:
            return f"intent {self.intent} learnt from the examples, probability {self.learnt:.2f}"
        return f"intent {self.intent}"


@dataclass(frozen=True)
class Reading:
    """A question read: its typed and canonical words (career names as CAREER_WORD), the
    student's career, the career it names, the one it is about, the clock times in it, and
    the moment of that career's day it points at: by its clock time (`clocked`) or else by
    its words."""

    typed: list[str]
    tokens: list[str]
    home: Profile | None
    named: Profile | None
    profile: Profile | None
    other: bool
    times: list[str]
    moment: Moment | None
    clocked: bool


Phrase = tuple[str, ...]
# term → (intent, weight) pairs; phrase first word → (intent, phrase, weight) triples.
TermIndex = dict[str, list[tuple[str, float]]]
PhraseIndex = dict[str, list[tuple[str, Phrase, float]]]


# How many catalog careers an answer about a missing career names.
CLOSEST_SHOWN = 3


class QuestionService:
    """Finds the intent of a question and the profile it is about; built once per content."""

    def __init__(self, spec: QuestionSpec, catalog: Catalog) -> None:
        self.spec = spec
        self.catalog = catalog
        self._order = {name: index for index, name in enumerate(spec.intents)}
        self._stopwords = frozenset(spec.stopwords)
        self._question_words = frozenset(spec.question_words)
        absent = self._absent(catalog, spec)
        names_of_absent = [name for names in absent.values() for name in names]
        passages = {profile.slug: card_passages(profile) for profile in catalog}
        self.vocabulary = self._vocabulary(
            spec,
            catalog,
            [*names_of_absent, *(p.text for found in passages.values() for p in found)],
        )
        general = {name: self._keys(intent.keywords) for name, intent in spec.intents.items()}
        topic_keys = {name: self._keys(t.keywords) for name, t in spec.uncovered.items()}
        general |= {UNCOVERED_MARK + name: keys for name, keys in topic_keys.items()}
        # Per subject, the words that alone name it (a card's passage holding one covers it).
        self._topic_words = {
            name: frozenset(
                term
                for term, weight in keys.items()
                if weight >= spec.min_score and not term.endswith(PREFIX_MARK)
            )
            for name, keys in topic_keys.items()
        }
        self._general_terms = self._invert(general)
        self._profile_terms: dict[str, TermIndex] = {}
        for profile in catalog:
            merged = {name: dict(found) for name, found in general.items()}
            for name, found in profile.keywords.items():
                merged.setdefault(name, {}).update(self._keys(found))
            self._profile_terms[profile.slug] = self._invert(merged)
        self._phrases: PhraseIndex = defaultdict(list)
        phrase_lists = [(name, intent.phrases) for name, intent in spec.intents.items()]
        phrase_lists += [(UNCOVERED_MARK + n, t.phrases) for n, t in spec.uncovered.items()]
        for name, phrases in phrase_lists:
            for text, weight in phrases.items():
                phrase = self._phrase(text)
                if phrase:
                    self._phrases[phrase[0]].append((name, phrase, weight))
        # Longest names first, so a two-word title wins over a one-word alias inside it.
        by_name: dict[Phrase, list[Profile]] = defaultdict(list)
        for profile in catalog:
            for name in self._names(profile):
                phrase = self._name_phrase(name)
                if profile not in by_name[phrase]:
                    by_name[phrase].append(profile)
        self._names_by_first: dict[str, list[tuple[Phrase, list[Profile]]]] = defaultdict(list)
        for phrase_of_name, profiles in sorted(by_name.items(), key=lambda item: -len(item[0])):
            if phrase_of_name:
                self._names_by_first[phrase_of_name[0]].append((phrase_of_name, profiles))
        self._absent_names = sorted(
            [(self._name_phrase(n), title) for title, names in absent.items() for n in names],
            key=lambda item: -len(item[0]),
        )
        self._closest = {title: self._closest_to(title, spec, catalog) for title in absent}
        self._name_words = {
            profile.slug: frozenset(
                word for name in self._names(profile) for word in self._name_phrase(name)
            )
            for profile in catalog
        }
        common = {term for keywords in general.values() for term in keywords}
        self._moment_words = {
            profile.slug: [
                (moment, self._title_words(moment, common)) for moment in profile.day.moments
            ]
            for profile in catalog
        }
        self._moment_text_words = {
            profile.slug: self._own_words(profile.day.moments, common) for profile in catalog
        }
        self._passages = PassageIndex(passages, self._passage_terms)
        # A career's own name says nothing about which of its passages answers.
        self._name_stems = {
            profile.slug: frozenset(
                word for name in self._names(profile) for word in self._passage_terms(name)
            )
            for profile in catalog
        }
        self._fillers = frozenset(spec.fillers)
        self._day_first = [self._phrase(text) for text in spec.day_first]
        self._day_last = [self._phrase(text) for text in spec.day_last]
        self._examples = ExampleModel(
            [
                " ".join(self._name_careers(tokenize(e.q, spec.spellings), None)[0])
                for e in spec.examples
            ],
            [example.intent for example in spec.examples],
        )
        self._jobs = JobFinder(spec.other_jobs, self.vocabulary, self._stopwords, self._phrase)

    # Building

    def _vocabulary(self, spec: QuestionSpec, catalog: Catalog, texts: list[str]) -> Vocabulary:
        """Every word content knows: stopwords, keywords, phrases, career names, passages."""
        words: set[str] = set(self._stopwords) | {CAREER_WORD}
        prefixes: set[str] = set()
        keyword_lists = [intent.keywords for intent in spec.intents.values()]
        keyword_lists += [topic.keywords for topic in spec.uncovered.values()]
        keyword_lists += [found for profile in catalog for found in profile.keywords.values()]
        for keywords in keyword_lists:
            for keyword in keywords:
                if keyword.endswith(PREFIX_MARK):
                    prefixes.add(keyword[: -len(PREFIX_MARK)])
                else:
                    words.update(tokenize(keyword, spec.spellings))
        texts = [*texts, *(phrase for intent in spec.intents.values() for phrase in intent.phrases)]
        texts += [phrase for topic in spec.uncovered.values() for phrase in topic.phrases]
        texts += [name for profile in catalog for name in self._names(profile)]
        texts += [*spec.other_jobs.not_jobs, *spec.day_first, *spec.day_last]
        for text in texts:
            words.update(tokenize(text, spec.spellings))
        # What vetoes an answer is matched as typed: 'tiktok' must not stem to 'tiktoker'.
        vetoes = spec.intents[FALLBACK].keywords if FALLBACK in spec.intents else {}
        return Vocabulary(words, prefixes, exact=vetoes)

    @staticmethod
    def _names(profile: Profile) -> list[str]:
        return [profile.title, *profile.aliases]

    @staticmethod
    def _absent(catalog: Catalog, spec: QuestionSpec) -> dict[str, list[str]]:
        """Careers students may name that the catalog does not have (yet), with the names
        they go by: those profiles mention as related, and the unlisted careers of
        questions.yaml."""
        present = {profile.slug for profile in catalog}
        titles = {profile.title.lower() for profile in catalog}
        absent: dict[str, list[str]] = {}
        for profile in catalog:
            for related in profile.related:
                if related.slug not in present and related.title.lower() not in titles:
                    absent.setdefault(related.title, [related.title])
        for unlisted in spec.unlisted_careers:
            if unlisted.title.lower() not in titles:
                names = absent.setdefault(unlisted.title, [unlisted.title])
                names.extend(alias for alias in unlisted.aliases if alias not in names)
        return absent

    @staticmethod
    def _closest_to(title: str, spec: QuestionSpec, catalog: Catalog) -> list[Profile]:
        unlisted = next((u for u in spec.unlisted_careers if u.title == title), None)
        found = [p for slug in (unlisted.closest if unlisted else []) if (p := catalog.get(slug))]
        if not found:
            key = title.lower()
            found = [p for p in catalog if any(r.title.lower() == key for r in p.related)]
        if not found and unlisted is not None:
            found = [p for p in catalog.by_area if p.area == unlisted.area]
        return found[:CLOSEST_SHOWN]

    def _phrase(self, text: str) -> Phrase:
        return tuple(
            self.vocabulary.canonical(token) for token in tokenize(text, self.spec.spellings)
        )

    def _name_phrase(self, text: str) -> Phrase:
        return tuple(
            self.vocabulary.name_form(token) for token in tokenize(text, self.spec.spellings)
        )

    def _passage_terms(self, text: str) -> list[str]:
        """The stems a passage or a question is matched on: its words less stopwords."""
        return [
            stem(word)
            for word in self._phrase(text)
            if word not in self._stopwords and word != CAREER_WORD
        ]

    def _keys(self, keywords: dict[str, float]) -> dict[str, float]:
        """Keywords as the canonical terms questions are matched on."""
        return {
            keyword if keyword.endswith(PREFIX_MARK) else " ".join(self._phrase(keyword)): weight
            for keyword, weight in keywords.items()
        }

    @staticmethod
    def _invert(by_intent: dict[str, dict[str, float]]) -> TermIndex:
        index: TermIndex = defaultdict(list)
        for name, keywords in by_intent.items():
            for term, weight in keywords.items():
                index[term].append((name, weight))
        return dict(index)

    def _title_words(self, moment: Moment, common: set[str]) -> frozenset[str]:
        """The words that tell a moment apart: its title's, less stopwords and keywords."""
        return frozenset(self._phrase(moment.title)) - self._stopwords - common

    # Answering

    def prepare(self) -> None:
        """Learns the intents of the example questions (about a second of CPU), so that the
        first student's question does not wait for it."""
        self._examples.fit()

    def asks(self, text: str) -> bool:
        """Whether the text is phrased as a question: a "?", or a question word first."""
        tokens = tokenize(text, self.spec.spellings)
        return "?" in text or bool(tokens and tokens[0] in self._question_words)

    def answer(self, question: str, career: str | None) -> Answer:
        """What answers: a career without a card, an uncovered subject or a veto first; then
        the intent learnt from the examples when it is sure enough; else keywords and phrases,
        then the card's passages, then the fallback."""
        reading = self._read(question, career)
        found, settled = self._by_rules(reading)
        profile = reading.profile
        if settled or profile is None or found.score >= self.spec.min_score + SURE_MARGIN:
            return found
        guess = self._examples.guess(" ".join(reading.tokens))
        if guess is None or guess.probability < self.spec.example_min_probability:
            return found
        if guess.intent == found.intent:
            return found  # agreed: the rules' answer may be the more precise passage
        if guess.intent == FALLBACK:
            return Answer(FALLBACK, profile, other_career=reading.other, learnt=guess.probability)
        return Answer(
            intent=guess.intent,
            profile=profile,
            other_career=reading.other,
            moment=reading.moment if guess.intent == DAY_INTENT else None,
            sentences=self._sentences(guess.intent, profile),
            learnt=guess.probability,
        )

    def _read(self, question: str, career: str | None) -> "Reading":
        typed = tokenize(question, self.spec.spellings)
        home = self.catalog.get(career) or self.catalog.only()
        tokens, typed, named = self._name_careers(typed, home)
        # Another career than the student's, or one named before any is chosen: offer to explore it.
        other = named is not None and (home is None or named.slug != home.slug)
        # Clock times as typed ("12.30") and as spelled out by content ("at six" → "at 6").
        times = clock_times(question) + clock_times(" ".join(typed))
        profile = named or home
        clock = None
        moment = None
        if profile is not None:
            clock = next((m for m in profile.day.moments if m.time in times), None)
            moment = (
                clock
                or self._moment_named(tokens, profile)
                or self._moment_told(tokens, profile)
                or self._moment_placed(tokens, profile)
            )
        return Reading(typed, tokens, home, named, profile, other, times, moment, clock is not None)

    def _by_rules(self, reading: "Reading") -> tuple[Answer, bool]:
        """The answer of content's keywords, phrases and passages, and whether it is settled:
        a career without a card, a veto or an uncovered subject is not for examples to undo."""
        tokens, typed, named, profile = (
            reading.tokens,
            reading.typed,
            reading.named,
            reading.profile,
        )
        other = reading.other
        missing = None if named else self._missing_career(typed, reading.home)
        if missing is not None:
            closest = self._closest.get(missing, [])
            return Answer(FALLBACK, profile, missing_career=missing, closest=closest), True
        if profile is None:
            # No career chosen and none named: a job without a card is still said to be one,
            # a greeting greeted; anything else needs a career first (the list is offered).
            job = self._jobs.find(tokens, typed, frozenset())
            best = None if job else self._best(self._scores(tokens, None))
            if best is not None and best[0] == GREETING:
                return Answer(GREETING, None, score=best[1]), True
            closest = self._sharing(job) if job else []
            return Answer(FALLBACK, None, missing_career=job, closest=closest), True
        scores = self._scores(tokens, profile)
        if scores.get(FALLBACK, 0.0) >= self.spec.min_score:
            return Answer(FALLBACK, profile, other_career=other), True
        own_words = self._name_words.get(profile.slug, frozenset())
        job = None if named else self._jobs.find(tokens, typed, own_words)
        if job is not None:
            missing_job = Answer(FALLBACK, profile, missing_career=job, closest=self._sharing(job))
            return missing_job, True
        if reading.clocked:
            scores[DAY_INTENT] += CLOCK_WEIGHT * self.spec.min_score
        elif reading.times:
            scores[DAY_INTENT] += TIME_WEIGHT
        elif reading.moment is not None:
            scores[DAY_INTENT] += MOMENT_TITLE_WEIGHT
        best = self._best(scores)
        topic = self._uncovered(scores, best[1] if best else 0.0)
        if topic is not None:
            covered = self._covered_by_card(tokens, profile, other, topic)
            if covered is not None:
                return covered, True
            label = self.spec.uncovered[topic].label
            return Answer(FALLBACK, profile, other_career=other, uncovered=label), True
        if best is not None and best[1] < self.spec.min_score + WEAK_MARGIN:
            # A weak intent gives way to a passage that says much more ("the sign about …").
            strong = self._from_passages(tokens, profile, other, STRONG_PASSAGE)
            if strong.passages or strong.moment is not None:
                return strong, False
        if best is not None:
            intent, score = best
            return Answer(
                intent=intent,
                profile=profile,
                other_career=other,
                moment=reading.moment if intent == DAY_INTENT else None,
                sentences=self._sentences(intent, profile),
                score=score,
            ), False
        return self._from_passages(tokens, profile, other), False

    def _covered_by_card(
        self, tokens: list[str], profile: Profile, other: bool, topic: str
    ) -> Answer | None:
        """The card's passage on a subject most cards leave out, when this card has one: a
        teacher's card says which degree it takes. The passage must hold a word of the
        question that alone names the subject ("degree"); that is evidence enough, so no
        passage score is asked of it."""
        # Whole words, not stems: "hearing" (health) is not "hear" (an ear for sound).
        asked = self._topic_words[topic].intersection(tokens)
        if not asked:
            return None
        query = self._query(tokens, profile)
        for found in self._passages.best(profile.slug, query, 1, limit=COVERED_LOOK):
            if found.passage.moment is None and not asked.isdisjoint(
                self._phrase(found.passage.text)
            ):
                return Answer(
                    intent=found.passage.intent,
                    profile=profile,
                    other_career=other,
                    passages=[found.passage.text],
                    section=found.passage.section,
                    score=round(found.score, 2),
                )
        return None

    def _query(self, tokens: list[str], profile: Profile) -> list[str]:
        """The stems a question is matched on against a card's passages."""
        own_name = self._name_stems.get(profile.slug, frozenset())
        return [
            word
            for token in tokens
            # A bare number matches a percentage of the card, not what was asked ("15 times 37").
            if token not in self._stopwords and token != CAREER_WORD and not token.isdigit()
            if (word := stem(token)) not in own_name
        ]

    def _from_passages(
        self, tokens: list[str], profile: Profile, other: bool, factor: float = 1.0
    ) -> Answer:
        """The card's best passages when they score `factor` times the calibrated score, else
        the fallback."""
        query = self._query(tokens, profile)
        found: list[Found] = self._passages.best(profile.slug, query, self.spec.passage_min_terms)
        if not found or found[0].score < factor * self.spec.passage_min_score:
            return Answer(FALLBACK, profile, other_career=other)
        top = found[0]
        shown = [top.passage] + [
            more.passage
            for more in found[1:]
            if more.passage.section == top.passage.section
            and more.passage.moment is None
            and more.score >= SECOND_PASSAGE_SHARE * top.score
        ]
        return Answer(
            intent=top.passage.intent,
            profile=profile,
            other_career=other,
            moment=top.passage.moment,
            passages=[passage.text for passage in shown],
            section=top.passage.section,
            score=round(top.score, 2),
        )

    def _name_careers(
        self, typed: list[str], home: Profile | None
    ) -> tuple[list[str], list[str], Profile | None]:
        """The question's canonical and typed words, each career name replaced with
        CAREER_WORD, and the career named with most words. Names are found on words folded
        without stems ('cooked' names no cook). A name two careers share (an alias of both),
        or two names as long, mean the student's own career when it is one."""
        names = [self.vocabulary.name_form(token) for token in typed]
        canonical = [self.vocabulary.canonical(token) for token in typed]
        tokens: list[str] = []
        kept: list[str] = []
        longest: tuple[int, list[Profile]] | None = None
        start = 0
        while start < len(names):
            # Names are indexed by their first word, longest first: one look per word.
            found = next(
                (
                    (name, profiles)
                    for name, profiles in self._names_by_first.get(names[start], ())
                    if tuple(names[start : start + len(name)]) == name
                ),
                None,
            )
            if found is None:
                tokens.append(canonical[start])
                kept.append(typed[start])
                start += 1
                continue
            name, profiles = found
            # The longest name; among as long ones, the student's own career (a question may
            # name a person, "my teacher said", beside the career it is about), else the first.
            if (
                longest is None
                or len(name) > longest[0]
                or (len(name) == longest[0] and home in profiles and home not in longest[1])
            ):
                longest = (len(name), profiles)
            tokens.append(CAREER_WORD)
            kept.append(CAREER_WORD)
            start += len(name)
        named = None
        if longest is not None:
            profiles = longest[1]
            named = home if home in profiles else profiles[0]
        typed = kept
        return tokens, typed, named

    def _missing_career(self, typed: list[str], home: Profile | None) -> str | None:
        """The career without a card the question names. A one-word name that is a word of
        the student's own career's names means that career: with an alias "X Engineer", a
        bare "engineers" is that career's, not the unlisted Engineer."""
        names = [self.vocabulary.name_form(token) for token in typed]
        own = self._name_words.get(home.slug, frozenset()) if home else frozenset()
        for name, title in self._absent_names:
            if not (len(name) == 1 and name[0] in own) and _find(names, name) is not None:
                return title
        return None

    def _sharing(self, job: str) -> list[Profile]:
        """Catalog careers whose name shares a word with a job's: 'web designer' → Graphic
        Designer."""
        words = {singular(word) for word in job.split()}
        return [
            profile
            for profile in self.catalog.by_area
            if any(words & {singular(w) for w in tokenize(name)} for name in self._names(profile))
        ][:CLOSEST_SHOWN]

    def _scores(self, tokens: list[str], profile: Profile | None) -> dict[str, float]:
        terms_index = (
            self._profile_terms.get(profile.slug, self._general_terms)
            if profile
            else self._general_terms
        )
        terms = {
            term
            for token in tokens
            if token not in self._stopwords
            for term in self.vocabulary.terms(token)
        }
        scores: dict[str, float] = defaultdict(float)
        for term in terms:
            for name, weight in terms_index.get(term, ()):
                scores[name] += weight
        found: set[Phrase] = set()
        # Phrases read past fillers: "what do they even do" is "what do they do".
        tokens = [token for token in tokens if token not in self._fillers]
        for start, token in enumerate(tokens):
            for name, phrase, weight in self._phrases.get(token, ()):
                if phrase not in found and tuple(tokens[start : start + len(phrase)]) == phrase:
                    found.add(phrase)
                    scores[name] += weight
        return scores

    def _best(self, scores: dict[str, float]) -> tuple[str, float] | None:
        """The best intent scoring at least `min_score` (ties: first in content)."""
        ranked = sorted(
            (
                item
                for item in scores.items()
                if item[0] != FALLBACK and not item[0].startswith(UNCOVERED_MARK)
            ),
            key=lambda item: (-item[1], self._order.get(item[0], len(self._order))),
        )
        if not ranked or ranked[0][1] < self.spec.min_score:
            return None
        return ranked[0]

    def _uncovered(self, scores: dict[str, float], best: float) -> str | None:
        """The uncovered subject the question is about: scoring at least `min_score` and more
        than the best intent."""
        topics = [
            (score, name[len(UNCOVERED_MARK) :])
            for name, score in scores.items()
            if name.startswith(UNCOVERED_MARK) and score >= self.spec.min_score and score > best
        ]
        return max(topics)[1] if topics else None

    def _moment_named(self, tokens: list[str], profile: Profile) -> Moment | None:
        """The moment whose title shares the most words with the question ('editing' shares
        'edit' with a moment titled 'Edit & review')."""
        present = set(tokens) - self._stopwords
        best, overlap = None, 0
        for moment, title_words in self._moment_words.get(profile.slug, []):
            shared = sum(any(_same_stem(word, token) for token in present) for word in title_words)
            if shared > overlap:
                best, overlap = moment, shared
        return best

    def _own_words(self, moments: list[Moment], common: set[str]) -> list[frozenset[str]]:
        """Per moment, the words of its text no other moment's text has."""
        words = [set(self._phrase(m.text)) - self._stopwords - common for m in moments]
        return [
            frozenset(own.difference(*(other for other in words if other is not own)))
            for own in words
        ]

    def _moment_placed(self, tokens: list[str], profile: Profile) -> Moment | None:
        """The first or last moment, for a question that says so ("first thing")."""
        if any(_find(tokens, phrase) is not None for phrase in self._day_first):
            return profile.day.moments[0]
        if any(_find(tokens, phrase) is not None for phrase in self._day_last):
            return profile.day.moments[-1]
        return None

    def _moment_told(self, tokens: list[str], profile: Profile) -> Moment | None:
        """The one moment whose text alone has a word of the question ('record' → the moment
        where takes are recorded): a day question names the moment by what happens in it."""
        present = set(tokens)
        found = [
            moment
            for moment, own in zip(
                profile.day.moments, self._moment_text_words.get(profile.slug, []), strict=True
            )
            if own & present
        ]
        return found[0] if len(found) == 1 else None

    def _sentences(self, intent: str, profile: Profile) -> list[str]:
        terms = self.spec.intents[intent].sentences_with
        if not terms:
            return []
        found: list[str] = []
        for text in _texts(profile):
            for sentence in _SENTENCE_END.split(text):
                mentions = any(re.search(rf"\b{re.escape(term)}\b", sentence) for term in terms)
                if mentions and sentence not in found:
                    found.append(sentence)
        return found


def _same_stem(a: str, b: str) -> bool:
    """Whether two words are one, or one starts the other and is at least 3 letters long."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 3 and long.startswith(short)


def _find(tokens: list[str], phrase: Phrase) -> int | None:
    """Where `phrase` starts in `tokens`, if it does."""
    width = len(phrase)
    if not width:
        return None
    for start in range(len(tokens) - width + 1):
        if tuple(tokens[start : start + width]) == phrase:
            return start
    return None


def _texts(profile: Profile) -> list[str]:
    """The profile's prose, in reading order, for quoting whole sentences."""
    return [
        profile.summary,
        profile.work.text,
        *(moment.text for moment in profile.day.moments),
        profile.outlook.text,
        profile.right_now.text,
    ]


async def record_question(
    session: AsyncSession, student: Student, question: str, answer: Answer
) -> None:
    """Counts the question by intent; keeps the text only when it went unanswered, for authors.

    Stored with the answer screen the update shows next (`TourService.show` commits)."""
    await record_event(session, student, "question", answer.intent, commit=False)
    if not answer.answered:
        session.add(
            UnansweredQuestion(
                student_id=student.id,
                career=answer.profile.slug if answer.profile else None,
                text=question.strip()[:UNANSWERED_TEXT_LIMIT],
            )
        )
