"""The schema of `content/quiz.yaml`: the interest quiz's statements, the scale a student
answers them on, and how answers become interest areas and matched careers. Which areas a
career belongs to is the career's own `interests` (its profile)."""

from pathlib import Path
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from bot.content.catalog import Catalog
from bot.content.models import AREAS, Area
from bot.content.yaml_source import SourceError, SourceErrors, read_yaml

QUIZ_FILE = "quiz.yaml"  # in the content directory
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
# Short, as it rides in a button's callback data (64 bytes) with the attempt and the answer.
ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,19}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaWords(Strict):
    """An interest area in plain words: `name` heads it, `doing` completes "you lean towards …"."""

    name: Text
    doing: Text


class Point(Strict):
    """One point of the answer scale: the button's emoji and what it means."""

    emoji: Text
    meaning: Text


class Item(Strict):
    id: ItemId
    # The activity, as the question shows it ("Fix a bike chain or a flat tyre yourself").
    text: Text
    # The same activity as a reason the student liked: "you liked … and …" ("fixing bikes").
    liked: Text
    # How much a liking for it says about each interest area: 1 its own area, less a second.
    areas: Annotated[dict[Area, Annotated[float, Field(gt=0, le=1)]], Field(min_length=1)]


class QuizSpec(Strict):
    areas: dict[Area, AreaWords]
    # From dislike to like; a point's value is its place (0 … 4).
    scale: Annotated[list[Point], Field(min_length=5, max_length=5)]
    items: Annotated[list[Item], Field(min_length=12, max_length=15)]
    # Answers from this value up are liked: only they give reasons and careers.
    liked_from: Annotated[int, Field(ge=1, le=4)] = 3
    # How much a career's first, second and third interest area count in its match.
    interest_weights: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] = [
        3,
        2,
        1,
    ]
    top_careers: Annotated[int, Field(ge=1, le=5)] = 3
    # The result names the areas scoring within this much of the best (at most two).
    area_margin: Annotated[float, Field(ge=0, le=4)] = 0.5
    # Below this gap between the best and the worst area, the answers cannot tell.
    flat_spread: Annotated[float, Field(gt=0, le=4)] = 0.75

    @field_validator("areas")
    @classmethod
    def _every_area(cls, areas: dict[Area, AreaWords]) -> dict[Area, AreaWords]:
        missing = [area for area in AREAS if area not in areas]
        if missing:
            raise ValueError(f"plain words for every area are needed: missing {missing}")
        return areas

    @field_validator("items")
    @classmethod
    def _distinct_and_complete(cls, items: list[Item]) -> list[Item]:
        ids = [item.id for item in items]
        twice = sorted({item for item in ids if ids.count(item) > 1})
        if twice:
            raise ValueError(f"each id once; twice: {', '.join(twice)}")
        unasked = [area for area in AREAS if not any(area in item.areas for item in items)]
        if unasked:
            raise ValueError(f"no statement weighs on {', '.join(unasked)}")
        return items


def load_quiz(file: Path, catalog: Catalog) -> QuizSpec:
    """quiz.yaml; the careers the quiz can match are those whose profile names `interests`."""
    document = read_yaml(file)
    try:
        spec = QuizSpec.model_validate(document.data or {})
    except ValidationError as exc:
        raise SourceErrors(document.validation_errors(exc)) from exc
    if not any(profile.interests for profile in catalog):
        message = "no career names its `interests`: the quiz would match none"
        raise SourceErrors([SourceError(file, 1, "items", message)])
    return spec
