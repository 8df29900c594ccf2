"""The stats benchmark: /stats over 100,000 students and 2,000,000 events, on SQLite and on
PostgreSQL.

Run: .venv/bin/python bench/stats.py

Seeds a fresh SQLite file and a fresh PostgreSQL database (created on 127.0.0.1:5432 through
the `test` admin database, dropped at the end unless --keep), both migrated to head, with the
same generated data: students over the last 180 days, most in cohorts of ~35 under 100 leads,
with events, active days, checklist attempts and answers, projects with steps, notes and
iterations, and unanswered questions. The catalog has --careers careers (default 14, as the
catalog is planned: copies of the shipped profile under other slugs); a student explores one
to three of them, each with its own attempts and project. Bulk inserts: executemany in one
transaction on SQLite, COPY on PostgreSQL. Then times, per database, for an admin and for a lead:

- `report`: StatsService.report alone, in a session of its own (30 days, then all time);
- `/stats`: the command end to end through the real Dispatcher (build_dispatcher, the
  stand-in Bot API): the middlewares, the report, the rendered text and the chart PNG;
- `roster`: RosterService.page, the first page of a cohort's roster (the lead's first
  cohort, ~35 students), in a session of its own;
- `dashboard …`: the web dashboard's pages over HTTP (create_dashboard_app, logged in with
  a session the bench opens): the cohorts overview and that cohort's page (30 days) and its
  CSV, and for the admin the first page of every student. Target: 0.3 s each.

Each is run once cold ("first") and then --repeat times ("median", "max"). "stall" is the
longest the event loop was held meanwhile: how long any student's update would have waited
behind it. Prints a table and exits 1 when a median is over its target (2 s; dashboard
pages 0.3 s).
`--only sqlite|postgresql` runs one database.
"""

import argparse
import asyncio
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import yaml

# The tests' helpers (the dashboard signed in) sit beside bench/ in the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import (
    Content,
    build_dispatcher,
    create_bot,
    freeze_startup_objects,
    load_content,
)
from bot.config import Settings
from bot.content.models import Profile
from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.db.models import Cohort
from bot.features.roster.service import RosterService
from bot.features.stats.handlers import preload_charts
from bot.features.stats.queries import StatsService
from bot.services.roles import Role, Viewer
from bot.standin.conversation import Conversation
from bot.standin.session import StandInSession
from bot.standin.telegram import FakeTelegram
from tests.dashboard_support import signed_in

TARGET_SECONDS = 2.0
PAGE_TARGET_SECONDS = 0.3
ADMIN_ID = 900
LEAD_ID = 5_000_001  # the first lead: owns COHORTS_PER_LEAD cohorts
LEADS = 100
COHORTS_PER_LEAD = 20
IN_COHORT = 0.7
DAYS_BACK = 180
POSTGRES_ADMIN = "postgresql://127.0.0.1:5432/test"
UNANSWERED_TEXTS = [
    f"{start} {topic}?"
    for start in ("can i", "do you need", "is it ok to", "how do i", "what if i")
    for topic in (
        "work from home",
        "study music at school",
        "start without a laptop",
        "get a visa for tours",
        "make beats on a phone",
        "become famous fast",
        "work with my friends",
        "sell beats online",
        "learn piano first",
        "produce for games",
    )
]


@dataclass
class Data:
    """Every table's rows, as tuples in the column order of COLUMNS."""

    tables: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.tables.setdefault(table, []).append(row)


COLUMNS = {
    "staff": ("id", "telegram_id", "name", "granted_by", "granted_at"),
    "cohorts": (
        "id",
        "code",
        "name",
        "career",
        "lead_id",
        "created_at",
        "expires_at",
        "closed_at",
    ),
    "students": (
        "id",
        "telegram_id",
        "first_name",
        "language",
        "career",
        "node",
        "start_payload",
        "blocked_at",
        "cohort_id",
        "joined_cohort_at",
        "explored_at",
        "first_seen",
        "last_seen",
        "shares",
        "shared_at",
    ),
    "events": ("id", "student_id", "kind", "name", "career", "created_at"),
    "active_days": ("student_id", "day"),
    "checklist_attempts": ("id", "student_id", "career", "cursor", "started_at", "finished_at"),
    "checklist_answers": ("id", "attempt_id", "sign_index", "answer", "answered_at"),
    "projects": (
        "id",
        "student_id",
        "career",
        "started_at",
        "last_activity_at",
        "finished_at",
        "reminders",
        "reminded_at",
    ),
    "project_steps_done": ("id", "project_id", "step_id", "done_at"),
    "project_entries": ("id", "project_id", "step_id", "seq", "note", "created_at"),
    "unanswered_questions": ("id", "student_id", "career", "text", "created_at"),
}
SERIAL_TABLES = [table for table, columns in COLUMNS.items() if columns[0] == "id"]


class Ids:
    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        self.next[table] = self.next.get(table, 0) + 1
        return self.next[table]


def bench_content(careers: int, workdir: Path) -> Content:
    """The shipped content, with copies of its first profile as careers 2…`careers`: the
    catalog the stats are read against (titles for "By career" come from it)."""
    shipped = Settings(_env_file=None)
    if careers <= 1:
        return load_content(shipped)
    content_dir = workdir / "content"
    shutil.copytree(shipped.content_dir, content_dir)
    careers_dir = content_dir / "careers"
    template_file = sorted(careers_dir.glob("*.yaml"))[0]
    template = yaml.safe_load(template_file.read_text("utf-8"))
    for number in range(2, careers + 1):
        profile = {**template, "title": f"Career {number}", "aliases": [], "keywords": {}}
        text = yaml.safe_dump(profile, allow_unicode=True, sort_keys=False)
        (careers_dir / f"career-{number}.yaml").write_text(text, "utf-8")
    return load_content(
        Settings(_env_file=None, content_dir=content_dir, dialogs_dir=shipped.dialogs_dir)
    )


def generate(content: Content, students: int, events: int, now: datetime, seed: int) -> Data:
    """Deterministic, roughly realistic usage: most students stop early, some go far.

    Careers are picked by popularity (the first in the catalog most often); a third of the
    students who pick one go on to a second, and some to a third. Their events carry the
    career they were on at the time, as the bot records them.
    """
    rng = random.Random(seed)
    profiles = list(content.catalog)
    popularity = [1 / (rank + 1) for rank in range(len(profiles))]
    slug = profiles[0].slug
    intents = list(content.questions.spec.intents)
    tour_nodes = ["menu", "work", "day", "suits", "numbers", "outlook", "right_now", "sources"]
    tour_nodes += ["related", "checklist", "checklist_question", "checklist_result", "project"]
    tour_nodes += ["project_step", "progress", "help", "privacy"]
    node_weights = [30, 8, 8, 5, 9, 4, 3, 2, 2, 6, 9, 5, 4, 6, 2, 2, 1]
    data = Data()
    ids = Ids()

    for lead in range(LEADS):
        granted = now - timedelta(days=DAYS_BACK + 10)
        data.add("staff", (ids("staff"), LEAD_ID + lead, f"Lead {lead + 1}", ADMIN_ID, granted))
    cohort_count = LEADS * COHORTS_PER_LEAD
    for number in range(cohort_count):
        lead = LEAD_ID + number // COHORTS_PER_LEAD
        created = now - timedelta(days=rng.uniform(0, DAYS_BACK))
        code = uuid.UUID(int=rng.getrandbits(128)).hex[:16]
        row = (ids("cohorts"), code, f"Class {number + 1}", slug, lead, created, None, None)
        data.add("cohorts", row)

    # Events per student average events/students; the total is exactly `events`.
    mean = events / students
    counts = [max(1, int(rng.uniform(0.2, 1.8) * mean)) for _ in range(students)]
    difference = events - sum(counts)
    step = 1 if difference > 0 else -1
    while difference:
        index = rng.randrange(students)
        if counts[index] + step >= 1:
            counts[index] += step
            difference -= step

    for number in range(students):
        student_id = ids("students")
        first_seen = now - timedelta(seconds=rng.uniform(0, DAYS_BACK * 86400))
        span = min(now - first_seen, timedelta(days=45 * rng.random() ** 2))
        sessions = sorted(
            [first_seen]
            + [
                first_seen + span * rng.random()
                for _ in range(min(12, int(rng.expovariate(1 / 3))))
            ]
        )
        explored_careers: list[Profile] = []
        if rng.random() < 0.95:
            wanted = 1 + (rng.random() < 0.33) + (rng.random() < 0.1)
            while len(explored_careers) < min(wanted, len(profiles)):
                pick = rng.choices(profiles, popularity)[0]
                if pick not in explored_careers:
                    explored_careers.append(pick)
        career = explored_careers[-1].slug if explored_careers else None
        explored = career is not None and rng.random() < 0.85
        cohort_id = rng.randint(1, cohort_count) if rng.random() < IN_COHORT else None
        node = rng.choices(tour_nodes, node_weights)[0] if explored else "menu"
        if career is None:
            node = "careers"
        times: list[datetime] = []
        for _ in range(counts[number]):
            moment = rng.choice(sessions) + timedelta(seconds=rng.uniform(0, 1200))
            times.append(min(moment, now))
        times.sort()
        last_seen = max(times[-1], sessions[-1])
        explored_at = sessions[0] + timedelta(minutes=2) if explored else None
        # Asked on joining: most say yes, some not now, a few never answer.
        shares = rng.choices((True, False, None), (6, 3, 1))[0] if cohort_id else None
        shared_at = first_seen + timedelta(minutes=1) if shares is not None else None
        data.add(
            "students",
            (
                student_id,
                10_000_000 + number,
                f"Student{number}",
                "en",
                career,
                node,
                None,
                None,
                cohort_id,
                first_seen if cohort_id else None,
                explored_at,
                first_seen,
                last_seen,
                shares,
                shared_at,
            ),
        )
        for day in sorted({moment.date() for moment in times} | {last_seen.date()}):
            data.add("active_days", (student_id, day))

        # Each career explored keeps its own attempt and project.
        for profile in explored_careers:
            signs = len(profile.checklist.fits) + len(profile.checklist.misfits)
            steps = profile.project.steps
            checklist_finished = False
            if explored and career and rng.random() < 0.5:
                started = rng.choice(sessions)
                checklist_finished = rng.random() < 0.7
                answered = signs if checklist_finished else rng.randint(0, signs - 1)
                finished_at = started + timedelta(minutes=3) if checklist_finished else None
                attempt_id = ids("checklist_attempts")
                row = (attempt_id, student_id, profile.slug, answered, started, finished_at)
                data.add("checklist_attempts", row)
                for index in range(answered):
                    answer = rng.choices(("yes", "unsure", "no"), (5, 2, 3))[0]
                    when = started + timedelta(seconds=20 * (index + 1))
                    data.add(
                        "checklist_answers",
                        (ids("checklist_answers"), attempt_id, index, answer, when),
                    )
            chance = 0.45 if checklist_finished else 0.05
            if explored and career and rng.random() < chance:
                started = rng.choice(sessions)
                finished = rng.random() < 0.3
                done = len(steps) if finished else rng.randint(0, len(steps) - 1)
                project_id = ids("projects")
                finished_at = started + timedelta(days=2) if finished else None
                row = (
                    project_id,
                    student_id,
                    profile.slug,
                    started,
                    started,
                    finished_at,
                    False,
                    None,
                )
                data.add("projects", row)
                for position, project_step in enumerate(steps[: done + 1]):
                    when = started + timedelta(hours=position)
                    if position < done:
                        data.add(
                            "project_steps_done",
                            (ids("project_steps_done"), project_id, project_step.id, when),
                        )
                    if project_step.repeatable:
                        for seq in range(1, rng.randint(1, 4) + 1):
                            row = (
                                ids("project_entries"),
                                project_id,
                                project_step.id,
                                seq,
                                None,
                                when,
                            )
                            data.add("project_entries", row)
                    elif project_step.note_prompt and position < done:
                        row = (
                            ids("project_entries"),
                            project_id,
                            project_step.id,
                            1,
                            "my note",
                            when,
                        )
                        data.add("project_entries", row)

        steps = (explored_careers[0] if explored_careers else profiles[0]).project.steps
        for position, moment in enumerate(times):
            # The career the student was on then: their careers in turn over their events.
            on = None
            if explored_careers:
                on = explored_careers[position * len(explored_careers) // len(times)].slug
            roll = rng.random()
            if roll < 0.70:
                kind, name = "view", rng.choices(tour_nodes, node_weights)[0]
            elif roll < 0.80:
                kind, name = "question", rng.choice(intents)
                if name == "unknown":
                    text = rng.choice(UNANSWERED_TEXTS)
                    row = (ids("unanswered_questions"), student_id, on, text, moment)
                    data.add("unanswered_questions", row)
            elif roll < 0.88:
                kind, name = "command", rng.choice(("start", "menu", "help", "progress"))
            elif roll < 0.93:
                kind, name = "step", rng.choice(steps).id
            elif roll < 0.97:
                kind, name = "checklist", rng.choice(("start", "finish"))
            else:
                kind, name = "project", rng.choice(("start", "finish"))
            data.add("events", (ids("events"), student_id, kind, name, on, moment))
    return data


# Seeding.


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
        return f"{moment:%Y-%m-%d %H:%M:%S}.{moment.microsecond:06d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def seed_sqlite(path: Path, data: Data) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        with connection:
            for table, columns in COLUMNS.items():
                marks = ", ".join("?" for _ in columns)
                statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
                rows = data.tables.get(table, [])
                connection.executemany(
                    statement, ([_sqlite_value(value) for value in row] for row in rows)
                )
    finally:
        connection.close()


async def seed_postgres(dsn: str, data: Data) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for table, columns in COLUMNS.items():
            rows = data.tables.get(table, [])
            await connection.copy_records_to_table(table, records=rows, columns=list(columns))
        for table in SERIAL_TABLES:
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        # What autovacuum does shortly after a bulk load.
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


async def create_postgres(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def drop_postgres(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


# Timing.


@dataclass(frozen=True)
class Timing:
    database: str
    viewer: str
    what: str
    first: float
    runs: list[float]
    stall: float  # the longest the event loop was held, over all runs

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def target(self) -> float:
        return PAGE_TARGET_SECONDS if self.what.startswith("dashboard") else TARGET_SECONDS


class LoopWatch:
    """Wakes every millisecond; the longest it overslept is the longest the loop was held."""

    TICK = 0.001

    def __init__(self) -> None:
        self.longest = 0.0

    async def watch(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(self.TICK)
            self.longest = max(self.longest, time.perf_counter() - before - self.TICK)


async def measure(
    run: Callable[[], Awaitable[None]], repeat: int
) -> tuple[float, list[float], float]:
    samples = []
    watch = LoopWatch()
    watcher = asyncio.create_task(watch.watch())
    try:
        for _ in range(repeat + 1):
            start = time.perf_counter()
            await run()
            samples.append(time.perf_counter() - start)
    finally:
        watcher.cancel()
    return samples[0], samples[1:], watch.longest


async def time_database(label: str, url: str, content: Content, repeat: int) -> list[Timing]:
    settings = Settings(_env_file=None, database_url=url, admin_ids=frozenset({ADMIN_ID}))
    database = Database.connect(url)
    telegram = FakeTelegram()
    bot = create_bot(settings, StandInSession(telegram))
    # No emit_startup: the background jobs (reminders, announcements) stay out of the timing;
    # of what start-up does, loading the chart library and what a bot process does last
    # (freezing what start-up built) matter here, so they are done.
    dispatcher = build_dispatcher(settings, content, database)
    await preload_charts()
    await freeze_startup_objects()
    stats = StatsService(content.catalog, settings.admin_ids)
    roster = RosterService(content.catalog, settings.admin_ids)
    timings = []
    try:
        for who, user_id, role in (("admin", ADMIN_ID, Role.ADMIN), ("lead", LEAD_ID, Role.LEAD)):
            viewer = Viewer(user_id, role)
            for days in (30, None):

                async def report(days: int | None = days, viewer: Viewer = viewer) -> None:
                    async with database.report_sessions() as session:
                        found = await stats.report(session, viewer, None, days)
                        assert found is not None

                what = f"report ({'30 days' if days else 'all time'})"
                timings.append(Timing(label, who, what, *await measure(report, repeat)))

            async def roster_page(viewer: Viewer = viewer) -> None:
                async with database.report_sessions() as session:
                    cohort = await session.get(Cohort, 1)
                    assert cohort is not None and viewer.owns(cohort)
                    page = await roster.page(session, viewer, cohort, 1)
                    assert page is not None

            timings.append(
                Timing(label, who, "roster (page 1)", *await measure(roster_page, repeat))
            )
            conversation = Conversation(dispatcher, bot, telegram, user_id, who.title())

            async def command(conversation: Conversation = conversation) -> None:
                replies = await conversation.send("/stats")
                methods = [reply.method for reply in replies]
                assert "sendPhoto" in methods and "sendMessage" in methods, methods

            measured = await measure(command, repeat)
            timings.append(Timing(label, who, "/stats end to end", *measured))
            timings += await time_dashboard(
                label, who, user_id, settings, content, database, repeat
            )
        timings.append(await time_events_daily(label, database, repeat))
    finally:
        await bot.session.close()
        await database.close()
    return timings


async def time_dashboard(
    label: str,
    who: str,
    user_id: int,
    settings: Settings,
    content: Content,
    database: Database,
    repeat: int,
) -> list[Timing]:
    """The dashboard's pages over real HTTP, as `user_id` logged in: the overview, the first
    cohort's page and its CSV."""
    prefix = settings.dashboard_path
    timings = []
    async with signed_in(settings, content, database, user_id) as (client, headers):
        pages = [
            ("dashboard overview", f"{prefix}/?period=30"),
            ("dashboard cohort", f"{prefix}/cohorts/1?period=30"),
            ("dashboard CSV", f"{prefix}/cohorts/1/export.csv"),
        ]
        if who == "admin":
            pages.append(("dashboard students", f"{prefix}/students"))
        for what, path in pages:

            async def fetch(path: str = path) -> None:
                response = await client.get(path, headers=headers)
                await response.read()
                assert response.status == 200, (path, response.status)

            timings.append(Timing(label, who, what, *await measure(fetch, repeat)))
    return timings


async def time_events_daily(label: str, database: Database, repeat: int) -> Timing:
    """For comparison only: daily active students counted from the event log instead of
    active_days (what the report would cost without that table)."""
    from sqlalchemy import text

    if database.engine.dialect.name == "postgresql":
        day = "(created_at AT TIME ZONE 'UTC')::date"
    else:
        day = "substr(created_at, 1, 10)"
    since = datetime.now(UTC) - timedelta(days=30)

    async def run() -> None:
        async with database.session_factory() as session:
            await session.execute(
                text(
                    f"SELECT {day} AS day, count(DISTINCT student_id) FROM events "
                    "WHERE created_at >= :since GROUP BY 1"
                ),
                {"since": since if label == "postgresql" else _sqlite_value(since)},
            )

    return Timing(label, "admin", "(daily active from events)", *await measure(run, repeat))


def print_table(timings: Sequence[Timing]) -> None:
    header = (
        f"{'database':<11} {'viewer':<6} {'what':<28} {'first':>7} {'median':>7} {'max':>7}"
        f" {'stall':>7}"
    )
    print(header)
    print("-" * len(header))
    for timing in timings:
        print(
            f"{timing.database:<11} {timing.viewer:<6} {timing.what:<28} "
            f"{timing.first:6.3f}s {timing.median:6.3f}s {max(timing.runs):6.3f}s"
            f" {timing.stall:6.3f}s"
        )


def counts(data: Data) -> Iterator[str]:
    for table in COLUMNS:
        yield f"{table} {len(data.tables.get(table, [])):,}"


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after the first")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--sqlite", type=Path, help="the SQLite file (default: a temp file)")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--careers", type=int, default=14, help="careers in the catalog")
    args = parser.parse_args(argv)

    content_dir = Path(tempfile.mkdtemp(prefix="careerbot-bench-content-"))
    try:
        content = bench_content(args.careers, content_dir)
    finally:
        shutil.rmtree(content_dir)
    now = datetime.now(UTC)
    start = time.perf_counter()
    data = generate(content, args.students, args.events, now, args.seed)
    print(f"generated in {time.perf_counter() - start:.1f}s: {', '.join(counts(data))}")

    timings: list[Timing] = []
    if args.only in (None, "sqlite"):
        workdir = Path(tempfile.mkdtemp(prefix="careerbot-bench-"))
        path = args.sqlite or workdir / "stats.db"
        path.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
        start = time.perf_counter()
        await asyncio.to_thread(upgrade, url)
        await asyncio.to_thread(seed_sqlite, path, data)
        print(f"sqlite: seeded {path} in {time.perf_counter() - start:.1f}s")
        timings += await time_database("sqlite", url, content, args.repeat)
        if not args.keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    if args.only in (None, "postgresql"):
        name = "careerbot_bench_stats"
        base = POSTGRES_ADMIN.rsplit("/", 1)[0]
        url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://")
        start = time.perf_counter()
        await create_postgres(name)
        try:
            await asyncio.to_thread(upgrade, url)
            await seed_postgres(f"{base}/{name}", data)
            print(f"postgresql: seeded {name} in {time.perf_counter() - start:.1f}s")
            timings += await time_database("postgresql", url, content, args.repeat)
        finally:
            if not args.keep:
                await drop_postgres(name)
    print()
    print_table(timings)
    slow = [
        timing
        for timing in timings
        if not timing.what.startswith("(") and timing.median > timing.target
    ]
    if slow:
        print(
            f"\nover their target: {', '.join(f'{t.database} {t.viewer} {t.what}' for t in slow)}"
        )
        return 1
    print(
        f"\nall under their targets ({TARGET_SECONDS:g} s;"
        f" dashboard pages {PAGE_TARGET_SECONDS:g} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
