"""The load generator of the throughput benchmark.

Simulated students POST updates to a webhook, as Telegram does, one update at a time each: a new
student's /start (then, when the bot has several careers, the music producer picked from the
career list), menu presses (callback queries carrying the callback data of the bot's previous
reply), a free-text question, the fit checklist, the starter project's first note. The
bot's replies go to the stand-in Bot API (bot/standin/server.py), served by this same process,
which answers at once; every call it receives is matched to the student by chat id.

An update's latency runs from the POST to the last reply call (sendMessage, editMessageText,
answerCallbackQuery…) the bot made for it; the bot answers the POST only after handling the
update, so all of them have arrived when the POST returns. An update none of whose replies
arrives is lost. As Telegram does, an update whose POST fails (connection refused or reset, an
answer other than 200, such as the 503 of a worker under back-pressure) is delivered again, 8
times at most, 0.5 s after the first failure and twice as long after each next one (4 s at
most); one that times out (30 s) is not, to keep the run bounded. Errors are an update still
not answered 200 after that, a Bot API call the stand-in refused, and the bot's own
"something went wrong" message.

The generator is kept lean, as it shares the machine with the bot: one aiohttp session with a
keep-alive connection per student, updates built as plain dicts, nothing parsed but what the
next tap needs.
"""

import asyncio
import contextlib
import itertools
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.standin.server import (
    LocalBotApiServer,
    button_data,
    callback_update,
    message_update,
    user_json,
)
from bot.standin.telegram import Call

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REPLY_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
    }
)
REPLY_TIMEOUT = 5.0  # after the POST returned, how long a reply may still take to count
POST_TIMEOUT = 30.0
# Telegram delivers an update again while the webhook does not answer it with 200.
REDELIVERIES = 8
REDELIVERY_DELAY = 0.5
REDELIVERY_MAX_DELAY = 4.0
QUESTIONS = (
    "how much do producers earn?",
    "what does a typical day look like",
    "do i need a degree for this",
    "is it hard to get a job as a producer",
    "wat skills do i need",  # students type fast
    "can AI do this job",
)


@dataclass(frozen=True)
class Say:
    """The student types a message."""

    text: str


@dataclass(frozen=True)
class Tap:
    """The student taps the button whose label starts with `label` on the newest keyboard."""

    label: str


Step = Say | Tap


def scenario(signs: int, question: str, career: str | None = None) -> list[Step]:
    """One student's visit, from /start to the first note of the starter project. `career`:
    the title to tap on the career list that /start shows when there are several careers."""
    answers = [Tap(("👍 Yes", "🤷 Not sure", "👎 No")[index % 3]) for index in range(signs)]
    return [
        Say("/start"),
        *([Tap(career)] if career else []),
        Tap("🛠 The job"),
        Tap("🕘 A typical day"),
        Say(question),
        Say("/menu"),
        Tap("🤔 Is it me?"),
        Tap("▶️ Check it against myself"),
        *answers,
        Say("/menu"),
        Tap("🚀"),
        Tap("▶️ Start the project"),
        Tap("✏️ Write my answer"),
        Say("lo-fi hip hop, rainy mood"),
    ]


@dataclass
class Pending:
    """An update on its way: when it was posted, and the replies seen so far."""

    started: float
    replies: list[float] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    error_message: bool = False
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class PhaseStats:
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    redelivered: int = 0
    updates: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of this process: the generator and the stand-in

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """Nearest-rank percentile of the latencies, in milliseconds."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        rank = max(1, math.ceil(share * len(ordered)))
        return 1000 * ordered[rank - 1]


class ScenarioBroken(LookupError):
    """The button a step taps is not on the bot's last keyboard."""


@dataclass
class Student:
    index: int
    chat_id: int
    user: dict[str, Any]
    steps: list[Step]
    position: int = 0


class Budget:
    """How many updates a phase may still send, and until when."""

    def __init__(self, updates: int, seconds: float) -> None:
        self.left = updates
        self.deadline = time.perf_counter() + seconds

    def take(self) -> bool:
        if self.left <= 0 or time.perf_counter() >= self.deadline:
            return False
        self.left -= 1
        return True


class LoadGenerator:
    """Students posting to `webhook_url`; `server` is the stand-in Bot API the bot talks to.

    `keyboards`: whether the bot answers with buttons to tap (careerbot). Without (the echo
    bot), a tap presses a button on the bot's last message with made-up callback data.
    `career`: the career to pick from the list /start shows (see `scenario`).
    """

    def __init__(
        self,
        server: LocalBotApiServer,
        webhook_url: str,
        secret: str,
        *,
        students: int,
        signs: int,
        keyboards: bool,
        error_text: str | None,
        think_seconds: float = 0.0,
        career: str | None = None,
    ) -> None:
        self.server = server
        self.telegram = server.telegram
        self.webhook_url = webhook_url
        self.headers = {SECRET_HEADER: secret}
        self.students = students
        self.signs = signs
        self.keyboards = keyboards
        self.error_text = error_text
        self.think_seconds = think_seconds
        self.career = career
        self.pending: dict[int, Pending] = {}
        self.callback_chat: dict[str, int] = {}
        self.keyboard_message: dict[int, int] = {}
        self.last_message: dict[int, int] = {}
        self.stray_calls = 0
        self.not_modified = 0
        self._chat_ids = itertools.count(7_000_000_001)
        self._visits = itertools.count()
        self._crowd = [self._newcomer(index) for index in range(students)]
        server.listeners.append(self._on_call)

    async def run(self, updates: int, max_seconds: float) -> PhaseStats:
        """Sends `updates` updates (or as many as fit in `max_seconds`), the students in turn
        picking up where the previous phase left them."""
        stats = PhaseStats()
        budget = Budget(updates, max_seconds)
        connector = aiohttp.TCPConnector(limit=self.students)
        timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT)
        cpu, began = time.process_time(), time.perf_counter()
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            await asyncio.gather(*(self._walk(http, each, budget, stats) for each in self._crowd))
        stats.seconds = time.perf_counter() - began
        stats.cpu_seconds = time.process_time() - cpu
        return stats

    def _newcomer(self, index: int) -> Student:
        chat_id = next(self._chat_ids)
        question = QUESTIONS[next(self._visits) % len(QUESTIONS)]
        user = user_json(chat_id, f"Student{index}")
        return Student(index, chat_id, user, scenario(self.signs, question, self.career))

    async def _walk(
        self, http: aiohttp.ClientSession, student: Student, budget: Budget, stats: PhaseStats
    ) -> None:
        if self.think_seconds:  # students arrive spread out, not all in the same instant
            await asyncio.sleep(random.uniform(0, self.think_seconds))
        while budget.take():
            if student.position >= len(student.steps):
                student = self._crowd[student.index] = self._newcomer(student.index)
            step = student.steps[student.position]
            student.position += 1
            try:
                update = self._update(student, step)
            except ScenarioBroken as broken:
                stats.errors[f"no button {broken}"] += 1
                self._crowd[student.index] = self._newcomer(student.index)
                student = self._crowd[student.index]
                continue
            await self._deliver(http, student, update, stats)
            if self.think_seconds:  # a pause around the mean, so taps don't fall in step
                await asyncio.sleep(random.uniform(0.5, 1.5) * self.think_seconds)

    def _update(self, student: Student, step: Step) -> dict[str, Any]:
        if isinstance(step, Say):
            return message_update(self.telegram, student.user, step.text)
        if not self.keyboards:
            message_id = self.last_message.get(student.chat_id)
            message = self.telegram.messages.get((student.chat_id, message_id or 0))
            return callback_update(self.telegram, student.user, message, "tap")
        message_id = self.keyboard_message.get(student.chat_id)
        message = self.telegram.messages.get((student.chat_id, message_id or 0))
        data = button_data(message, step.label)
        if data is None:
            raise ScenarioBroken(step.label)
        return callback_update(self.telegram, student.user, message, data)

    async def _deliver(
        self,
        http: aiohttp.ClientSession,
        student: Student,
        update: dict[str, Any],
        stats: PhaseStats,
    ) -> None:
        chat_id = student.chat_id
        pending = Pending(time.perf_counter())
        self.pending[chat_id] = pending
        callback = update.get("callback_query")
        if callback is not None:
            self.callback_chat[callback["id"]] = chat_id
        failure: str | None = None
        for attempt in range(1 + REDELIVERIES):
            if attempt:  # like Telegram, deliver an unanswered update again
                stats.redelivered += 1
                await asyncio.sleep(
                    min(REDELIVERY_DELAY * 2 ** (attempt - 1), REDELIVERY_MAX_DELAY)
                )
            failure = await self._post(http, update)
            if failure is None or failure == "TimeoutError":  # still at it: don't pile on
                break
        if not pending.replies:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pending.arrived.wait(), REPLY_TIMEOUT)
        del self.pending[chat_id]
        if callback is not None:
            self.callback_chat.pop(callback["id"], None)
        stats.updates += 1
        if failure is not None:
            stats.errors[failure] += 1
        for description in pending.refused:
            stats.errors[f"Bot API refused: {description[:60]}"] += 1
        if pending.error_message:
            stats.errors["bot's error message"] += 1
        if pending.replies:
            stats.latencies.append(pending.replies[-1] - pending.started)
        else:
            stats.lost += 1

    async def _post(self, http: aiohttp.ClientSession, update: dict[str, Any]) -> str | None:
        """POSTs the update; what went wrong, if it was not answered 200."""
        try:
            async with http.post(self.webhook_url, json=update, headers=self.headers) as response:
                await response.read()
                return None if response.status == 200 else f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return type(exc).__name__

    def _on_call(self, call: Call, body: dict[str, Any]) -> None:
        """Every call the bot makes to the stand-in, as it arrives."""
        now = time.perf_counter()
        params = call.params
        chat_id = params.get("chat_id")
        if chat_id is None and "callback_query_id" in params:
            chat_id = self.callback_chat.get(str(params["callback_query_id"]))
        if not isinstance(chat_id, int):
            return
        result = body.get("result")
        if isinstance(result, dict) and "message_id" in result:
            self.last_message[chat_id] = int(result["message_id"])
            if params.get("reply_markup"):
                self.keyboard_message[chat_id] = int(result["message_id"])
        pending = self.pending.get(chat_id)
        if pending is None:
            self.stray_calls += 1
            return
        if call.method in REPLY_METHODS:
            pending.replies.append(now)
            pending.arrived.set()
        if not body.get("ok"):
            description = str(body.get("description", ""))
            if "message is not modified" in description:
                # Telegram's answer to an edit that changes nothing; the bot expects it (an
                # update delivered again re-renders the screen it had already shown).
                self.not_modified += 1
            else:
                pending.refused.append(description)
        if self.error_text is not None and params.get("text") == self.error_text:
            pending.error_message = True
