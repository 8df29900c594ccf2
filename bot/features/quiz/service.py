"""The interest quiz: one statement at a time, answers kept per attempt (so a student can stop
and come back, even after the bot restarts), a reading of the answers at the end."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.content.quiz import Item, QuizSpec
from bot.db.models import QuizAnswer, QuizAttempt, Student, utcnow
from bot.db.rows import write_columns
from bot.db.upsert import upsert
from bot.features.quiz.scoring import Reading, read_answers
from bot.services.students import lock_student, record_event

# Built once: read on every answer.
ATTEMPT_ANSWERS = select(QuizAnswer.item, QuizAnswer.value).where(
    QuizAnswer.attempt_id == bindparam("attempt_id")
)
_STUDENTS_ATTEMPTS = select(QuizAttempt).where(QuizAttempt.student_id == bindparam("student_id"))
OWN_ATTEMPT = _STUDENTS_ATTEMPTS.where(QuizAttempt.id == bindparam("attempt_id"))
LATEST_FINISHED = (
    _STUDENTS_ATTEMPTS.where(QuizAttempt.finished_at.is_not(None))
    .order_by(QuizAttempt.id.desc())
    .limit(1)
)
LATEST_UNFINISHED = (
    _STUDENTS_ATTEMPTS.where(QuizAttempt.finished_at.is_(None))
    .order_by(QuizAttempt.id.desc())
    .limit(1)
)


@dataclass(frozen=True)
class Choice:
    """A point of the scale as a button: its value is its place on the scale (0 … 4)."""

    value: int
    emoji: str
    meaning: str


@dataclass(frozen=True)
class Statement:
    """The statement at `number` of `total`, and the student's answer so far, if any."""

    attempt_id: int
    number: int
    total: int
    item: Item
    answer: int | None
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class QuizResult:
    attempt_id: int
    finished_at: datetime | None
    reading: Reading


@dataclass(frozen=True)
class QuizOverview:
    """What the quiz's first screen shows: an attempt to resume, and the last result."""

    in_progress: Statement | None
    result: QuizResult | None
    total: int = 0


Step = Statement | QuizResult


@dataclass(frozen=True)
class QuizService:
    spec: QuizSpec
    catalog: Catalog

    @property
    def _choices(self) -> tuple[Choice, ...]:
        return tuple(Choice(v, p.emoji, p.meaning) for v, p in enumerate(self.spec.scale))

    def reading(self, answers: dict[str, int]) -> Reading:
        return read_answers(self.spec, self.catalog, answers)

    async def overview(self, session: AsyncSession, student: Student) -> QuizOverview:
        attempt = await self._latest(session, student, finished=False)
        in_progress = await self._statement(session, attempt) if attempt else None
        result = await self.last_result(session, student)
        return QuizOverview(in_progress, result, len(self.spec.items))

    async def start(self, session: AsyncSession, student: Student) -> Statement:
        """A new attempt; earlier ones stay, for stats. An open attempt with no answer yet is
        reused, so a double tap on "start" opens one attempt, not two."""
        await lock_student(session, student)
        attempt = await self._latest(session, student, finished=False)
        if attempt is None or await self._answers(session, attempt):
            attempt = QuizAttempt(student_id=student.id, cursor=0)
            session.add(attempt)
            await session.flush()
            await record_event(session, student, "quiz", "start", commit=False)
        statement = await self._statement(session, attempt)
        assert statement is not None, "content check requires statements"
        return statement

    async def resume(self, session: AsyncSession, student: Student) -> Step:
        attempt = await self._latest(session, student, finished=False)
        if attempt is None:
            return await self.start(session, student)
        statement = await self._statement(session, attempt)
        return statement or await self._finish(session, student, attempt)

    async def answer(
        self, session: AsyncSession, student: Student, attempt_id: int, item_id: str, value: int
    ) -> Step | None:
        """Records an answer; None when the button is stale or forged (another student's or
        a finished attempt's statement not yet reached, an unknown statement or point)."""
        attempt = await self._own_attempt(session, student, attempt_id)
        index = self._index(item_id)
        if attempt is None or index is None or not 0 <= value < len(self.spec.scale):
            return None
        if attempt.finished_at is not None:
            return await self._result(session, attempt)
        answers = await self._answers(session, attempt)
        if index > 0 and self.spec.items[index - 1].id not in answers:
            return None
        await upsert(
            session,
            QuizAnswer,
            {"attempt_id": attempt.id, "item": item_id, "value": value},
            ["attempt_id", "item"],
            {"value": value, "answered_at": utcnow()},
        )
        # Only forward: an old button of an earlier statement doesn't move the student back.
        await write_columns(session, attempt, cursor=max(attempt.cursor, index + 1))
        answers[item_id] = value
        statement = self._statement_at(attempt, answers)
        return statement or await self._finish(session, student, attempt)

    async def back(
        self, session: AsyncSession, student: Student, attempt_id: int, item_id: str
    ) -> Statement | None:
        """The statement before `item_id`; None at the first one or for a stale button."""
        attempt = await self._own_attempt(session, student, attempt_id)
        index = self._index(item_id)
        if attempt is None or attempt.finished_at is not None or not index:
            return None
        await write_columns(session, attempt, cursor=min(index - 1, attempt.cursor))
        return await self._statement(session, attempt)

    async def last_result(self, session: AsyncSession, student: Student) -> QuizResult | None:
        attempt = await self._latest(session, student, finished=True)
        return await self._result(session, attempt) if attempt else None

    def _index(self, item_id: str) -> int | None:
        return next((i for i, item in enumerate(self.spec.items) if item.id == item_id), None)

    async def _finish(
        self, session: AsyncSession, student: Student, attempt: QuizAttempt
    ) -> QuizResult:
        """Finishes once: of two simultaneous last answers, only one records the finish. The
        matched careers are kept with the attempt for stats, as content may change later."""
        reading = self.reading(await self._answers(session, attempt))
        matches = ",".join(match.profile.slug for match in reading.matches)
        finished = await session.execute(
            update(QuizAttempt)
            .where(QuizAttempt.id == attempt.id, QuizAttempt.finished_at.is_(None))
            .values(finished_at=utcnow(), matches=matches[:200])
        )
        if getattr(finished, "rowcount", 0) == 1:
            await record_event(session, student, "quiz", "finish", commit=False)
        await session.commit()
        await session.refresh(attempt)
        return QuizResult(attempt.id, attempt.finished_at, reading)

    async def _latest(
        self, session: AsyncSession, student: Student, *, finished: bool
    ) -> QuizAttempt | None:
        query = LATEST_FINISHED if finished else LATEST_UNFINISHED
        return (await session.execute(query, {"student_id": student.id})).scalar_one_or_none()

    async def _own_attempt(
        self, session: AsyncSession, student: Student, attempt_id: int
    ) -> QuizAttempt | None:
        params = {"attempt_id": attempt_id, "student_id": student.id}
        return (await session.execute(OWN_ATTEMPT, params)).scalar_one_or_none()

    async def _answers(self, session: AsyncSession, attempt: QuizAttempt) -> dict[str, int]:
        connection = await session.connection()
        rows = await connection.execute(ATTEMPT_ANSWERS, {"attempt_id": attempt.id})
        return {item: value for item, value in rows.all()}

    async def _statement(self, session: AsyncSession, attempt: QuizAttempt) -> Statement | None:
        return self._statement_at(attempt, await self._answers(session, attempt))

    def _statement_at(self, attempt: QuizAttempt, answers: dict[str, int]) -> Statement | None:
        """The statement at the attempt's cursor, or None when every one is answered."""
        items = self.spec.items
        first_open = next((i for i, item in enumerate(items) if item.id not in answers), None)
        if first_open is None:
            return None
        index = min(attempt.cursor, first_open)
        item = items[index]
        return Statement(
            attempt.id, index + 1, len(items), item, answers.get(item.id), self._choices
        )

    async def _result(self, session: AsyncSession, attempt: QuizAttempt) -> QuizResult:
        reading = self.reading(await self._answers(session, attempt))
        return QuizResult(attempt.id, attempt.finished_at, reading)
