"""The career passport: what a student did in the bot, on one screen they can show a parent or
a teacher. Built from the other features' services, never from their tables, and only from
the student's own rows; it holds plain facts (titles, counts, dates), no id of any kind."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile
from bot.db.models import Student, utcnow
from bot.features.checklist.service import Result
from bot.features.project.progress import CareerProgress, ProgressService
from bot.features.project.service import ProjectOverview
from bot.features.quiz.service import QuizResult, QuizService

# The button's arg: the student's first name on the passport, or not. Nothing is stored: the
# choice travels with the buttons, so it is off again whenever the passport is opened afresh.
NAMED, PLAIN = "named", "plain"
# A first name is whatever the student typed into Telegram: shown as a heading, so kept short.
NAME_LIMIT = 40
# Careers shown with their checklist and project; any beyond are named in one line, so that
# the screen stays one Telegram message (4096 characters) however large the catalog grows.
# The shipped catalog's 14, every one with a result and a project and the longest name, come
# to 3,544 characters; titles beyond them take some 25 characters each.
DETAILED_LIMIT = 14
# Bidi controls could turn the text around them (a name reversing the passport's wording).
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_name(first_name: str) -> str | None:
    """The first name as the passport shows it: one line, no control or bidi characters, at
    most NAME_LIMIT characters; None when nothing visible is left."""
    kept = "".join(
        " " if char.isspace() else char
        for char in _BIDI_CONTROLS.sub("", first_name)
        if unicodedata.category(char) not in {"Cc", "Cs"} or char.isspace()
    )
    name = " ".join(kept.split())[:NAME_LIMIT].strip()
    return name if any(char.isalnum() for char in name) else None


def parse_choice(arg: str) -> bool | None:
    """Whether the button asks for the name (True) or not (False); None when forged."""
    return {NAMED: True, PLAIN: False}.get(arg)


@dataclass(frozen=True)
class ChecklistLine:
    """The latest finished checklist of a career: `leaning` is "strong", "mixed" or "weak"."""

    leaning: str
    fits_recognised: int
    fits_total: int
    warnings_recognised: int
    warnings_total: int
    on: date | None


@dataclass(frozen=True)
class ProjectLine:
    steps_done: int
    steps_total: int
    # Notes written and iterations logged, over every step.
    entries: int
    last_note_on: date | None
    finished: bool


@dataclass(frozen=True)
class CareerLine:
    title: str
    current: bool
    checklist: ChecklistLine | None
    project: ProjectLine | None


@dataclass(frozen=True)
class QuizLine:
    """`verdict`: "clear" (areas and careers named), "flat" or "cold" (as the quiz says)."""

    verdict: str
    areas: list[str]
    careers: list[str]
    on: date | None


@dataclass(frozen=True)
class Passport:
    named: bool
    name: str | None
    careers: list[CareerLine]
    # Titles of explored careers beyond DETAILED_LIMIT, shown by name only.
    more: list[str]
    quiz: QuizLine | None
    as_of: date

    @property
    def empty(self) -> bool:
        return not self.careers and self.quiz is None


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


def checklist_line(profile: Profile, result: Result | None) -> ChecklistLine | None:
    if result is None:
        return None
    return ChecklistLine(
        leaning=result.leaning,
        fits_recognised=len(result.fits.get("yes", [])),
        fits_total=len(profile.checklist.fits),
        warnings_recognised=len(result.misfits.get("yes", [])),
        warnings_total=len(profile.checklist.misfits),
        on=_day(result.finished_at),
    )


def project_line(overview: ProjectOverview) -> ProjectLine | None:
    if not overview.started or not overview.steps:
        return None
    entries = [entry for view in overview.steps for entry in view.entries]
    notes = [entry.created_at for entry in entries if entry.note]
    first = overview.steps[0]
    return ProjectLine(
        steps_done=first.done_count,
        steps_total=first.total,
        entries=len(entries),
        last_note_on=_day(max(notes, default=None)),
        finished=first.finished,
    )


def career_line(progress: CareerProgress, current: bool) -> CareerLine:
    return CareerLine(
        title=progress.profile.title,
        current=current,
        checklist=checklist_line(progress.profile, progress.checklist.result),
        project=project_line(progress.project),
    )


def quiz_line(result: QuizResult | None) -> QuizLine | None:
    if result is None:
        return None
    reading = result.reading
    return QuizLine(
        verdict=reading.verdict,
        areas=[area.doing for area in reading.areas],
        careers=[match.profile.title for match in reading.matches],
        on=_day(result.finished_at),
    )


@dataclass(frozen=True)
class PassportService:
    progress: ProgressService
    quiz: QuizService

    async def build(self, session: AsyncSession, student: Student, *, named: bool) -> Passport:
        explored = await self.progress.explored(session, student)
        lines = [career_line(found, found.profile.slug == student.career) for found in explored]
        return Passport(
            named=named,
            name=clean_name(student.first_name) if named else None,
            careers=lines[:DETAILED_LIMIT],
            more=[line.title for line in lines[DETAILED_LIMIT:]],
            quiz=quiz_line(await self.quiz.last_result(session, student)),
            as_of=utcnow().date(),
        )
