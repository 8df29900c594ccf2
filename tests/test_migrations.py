"""The Alembic migrations, on SQLite and PostgreSQL: from empty to head the schema is exactly the
models', every revision goes down and up again, and rows written by an older version survive.

PostgreSQL runs in a database of this module's own, its schema emptied before each test.
"""

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, text

from bot.db.engine import create_engine
from bot.db.migrate import alembic_config, downgrade, upgrade
from bot.db.models import ActiveDay, Base, Event, Student
from tests.conftest import POSTGRES_URL, unavailable

SCRIPTS = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))
# Oldest first.
REVISIONS = [script.revision for script in reversed(list(SCRIPTS.walk_revisions()))]
VERSION_TABLE = "alembic_version"


async def _admin_execute(statement: str, database: str = "test") -> None:
    connection = await asyncpg.connect(f"{POSTGRES_URL.rsplit('/', 1)[0]}/{database}", timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    name = f"careerbot_migrations_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        unavailable("PostgreSQL", str(exc))
    yield name
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables at all), as a DATABASE_URL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
    name: str = request.getfixturevalue("postgres_database")
    asyncio.run(_admin_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public", name))
    return f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://"
    )


async def migrate(direction: Callable[[str, str], None], url: str, revision: str) -> None:
    """Alembic's env runs its own event loop, so from a test it runs in a thread."""
    await asyncio.to_thread(direction, url, revision)


async def inspect_with(url: str, look: Callable[[Connection], Any]) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(look)
    finally:
        await engine.dispose()


def _schema_diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _version(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


MODEL_TABLES = {table.name for table in Base.metadata.sorted_tables}


async def assert_at_head(url: str) -> None:
    assert await inspect_with(url, _version) == SCRIPTS.get_current_head()
    assert await inspect_with(url, _tables) == MODEL_TABLES | {VERSION_TABLE}
    diffs = await inspect_with(url, _schema_diffs)
    assert diffs == [], "the migrations and the models disagree:\n" + "\n".join(map(str, diffs))


async def test_upgrading_from_empty_builds_exactly_the_models_schema(empty_url: str) -> None:
    await migrate(upgrade, empty_url, "head")
    await assert_at_head(empty_url)

    await migrate(downgrade, empty_url, "base")
    assert await inspect_with(empty_url, _version) is None
    assert await inspect_with(empty_url, _tables) == {VERSION_TABLE}, "base leaves no table"

    await migrate(upgrade, empty_url, "head")
    await assert_at_head(empty_url)


async def test_every_revision_goes_down_and_up_again(empty_url: str) -> None:
    assert REVISIONS[0] == "0001" and len(REVISIONS) == len(set(REVISIONS))
    for revision in REVISIONS:
        await migrate(upgrade, empty_url, revision)
        before = await inspect_with(empty_url, _tables)
        await migrate(downgrade, empty_url, "-1")
        await migrate(upgrade, empty_url, revision)
        assert await inspect_with(empty_url, _version) == revision
        assert await inspect_with(empty_url, _tables) == before
    await assert_at_head(empty_url)


def _moment(dialect: str, value: str) -> str:
    """A UTC time as a SQL literal, stored as that database stores DateTime(timezone=True)."""
    if dialect == "postgresql":
        return f"TIMESTAMPTZ '{value}+00'"
    return f"'{value}.000000'"


async def test_rows_written_at_the_first_revision_survive_the_upgrade(empty_url: str) -> None:
    """The students and their events of an old install are all there after `db upgrade`.

    On SQLite, later revisions rebuild the students table to alter it; were foreign keys on
    while they ran, dropping the old table would cascade-delete every event.
    """
    await migrate(upgrade, empty_url, "0001")
    engine = create_engine(empty_url)
    dialect = engine.dialect.name
    at = _moment
    statements = [
        "INSERT INTO students (id, telegram_id, first_name, language, career, node, "
        "start_payload, first_seen, last_seen) VALUES "
        f"(1, 5000000001, 'Ana', 'en', 'music-producer', 'day', NULL, "
        f"{at(dialect, '2026-01-05 10:00:00')}, {at(dialect, '2026-01-07 18:30:00')}), "
        f"(2, 5000000002, 'Ben', NULL, NULL, NULL, 'spring-class', "
        f"{at(dialect, '2026-01-06 09:00:00')}, {at(dialect, '2026-01-06 09:05:00')})",
        "INSERT INTO events (id, student_id, kind, name, career, created_at) VALUES "
        f"(1, 1, 'command', 'start', NULL, {at(dialect, '2026-01-05 10:00:00')}), "
        f"(2, 1, 'view', 'day', 'music-producer', {at(dialect, '2026-01-06 12:00:00')}), "
        f"(3, 2, 'command', 'start', NULL, {at(dialect, '2026-01-06 09:00:00')})",
    ]
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()

    await migrate(upgrade, empty_url, "head")
    await assert_at_head(empty_url)

    engine = create_engine(empty_url)
    try:
        async with engine.connect() as connection:
            students = (await connection.execute(select(Student).order_by(Student.id))).all()
            events = (await connection.execute(select(Event).order_by(Event.id))).all()
            days = (
                await connection.execute(
                    select(ActiveDay.student_id, ActiveDay.day).order_by(
                        ActiveDay.student_id, ActiveDay.day
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    assert [
        (s.id, s.telegram_id, s.first_name, s.language, s.career, s.node, s.start_payload)
        for s in students
    ] == [
        (1, 5000000001, "Ana", "en", "music-producer", "day", None),
        (2, 5000000002, "Ben", None, None, None, "spring-class"),
    ]
    assert [(s.first_seen.day, s.last_seen.day, s.last_seen.hour) for s in students] == [
        (5, 7, 18),
        (6, 6, 9),
    ]
    assert [(s.cohort_id, s.blocked_at, s.explored_at) for s in students] == [(None,) * 3] * 2
    assert [(e.id, e.student_id, e.kind, e.name, e.career) for e in events] == [
        (1, 1, "command", "start", None),
        (2, 1, "view", "day", "music-producer"),
        (3, 2, "command", "start", None),
    ]
    # The active days are filled in from the event log and the last visit.
    assert days == [
        (1, date(2026, 1, 5)),
        (1, date(2026, 1, 6)),
        (1, date(2026, 1, 7)),
        (2, date(2026, 1, 6)),
    ]


async def test_the_last_reminder_time_survives_the_column_rename(empty_url: str) -> None:
    """0009 renames projects.nudged_at to reminded_at: a student reminded before the upgrade
    is not reminded again for the same idle time, and the project's steps stay (on SQLite the
    table is rebuilt). Going down gives the old name its value back."""
    await migrate(upgrade, empty_url, "0008")
    engine = create_engine(empty_url)
    dialect = engine.dialect.name
    at = _moment
    statements = [
        "INSERT INTO students (id, telegram_id, first_name, first_seen, last_seen) VALUES "
        f"(1, 5000000001, 'Ana', {at(dialect, '2026-01-05 10:00:00')}, "
        f"{at(dialect, '2026-01-07 18:30:00')})",
        "INSERT INTO projects (id, student_id, career, started_at, last_activity_at, "
        "finished_at, reminders, nudged_at) VALUES "
        f"(1, 1, 'music-producer', {at(dialect, '2026-01-05 10:00:00')}, "
        f"{at(dialect, '2026-01-06 12:00:00')}, NULL, TRUE, "
        f"{at(dialect, '2026-01-09 13:00:00')})",
        "INSERT INTO project_steps_done (id, project_id, step_id, done_at) VALUES "
        f"(1, 1, 'listen', {at(dialect, '2026-01-06 12:00:00')})",
    ]
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()

    def reminded(column: str) -> Callable[[Connection], Any]:
        def look(connection: Connection) -> Any:
            moment = connection.execute(text(f"SELECT {column} FROM projects")).scalar_one()
            steps = connection.execute(text("SELECT count(*) FROM project_steps_done"))
            return (str(moment)[:16], steps.scalar_one())

        return look

    await migrate(upgrade, empty_url, "head")
    await assert_at_head(empty_url)
    assert await inspect_with(empty_url, reminded("reminded_at")) == ("2026-01-09 13:00", 1)
    await migrate(downgrade, empty_url, "0008")
    assert await inspect_with(empty_url, reminded("nudged_at")) == ("2026-01-09 13:00", 1)
