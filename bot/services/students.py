"""Who the students are and what they did: the student row and the event log."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ActiveDay, Event, FsmRecord, Student, as_utc, utcnow
from bot.db.upsert import upsert

NAME_LIMIT = 64
# How exact "last seen" is: within this, an update doesn't write it again.
LAST_SEEN_PRECISION = timedelta(seconds=60)
ACTIVE_DAY_KEY = ["student_id", "day"]
# A student who started something and has not been back for this long has gone quiet: the
# roster marks them and the weekly digest lists them, and the two must agree.
QUIET_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class Visitor:
    """The little we keep of a Telegram user: no surname, no username, no phone."""

    telegram_id: int
    first_name: str
    language: str | None


# Built once: every update runs them, and building a statement costs more than running it.
FIND_STUDENT = select(Student).where(Student.telegram_id == bindparam("telegram_id"))
# Events are only ever appended, and nothing reads one back in the update that wrote it: a
# plain INSERT on the update's connection spares the unit of work (its flush) at commit.
INSERT_EVENT = insert(Event)


async def find_student(session: AsyncSession, telegram_id: int) -> Student | None:
    result = await session.execute(FIND_STUDENT, {"telegram_id": telegram_id})
    return result.scalar_one_or_none()


async def touch_student(session: AsyncSession, visitor: Visitor) -> Student:
    """The student behind an update, created on first contact; last seen is now. Commits.

    Two first updates of one student handled at once (two workers) create one row.
    """
    now = utcnow()
    student = await find_student(session, visitor.telegram_id)
    new_day = student is None or as_utc(student.last_seen).date() != now.date()
    if student is None:
        first_name = visitor.first_name[:NAME_LIMIT]
        await upsert(
            session,
            Student,
            {"telegram_id": visitor.telegram_id, "first_name": first_name},
            ["telegram_id"],
        )
        student = await find_student(session, visitor.telegram_id)
        assert student is not None
    first_name = visitor.first_name[:NAME_LIMIT]
    language = (visitor.language or "")[:16] or None
    unchanged = (student.first_name, student.language, student.blocked_at) == (
        first_name,
        language,
        None,
    )
    if unchanged and not new_day and now - as_utc(student.last_seen) < LAST_SEEN_PRECISION:
        return student  # nothing to write: spares a transaction on most updates
    # Any update proves the student can be reached again, even after blocking the bot once.
    student.blocked_at = None
    student.first_name = first_name
    student.language = language
    student.last_seen = now
    if new_day:
        # The first update of the student's (UTC) day marks them active for it, once.
        await session.flush()
        await upsert(
            session, ActiveDay, {"student_id": student.id, "day": now.date()}, ACTIVE_DAY_KEY
        )
    await session.commit()
    return student


async def record_event(
    session: AsyncSession, student: Student, kind: str, name: str, *, commit: bool = True
) -> None:
    row = {"student_id": student.id, "kind": kind, "name": name[:64], "career": student.career}
    await (await session.connection()).execute(INSERT_EVENT, row)
    if commit:
        await session.commit()


async def lock_student(session: AsyncSession, student: Student) -> None:
    """Holds the student's row until the transaction ends, so that a check-then-insert about
    them cannot race with the same update handled by another worker (a row lock on
    PostgreSQL, the write lock on SQLite)."""
    await session.execute(
        update(Student).where(Student.id == student.id).values(last_seen=utcnow())
    )


async def forget_user(session: AsyncSession, user_id: int) -> None:
    """Deletes every FSM record of a Telegram user (whatever bot, chat or destiny) stored by
    bot/db/fsm_storage.py; here, so that privacy needs no aiogram (content check uses its views)."""
    await session.execute(delete(FsmRecord).where(FsmRecord.user_id == user_id))
