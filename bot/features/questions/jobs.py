"""Jobs the catalog has no card for, told from other words by where they stand in a question
("become a …", "does a … make", "… salary") and by what they look like (a job's ending, or
content's list), so that "how much does a dj make" never gets this card's figures."""

from collections.abc import Callable, Collection

from bot.content.questions import OtherJobs
from bot.features.questions.words import Vocabulary

# What a career's name in a question becomes, so phrases can stand for any career.
CAREER_WORD = "career"
# The longest job name read from a question, in words ("tattoo artist"), and its longest word.
JOB_WORDS = 2
JOB_WORD_LIMIT = 30

Phrase = tuple[str, ...]


def singular(word: str) -> str:
    """A typed job name's singular, for saying it back: 'djs' → dj."""
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class JobFinder:
    def __init__(
        self,
        jobs: OtherJobs,
        vocabulary: Vocabulary,
        stopwords: Collection[str],
        phrase: Callable[[str], Phrase],
    ) -> None:
        self._vocabulary = vocabulary
        self._stopwords = stopwords
        self._before = [phrase(words) for words in jobs.before]
        self._after = frozenset(jobs.after)
        self._articles = frozenset(jobs.articles)
        self._verbs = frozenset(jobs.verbs)
        self._suffixes = tuple(jobs.suffixes)
        self._words = frozenset(jobs.words)
        self._not_jobs = frozenset(jobs.not_jobs)

    def find(self, tokens: list[str], typed: list[str], own_words: Collection[str]) -> str | None:
        """The job named, as typed, in a question read into canonical `tokens` and `typed`
        words (career names already CAREER_WORD in both); `own_words` are the words of the
        student's own career's names, which name no other job."""
        for start in range(len(tokens)):
            for width in range(JOB_WORDS, 0, -1):
                end = start + width
                span = tokens[start:end]
                if end > len(tokens) or any(
                    word in self._stopwords or word == CAREER_WORD for word in span
                ):
                    continue
                if any(len(word) > JOB_WORD_LIMIT for word in typed[start:end]):
                    continue  # said back to the student: no wall of letters
                head = singular(typed[end - 1])
                if width == 1 and (
                    head in self._not_jobs or self._vocabulary.name_form(head) in self._not_jobs
                ):
                    continue  # alone, no job; with a word before it, one ("tattoo artist")
                if tokens[end - 1] in own_words:
                    continue  # "as an engineer", to a student whose career is an X Engineer
                # Without a job's ending, only a word content does not know is taken for a
                # job, and only where one is asked about ("does a nanny make"); the typed word
                # decides, a typo's guess may be any word ('driver' → drive).
                unknown = any(not self._vocabulary.is_word(word) for word in typed[start:end])
                job_like = len(head) > 4 and head.endswith(self._suffixes)
                before = tokens[start - 1] if start > 0 else None
                after = tokens[end] if end < len(tokens) else None
                asked_about = before in self._articles and after in self._verbs
                placed = asked_about or self._follows(tokens, start) or after in self._after
                if placed and (head in self._words or job_like or (unknown and asked_about)):
                    return " ".join([*typed[start : end - 1], head])
        return None

    def _follows(self, tokens: list[str], start: int) -> bool:
        """Whether the words before `start` are words a job follows ("become a")."""
        return any(
            len(words) <= start and tuple(tokens[start - len(words) : start]) == words
            for words in self._before
        )
