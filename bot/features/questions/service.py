"""Answering free-text questions from content, offline.

How a question is read:

1. Tokens: lowercase words and clock times ("12:30"); contractions and chat spellings of
   English function words are spelled out ("u" → "you", "shouldnt" → "should not"),
   currency signs read as "money" and "%" as "percent", letters repeated 3+ times folded.
2. Known words: each token is folded to a word of the matching vocabulary (keywords and
   phrases of `content/questions.yaml`, stopwords, the profiles' keywords and career names):
   plurals to their singular, typos to the nearest word with the same first letter (1 edit
   from 4 letters on, 2 edits from 8 letters on; see `_typo_of`).
3. Career names: the longest span naming a career of the catalog (title or alias) becomes the
   word `career` — so one phrase covers them all — and the question is about that career.
   A span naming a related career that has no profile yet gets the honest fallback.
4. Scoring: each intent scores the weights of its keywords present (`word*` matches words
   starting with `word`; a profile's own keywords are added to, or override, the general
   ones) plus the weights of its phrases found in order. Naming a moment of the typical day
   (its clock time, or a word of its title) or a clock time scores for `day`.
5. The intent `unknown` in content lists what the bot has no content for (careers without a
   profile, other subjects): when it reaches `min_score` the bot says it doesn't know,
   whatever else matched. Otherwise the best intent scoring at least `min_score` answers
   (ties: the first in content); below it, the fallback.

Everything a word may mean lives in content, chat spellings included; only English
contractions ("n't", "'re") are written here.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.content.models import Moment, Profile
from bot.content.questions import QuestionSpec
from bot.db.models import Student, UnansweredQuestion
from bot.services.students import record_event

FALLBACK = "unknown"
DAY_INTENT = "day"
UNANSWERED_TEXT_LIMIT = 300
PREFIX_MARK = "*"
# What a career's name in a question becomes, so phrases can stand for any career.
CAREER_WORD = "career"
# What naming a moment of the typical day adds to `day`: its clock time ("what happens at
# 3?") is enough on its own; another clock time, or a word of a moment's title ("when do they
# do the editing?"), adds a little.
TIME_WEIGHT = 1.5
MOMENT_TITLE_WEIGHT = 1.5
_CACHE_LIMIT = 20_000

_WORD = re.compile(r"[a-z0-9]+(?::[0-9]{2})?")
_CLOCK = re.compile(r"\b(at\s+)?(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|o'?clock)?\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_CURRENCY = re.compile(r"[$€£]+")
_CONTRACTIONS = (
    ("n't", " not"),
    ("'re", " are"),
    ("'m", " am"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'d", " would"),
    ("'s", " is"),
)


def tokenize(text: str, spellings: Mapping[str, str] | None = None) -> list[str]:
    """The words of `text`, lowercased, with contractions and `spellings` (chat spellings
    from content, "u" → "you") spelled out."""
    text = text.lower().replace("’", "'").replace("`", "'")
    for short, full in _CONTRACTIONS:
        text = text.replace(short, full)
    text = _CURRENCY.sub(" money ", text).replace("%", " percent ")
    text = _REPEATS.sub(r"\1\1", text)
    tokens: list[str] = []
    for token in _WORD.findall(text):
        spelled = spellings.get(token) if spellings else None
        tokens.extend(spelled.split() if spelled else [token])
    return tokens


def _forms(token: str) -> list[str]:
    """The singular forms of a token, shortest first, then the token: 'salaries' → salary."""
    forms: list[str] = []
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        forms.append(token[:-1])
    if len(token) > 3 and token.endswith("es"):
        forms.append(token[:-2])
    if len(token) > 4 and token.endswith("ies"):
        forms.append(token[:-3] + "y")
    forms.sort(key=len)
    forms.append(token)
    return forms


def _deletes(word: str, depth: int) -> set[str]:
    """Every string made by deleting up to `depth` letters of `word`."""
    found = {word}
    for count in range(1, depth + 1):
        for positions in combinations(range(len(word)), count):
            found.add("".join(c for i, c in enumerate(word) if i not in positions))
    return found


def _typo_depth(length: int) -> int:
    """How many edits a word of this length may carry and still be recognised."""
    return 2 if length >= 8 else 1 if length >= 4 else 0


def edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): edits, swaps of neighbours."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current.append(value)
        previous2, previous = previous, current
    return previous[-1]


def _typo_of(token: str, word: str, depth: int) -> bool:
    """Whether `token` is `word` mistyped. The first letter is kept (or swapped with the
    second): 'might' is not 'night'. A 4-letter token may miss, add or swap a letter, but not
    change one: 'quit' is not 'quiz'."""
    if token[0] != word[0] and token[:2] != word[1::-1]:
        return False
    distance = edit_distance(token, word)
    if distance > depth:
        return False
    if len(token) == 4 and len(word) == 4 and distance == 1:
        return sorted(token) == sorted(word)
    return True


class Vocabulary:
    """The known words, with a deletion index to find the word a typo was meant to be."""

    def __init__(self, words: Iterable[str], prefixes: Iterable[str]) -> None:
        self.words = frozenset(words)
        self.prefixes = tuple(sorted(set(prefixes), key=len, reverse=True))
        self._by_delete: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.words):
            depth = _typo_depth(len(word))
            if depth:  # a short word is never a typo's target: 'play' is not 'pay'
                for variant in _deletes(word, depth):
                    self._by_delete[variant].append(word)
        self._cache: dict[str, str] = {}

    def canonical(self, token: str) -> str:
        """The known word `token` stands for, or the token itself."""
        found = self._cache.get(token)
        if found is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            found = self._cache[token] = self._lookup(token)
        return found

    def _lookup(self, token: str) -> str:
        for form in _forms(token):
            if form in self.words:
                return form
        if any(token.startswith(prefix) for prefix in self.prefixes):
            return token
        depth = _typo_depth(len(token))
        if not depth:
            return token
        candidates = {
            word
            for variant in _deletes(token, depth)
            for word in self._by_delete.get(variant, ())
            if abs(len(word) - len(token)) <= depth
        }
        scored = sorted(
            (edit_distance(token, word), word)
            for word in candidates
            if _typo_of(token, word, depth)
        )
        return scored[0][1] if scored else token

    def terms(self, token: str) -> list[str]:
        """The keywords a canonical token counts as: itself and the prefixes it starts with."""
        return [
            token,
            *(prefix + PREFIX_MARK for prefix in self.prefixes if token.startswith(prefix)),
        ]


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

    @property
    def answered(self) -> bool:
        return self.intent != FALLBACK


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
        absent = self._absent(catalog, spec)
        names_of_absent = [name for names in absent.values() for name in names]
        self.vocabulary = self._vocabulary(spec, catalog, names_of_absent)
        general = {name: self._keys(intent.keywords) for name, intent in spec.intents.items()}
        self._general_terms = self._invert(general)
        self._profile_terms: dict[str, TermIndex] = {}
        for profile in catalog:
            merged = {name: dict(found) for name, found in general.items()}
            for name, found in profile.keywords.items():
                merged.setdefault(name, {}).update(self._keys(found))
            self._profile_terms[profile.slug] = self._invert(merged)
        self._phrases: PhraseIndex = defaultdict(list)
        for name, intent in spec.intents.items():
            for text, weight in intent.phrases.items():
                phrase = self._phrase(text)
                if phrase:
                    self._phrases[phrase[0]].append((name, phrase, weight))
        # Longest names first, so a two-word title wins over a one-word alias inside it.
        by_name: dict[Phrase, list[Profile]] = defaultdict(list)
        for profile in catalog:
            for name in self._names(profile):
                phrase = self._phrase(name)
                if profile not in by_name[phrase]:
                    by_name[phrase].append(profile)
        self._career_names = sorted(by_name.items(), key=lambda item: -len(item[0]))
        self._absent_names = sorted(
            [(self._phrase(name), title) for title, names in absent.items() for name in names],
            key=lambda item: -len(item[0]),
        )
        self._closest = {title: self._closest_to(title, spec, catalog) for title in absent}
        common = {term for keywords in general.values() for term in keywords}
        self._moment_words = {
            profile.slug: [
                (moment, self._title_words(moment, common)) for moment in profile.day.moments
            ]
            for profile in catalog
        }

    # Building

    def _vocabulary(self, spec: QuestionSpec, catalog: Catalog, absent: list[str]) -> Vocabulary:
        """Every word content knows: stopwords, keywords, phrases and career names."""
        words: set[str] = set(self._stopwords) | {CAREER_WORD}
        prefixes: set[str] = set()
        keyword_lists = [intent.keywords for intent in spec.intents.values()]
        keyword_lists += [found for profile in catalog for found in profile.keywords.values()]
        for keywords in keyword_lists:
            for keyword in keywords:
                if keyword.endswith(PREFIX_MARK):
                    prefixes.add(keyword[: -len(PREFIX_MARK)])
                else:
                    words.update(tokenize(keyword, spec.spellings))
        texts = [phrase for intent in spec.intents.values() for phrase in intent.phrases]
        texts += [name for profile in catalog for name in self._names(profile)]
        for text in [*texts, *absent]:
            words.update(tokenize(text, spec.spellings))
        return Vocabulary(words, prefixes)

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
        words = {
            self.vocabulary.canonical(word) for word in tokenize(moment.title, self.spec.spellings)
        }
        return frozenset(words - self._stopwords - common)

    # Answering

    def answer(self, question: str, career: str | None) -> Answer:
        tokens = [
            self.vocabulary.canonical(token) for token in tokenize(question, self.spec.spellings)
        ]
        home = self.catalog.get(career) or self.catalog.only()
        tokens, named = self._name_careers(tokens, home)
        profile = named or home
        other = named is not None and home is not None and named.slug != home.slug
        missing = None if named else self._missing_career(tokens)
        if missing is not None or profile is None:
            closest = self._closest.get(missing, []) if missing else []
            return Answer(FALLBACK, profile, missing_career=missing, closest=closest)
        scores = self._scores(tokens, profile)
        times = _clock_times(question)
        clock = next((m for m in profile.day.moments if m.time in times), None)
        titled = None if clock else self._moment_named(tokens, profile)
        if clock is not None:
            scores[DAY_INTENT] += self.spec.min_score + 1
        elif times:
            scores[DAY_INTENT] += TIME_WEIGHT
        elif titled is not None:
            scores[DAY_INTENT] += MOMENT_TITLE_WEIGHT
        best = self._best(scores)
        if best is None:
            return Answer(FALLBACK, profile, other_career=other)
        intent, score = best
        return Answer(
            intent=intent,
            profile=profile,
            other_career=other,
            moment=(clock or titled) if intent == DAY_INTENT else None,
            sentences=self._sentences(intent, profile),
            score=score,
        )

    def _name_careers(
        self, tokens: list[str], home: Profile | None
    ) -> tuple[list[str], Profile | None]:
        """Replaces each career name with CAREER_WORD; the career named with most words. A
        name two careers share (an alias of both) means the student's own career when it is one."""
        named: Profile | None = None
        for name, profiles in self._career_names:
            start = _find(tokens, name)
            while start is not None:
                tokens = [*tokens[:start], CAREER_WORD, *tokens[start + len(name) :]]
                named = named or (home if home in profiles else profiles[0])
                start = _find(tokens, name)
        return tokens, named

    def _missing_career(self, tokens: list[str]) -> str | None:
        for name, title in self._absent_names:
            if _find(tokens, name) is not None:
                return title
        return None

    def _scores(self, tokens: list[str], profile: Profile) -> dict[str, float]:
        terms_index = self._profile_terms.get(profile.slug, self._general_terms)
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
        for start, token in enumerate(tokens):
            for name, phrase, weight in self._phrases.get(token, ()):
                if phrase not in found and tuple(tokens[start : start + len(phrase)]) == phrase:
                    found.add(phrase)
                    scores[name] += weight
        return scores

    def _best(self, scores: dict[str, float]) -> tuple[str, float] | None:
        """The answering intent: none when the question is about something the bot has no
        content for, else the best scoring at least `min_score` (ties: first in content)."""
        if scores.get(FALLBACK, 0.0) >= self.spec.min_score:
            return None
        ranked = sorted(
            (item for item in scores.items() if item[0] != FALLBACK),
            key=lambda item: (-item[1], self._order.get(item[0], len(self._order))),
        )
        if not ranked or ranked[0][1] < self.spec.min_score:
            return None
        return ranked[0]

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


def _clock_times(question: str) -> list[str]:
    """The clock times a question names ("at 3", "5:00", "6pm", "12.30"), as "H:MM"."""
    found: list[str] = []
    for match in _CLOCK.finditer(question.lower()):
        if not (match[1] or match[3] or match[4]):
            continue  # a bare number ("top 5") is not a time
        hour, minute = int(match[2]), int(match[3] or 0)
        if hour <= 23 and minute <= 59:
            found.append(f"{hour}:{minute:02d}")
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
