"""/mydata and /forget: everything stored about a student, shown or deleted."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.db.fsm_storage import forget_user
from bot.db.models import (
    ActiveDay,
    ChecklistAnswer,
    ChecklistAttempt,
    Event,
    Project,
    ProjectEntry,
    ProjectStepDone,
    Student,
    UnansweredQuestion,
)


@dataclass(frozen=True)
class AttemptRecord:
    career: str
    started_at: datetime
    finished_at: datetime | None
    answers: list[str]


@dataclass(frozen=True)
class ProjectRecord:
    career: str
    reminders: bool
    steps_done: list[str]
    entries: list[str]


@dataclass(frozen=True)
class MyData:
    student: Student
    career_title: str | None
    event_total: int
    event_counts: list[tuple[str, int]]
    attempts: list[AttemptRecord] = field(default_factory=list)
    projects: list[ProjectRecord] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    active_days: int = 0


@dataclass(frozen=True)
class PrivacyService:
    catalog: Catalog

    async def describe(self, session: AsyncSession, student: Student) -> MyData:
        counts = await session.execute(
            select(Event.kind, func.count())
            .where(Event.student_id == student.id)
            .group_by(Event.kind)
            .order_by(Event.kind)
        )
        event_counts = [(kind, count) for kind, count in counts.all()]
        profile = self.catalog.get(student.career)
        return MyData(
            student=student,
            career_title=profile.title if profile else student.career,
            event_total=sum(count for _, count in event_counts),
            event_counts=event_counts,
            attempts=await self._attempts(session, student),
            projects=await self._projects(session, student),
            questions=await self._questions(session, student),
            active_days=int(
                await session.scalar(
                    select(func.count())
                    .select_from(ActiveDay)
                    .where(ActiveDay.student_id == student.id)
                )
                or 0
            ),
        )

    async def forget(self, session: AsyncSession, student: Student) -> None:
        """Deletes the student; every other row about them goes with it (ON DELETE CASCADE)."""
        await forget_user(session, student.telegram_id)
        await session.execute(delete(Student).where(Student.id == student.id))
        await session.commit()

    async def _attempts(self, session: AsyncSession, student: Student) -> list[AttemptRecord]:
        attempts = await session.execute(
            select(ChecklistAttempt)
            .where(ChecklistAttempt.student_id == student.id)
            .order_by(ChecklistAttempt.id)
        )
        records = []
        for attempt in attempts.scalars():
            answers = await session.execute(
                select(ChecklistAnswer.sign_index, ChecklistAnswer.answer)
                .where(ChecklistAnswer.attempt_id == attempt.id)
                .order_by(ChecklistAnswer.sign_index)
            )
            listed = [f"sign {index + 1}: {answer}" for index, answer in answers.all()]
            records.append(
                AttemptRecord(attempt.career, attempt.started_at, attempt.finished_at, listed)
            )
        return records

    async def _questions(self, session: AsyncSession, student: Student) -> list[str]:
        rows = await session.execute(
            select(UnansweredQuestion.text)
            .where(UnansweredQuestion.student_id == student.id)
            .order_by(UnansweredQuestion.id)
        )
        return list(rows.scalars())

    async def _projects(self, session: AsyncSession, student: Student) -> list[ProjectRecord]:
        projects = await session.execute(
            select(Project).where(Project.student_id == student.id).order_by(Project.id)
        )
        records = []
        for project in projects.scalars():
            done = await session.execute(
                select(ProjectStepDone.step_id)
                .where(ProjectStepDone.project_id == project.id)
                .order_by(ProjectStepDone.done_at)
            )
            entries = await session.execute(
                select(ProjectEntry)
                .where(ProjectEntry.project_id == project.id)
                .order_by(ProjectEntry.step_id, ProjectEntry.seq)
            )
            listed = [
                f"{entry.step_id} #{entry.seq}: {entry.note or '(logged)'}"
                for entry in entries.scalars()
            ]
            records.append(
                ProjectRecord(project.career, project.reminders, list(done.scalars()), listed)
            )
        return records
