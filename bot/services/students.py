"""Who the students are and what they did: the student row and the event log."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Event, Student, utcnow

NAME_LIMIT = 64


@dataclass(frozen=True)
class Visitor:
    """The little we keep of a Telegram user: no surname, no username, no phone."""

    telegram_id: int
    first_name: str
    language: str | None


async def find_student(session: AsyncSession, telegram_id: int) -> Student | None:
    result = await session.execute(select(Student).where(Student.telegram_id == telegram_id))
    return result.scalar_one_or_none()


async def touch_student(session: AsyncSession, visitor: Visitor) -> Student:
    """The student behind an update, created on first contact; last seen is now. Commits."""
    student = await find_student(session, visitor.telegram_id)
    if student is None:
        student = Student(telegram_id=visitor.telegram_id)
        session.add(student)
    student.first_name = visitor.first_name[:NAME_LIMIT]
    student.language = (visitor.language or "")[:16] or None
    student.last_seen = utcnow()
    await session.commit()
    return student


async def record_event(
    session: AsyncSession, student: Student, kind: str, name: str, *, commit: bool = True
) -> None:
    session.add(Event(student_id=student.id, kind=kind, name=name[:64], career=student.career))
    if commit:
        await session.commit()
