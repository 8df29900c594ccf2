"""Reading a typed question into the words content knows.

1. Tokens: lowercase words and clock times ("12:30"); contractions and chat spellings of
   English function words are spelled out ("u" → "you", "shouldnt" → "should not"),
   currency signs read as "money" and "%" as "percent", letters repeated 3+ times folded.
2. Known words: each token is folded to a word of the vocabulary (the words of content:
   keywords, phrases, stopwords, career names and every passage of every card): the word
   itself, its singular, a word with the same stem (Snowball's English stemmer: "mixing" →
   "mix"), or the word it is a typo of (edit distance by rapidfuzz: 1 edit from 4 letters on,
   2 from 8 on; a 3-letter token may have lost one letter of a 4-letter word, "mch" → much).

Only English contractions ("n't", "'re") are written here; every other word is content's.
"""

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache

import snowballstemmer
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

PREFIX_MARK = "*"
_CACHE_LIMIT = 20_000

_WORD = re.compile(r"[a-z0-9]+(?::[0-9]{2})?")
# "3", "5:00", "6pm", "12.30", "12 30" (a spelled-out "twelve thirty"); "half 12" is 12:30.
_CLOCK = re.compile(
    r"\b(at\s+|half\s+)?(\d{1,2})(?:[:.](\d{2})|\s(00|15|30|45)\b)?\s*(am|pm|o'?\s?clock)?\b"
)
_REPEATS = re.compile(r"([a-z])\1{2,}")
_CURRENCY = re.compile(r"[$€£]+")
# "a.i." is "ai"; "100k" is a sum of money.
_ACRONYM = re.compile(r"\b(?:[a-z]\.){2,}")
_THOUSANDS = re.compile(r"\b\d+\s?k\b")
_CONTRACTIONS = (
    ("n't", " not"),
    ("'re", " are"),
    ("'m", " am"),
    ("'ll", " will"),
    ("'ve", " have"),
    ("'d", " would"),
    ("'s", " is"),
)
_STEMMER = snowballstemmer.stemmer("english")


def tokenize(text: str, spellings: Mapping[str, str] | None = None) -> list[str]:
    """The words of `text`, lowercased, with contractions and `spellings` (chat spellings
    from content, "u" → "you") spelled out."""
    text = text.lower().replace("’", "'").replace("`", "'")
    for short, full in _CONTRACTIONS:
        text = text.replace(short, full)
    text = _ACRONYM.sub(lambda match: match[0].replace(".", ""), text)
    text = _CURRENCY.sub(" money ", text).replace("%", " percent ")
    text = _THOUSANDS.sub(" money ", text)
    text = _REPEATS.sub(r"\1\1", text)
    tokens: list[str] = []
    for token in _WORD.findall(text):
        spelled = spellings.get(token) if spellings else None
        tokens.extend(spelled.split() if spelled else [token])
    return tokens


@lru_cache(maxsize=50_000)  # start-up stems every word of every card, most of them often
def stem(word: str) -> str:
    """The word's stem: 'mixing' and 'mixes' → 'mix'."""
    return str(_STEMMER.stemWord(word))


def clock_times(question: str) -> list[str]:
    """The clock times a question names ("at 3", "5:00", "6pm", "12.30"), as "H:MM"."""
    found: list[str] = []
    for match in _CLOCK.finditer(question.lower()):
        if not (match[1] or match[3] or match[4] or match[5]):
            continue  # a bare number ("top 5") is not a time
        half = (match[1] or "").startswith("half")
        hour, minute = int(match[2]), 30 if half else int(match[3] or match[4] or 0)
        if hour <= 23 and minute <= 59:
            found.append(f"{hour}:{minute:02d}")
    return found


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


def _typo_depth(length: int) -> int:
    """How many edits a word of this length may carry and still be recognised."""
    return 2 if length >= 8 else 1 if length >= 3 else 0


def _plausible_typo(token: str, word: str) -> bool:
    """Edits a typist makes: the first letter kept (or swapped with the second), so 'might'
    is not 'night'; a 3-letter token only lost a letter ('mak' → make); a 4-letter token may
    miss, add or swap a letter but not change one ('quit' is not 'quiz')."""
    if token[0] != word[0] and token[:2] != word[1::-1]:
        return False
    if len(token) == 3:
        return len(word) == 4
    if len(token) == 4 and len(word) == 4:
        return sorted(token) == sorted(word)
    return True


class Vocabulary:
    """The known words, and how a typed token folds to one of them (cached per token)."""

    def __init__(
        self, words: Iterable[str], prefixes: Iterable[str], exact: Iterable[str] = ()
    ) -> None:
        """`exact`: words a token becomes only as typed, never by sharing a stem ('tiktok' is
        no 'tiktoker')."""
        self.words = frozenset(words)
        self.prefixes = tuple(sorted(set(prefixes), key=len, reverse=True))
        only_exact = frozenset(exact)
        self._by_stem: dict[str, list[str]] = defaultdict(list)
        # A short word is never a typo's target ('play' is not 'pay'): 4 letters and more.
        self._by_initial: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.words, key=lambda word: (len(word), word)):
            if word not in only_exact:
                self._by_stem[stem(word)].append(word)
            if len(word) >= 4:
                self._by_initial[word[0]].append(word)
        # A prefix is a typo's target too ('alternitives' → alternative*), kept as typed.
        for prefix in self.prefixes:
            if len(prefix) >= 4 and prefix not in self.words:
                self._by_initial[prefix[0]].append(prefix)
        # Per folding (with stems, without), the word each token seen folded to.
        self._cache: dict[bool, dict[str, str]] = {True: {}, False: {}}

    def canonical(self, token: str) -> str:
        """The known word `token` stands for, or the token itself."""
        return self._folded(token, stems=True)

    def name_form(self, token: str) -> str:
        """The known word `token` stands for as part of a name: its singular or the word it is
        a typo of, never a word sharing its stem ('cooked' is not the unlisted 'Cook')."""
        return self._folded(token, stems=False)

    def _folded(self, token: str, stems: bool) -> str:
        cache = self._cache[stems]
        found = cache.get(token)
        if found is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            found = cache[token] = self._lookup(token, stems)
        return found

    def is_word(self, token: str) -> bool:
        """Whether a typed token is a word content knows, as typed or as its singular."""
        return any(form in self.words for form in _forms(token)) or self.known(token)

    def known(self, token: str) -> bool:
        """Whether a canonical token is a word content knows (or starts with a known prefix)."""
        return token in self.words or any(token.startswith(p) for p in self.prefixes)

    def _lookup(self, token: str, stems: bool) -> str:
        for form in _forms(token):
            if form in self.words:
                return form
        if token.isdigit():
            return token
        same_stem = self._by_stem.get(stem(token)) if stems else None
        if same_stem:  # the most alike: 'enginer' → engineer, not engine
            return max(same_stem, key=lambda word: (fuzz.ratio(token, word), -len(word)))
        # A typo is looked for even where a prefix keyword would match ('mixng' is 'mixing',
        # though it starts with 'mix'); the prefix still counts through `terms`.
        meant = self._typo_of(token)
        if meant is None:
            return token
        return next((form for form in _forms(meant) if form in self.words), meant)

    def _typo_of(self, token: str) -> str | None:
        depth = _typo_depth(len(token))
        if not depth:
            return None
        candidates = self._by_initial.get(token[0], [])
        if len(token) > 1 and token[1] != token[0]:
            candidates = candidates + self._by_initial.get(token[1], [])
        matches = process.extract(
            token, candidates, scorer=OSA.distance, score_cutoff=depth, limit=None
        )
        # Fewest edits first; among those, the most alike ('writen' → written, not write).
        plausible = sorted(
            (distance, -fuzz.ratio(token, word), word)
            for word, distance, _ in matches
            if _plausible_typo(token, word)
        )
        return plausible[0][2] if plausible else None

    def terms(self, token: str) -> list[str]:
        """The keywords a canonical token counts as: itself and the prefixes it starts with."""
        return [
            token,
            *(prefix + PREFIX_MARK for prefix in self.prefixes if token.startswith(prefix)),
        ]
