"""The throughput benchmark: updates per second and latency of the webhook, against a bare
aiogram echo bot on the same harness.

Run: .venv/bin/python bench/throughput.py [--students 64] [--updates 3000] [--targets …]

For each target it starts the stand-in Bot API (bot/standin/server.py) in this process, starts
the bot in processes of its own pointed at it (TELEGRAM_API_URL), waits until the bot is up,
sends a warm-up, then a fixed number of updates (bounded in time) from N simulated students
(bench/loadgen.py), stops the bot with SIGTERM and prints a table:

    echo     the baseline: bench/echo_bot.py, a bare aiogram bot behind the same webhook server
    echo-db  (only when asked for) the echo bot reading and writing one row per update on SQLite
    sqlite   `careerbot webhook --workers 1` on SQLite
    pg1      `careerbot webhook --workers 1` on PostgreSQL + Redis
    pg2      `careerbot webhook --workers 2` on PostgreSQL + Redis

Everything listens on 127.0.0.1 only. PostgreSQL (BENCH_POSTGRES_URL, default
postgresql://127.0.0.1:5432/test, used to create and drop a database of the benchmark's own)
and Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/13, flushed before and after) are
needed for pg1 and pg2 only; without them those rows say why they were skipped.

Exits 1 when a target of the issue is missed: careerbot on SQLite at least 0.5x the echo bot's
updates/s, p99 under 100 ms, no error and no lost update in any run.
"""

import argparse
import asyncio
import io
import os
import pstats
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg  # type: ignore[import-untyped]
from loadgen import LoadGenerator, PhaseStats
from redis.asyncio import Redis
from sqlalchemy import func, select

from bot.app import Content, load_content
from bot.config import Settings
from bot.db.engine import create_engine
from bot.db.models import Event
from bot.standin.server import LocalBotApiServer

BENCH_DIR = Path(__file__).resolve().parent
PYTHON = Path(sys.executable)
CAREERBOT = PYTHON.with_name("careerbot")
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TOKEN = "123:TEST"
PATH = "/telegram"
START_SECONDS = 120.0
STOP_SECONDS = 60.0
TARGETS = ("echo", "sqlite", "pg1", "pg2")  # the default run

# The students' visit (bench/loadgen.py) is the music producer's: its questions, its project's
# first note.
CAREER = "music-producer"

# The targets.
MIN_SQLITE_RATIO = 0.5
MAX_P99_MS = 100.0


@dataclass
class Result:
    title: str
    stats: PhaseStats | None = None
    skipped: str | None = None
    bot_cpu_seconds: float = 0.0
    stray_calls: int = 0
    not_modified: int = 0
    duplicated: int = 0
    exit_codes: list[int] = field(default_factory=list)
    log: Path | None = None
    log_problems: list[str] = field(default_factory=list)
    profile: Path | None = None
    killed: str | None = None


@dataclass(frozen=True)
class Target:
    key: str
    title: str
    command: list[str]
    workers: int
    keyboards: bool
    # Makes the database (and Redis) settings for a run and returns them with a clean-up.
    services: Callable[[Path], Awaitable[tuple[dict[str, str], Callable[[], Awaitable[None]]]]]


class Unavailable(Exception):
    """A service a target needs is not reachable."""


async def _nothing() -> None:
    return None


async def no_services(_work: Path) -> tuple[dict[str, str], Callable[[], Awaitable[None]]]:
    return {}, _nothing


async def sqlite_database(work: Path) -> tuple[dict[str, str], Callable[[], Awaitable[None]]]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bench.db'}"}, _nothing


async def postgres_and_redis(work: Path) -> tuple[dict[str, str], Callable[[], Awaitable[None]]]:
    """A fresh PostgreSQL database and a flushed Redis database, removed afterwards."""
    name = f"careerbot_bench_{uuid.uuid4().hex[:10]}"
    admin_url = POSTGRES_URL

    async def admin(statement: str) -> None:
        connection = await asyncpg.connect(admin_url, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
        await redis.flushdb()
    except (OSError, Exception) as exc:
        raise Unavailable(f"Redis at {REDIS_URL}: {exc}") from None
    finally:
        await redis.aclose()
    try:
        await admin(f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise Unavailable(f"PostgreSQL at {POSTGRES_URL}: {exc}") from None

    async def clean_up() -> None:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        client = Redis.from_url(REDIS_URL)
        try:
            await client.flushdb()
        finally:
            await client.aclose()

    url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}".replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    return {"DATABASE_URL": url, "REDIS_URL": REDIS_URL}, clean_up


def targets() -> dict[str, Target]:
    webhook = [str(CAREERBOT), "webhook", "--workers"]
    return {
        "echo": Target(
            "echo",
            "echo bot (bare aiogram)",
            [str(PYTHON), str(BENCH_DIR / "echo_bot.py")],
            1,
            False,
            no_services,
        ),
        "echo-db": Target(
            "echo-db",
            "persisting echo bot (SQLite)",
            [str(PYTHON), str(BENCH_DIR / "echo_bot.py")],
            1,
            False,
            sqlite_database,
        ),
        "sqlite": Target(
            "sqlite", "careerbot SQLite, 1 worker", [*webhook, "1"], 1, True, sqlite_database
        ),
        "pg1": Target(
            "pg1", "careerbot PG+Redis, 1 worker", [*webhook, "1"], 1, True, postgres_and_redis
        ),
        "pg2": Target(
            "pg2", "careerbot PG+Redis, 2 workers", [*webhook, "2"], 2, True, postgres_and_redis
        ),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (the webhook workers), from /proc."""
    found = [pid]
    for each in found:
        try:
            children = Path(f"/proc/{each}/task/{each}/children").read_text().split()
        except OSError:
            continue
        found.extend(int(child) for child in children)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def bot_environment(
    server: LocalBotApiServer, port: int, secret: str, log_level: str, extra: dict[str, str]
) -> dict[str, str]:
    """Only what the bot needs: none of the developer's settings leak in."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CONTENT_DIR", "DIALOGS_DIR"}
    }
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=server.url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}{PATH}",
        WEBHOOK_SECRET=secret,
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LOG_LEVEL=log_level,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


async def wait_until_up(
    target: Target, server: LocalBotApiServer, port: int, process: asyncio.subprocess.Process
) -> None:
    """Healthy, and (careerbot) every worker started: each registers the commands at start."""
    deadline = time.monotonic() + START_SECONDS
    url = f"http://127.0.0.1:{port}/health"
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"{target.title} exited with {process.returncode}")
            started = sum(call.method == "setMyCommands" for call in server.telegram.calls)
            if not target.keyboards or started >= target.workers:
                try:
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{target.title} did not come up within {START_SECONDS:.0f} s")


async def duplicated_progress(database_url: str) -> int:
    """Progress recorded twice for one student: in the benchmark's visits each student starts
    and finishes the checklist once, starts the project once and completes one step."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            twice = await connection.execute(
                select(Event.student_id, Event.kind, Event.name)
                .where(Event.kind.in_(["checklist", "project", "step", "iteration"]))
                .group_by(Event.student_id, Event.kind, Event.name)
                .having(func.count() > 1)
            )
            return len(twice.all())
    finally:
        await engine.dispose()


async def kill_a_worker(pids: list[int], after: float, result: Result) -> None:
    """SIGKILLs the last worker `after` seconds into the run, as a crash would."""
    await asyncio.sleep(after)
    worker = pids[-1]
    os.kill(worker, signal.SIGKILL)
    result.killed = f"worker {worker} killed (SIGKILL) {after:g} s into the run"


async def stop(process: asyncio.subprocess.Process) -> int:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    return process.returncode or 0


def visit(content: Content) -> tuple[int, str | None]:
    """The checklist's number of signs on the visit's career, and the title a student taps to
    pick it: None when the catalog has only that career (/start then opens its menu)."""
    profile = content.catalog.get(CAREER) or next(iter(content.catalog))
    signs = len(profile.checklist.fits) + len(profile.checklist.misfits)
    return signs, profile.title if len(content.catalog) > 1 else None


async def run_target(
    target: Target,
    options: argparse.Namespace,
    signs: int,
    error: str,
    career: str | None = None,
) -> Result:
    result = Result(target.title)
    work = Path(tempfile.mkdtemp(prefix=f"careerbot-bench-{target.key}-"))
    try:
        extra, clean_up = await target.services(work)
    except Unavailable as exc:
        result.skipped = str(exc)
        return result
    profiling = options.profile and target.workers == 1 and target.keyboards
    command = target.command
    if profiling:
        command = [str(PYTHON), str(BENCH_DIR / "profile_worker.py")]
        extra = {**extra, "PROFILE_OUTPUT": str(work / "worker.prof")}
    server = LocalBotApiServer()
    await server.start("127.0.0.1", 0)
    port, secret = free_port(), secrets.token_urlsafe(24)
    result.log = work / "bot.log"
    process: asyncio.subprocess.Process | None = None
    try:
        with result.log.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                *command,
                cwd=work,  # no .env of the checkout is read
                env=bot_environment(server, port, secret, options.log_level, extra),
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
            await wait_until_up(target, server, port, process)
            generator = LoadGenerator(
                server,
                f"http://127.0.0.1:{port}{PATH}",
                secret,
                students=options.students,
                signs=signs,
                keyboards=target.keyboards,
                error_text=error if target.keyboards else None,
                think_seconds=options.think_ms / 1000,
                career=career if target.keyboards else None,
            )
            if options.warmup:
                await generator.run(options.warmup, options.max_seconds)
            pids = process_tree(process.pid)
            bot_cpu = cpu_seconds(pids)
            if profiling:
                process.send_signal(signal.SIGUSR1)
            killing = None
            if options.kill_worker is not None and target.workers > 1:
                killing = asyncio.create_task(kill_a_worker(pids, options.kill_worker, result))
            stats = await generator.run(options.updates, options.max_seconds)
            result.bot_cpu_seconds = cpu_seconds(pids) - bot_cpu
            if killing is not None:
                await killing
            if profiling:
                process.send_signal(signal.SIGUSR2)
                result.profile = await _written(work / "worker.prof")
            result.stats = stats
            result.stray_calls = generator.stray_calls
            result.not_modified = generator.not_modified
            result.exit_codes.append(await stop(process))
            if "DATABASE_URL" in extra:
                result.duplicated = await duplicated_progress(extra["DATABASE_URL"])
    finally:
        if process is not None and process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        await server.stop()
        await clean_up()
    output = result.log.read_text("utf-8", errors="replace")
    result.log_problems = [
        line for line in output.splitlines() if "Traceback" in line or " ERROR " in line
    ][:5]
    if not result.log_problems and result.profile is None:
        shutil.rmtree(work, ignore_errors=True)  # kept only when there is something to read
    return result


async def _written(path: Path) -> Path | None:
    """The profile, once the worker has written it."""
    for _ in range(100):
        if path.exists() and path.stat().st_size:
            await asyncio.sleep(0.2)  # let it finish writing
            return path
        await asyncio.sleep(0.1)
    return None


def hot_spots(result: Result, limit: int) -> str:
    """The functions the worker spent its time in, by own time and by time including calls."""
    assert result.profile is not None
    out = io.StringIO()
    stats = pstats.Stats(str(result.profile), stream=out)
    print(f"== {result.title}: profile of the measured updates ({result.profile})", file=out)
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)
    return out.getvalue()


def _ms(value: float) -> str:
    return "—" if value != value else f"{value:.1f}"  # NaN: no latency measured


def table(results: list[Result]) -> str:
    header = ["target", "updates", "updates/s", "× echo", "p50 ms", "p95 ms", "p99 ms"]
    header += ["errors", "lost"]
    echo = targets()["echo"].title
    baseline = next((r.stats.rate for r in results if r.title == echo and r.stats), 0)
    rows: list[list[str]] = []
    skipped: list[str] = []
    for result in results:
        stats = result.stats
        if stats is None:
            skipped.append(f"{result.title}: skipped, {result.skipped}")
            continue
        rows.append(
            [
                result.title,
                str(stats.updates),
                f"{stats.rate:.0f}",
                f"{stats.rate / baseline:.2f}" if baseline else "—",
                _ms(stats.percentile(0.50)),
                _ms(stats.percentile(0.95)),
                _ms(stats.percentile(0.99)),
                str(sum(stats.errors.values())),
                str(stats.lost),
            ]
        )
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    return "\n".join([*lines, *skipped])


def notes(results: list[Result], options: argparse.Namespace) -> list[str]:
    out = [
        f"{options.students} concurrent students, {options.warmup} warm-up updates, then "
        f"{options.updates} updates (at most {options.max_seconds:g} s); latency in ms from "
        "the POST to the bot's last reply at the stand-in Bot API; LOG_LEVEL="
        f"{options.log_level}; {os.cpu_count()} CPU cores, load average "
        f"{options.load_before:.1f} before the runs and {os.getloadavg()[0]:.1f} after."
    ]
    for result in results:
        if result.stats is None:
            continue
        stats = result.stats
        per_update = 1000 * result.bot_cpu_seconds / max(stats.updates, 1)
        line = (
            f"{result.title}: bot CPU {per_update:.2f} ms/update; CPU busy — bot "
            f"{100 * result.bot_cpu_seconds / stats.seconds:.0f}%, load generator + stand-in "
            f"{100 * stats.cpu_seconds / stats.seconds:.0f}% (100% = one core)"
        )
        if result.killed:
            line += f"; {result.killed}"
        if stats.redelivered:
            line += f"; {stats.redelivered} deliveries repeated after a failed POST"
        if stats.errors:
            line += "; errors: " + ", ".join(f"{k} ×{v}" for k, v in stats.errors.items())
        if result.stray_calls:
            line += f"; {result.stray_calls} calls outside any update"
        if result.not_modified:
            line += f"; {result.not_modified} edits answered 'message is not modified'"
        if result.duplicated:
            line += f"; progress recorded twice for {result.duplicated} (student, step)"
        if any(result.exit_codes):
            line += f"; exit codes {result.exit_codes}"
        if result.log_problems:
            line += f"; log ({result.log}): " + " | ".join(result.log_problems)
        out.append(line)
    return out


def verdict(results: list[Result]) -> list[str]:
    """The issue's targets that were missed."""
    missed: list[str] = []
    measured = {result.title: result.stats for result in results if result.stats}
    echo = measured.get(targets()["echo"].title)
    sqlite = measured.get(targets()["sqlite"].title)
    if echo and sqlite and sqlite.rate < MIN_SQLITE_RATIO * echo.rate:
        missed.append(
            f"careerbot on SQLite: {sqlite.rate / echo.rate:.2f}× the echo bot's updates/s "
            f"(target ≥ {MIN_SQLITE_RATIO}×)"
        )
    for title, stats in measured.items():
        if stats.percentile(0.99) >= MAX_P99_MS:
            missed.append(
                f"{title}: p99 {stats.percentile(0.99):.0f} ms (target < {MAX_P99_MS:.0f})"
            )
        if stats.errors or stats.lost:
            missed.append(f"{title}: {sum(stats.errors.values())} errors, {stats.lost} lost")
    for result in results:
        if result.duplicated:
            missed.append(f"{result.title}: {result.duplicated} duplicated progress records")
        if any(result.exit_codes):
            missed.append(f"{result.title}: did not stop cleanly ({result.exit_codes})")
    return missed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=64, help="concurrent students (64)")
    parser.add_argument("--updates", type=int, default=3000, help="measured updates (3000)")
    parser.add_argument("--warmup", type=int, default=300, help="warm-up updates (300)")
    parser.add_argument("--max-seconds", type=float, default=20, help="cap per phase (20)")
    parser.add_argument("--think-ms", type=float, default=0, help="pause between a student's taps")
    parser.add_argument(
        "--targets",
        default=",".join(TARGETS),
        help=f"comma-separated, of {', '.join(targets())} (default: {', '.join(TARGETS)})",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.add_argument(
        "--kill-worker",
        type=float,
        metavar="SECONDS",
        help="with 2+ workers, SIGKILL one this long into the measured run",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="run 1-worker careerbot targets under cProfile and print their hot spots",
    )
    options = parser.parse_args(argv)
    chosen = [key.strip() for key in options.targets.split(",") if key.strip()]
    unknown = sorted(set(chosen) - set(targets()))
    if unknown:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    options.chosen = chosen
    return options


async def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    options.load_before = os.getloadavg()[0]
    content = load_content(Settings(_env_file=None))
    signs, career = visit(content)
    error_text = content.dialogs.message("error", {})
    available = targets()
    results: list[Result] = []
    for key in options.chosen:
        target = available[key]
        print(f"running {target.title}…", file=sys.stderr, flush=True)
        results.append(await run_target(target, options, signs, error_text, career))
    print(table(results))
    print()
    for line in notes(results, options):
        print(line)
    for result in results:
        if result.profile is not None:
            print()
            print(hot_spots(result, 30))
    missed = verdict(results)
    if missed:
        print("\nmissed targets:")
        for line in missed:
            print(f"  {line}")
        return 1
    print("\nall targets met")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
