"""The schema of `content/questions.yaml`: how students' free-text questions map to the parts
of a profile. Matching data is content, so a new profile or a new phrasing needs no code."""

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.content.models import SLUG_PATTERN, Area
from bot.content.yaml_source import SourceError, SourceErrors, read_yaml

IntentName = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,30}$")]
Weight = Annotated[float, Field(gt=0, le=10)]
# One lowercase word, or a prefix ending in `*`; several words belong in `phrases`.
Keyword = Annotated[str, StringConstraints(pattern=r"^[a-z0-9']+\*?$")]


class Intent(BaseModel):
    """One kind of question; the dialog node `answer_<name>` phrases the answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: dict[Keyword, Weight] = {}
    phrases: dict[str, Weight] = {}
    sentences_with: list[str] = []


class UnlistedCareer(BaseModel):
    """A career students ask about that the catalog has no card for (yet): the bot says so
    honestly and names the closest careers it has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    aliases: list[str] = []
    area: Area
    # Slugs of catalog careers, closest first; without them, the careers that list this
    # one as related, else those of its area.
    closest: list[Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]] = []


class Uncovered(BaseModel):
    """A subject students ask about that cards do not cover (education, equipment, hours):
    the bot says the card doesn't cover it instead of answering with a neighbouring section."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Completes "The card doesn't cover …".
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    keywords: dict[Keyword, Weight] = {}
    phrases: dict[str, Weight] = {}


Word = Annotated[str, StringConstraints(pattern=r"^[a-z0-9']+$")]


class OtherJobs(BaseModel):
    """How a job the catalog has no card for is told from other words: where it stands in
    a question ("become a …", "a … make", "… salary") and what it looks like."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A job follows these words: "become a …", "work as …".
    before: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9' ]+$")]] = []
    # A job is followed by these: "… salary", "… job".
    after: list[Word] = []
    # Between an article (or do/does) and one of these: "does a … make", "do … earn".
    articles: list[Word] = []
    verbs: list[Word] = []
    suffixes: list[Word] = []
    words: list[Word] = []  # jobs without a job suffix: dj, chef, nanny
    not_jobs: list[Word] = []  # words with a job suffix that are no job: teenager, computer


class Example(BaseModel):
    """A question as a student typed it and the intent that answers it; `time`, `career`
    and `missing` say more of the right answer, for bench/questions.py."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
    intent: IntentName
    time: str | None = None
    career: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None
    missing: str | None = None


class ExampleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    student_career: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None
    questions: list[Example]


class QuestionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: Annotated[float, Field(gt=0)] = 3
    # The card's passages answer when no intent reaches min_score (see passages.py).
    passage_min_score: Annotated[float, Field(gt=0)] = 3
    passage_min_terms: Annotated[int, Field(ge=1, le=5)] = 2
    spellings: dict[str, str] = {}
    stopwords: list[str] = []
    # Words phrases are read past: "what do they even do" matches "what do they do".
    fillers: list[Word] = []
    # Words a question starts with: text with none first and no "?" may be no question.
    question_words: list[Word] = []
    intents: dict[IntentName, Intent]
    # Phrases that point at the first or the last moment of a typical day ("first thing",
    # "end of the day"), whatever its clock time.
    day_first: list[str] = []
    day_last: list[str] = []
    uncovered: dict[IntentName, Uncovered] = {}
    other_jobs: OtherJobs = OtherJobs()
    unlisted_careers: list[UnlistedCareer] = []
    # Example questions answer when the classifier learnt from them is this sure.
    example_min_probability: Annotated[float, Field(gt=0, le=1)] = 0.6
    # Filled from content/examples/*.yaml by load_questions, not written in questions.yaml.
    examples: list[Example] = []


QUESTIONS_FILE = "questions.yaml"  # in the content directory
EXAMPLES_DIR = "examples"  # in the content directory


def load_questions(file: Path) -> QuestionSpec:
    """questions.yaml, with the example questions of the examples folder beside it; every
    example's intent must be one of questions.yaml."""
    spec = read_yaml(file).validated(QuestionSpec)
    examples: list[Example] = []
    errors: list[SourceError] = []
    for path in sorted((file.parent / EXAMPLES_DIR).glob("*.yaml")):
        source = read_yaml(path)
        try:
            found = ExampleFile.model_validate(source.data or {})
        except ValidationError as exc:
            errors.extend(source.validation_errors(exc))
            continue
        for index, example in enumerate(found.questions):
            if example.intent not in spec.intents:
                location = ("questions", index, "intent")
                message = f"no intent {example.intent!r} in {file.name}"
                errors.append(source.error(location, message))
        examples.extend(found.questions)
    if errors:
        raise SourceErrors(errors)
    return spec.model_copy(update={"examples": examples})
