"""The schema of a career profile. `content/AUTHORING.md` documents it for authors."""

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
# The six interest areas of career guidance (Holland's RIASEC), in the order the career
# list shows them.
AREAS = ("hands-on", "investigative", "artistic", "social", "enterprising", "organising")
Area = Literal["hands-on", "investigative", "artistic", "social", "enterprising", "organising"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RelatedCareer(Strict):
    title: Text
    slug: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)] | None = None


class WorkShare(Strict):
    label: Text
    percent: Annotated[int, Field(ge=0, le=100)]


class Work(Strict):
    heading: Text
    subheading: Text
    text: Text
    split: Annotated[list[WorkShare], Field(min_length=1)]
    split_note: Text
    split_source: Text

    @model_validator(mode="after")
    def split_sums_to_100(self) -> "Work":
        total = sum(share.percent for share in self.split)
        if total != 100:
            raise ValueError(f"the percents of split add up to {total}, not 100")
        return self


class Moment(Strict):
    time: Text
    title: Text
    text: Text

    @field_validator("time")
    @classmethod
    def time_is_a_clock_time(cls, value: str) -> str:
        match = _TIME.match(value)
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"{value!r} is not a time like 9:30 or 14:00")
        return value


class Day(Strict):
    heading: Text
    moments: Annotated[list[Moment], Field(min_length=1)]
    note: Text


class Checklist(Strict):
    heading: Text
    intro: Text
    fits_heading: Text
    fits: Annotated[list[Text], Field(min_length=1)]
    misfits_heading: Text
    misfits: Annotated[list[Text], Field(min_length=1)]


class ProjectStep(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,16}$")]
    title: Text
    text: Text
    note_prompt: Text | None = None
    repeatable: bool = False


class Project(Strict):
    heading: Text
    title: Text
    text: Text
    steps: Annotated[list[ProjectStep], Field(min_length=1)]

    @model_validator(mode="after")
    def step_ids_are_unique(self) -> "Project":
        ids = [step.id for step in self.steps]
        duplicates = sorted({step_id for step_id in ids if ids.count(step_id) > 1})
        if duplicates:
            raise ValueError(f"step ids must be unique, repeated: {', '.join(duplicates)}")
        return self


class PayPath(Strict):
    """One way of earning, with its figures exactly as the source states them."""

    name: Text
    text: Text
    median: Text | None = None
    entry: Text | None = None
    top: Text | None = None
    range: Text | None = None
    growth: Text | None = None
    paid: Text | None = None


class Numbers(Strict):
    heading: Text
    subheading: Text
    text: Text
    pay_paths: Annotated[list[PayPath], Field(min_length=1)]
    note: Text


class Section(Strict):
    heading: Text
    text: Text


class Sources(Strict):
    items: Annotated[list[Text], Field(min_length=1)]
    dated: Text


class Profile(Strict):
    """A whole career profile; the file name (without .yaml) is its slug."""

    slug: Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
    title: Text
    area: Area | None = None
    # The interest areas the quiz matches the career on, strongest first (AUTHORING.md).
    interests: Annotated[list[Area], Field(max_length=3)] = []
    aliases: list[Text] = []
    keywords: dict[
        str,
        dict[
            Annotated[str, StringConstraints(pattern=r"^[a-z0-9']+\*?$")],
            Annotated[float, Field(gt=0, le=10)],
        ],
    ] = {}
    summary: Text
    related: list[RelatedCareer] = []
    suits: Text
    not_suited: Text
    work: Work
    day: Day
    checklist: Checklist
    project: Project
    numbers: Numbers
    outlook: Section
    right_now: Section
    sources: Sources
    closing: Text

    @model_validator(mode="after")
    def _interests_lead_with_area(self) -> "Profile":
        if len(set(self.interests)) != len(self.interests):
            raise ValueError("interests: each area once")
        if self.area and self.interests and self.interests[0] != self.area:
            # The career list groups by `area`; the quiz must not place it elsewhere.
            raise ValueError(f"interests: the first must be the career's area, {self.area}")
        return self
