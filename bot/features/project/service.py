"""The starter project: steps done in order, notes and iterations, and the reminder opt-in."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile, ProjectStep
from bot.db.models import Project, ProjectEntry, ProjectStepDone, Student, utcnow
from bot.db.rows import write_columns
from bot.db.upsert import upsert
from bot.safe_text import has_visible_text
from bot.services.students import record_event

NOTE_LIMIT = 500
PROGRESS_BAR_WIDTH = 10
# Built once: read on every project screen, and building a statement costs more than running it.
STUDENTS_PROJECT = select(Project).where(
    Project.student_id == bindparam("student_id"), Project.career == bindparam("career")
)
STEPS_DONE = select(ProjectStepDone.step_id).where(
    ProjectStepDone.project_id == bindparam("project_id")
)
PROJECT_ENTRIES = (
    select(ProjectEntry.step_id, ProjectEntry.seq, ProjectEntry.note, ProjectEntry.created_at)
    .where(ProjectEntry.project_id == bindparam("project_id"))
    .order_by(ProjectEntry.seq)
)


@dataclass(frozen=True)
class Entry:
    seq: int
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class StepView:
    """One step as the student sees it, with their own progress around it."""

    step: ProjectStep
    number: int
    total: int
    done: bool
    entries: list[Entry]
    done_count: int
    finished: bool
    reminders: bool

    @property
    def iterations(self) -> int:
        return len(self.entries) if self.step.repeatable else 0

    @property
    def next_seq(self) -> int:
        return max((entry.seq for entry in self.entries), default=0) + 1

    @property
    def percent(self) -> int:
        return round(100 * self.done_count / self.total)

    @property
    def bar(self) -> str:
        filled = round(PROGRESS_BAR_WIDTH * self.done_count / self.total)
        return "▰" * filled + "▱" * (PROGRESS_BAR_WIDTH - filled)


@dataclass(frozen=True)
class ProjectOverview:
    started: bool
    current: StepView | None
    steps: list[StepView]


class NoteRefused(ValueError):
    """The text can't be a note; `reason` names the dialog message that explains why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def clean_note(text: str | None) -> str:
    """The note as stored, or NoteRefused("note_empty" / "note_too_long")."""
    note = (text or "").strip()
    if not has_visible_text(note):
        raise NoteRefused("note_empty")
    if len(note) > NOTE_LIMIT:
        raise NoteRefused("note_too_long")
    return note


@dataclass(frozen=True)
class ProjectService:
    async def overview(
        self, session: AsyncSession, student: Student, profile: Profile
    ) -> ProjectOverview:
        project, steps = await self._load(session, student, profile)
        current = next((view for view in steps if not view.done), steps[-1]) if project else None
        return ProjectOverview(project is not None, current, steps)

    async def start(self, session: AsyncSession, student: Student, profile: Profile) -> StepView:
        """Starts the project (once) and returns the step to work on."""
        inserted = await upsert(
            session,
            Project,
            {"student_id": student.id, "career": profile.slug},
            ["student_id", "career"],
        )
        if inserted:
            await record_event(session, student, "project", "start", commit=False)
        await session.commit()
        overview = await self.overview(session, student, profile)
        assert overview.current is not None
        return overview.current

    async def note_step(
        self, session: AsyncSession, student: Student, profile: Profile
    ) -> StepView | None:
        """The step a note typed now would belong to: the one the student works on, if it
        asks for notes; None when the project is not started or finished."""
        current = (await self.overview(session, student, profile)).current
        if current is None or current.finished or not current.step.note_prompt:
            return None
        return current

    async def step(
        self, session: AsyncSession, student: Student, profile: Profile, step_id: str
    ) -> StepView | None:
        """A reached step of a started project; None for anything else (a stale button)."""
        project, steps = await self._load(session, student, profile)
        return self._reached(project, steps, step_id)

    async def mark_done(
        self, session: AsyncSession, student: Student, profile: Profile, step_id: str
    ) -> StepView | None:
        """Marks a reached step done, once; returns the step to go on with."""
        project, steps = await self._load(session, student, profile)
        view = self._reached(project, steps, step_id)
        if view is None or project is None:
            return None
        if not view.done:
            await self._complete(session, student, project, profile, step_id)
            await session.commit()
        return (await self.overview(session, student, profile)).current

    async def add_entry(
        self,
        session: AsyncSession,
        student: Student,
        profile: Profile,
        step_id: str,
        seq: int,
        note: str | None,
    ) -> StepView | None:
        """Stores a note or logs an iteration under `seq`; the same seq twice is stored once.

        A note on a step that is not repeatable replaces the earlier one and completes the step.
        Returns the step, updated.
        """
        project, steps = await self._load(session, student, profile)
        view = self._reached(project, steps, step_id)
        if view is None or project is None or seq < 1:
            return None
        if view.step.repeatable:
            if seq > view.next_seq:
                return None
            inserted = await upsert(
                session,
                ProjectEntry,
                {"project_id": project.id, "step_id": step_id, "seq": seq, "note": note},
                ["project_id", "step_id", "seq"],
            )
            if inserted:
                await record_event(session, student, "iteration", step_id, commit=False)
            await write_columns(session, project, last_activity_at=utcnow())
        else:
            await upsert(
                session,
                ProjectEntry,
                {"project_id": project.id, "step_id": step_id, "seq": 1, "note": note},
                ["project_id", "step_id", "seq"],
                {"note": note, "created_at": utcnow()},
            )
            if not view.done:
                await self._complete(session, student, project, profile, step_id)
        await session.commit()
        return await self.step(session, student, profile, step_id)

    async def _load(
        self, session: AsyncSession, student: Student, profile: Profile
    ) -> tuple[Project | None, list[StepView]]:
        """The student's project of this career (None before it is started) and its steps."""
        params = {"student_id": student.id, "career": profile.slug}
        project = (await session.execute(STUDENTS_PROJECT, params)).scalar_one_or_none()
        done: set[str] = set()
        entries: dict[str, list[Entry]] = {}
        if project is not None:
            done = await self._done(session, project)
            connection = await session.connection()
            entry_rows = await connection.execute(PROJECT_ENTRIES, {"project_id": project.id})
            for step_id, seq, note, created_at in entry_rows.all():
                entries.setdefault(step_id, []).append(Entry(seq, note, created_at))
        steps = profile.project.steps
        done_count = sum(1 for step in steps if step.id in done)
        views = [
            StepView(
                step=step,
                number=number,
                total=len(steps),
                done=step.id in done,
                entries=entries.get(step.id, []),
                done_count=done_count,
                finished=done_count == len(steps),
                reminders=bool(project and project.reminders),
            )
            for number, step in enumerate(steps, start=1)
        ]
        return project, views

    @staticmethod
    async def _done(session: AsyncSession, project: Project) -> set[str]:
        connection = await session.connection()
        rows = await connection.execute(STEPS_DONE, {"project_id": project.id})
        return set(rows.scalars())

    @staticmethod
    def _reached(project: Project | None, views: list[StepView], step_id: str) -> StepView | None:
        """The step if the project is started and every step before it is done."""
        view = next((view for view in views if view.step.id == step_id), None)
        if project is None or view is None:
            return None
        return view if all(earlier.done for earlier in views[: view.number - 1]) else None

    async def _complete(
        self,
        session: AsyncSession,
        student: Student,
        project: Project,
        profile: Profile,
        step_id: str,
    ) -> None:
        """Marks the step done, and the project finished with its last step: each once, even
        when two presses race."""
        inserted = await upsert(
            session,
            ProjectStepDone,
            {"project_id": project.id, "step_id": step_id},
            ["project_id", "step_id"],
        )
        if inserted:
            await record_event(session, student, "step", step_id, commit=False)
        await write_columns(session, project, last_activity_at=utcnow())
        done = await self._done(session, project)
        if any(step.id not in done for step in profile.project.steps):
            return
        finished = await session.execute(
            update(Project)
            .where(Project.id == project.id, Project.finished_at.is_(None))
            .values(finished_at=utcnow())
        )
        if getattr(finished, "rowcount", 0) == 1:
            await record_event(session, student, "project", "finish", commit=False)
