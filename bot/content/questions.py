"""The schema of `content/questions.yaml`: how students' free-text questions map to the parts
of a profile. Matching data is content, so a new profile or a new phrasing needs no code."""

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from bot.content.models import SLUG_PATTERN, Area
from bot.content.yaml_source import SourceErrors, read_yaml

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


class QuestionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min_score: Annotated[float, Field(gt=0)] = 3
    spellings: dict[str, str] = {}
    stopwords: list[str] = []
    intents: dict[IntentName, Intent]
    unlisted_careers: list[UnlistedCareer] = []


QUESTIONS_FILE = "questions.yaml"  # in the content directory


def load_questions(file: Path) -> QuestionSpec:
    document = read_yaml(file)
    try:
        return QuestionSpec.model_validate(document.data or {})
    except ValidationError as exc:
        raise SourceErrors(document.validation_errors(exc)) from exc
