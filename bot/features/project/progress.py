"""Every career a student has tried, with how far they got in each: what /progress lists
besides the career they are on. Each career keeps its own checklist attempts and project,
so switching careers loses nothing."""

from dataclasses import dataclass

from sqlalchemy import select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.content.models import Profile
from bot.db.models import ChecklistAttempt, Event, Project, Student
from bot.features.checklist.service import ChecklistOverview, ChecklistService
from bot.features.project.service import ProjectOverview, ProjectService


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
