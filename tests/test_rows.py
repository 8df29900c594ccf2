"""write_columns: a loaded row's changed columns written at once, in the session's
transaction, with nothing left for commit to flush."""

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.engine import Database
from bot.db.models import Student
from bot.db.rows import write_columns
from tests.feature_support import statements_run


async def stored_node(database: Database, telegram_id: int) -> str | None:
    async with database.session_factory() as session:
        query = select(Student.node).where(Student.telegram_id == telegram_id)
        return (await session.execute(query)).scalar_one()


async def saved_student(session: AsyncSession, telegram_id: int, first_name: str) -> Student:
    student = Student(telegram_id=telegram_id, first_name=first_name, node="menu")
    session.add(student)
    await session.commit()
    return student


async def test_changed_columns_are_written_at_once_and_only_they(database: Database) -> None:
    async with database.session_factory() as session:
        student = await saved_student(session, 501, "Ana")
        with statements_run(database.engine) as seen:
            await write_columns(session, student, node="day", first_name="Ana")
        assert len(seen) == 1
        assert seen[0].startswith("UPDATE students SET node=")
        assert "first_name" not in seen[0]
        assert student.node == "day"
        assert student not in session.dirty
        with statements_run(database.engine) as seen:
            await session.commit()
        assert not any(statement.startswith("UPDATE") for statement in seen)
    assert await stored_node(database, 501) == "day"


async def test_values_already_stored_write_nothing(database: Database) -> None:
    async with database.session_factory() as session:
        student = await saved_student(session, 502, "Ben")
        with statements_run(database.engine) as seen:
            await write_columns(session, student, node="menu", first_name="Ben")
        assert seen == []


async def test_a_rolled_back_write_is_not_kept(database: Database) -> None:
    async with database.session_factory() as session:
        student = await saved_student(session, 503, "Cy")
        await write_columns(session, student, node="day")
        await session.rollback()
    assert await stored_node(database, 503) == "menu"


async def test_a_row_not_yet_stored_is_refused(database: Database) -> None:
    async with database.session_factory() as session:
        student = Student(telegram_id=504, first_name="Di", node="menu")
        session.add(student)
        with pytest.raises(ValueError, match="Student is not stored yet"):
            await write_columns(session, student, node="day")
        await session.commit()
    assert await stored_node(database, 504) == "menu"
