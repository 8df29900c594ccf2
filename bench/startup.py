"""Start-up time of the `careerbot` commands: how long a command takes to answer, and how long
the bot takes to be ready (`chat`: its first screen; `run`: its first getUpdates; `webhook`:
/health answers 200 and the commands are registered).

Run: .venv/bin/python bench/startup.py [--runs 5] [--only ask,content-check,…]
(with PYTHONPATH=DIR, the commands run the code in DIR, e.g. an export of an earlier commit)

Each command runs in a process of its own from a scratch directory (no `.env` is read) on a
SQLite database migrated beforehand, so no run pays for the migrations. `run` and `webhook` talk
to the stand-in Bot API (bot/standin/server.py) served by this process. Prints, per command,
the median, lowest and highest wall time of the runs, the median CPU time (user + system; until
ready for the serving commands, all their processes), and the load average before and after.
On a shared machine the CPU time is the figure that stays comparable between runs.
"""

import argparse
import asyncio
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bot.standin.server import LocalBotApiServer

CAREERBOT = Path(sys.executable).with_name("careerbot")
TOKEN = "123:TEST"
READY_SECONDS = 600.0
BUTTON = re.compile(rb"^  \[\d+\] ")

ONE_SHOT = {
    "--help": ["--help"],
    "ask": ["ask", "hi"],
    "content-check": ["content", "check"],
    "stats": ["stats"],
    "export": ["export"],
    "lead-list": ["lead", "list"],
}
SERVING = ("chat", "run", "webhook")


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def row(self, name: str) -> str:
        cpu = f"{statistics.median(self.cpu):6.2f}" if self.cpu else "     -"
        return (
            f"{name:<14} {statistics.median(self.wall):6.2f} "
            f"{min(self.wall):6.2f} {max(self.wall):6.2f} {cpu}"
        )


def environment(work: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "LANG": "C.UTF-8",
        "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'bot.db'}",
        "LOG_LEVEL": "WARNING",
    }
    if os.environ.get("PYTHONPATH"):  # to measure another checkout with this one's command
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    env.update(extra)
    return env


def one_shot(args: list[str], work: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one run; a failed command stops the benchmark."""
    started = time.monotonic()
    process = subprocess.Popen(
        [str(CAREERBOT), *args],
        cwd=work,
        env=environment(work),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    errors = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise SystemExit(f"careerbot {' '.join(args)} exited {process.returncode}:\n{errors}")
    return wall, usage.ru_utime + usage.ru_stime


def group_cpu(group: int) -> float:
    """CPU seconds (user + system) of the processes of a process group so far, from /proc:
    the command and, for `webhook`, its workers."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == group:  # fields from the state on: pgrp is the third
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def chat_ready(work: Path) -> tuple[float, float]:
    """Seconds until the chat has printed its first screen with buttons, and its CPU time."""
    started = time.monotonic()
    process = subprocess.Popen(
        [str(CAREERBOT), "chat"],
        cwd=work,
        env=environment(work),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stdin is not None
    try:
        for line in process.stdout:
            if BUTTON.match(line):
                return time.monotonic() - started, group_cpu(process.pid)
        raise SystemExit("careerbot chat ended before its first screen")
    finally:
        process.stdin.close()
        process.wait(READY_SECONDS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def serving_ready(command: str, work: Path) -> tuple[float, float]:
    """Seconds until `careerbot run` polls, or `careerbot webhook` is healthy and started,
    and the CPU time its processes spent until then."""
    server = LocalBotApiServer(max_poll_seconds=0.5)
    await server.start("127.0.0.1", 0)
    port = free_port()
    env = environment(
        work,
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=server.url,
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET="bench",
        WEBHOOK_PORT=str(port),
    )
    health = f"http://127.0.0.1:{port}/health"
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        str(CAREERBOT),
        command,
        cwd=work,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with aiohttp.ClientSession() as http:
            while time.monotonic() - started < READY_SECONDS:
                if process.returncode is not None:
                    raise SystemExit(f"careerbot {command} exited {process.returncode}")
                calls = {call.method for call in server.telegram.calls}
                if command == "run" and "getUpdates" in calls:
                    return time.monotonic() - started, group_cpu(process.pid)
                if command == "webhook" and "setMyCommands" in calls:
                    try:
                        async with http.get(health) as response:
                            if response.status == 200:
                                return time.monotonic() - started, group_cpu(process.pid)
                    except aiohttp.ClientError:
                        pass
                await asyncio.sleep(0.02)
        raise SystemExit(f"careerbot {command} not ready within {READY_SECONDS:.0f} s")
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGTERM)
            await process.wait()
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(ONE_SHOT))
    options = parser.parse_args()
    chosen = [name for name in (*ONE_SHOT, *SERVING) if name in options.only.split(",")]
    names = chosen or [*ONE_SHOT, *SERVING]
    print(f"{os.cpu_count()} cores, load average before: {os.getloadavg()}")
    timings = {name: Timings() for name in names}
    with tempfile.TemporaryDirectory(prefix="careerbot-startup-") as scratch:
        work = Path(scratch)
        one_shot(["db", "upgrade"], work)
        for _ in range(options.runs):  # interleaved, so a burst of load hits every command
            for name in names:
                if name in ONE_SHOT:
                    wall, cpu = one_shot(ONE_SHOT[name], work)
                elif name == "chat":
                    wall, cpu = chat_ready(work)
                else:
                    wall, cpu = asyncio.run(serving_ready(name, work))
                timings[name].wall.append(wall)
                timings[name].cpu.append(cpu)
    print(f"load average after: {os.getloadavg()}")
    print(f"{options.runs} runs; seconds")
    print(f"{'command':<14} {'median':>6} {'min':>6} {'max':>6} {'cpu':>6}")
    for name in names:
        print(timings[name].row(name))


if __name__ == "__main__":
    main()
