"""The schema of a career profile. `content/AUTHORING.md` documents it for authors."""

import re
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


def _mentions(text: str, term: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(term)}", text) is not None


# Texts searched for glossary terms, remembered per career: the card's screens are a few
# dozen; the bound keeps texts that vary (a step's how, a sign) from growing it without end.
TERM_CACHE_SIZE = 256


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

    def clock(self) -> list[str]:
        """Each moment's time with am or pm, as a working day reads it.

        Cards write a day's times on a 12-hour clock without saying which half ("11:00 …
        3:00 … 6:00"): the day starts in the morning, and a time earlier than the one before
        it has passed noon.
        """
        labels, previous, afternoon = [], -1, False
        for moment in self.moments:
            hours, minutes = (int(part) for part in moment.time.split(":"))
            if hours > 12:
                labels.append(moment.time)
                previous, afternoon = (hours - 12) * 60 + minutes, True
                continue
            on_dial = (hours % 12) * 60 + minutes
            afternoon = afternoon or hours == 12 or on_dial < previous
            previous = on_dial
            labels.append(f"{moment.time} {'pm' if afternoon else 'am'}")
        return labels


class Sign(Strict):
    """A checklist sign: the card's words, and how the bot puts them to the student.

    A card's sign is about "they"; the bot asks the student (`ask`) and names the signs they
    recognised in their own words (`you`). Both are written by hand and kept on import.
    """

    sign: Text
    ask: Text | None = None
    you: Text | None = None


def _bare(value: object, field: str) -> object:
    """A list item written as a bare line (as a card import gives a sign or a source) is
    that one field of the item: a sign without its question forms, a source without a link."""
    if isinstance(value, list):
        return [{field: item} if isinstance(item, str) else item for item in value]
    return value


class Checklist(Strict):
    heading: Text
    intro: Text
    fits_heading: Text
    fits: Annotated[list[Sign], Field(min_length=1)]
    misfits_heading: Text
    misfits: Annotated[list[Sign], Field(min_length=1)]

    @field_validator("fits", "misfits", mode="before")
    @classmethod
    def _bare_signs(cls, value: object) -> object:
        return _bare(value, "sign")


class ProjectStep(Strict):
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,16}$")]
    title: Text
    text: Text
    note_prompt: Text | None = None
    repeatable: bool = False
    # How to do it tonight: concrete actions, free tools where the card's topic implies
    # them, and roughly how long it takes.
    how: list[Text] = []
    tools: list[Text] = []
    time: Text | None = None


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
    # The period the growth figure covers ("2024–34"), when the source gives one.
    growth_period: Text | None = None
    # The date of the source's figures ("May 2024"), as the source states it.
    dated: Text | None = None
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


class Source(Strict):
    name: Text
    url: Annotated[str, StringConstraints(pattern=r"^https://[^\s<>\"]+$")] | None = None

    def __str__(self) -> str:
        return self.name


class Sources(Strict):
    items: Annotated[list[Source], Field(min_length=1)]
    dated: Text

    @field_validator("items", mode="before")
    @classmethod
    def _bare_names(cls, value: object) -> object:
        return _bare(value, "name")


class Term(Strict):
    """A word of the card a student may not know, explained in one line."""

    term: Text
    means: Text


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
    glossary: list[Term] = []
    _terms_found: dict[str, list[Term]] = PrivateAttr(default_factory=dict)

    def terms_in(self, *texts: str) -> list[Term]:
        """The glossary's terms that appear in any of `texts`, as a screen shows them.

        A screen's texts are the card's, so each screen is searched once per career and
        remembered (figures in bench/README.md, "glossary")."""
        text = " ".join(texts)
        found = self._terms_found.get(text)
        if found is None:
            casefolded = text.casefold()
            found = [term for term in self.glossary if _mentions(casefolded, term.term.casefold())]
            if len(self._terms_found) < TERM_CACHE_SIZE:
                self._terms_found[text] = found
        return list(found)

    @model_validator(mode="after")
    def _interests_lead_with_area(self) -> "Profile":
        if len(set(self.interests)) != len(self.interests):
            raise ValueError("interests: each area once")
        if self.area and self.interests and self.interests[0] != self.area:
            # The career list groups by `area`; the quiz must not place it elsewhere.
            raise ValueError(f"interests: the first must be the career's area, {self.area}")
        return self
