"""The fit checklist: one sign at a time, answers kept per attempt, a result from the answers."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile
from bot.db.models import ChecklistAnswer, ChecklistAttempt, Student, utcnow
from bot.db.rows import write_columns
from bot.db.upsert import upsert
from bot.services.students import lock_student, record_event

ANSWERS = ("yes", "unsure", "no")
# Built once: read on every answer, and building a statement costs more than running it.
ATTEMPT_ANSWERS = select(ChecklistAnswer.sign_index, ChecklistAnswer.answer).where(
    ChecklistAnswer.attempt_id == bindparam("attempt_id")
)
_STUDENTS_ATTEMPTS = select(ChecklistAttempt).where(
    ChecklistAttempt.student_id == bindparam("student_id"),
    ChecklistAttempt.career == bindparam("career"),
)
OWN_ATTEMPT = _STUDENTS_ATTEMPTS.where(ChecklistAttempt.id == bindparam("attempt_id"))
_NEWEST_FIRST = ChecklistAttempt.id.desc()
LATEST_FINISHED = (
    _STUDENTS_ATTEMPTS.where(ChecklistAttempt.finished_at.is_not(None))
    .order_by(_NEWEST_FIRST)
    .limit(1)
)
LATEST_UNFINISHED = (
    _STUDENTS_ATTEMPTS.where(ChecklistAttempt.finished_at.is_(None))
    .order_by(_NEWEST_FIRST)
    .limit(1)
)


@dataclass(frozen=True)
class Sign:
    index: int
    kind: str  # "fit" or "misfit"
    text: str  # the card's words, verbatim
    heading: str
    # Put to the student ("Can you hear…?"), and named back in their words in the result;
    # a sign whose forms are not written yet is asked and named in the card's words.
    ask: str | None
    you: str


def signs_of(profile: Profile) -> list[Sign]:
    """Fit signs first, then warning signs, numbered across both."""
    checklist = profile.checklist
    kinds = (
        ("fit", checklist.fits_heading, checklist.fits),
        ("misfit", checklist.misfits_heading, checklist.misfits),
    )
    signs: list[Sign] = []
    for kind, heading, written in kinds:
        for sign in written:
            you = sign.you or sign.sign
            signs.append(Sign(len(signs), kind, sign.sign, heading, sign.ask, you))
    return signs


@dataclass(frozen=True)
class Question:
    attempt_id: int
    number: int
    total: int
    sign: Sign
    answer: str | None
    # The signs answered so far in this attempt, with their answers, in order: a sign is
    # shown once it is reached, never before, so the answers are not steered by the list.
    answered: tuple[tuple[Sign, str], ...] = ()


@dataclass(frozen=True)
class Result:
    """Which signs the student recognised. `leaning` picks the wording and next step in dialogs."""

    attempt_id: int
    finished_at: datetime | None
    fits: dict[str, list[Sign]] = field(default_factory=dict)
    misfits: dict[str, list[Sign]] = field(default_factory=dict)

    @property
    def leaning(self) -> str:
        fit_share = _share(self.fits)
        warning_share = _share(self.misfits)
        if fit_share >= 0.75 and warning_share <= 0.25:
            return "strong"
        if fit_share < 0.5 and warning_share >= 0.5:
            return "weak"
        return "mixed"


def _share(answers: dict[str, list[Sign]]) -> float:
    total = sum(len(signs) for signs in answers.values())
    if total == 0:
        return 0.0
    return (len(answers.get("yes", [])) + 0.5 * len(answers.get("unsure", []))) / total


def result_of(
    profile: Profile, attempt_id: int, finished_at: datetime | None, answers: dict[int, str]
) -> Result:
    """The result of an attempt's answers (sign index → answer); the roster reads many."""
    result = Result(
        attempt_id,
        finished_at,
        fits={answer: [] for answer in ANSWERS},
        misfits={answer: [] for answer in ANSWERS},
    )
    for sign in signs_of(profile):
        answer = answers.get(sign.index)
        if answer is not None:
            bucket = result.fits if sign.kind == "fit" else result.misfits
            bucket[answer].append(sign)
    return result


@dataclass(frozen=True)
class ChecklistOverview:
    """What the checklist menu shows: an attempt to resume, and the last result."""

    in_progress: Question | None
    result: Result | None


Step = Question | Result


@dataclass(frozen=True)
class ChecklistService:
    async def overview(
        self, session: AsyncSession, student: Student, profile: Profile
    ) -> ChecklistOverview:
        attempt = await self._latest(session, student, profile, finished=False)
        in_progress = await self._question(session, attempt, profile) if attempt else None
        return ChecklistOverview(in_progress, await self.last_result(session, student, profile))

    async def start(self, session: AsyncSession, student: Student, profile: Profile) -> Question:
        """A new attempt; earlier ones stay as they are, for stats. An open attempt with no
        answer yet is reused, so a double tap on "start" opens one attempt, not two (also
        when the two taps reach two workers at once: the student's row is locked first)."""
        await lock_student(session, student)
        attempt = await self._latest(session, student, profile, finished=False)
        if attempt is None or await self._answers(session, attempt):
            attempt = ChecklistAttempt(student_id=student.id, career=profile.slug, cursor=0)
            session.add(attempt)
            await session.flush()
            await record_event(session, student, "checklist", "start")
        question = await self._question(session, attempt, profile)
        assert question is not None, "a profile always has checklist signs"
        return question

    async def resume(self, session: AsyncSession, student: Student, profile: Profile) -> Step:
        attempt = await self._latest(session, student, profile, finished=False)
        if attempt is None:
            return await self.start(session, student, profile)
        question = await self._question(session, attempt, profile)
        return question or await self._finish(session, student, attempt, profile)

    async def answer(
        self,
        session: AsyncSession,
        student: Student,
        profile: Profile,
        attempt_id: int,
        index: int,
        answer: str,
    ) -> Step | None:
        """Records an answer; None when the button is stale (another attempt, unreached sign).

        Pressing the same answer twice changes nothing; a finished attempt shows its result.
        """
        attempt = await self._own_attempt(session, student, profile, attempt_id)
        if attempt is None or answer not in ANSWERS or not 0 <= index < len(signs_of(profile)):
            return None
        if attempt.finished_at is not None:
            return await self._result(session, attempt, profile)
        answers = await self._answers(session, attempt)
        if index > 0 and index - 1 not in answers:
            return None
        await upsert(
            session,
            ChecklistAnswer,
            {"attempt_id": attempt.id, "sign_index": index, "answer": answer},
            ["attempt_id", "sign_index"],
            {"answer": answer, "answered_at": utcnow()},
        )
        # Only forward: an old button of an earlier sign doesn't move the student back.
        await write_columns(session, attempt, cursor=max(attempt.cursor, index + 1))
        answers[index] = answer
        question = self._question_at(attempt, profile, answers)
        return question or await self._finish(session, student, attempt, profile)

    async def back(
        self, session: AsyncSession, student: Student, profile: Profile, attempt_id: int, index: int
    ) -> Question | None:
        """The sign before `index`; None at the first sign or for a stale button."""
        attempt = await self._own_attempt(session, student, profile, attempt_id)
        if attempt is None or attempt.finished_at is not None or index <= 0:
            return None
        await write_columns(session, attempt, cursor=min(index - 1, attempt.cursor))
        await session.commit()
        return await self._question(session, attempt, profile)

    async def last_result(
        self, session: AsyncSession, student: Student, profile: Profile
    ) -> Result | None:
        attempt = await self._latest(session, student, profile, finished=True)
        return await self._result(session, attempt, profile) if attempt else None

    async def _finish(
        self, session: AsyncSession, student: Student, attempt: ChecklistAttempt, profile: Profile
    ) -> Result:
        """Finishes once: of two simultaneous last answers, only one records the finish."""
        finished = await session.execute(
            update(ChecklistAttempt)
            .where(ChecklistAttempt.id == attempt.id, ChecklistAttempt.finished_at.is_(None))
            .values(finished_at=utcnow())
        )
        if getattr(finished, "rowcount", 0) == 1:
            await record_event(session, student, "checklist", "finish", commit=False)
        await session.commit()
        await session.refresh(attempt)
        return await self._result(session, attempt, profile)

    async def _latest(
        self, session: AsyncSession, student: Student, profile: Profile, *, finished: bool
    ) -> ChecklistAttempt | None:
        query = LATEST_FINISHED if finished else LATEST_UNFINISHED
        params = {"student_id": student.id, "career": profile.slug}
        return (await session.execute(query, params)).scalar_one_or_none()

    async def _own_attempt(
        self, session: AsyncSession, student: Student, profile: Profile, attempt_id: int
    ) -> ChecklistAttempt | None:
        """The attempt a button names, if it is this student's on this career."""
        params = {"attempt_id": attempt_id, "student_id": student.id, "career": profile.slug}
        return (await session.execute(OWN_ATTEMPT, params)).scalar_one_or_none()

    async def _answers(self, session: AsyncSession, attempt: ChecklistAttempt) -> dict[int, str]:
        connection = await session.connection()
        rows = await connection.execute(ATTEMPT_ANSWERS, {"attempt_id": attempt.id})
        return {index: answer for index, answer in rows.all()}

    async def _question(
        self, session: AsyncSession, attempt: ChecklistAttempt, profile: Profile
    ) -> Question | None:
        """The sign at the attempt's cursor, or None when every sign is answered."""
        return self._question_at(attempt, profile, await self._answers(session, attempt))

    def _question_at(
        self, attempt: ChecklistAttempt, profile: Profile, answers: dict[int, str]
    ) -> Question | None:
        signs = signs_of(profile)
        first_open = next((sign.index for sign in signs if sign.index not in answers), None)
        if first_open is None:
            return None
        index = min(attempt.cursor, first_open)
        answered = tuple((sign, answers[sign.index]) for sign in signs if sign.index in answers)
        return Question(
            attempt.id, index + 1, len(signs), signs[index], answers.get(index), answered
        )

    async def _result(
        self, session: AsyncSession, attempt: ChecklistAttempt, profile: Profile
    ) -> Result:
        answers = await self._answers(session, attempt)
        return result_of(profile, attempt.id, attempt.finished_at, answers)
