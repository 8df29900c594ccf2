"""Every career a student has tried, with how far they got in each: what /progress lists
besides the career they are on. Each career keeps its own checklist attempts and project,
so switching careers loses nothing."""

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.content.models import Profile
from bot.db.models import (
    ChecklistAnswer,
    ChecklistAttempt,
    Event,
    Project,
    ProjectStepDone,
    Student,
)
from bot.features.checklist.service import ChecklistOverview, ChecklistService
from bot.features.project.service import ProjectOverview, ProjectService

# The menu's progress line in two statements, where the checklist's and the project's
# overviews take up to seven: it is read on every menu (figures in bench/README.md).
_ATTEMPTS = (
    ChecklistAttempt.student_id == bindparam("student_id"),
    ChecklistAttempt.career == bindparam("career"),
)
_OPEN_ATTEMPT = (
    select(func.max(ChecklistAttempt.id))
    .where(*_ATTEMPTS, ChecklistAttempt.finished_at.is_(None))
    .scalar_subquery()
)
CHECKLIST_LINE = select(
    select(func.count())
    .select_from(ChecklistAnswer)
    .where(ChecklistAnswer.attempt_id == _OPEN_ATTEMPT)
    .scalar_subquery(),
    select(func.count())
    .select_from(ChecklistAttempt)
    .where(*_ATTEMPTS, ChecklistAttempt.finished_at.is_not(None))
    .scalar_subquery(),
)
PROJECT_LINE = (
    select(Project.id, ProjectStepDone.step_id)
    .outerjoin(ProjectStepDone, ProjectStepDone.project_id == Project.id)
    .where(Project.student_id == bindparam("student_id"), Project.career == bindparam("career"))
)


@dataclass(frozen=True)
class ProgressLine:
    """How far the student is on their career, in one line: the menu's way to /progress."""

    signs_answered: int
    signs: int
    checklist_done: bool
    project_started: bool
    step: int  # the step to work on, from 1; past the last once the project is finished
    steps: int

    @property
    def project_finished(self) -> bool:
        return self.project_started and self.step > self.steps


@dataclass(frozen=True)
class CareerProgress:
    profile: Profile
    checklist: ChecklistOverview
    project: ProjectOverview


@dataclass(frozen=True)
class ProgressService:
    catalog: Catalog
    checklist: ChecklistService
    project: ProjectService

    async def line(self, session: AsyncSession, student: Student, profile: Profile) -> ProgressLine:
        params = {"student_id": student.id, "career": profile.slug}
        connection = await session.connection()
        answered, finished = (await connection.execute(CHECKLIST_LINE, params)).one()
        rows = (await connection.execute(PROJECT_LINE, params)).all()
        done = {step_id for _, step_id in rows if step_id is not None}
        steps = profile.project.steps
        step = next((n for n, s in enumerate(steps, start=1) if s.id not in done), len(steps) + 1)
        signs = len(profile.checklist.fits) + len(profile.checklist.misfits)
        return ProgressLine(answered, signs, finished > 0, bool(rows), step, len(steps))

    async def others(self, session: AsyncSession, student: Student) -> list[CareerProgress]:
        """The careers the student chose, took the checklist of or started the project of,
        other than the one they are on, in the catalog's order."""
        slugs = await self._tried(session, student)
        slugs.discard(student.career or "")
        return await self._progress(session, student, slugs)

    async def explored(self, session: AsyncSession, student: Student) -> list[CareerProgress]:
        """Those and the one they are on: every career the student has looked into."""
        slugs = await self._tried(session, student)
        if student.career:
            slugs.add(student.career)
        return await self._progress(session, student, slugs)

    @staticmethod
    async def _tried(session: AsyncSession, student: Student) -> set[str]:
        tried = union(
            select(Event.name).where(Event.student_id == student.id, Event.kind == "career"),
            select(ChecklistAttempt.career).where(ChecklistAttempt.student_id == student.id),
            select(Project.career).where(Project.student_id == student.id),
        )
        return set((await session.execute(tried)).scalars())

    async def _progress(
        self, session: AsyncSession, student: Student, slugs: set[str]
    ) -> list[CareerProgress]:
        found: list[CareerProgress] = []
        for profile in self.catalog.by_area:
            if profile.slug in slugs:
                checklist = await self.checklist.overview(session, student, profile)
                project = await self.project.overview(session, student, profile)
                found.append(CareerProgress(profile, checklist, project))
        return found
