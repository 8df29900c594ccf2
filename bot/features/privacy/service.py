"""/mydata and /forget: everything stored about a student, shown or deleted.

`MYDATA_COLUMNS` says, for every table that holds something about a student and every column
of it, whether /mydata shows it or why not; tests/test_privacy.py checks it against the
schema, so a new column cannot be left out of /mydata unnoticed.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.content.catalog import Catalog
from bot.content.quiz import QuizSpec
from bot.content.reasons import Reasons
from bot.db.models import (
    ActiveDay,
    Announcement,
    CareerReason,
    ChecklistAnswer,
    ChecklistAttempt,
    Cohort,
    CohortMove,
    Delivery,
    Event,
    Project,
    ProjectEntry,
    ProjectStepDone,
    QuizAnswer,
    QuizAttempt,
    Student,
    UnansweredQuestion,
    utcnow,
)
from bot.features.checklist.service import signs_of
from bot.services.students import forget_user

SHOWN = "shown"
INTERNAL_ID = "an internal row number, meaningless outside the database"
LINK = "links the row to the student's (or their project's, attempt's) row"
# Table → column → SHOWN, or why /mydata leaves it out. Every table that references a student
# (directly or through another such table) and the FSM records, keyed by Telegram user id.
MYDATA_COLUMNS: dict[str, dict[str, str]] = {
    "students": {
        "id": INTERNAL_ID,
        "telegram_id": SHOWN,
        "first_name": SHOWN,
        "language": SHOWN,
        "career": SHOWN,
        "node": SHOWN,
        "start_payload": SHOWN,
        "blocked_at": SHOWN,
        "cohort_id": SHOWN,
        "joined_cohort_at": SHOWN,
        "explored_at": SHOWN,
        "first_seen": SHOWN,
        "last_seen": SHOWN,
        "shares": SHOWN,
        "shared_at": SHOWN,
    },
    "events": {
        "id": INTERNAL_ID,
        "student_id": LINK,
        "kind": SHOWN,
        "name": SHOWN,
        "career": SHOWN,
        "created_at": SHOWN,
    },
    "active_days": {"student_id": LINK, "day": SHOWN},
    "cohort_moves": {
        "id": INTERNAL_ID,
        "student_id": LINK,
        "from_cohort_id": SHOWN,
        "to_cohort_id": SHOWN,
        "moved_at": SHOWN,
    },
    "checklist_attempts": {
        "id": INTERNAL_ID,
        "student_id": LINK,
        "career": SHOWN,
        "cursor": SHOWN,
        "started_at": SHOWN,
        "finished_at": SHOWN,
    },
    "checklist_answers": {
        "id": INTERNAL_ID,
        "attempt_id": LINK,
        "sign_index": SHOWN,
        "answer": SHOWN,
        "answered_at": SHOWN,
    },
    "quiz_attempts": {
        "id": INTERNAL_ID,
        "student_id": LINK,
        "cursor": SHOWN,
        "started_at": SHOWN,
        "finished_at": SHOWN,
        "matches": SHOWN,
    },
    "quiz_answers": {
        "id": INTERNAL_ID,
        "attempt_id": LINK,
        "item": SHOWN,
        "value": SHOWN,
        "answered_at": SHOWN,
    },
    "career_reasons": {
        "id": INTERNAL_ID,
        "student_id": LINK,
        "career": SHOWN,
        "moment": SHOWN,
        "reason": SHOWN,
        "created_at": SHOWN,
    },
    "projects": {
        "id": INTERNAL_ID,
        "student_id": LINK,
        "career": SHOWN,
        "started_at": SHOWN,
        "last_activity_at": SHOWN,
        "finished_at": SHOWN,
        "reminders": SHOWN,
        "reminded_at": SHOWN,
    },
    "project_steps_done": {
        "id": INTERNAL_ID,
        "project_id": LINK,
        "step_id": SHOWN,
        "done_at": SHOWN,
    },
    "project_entries": {
        "id": INTERNAL_ID,
        "project_id": LINK,
        "step_id": SHOWN,
        "seq": SHOWN,
        "note": SHOWN,
        "created_at": SHOWN,
    },
    "unanswered_questions": {
        "id": INTERNAL_ID,
        "student_id": LINK,
        "career": SHOWN,
        "text": SHOWN,
        "created_at": SHOWN,
    },
    "deliveries": {
        "id": INTERNAL_ID,
        "announcement_id": SHOWN,
        "student_id": LINK,
        "status": SHOWN,
        "updated_at": SHOWN,
        "attempts": SHOWN,
        "next_attempt_at": SHOWN,
        "reason": SHOWN,
    },
    "fsm_records": {
        "key": "made of the Telegram ids shown above",
        "user_id": "the Telegram id, shown above",
        "state": "always empty while /mydata is shown: a command ends any wait for typed input",
        "data": SHOWN,
    },
}


@dataclass(frozen=True)
class MoveRecord:
    from_cohort: str | None
    to_cohort: str
    moved_at: datetime


@dataclass(frozen=True)
class EventRecord:
    kind: str
    name: str
    career: str | None
    count: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class AnswerRecord:
    sign: int
    answer: str
    answered_at: datetime

    def __str__(self) -> str:
        return f"sign {self.sign}: {self.answer}"


@dataclass(frozen=True)
class AttemptRecord:
    career: str
    started_at: datetime
    finished_at: datetime | None
    answers: list[AnswerRecord]
    cursor: int = 0


@dataclass(frozen=True)
class QuizAnswerRecord:
    item: str
    value: int
    answered_at: datetime

    def __str__(self) -> str:
        return f"{self.item}: {self.value}"


@dataclass(frozen=True)
class QuizRecord:
    started_at: datetime
    finished_at: datetime | None
    cursor: int
    matches: str | None
    answers: list[QuizAnswerRecord]


@dataclass(frozen=True)
class ReasonRecord:
    career: str
    moment: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class StepDoneRecord:
    step_id: str
    done_at: datetime


@dataclass(frozen=True)
class EntryRecord:
    step_id: str
    seq: int
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class ProjectRecord:
    career: str
    reminders: bool
    steps_done: list[StepDoneRecord]
    entries: list[EntryRecord]
    started_at: datetime | None = None
    last_activity_at: datetime | None = None
    finished_at: datetime | None = None
    reminded_at: datetime | None = None


@dataclass(frozen=True)
class QuestionRecord:
    text: str
    career: str | None
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRecord:
    text: str
    status: str
    updated_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    reason: str | None


@dataclass(frozen=True)
class Names:
    """The content's words for what the database keeps as ids (a career's slug, a sign's
    number, a step id, a quiz statement's id, a reason's id), so /mydata reads as sentences.
    Each is None for what the content no longer has: the page then says so in its own words.
    """

    catalog: Catalog
    quiz: QuizSpec | None = None
    reasons: Reasons | None = None

    def career(self, slug: str | None) -> str | None:
        profile = self.catalog.get(slug)
        return profile.title if profile else None

    def careers(self, slugs: str | None) -> list[str]:
        """The titles of a stored comma-separated list of careers (a quiz's matches)."""
        titles = (self.career(slug.strip()) for slug in (slugs or "").split(","))
        return [title for title in titles if title]

    def sign(self, slug: str, number: int) -> str | None:
        """A checklist sign (numbered from 1) as it was put to the student."""
        profile = self.catalog.get(slug)
        if profile is None:
            return None
        signs = signs_of(profile)
        if not 1 <= number <= len(signs):
            return None
        sign = signs[number - 1]
        return sign.ask or sign.text

    def step(self, slug: str, step_id: str) -> str | None:
        profile = self.catalog.get(slug)
        steps = profile.project.steps if profile else []
        return next((step.title for step in steps if step.id == step_id), None)

    def statement(self, item_id: str) -> str | None:
        items = self.quiz.items if self.quiz else []
        return next((item.text for item in items if item.id == item_id), None)

    def reason(self, reason_id: str) -> str | None:
        found = self.reasons.by_id.get(reason_id) if self.reasons else None
        return found.label if found else None


@dataclass(frozen=True)
class MyData:
    student: Student
    career_title: str | None
    event_total: int
    event_counts: list[tuple[str, int]]
    cohort: str | None = None
    moves: list[MoveRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    attempts: list[AttemptRecord] = field(default_factory=list)
    quizzes: list[QuizRecord] = field(default_factory=list)
    reasons: list[ReasonRecord] = field(default_factory=list)
    projects: list[ProjectRecord] = field(default_factory=list)
    questions: list[QuestionRecord] = field(default_factory=list)
    deliveries: list[DeliveryRecord] = field(default_factory=list)
    active_days: list[date] = field(default_factory=list)
    # What the bot keeps of a half-done input (FSM data), as stored.
    pending: dict[str, Any] = field(default_factory=dict)
    names: Names | None = None


@dataclass(frozen=True)
class Sharing:
    """Whether the student shares their first name and progress with their group's lead:
    `shares` None (never asked), False ("not now") or True, about the group `cohort`
    (None: in no group, so there is no one to share with)."""

    cohort_id: int | None
    cohort: str | None
    shares: bool | None
    shared_at: datetime | None


@dataclass(frozen=True)
class PrivacyService:
    catalog: Catalog
    # Reads the FSM data (Redis or the database) of a Telegram user's chat with the bot: a
    # half-done input is part of what is stored about them.
    pending_input: Callable[[int], Awaitable[dict[str, Any]]] | None = None
    quiz: QuizSpec | None = None
    reasons: Reasons | None = None

    async def sharing(self, session: AsyncSession, student: Student) -> Sharing:
        cohort = None
        if student.cohort_id is not None:
            cohort = await session.scalar(select(Cohort.name).where(Cohort.id == student.cohort_id))
        in_group = cohort is not None
        return Sharing(
            student.cohort_id if in_group else None,
            cohort,
            student.shares if in_group else None,
            student.shared_at if in_group else None,
        )

    async def set_sharing(
        self, session: AsyncSession, student: Student, cohort_id: int, shares: bool
    ) -> bool:
        """Records the student's choice about the group `cohort_id` (the one the question
        was about); False, changing nothing, when they are no longer in that group."""
        if student.cohort_id is None or student.cohort_id != cohort_id:
            return False
        student.shares = shares
        student.shared_at = utcnow()
        await session.commit()
        return True

    async def describe(self, session: AsyncSession, student: Student) -> MyData:
        events = await self._events(session, student)
        kinds: dict[str, int] = {}
        for event in events:
            kinds[event.kind] = kinds.get(event.kind, 0) + event.count
        profile = self.catalog.get(student.career)
        days = await session.execute(
            select(ActiveDay.day).where(ActiveDay.student_id == student.id).order_by(ActiveDay.day)
        )
        cohort = None
        if student.cohort_id is not None:
            cohort = await session.scalar(select(Cohort.name).where(Cohort.id == student.cohort_id))
        return MyData(
            student=student,
            career_title=profile.title if profile else student.career,
            event_total=sum(kinds.values()),
            event_counts=sorted(kinds.items()),
            cohort=cohort,
            moves=await self._moves(session, student),
            events=events,
            attempts=await self._attempts(session, student),
            quizzes=await self._quizzes(session, student),
            reasons=await self._reasons(session, student),
            projects=await self._projects(session, student),
            questions=await self._questions(session, student),
            deliveries=await self._deliveries(session, student),
            active_days=list(days.scalars()),
            pending=await self._pending(student),
            names=Names(self.catalog, self.quiz, self.reasons),
        )

    async def forget(self, session: AsyncSession, student: Student) -> None:
        """Deletes the student; every other row about them goes with it (ON DELETE CASCADE)."""
        await forget_user(session, student.telegram_id)
        await session.execute(delete(Student).where(Student.id == student.id))
        await session.commit()

    async def _events(self, session: AsyncSession, student: Student) -> list[EventRecord]:
        rows = await session.execute(
            select(
                Event.kind,
                Event.name,
                Event.career,
                func.count(),
                func.min(Event.created_at),
                func.max(Event.created_at),
            )
            .where(Event.student_id == student.id)
            .group_by(Event.kind, Event.name, Event.career)
            .order_by(Event.kind, Event.name, Event.career)
        )
        return [EventRecord(*row) for row in rows.all()]

    async def _moves(self, session: AsyncSession, student: Student) -> list[MoveRecord]:
        source, target = aliased(Cohort), aliased(Cohort)
        rows = await session.execute(
            select(source.name, target.name, CohortMove.moved_at)
            .join(target, target.id == CohortMove.to_cohort_id)
            .outerjoin(source, source.id == CohortMove.from_cohort_id)
            .where(CohortMove.student_id == student.id)
            .order_by(CohortMove.moved_at, CohortMove.id)
        )
        return [MoveRecord(*row) for row in rows.all()]

    async def _attempts(self, session: AsyncSession, student: Student) -> list[AttemptRecord]:
        attempts = await session.execute(
            select(ChecklistAttempt)
            .where(ChecklistAttempt.student_id == student.id)
            .order_by(ChecklistAttempt.id)
        )
        records = []
        for attempt in attempts.scalars():
            answers = await session.execute(
                select(
                    ChecklistAnswer.sign_index, ChecklistAnswer.answer, ChecklistAnswer.answered_at
                )
                .where(ChecklistAnswer.attempt_id == attempt.id)
                .order_by(ChecklistAnswer.sign_index)
            )
            listed = [AnswerRecord(index + 1, answer, at) for index, answer, at in answers.all()]
            records.append(
                AttemptRecord(
                    attempt.career, attempt.started_at, attempt.finished_at, listed, attempt.cursor
                )
            )
        return records

    async def _quizzes(self, session: AsyncSession, student: Student) -> list[QuizRecord]:
        attempts = await session.execute(
            select(QuizAttempt).where(QuizAttempt.student_id == student.id).order_by(QuizAttempt.id)
        )
        records = []
        for attempt in attempts.scalars():
            answers = await session.execute(
                select(QuizAnswer.item, QuizAnswer.value, QuizAnswer.answered_at)
                .where(QuizAnswer.attempt_id == attempt.id)
                .order_by(QuizAnswer.answered_at, QuizAnswer.id)
            )
            records.append(
                QuizRecord(
                    attempt.started_at,
                    attempt.finished_at,
                    attempt.cursor,
                    attempt.matches,
                    [QuizAnswerRecord(*row) for row in answers.all()],
                )
            )
        return records

    async def _reasons(self, session: AsyncSession, student: Student) -> list[ReasonRecord]:
        rows = await session.execute(
            select(
                CareerReason.career,
                CareerReason.moment,
                CareerReason.reason,
                CareerReason.created_at,
            )
            .where(CareerReason.student_id == student.id)
            .order_by(CareerReason.id)
        )
        return [ReasonRecord(*row) for row in rows.all()]

    async def _questions(self, session: AsyncSession, student: Student) -> list[QuestionRecord]:
        rows = await session.execute(
            select(
                UnansweredQuestion.text, UnansweredQuestion.career, UnansweredQuestion.created_at
            )
            .where(UnansweredQuestion.student_id == student.id)
            .order_by(UnansweredQuestion.id)
        )
        return [QuestionRecord(*row) for row in rows.all()]

    async def _deliveries(self, session: AsyncSession, student: Student) -> list[DeliveryRecord]:
        rows = await session.execute(
            select(
                Announcement.text,
                Delivery.status,
                Delivery.updated_at,
                Delivery.attempts,
                Delivery.next_attempt_at,
                Delivery.reason,
            )
            .join(Announcement, Announcement.id == Delivery.announcement_id)
            .where(Delivery.student_id == student.id)
            .order_by(Delivery.id)
        )
        return [DeliveryRecord(*row) for row in rows.all()]

    async def _projects(self, session: AsyncSession, student: Student) -> list[ProjectRecord]:
        projects = await session.execute(
            select(Project).where(Project.student_id == student.id).order_by(Project.id)
        )
        records = []
        for project in projects.scalars():
            done = await session.execute(
                select(ProjectStepDone.step_id, ProjectStepDone.done_at)
                .where(ProjectStepDone.project_id == project.id)
                .order_by(ProjectStepDone.done_at)
            )
            entries = await session.execute(
                select(
                    ProjectEntry.step_id,
                    ProjectEntry.seq,
                    ProjectEntry.note,
                    ProjectEntry.created_at,
                )
                .where(ProjectEntry.project_id == project.id)
                .order_by(ProjectEntry.step_id, ProjectEntry.seq)
            )
            records.append(
                ProjectRecord(
                    project.career,
                    project.reminders,
                    [StepDoneRecord(*row) for row in done.all()],
                    [EntryRecord(*row) for row in entries.all()],
                    project.started_at,
                    project.last_activity_at,
                    project.finished_at,
                    project.reminded_at,
                )
            )
        return records

    async def _pending(self, student: Student) -> dict[str, Any]:
        if self.pending_input is None:
            return {}
        return await self.pending_input(student.telegram_id)
