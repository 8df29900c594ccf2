"""Running the installed `careerbot` command in a process of its own, as an operator would.

Every wait on such a process polls for what the test needs (a screen printed, /health answering,
a call reaching the Bot API) with a generous limit, and a failure shows the process's output.
The limits are for a loaded machine: with a load average of 6 on 2 cores, start-up alone took
more than the 60 s these tests used to allow; an idle machine waits only as long as it takes.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, NoReturn, Self, TypeVar

import aiohttp

CAREERBOT = Path(sys.executable).with_name("careerbot")

# Where the content lives is the one setting a test run may choose (as the in-process tests
# do through Settings); every other setting a test passes explicitly.
# PYTHONPATH: a checkout other than the installed one (a worktree) runs its own `bot`.
PASSED_THROUGH = ("CONTENT_DIR", "DIALOGS_DIR", "PYTHONPATH")

# Until a process is ready (or a one-shot command has answered), and for each later step.
READY_SECONDS = 300.0
STEP_SECONDS = 120.0
POLL_SECONDS = 0.1

T = TypeVar("T")


def clean_env(home: Path, **settings: str) -> dict[str, str]:
    """An environment without the developer's settings (no BOT_TOKEN, no DATABASE_URL…)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    env.update({name: os.environ[name] for name in PASSED_THROUGH if os.environ.get(name)})
    env.update(settings)
    return env


def run_careerbot(
    *args: str, cwd: Path, env: dict[str, str], stdin: str = "", timeout: float = READY_SECONDS
) -> subprocess.CompletedProcess[str]:
    """Runs `careerbot ARGS…` in `cwd` (so no `.env` of the checkout is read)."""
    return run_to_end([str(CAREERBOT), *args], cwd=cwd, env=env, stdin=stdin, timeout=timeout)


def run_to_end(
    command: list[str],
    cwd: Path,
    env: dict[str, str],
    stdin: str = "",
    timeout: float = READY_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Runs a command to its end; one that overruns `timeout` fails the test with its output."""
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"{' '.join(command)} did not end within {timeout:.0f} s\n"
            f"--- stdout ---\n{_text(exc.stdout)}\n--- stderr ---\n{_text(exc.stderr)}"
        ) from None


def _text(output: str | bytes | None) -> str:
    if isinstance(output, bytes):
        return output.decode("utf-8", errors="replace")
    return output or ""


async def http_ok(http: aiohttp.ClientSession, url: str) -> bool:
    """Whether `url` answers 200 now; a refused connection is "not yet"."""
    try:
        async with http.get(url) as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


class Careerbot:
    """`careerbot ARGS…` running in its own process group, stderr (and stdout unless the test
    reads it, `interactive`) in a log file, stopped with SIGKILL if the test leaves it running.
    """

    def __init__(
        self, *args: str, cwd: Path, env: dict[str, str], interactive: bool = False
    ) -> None:
        self.args = args
        self.cwd = cwd
        self.env = env
        self.interactive = interactive
        self.log_path = cwd / "careerbot.log"
        self.transcript: list[str] = []  # what the test read from stdout, when interactive
        self._log: IO[bytes] | None = None
        self._process: asyncio.subprocess.Process | None = None

    @property
    def process(self) -> asyncio.subprocess.Process:
        assert self._process is not None, "not started"
        return self._process

    async def __aenter__(self) -> Self:
        self._log = self.log_path.open("wb")
        pipe = asyncio.subprocess.PIPE if self.interactive else None
        self._process = await asyncio.create_subprocess_exec(
            str(CAREERBOT),
            *self.args,
            cwd=self.cwd,
            env=self.env,
            stdin=pipe,
            stdout=pipe or self._log,
            stderr=self._log,
            start_new_session=True,
        )
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process is not None and self._process.returncode is None:
            os.killpg(self._process.pid, signal.SIGKILL)
            await self._process.wait()
        if self._log is not None:
            self._log.close()
        print(self.output())  # shown by pytest when the test fails

    def output(self) -> str:
        """What the process printed so far: stdout the test read, then the log."""
        log = self.log_path.read_text("utf-8", errors="replace") if self.log_path.exists() else ""
        return "".join(self.transcript) + log

    def fail(self, message: str) -> NoReturn:
        raise AssertionError(
            f"careerbot {' '.join(self.args)}: {message}\n--- its output ---\n{self.output()}"
        )

    async def wait_until(
        self,
        ready: Callable[[], bool | Awaitable[bool]],
        what: str,
        seconds: float = READY_SECONDS,
    ) -> None:
        """Polls `ready` until it holds; fails if the process exits first or `seconds` pass."""
        deadline = time.monotonic() + seconds
        while True:
            if self.process.returncode is not None:
                self.fail(f"exited with code {self.process.returncode} before {what}")
            answer = ready()
            if answer if isinstance(answer, bool) else await answer:
                return
            if time.monotonic() > deadline:
                self.fail(f"not {what} within {seconds:.0f} s")
            await asyncio.sleep(POLL_SECONDS)

    async def within(self, step: Awaitable[T], what: str, seconds: float = STEP_SECONDS) -> T:
        """The result of `step`; a step that times out (or overruns `seconds`) fails the test."""
        try:
            return await asyncio.wait_for(step, seconds)
        except TimeoutError:
            self.fail(f"{what}: nothing within {seconds:.0f} s")

    async def read_line(self, what: str, seconds: float = STEP_SECONDS) -> str:
        """The next line the process prints ('' at the end), kept in the transcript."""
        assert self.process.stdout is not None
        raw = await self.within(self.process.stdout.readline(), what, seconds)
        line = raw.decode("utf-8")
        self.transcript.append(line)
        return line

    async def stop(self, sent: int = signal.SIGTERM, group: bool = False) -> int:
        """Sends `sent` (to the whole process group with `group`, as Ctrl-C in a terminal
        does); the exit code once the process has ended."""
        if self.process.returncode is not None:
            return self.process.returncode
        if group:
            os.killpg(self.process.pid, sent)
        else:
            self.process.send_signal(sent)
        return await self.within(self.process.wait(), f"stop after signal {sent}")

    async def finish(self) -> tuple[int, str]:
        """Closes stdin (Ctrl-D), reads stdout to its end; the exit code and the transcript."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        rest = await self.within(self.process.stdout.read(), "output after stdin closed")
        self.transcript.append(rest.decode("utf-8"))
        code = await self.within(self.process.wait(), "exit after stdin closed")
        return code, "".join(self.transcript)


def run_python(
    script: str, cwd: Path, env: dict[str, str], args: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Runs `script` with `args` in a fresh interpreter of the test run's environment."""
    return run_to_end([sys.executable, "-c", script, *args], cwd=cwd, env=env)
