"""`careerbot webhook`: aiohttp webhook workers behind one address.

Each worker is a process with its own Dispatcher (built by build_dispatcher, like every entry
point), sharing the database and Redis; the port is bound with SO_REUSEPORT so the kernel
spreads connections over the workers. An update is answered only after it has been handled,
so an update whose worker dies mid-way gets no 200 and Telegram delivers it again. A stopping
worker finishes the updates in hand before it exits.
"""

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from aiohttp.typedefs import Handler
from redis.asyncio import Redis
from sqlalchemy import text

from bot.app import (
    Content,
    build_dispatcher,
    create_bot,
    create_storage,
    freeze_startup_objects,
    load_content,
)
from bot.config import Settings, load_settings
from bot.db.engine import Database
from bot.failures import STOP_SIGNALS, Backoff, Failure, until_stopped
from bot.telegram_client import call_at_start

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 30
HEALTH_PATH = "/health"
DISPATCHER: "web.AppKey[Dispatcher]" = web.AppKey("dispatcher")


async def check_health(database: Database, redis_url: str | None) -> dict[str, str]:
    """Each dependency as "ok" or the name of what went wrong."""
    report: dict[str, str] = {}
    try:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        report["database"] = "ok"
    except Exception as exc:
        report["database"] = type(exc).__name__
    if redis_url:
        redis = Redis.from_url(redis_url, socket_timeout=2)
        try:
            await redis.ping()
            report["redis"] = "ok"
        except Exception as exc:
            report["redis"] = type(exc).__name__
        finally:
            await redis.aclose()
    return report


def create_app(settings: Settings, content: Content, bot: Bot | None = None) -> web.Application:
    """The webhook application of one worker; `bot` replaces the real one in tests."""
    if settings.webhook_secret is None:
        raise ValueError("WEBHOOK_SECRET is required in webhook mode")
    database = Database.connect(settings.database_url)
    bot = bot or create_bot(settings)
    dispatcher = build_dispatcher(settings, content, database, create_storage(settings, database))
    app = web.Application()
    # First of the shutdown hooks: the bot session, the jobs and the storage stay open until
    # the updates in hand are finished (aiohttp runs on_shutdown before it waits for them).
    app.on_shutdown.append(InFlight.install(app).drain)
    SimpleRequestHandler(
        dispatcher,
        bot,
        handle_in_background=False,
        secret_token=settings.webhook_secret.get_secret_value(),
    ).register(app, path=settings.webhook_path)

    async def health(_request: web.Request) -> web.Response:
        report = await check_health(database, settings.redis_url)
        healthy = all(state == "ok" for state in report.values())
        return web.json_response(report, status=200 if healthy else 503)

    async def close_database(_app: web.Application) -> None:
        await dispatcher.storage.close()
        await database.close()

    app.router.add_get(HEALTH_PATH, health)
    setup_application(app, dispatcher, bot=bot)
    app.on_cleanup.append(close_database)
    app[DISPATCHER] = dispatcher
    return app


class InFlight:
    """Counts the requests being handled, so that a stopping worker can wait for them."""

    KEY: "web.AppKey[InFlight]" = web.AppKey("in_flight")

    def __init__(self) -> None:
        self.count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def install(cls, app: web.Application) -> "InFlight":
        tracker = cls()
        app.middlewares.append(tracker.middleware)
        app[cls.KEY] = tracker
        return tracker

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.count += 1
        self._idle.clear()
        try:
            return await handler(request)
        finally:
            self.count -= 1
            if self.count == 0:
                self._idle.set()

    async def drain(self, _app: web.Application) -> None:
        if self.count:
            logger.info("stopping: finishing %d update(s) in hand", self.count)
        try:
            await asyncio.wait_for(self._idle.wait(), SHUTDOWN_GRACE_SECONDS)
        except TimeoutError:
            logger.warning("stopping with %d update(s) unfinished", self.count)


async def serve(app: web.Application, host: str, port: int) -> None:
    """Serves `app` on host:port (shared with the other workers) until SIGTERM or SIGINT, then
    stops taking connections, finishes the requests in hand and cleans up.

    A second signal changes nothing: Ctrl-C in a terminal (or a supervisor signalling every
    process) reaches a worker both directly and through the parent, and must not cut the
    drain short, as aiohttp's own run_app would.
    """
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await web.TCPSite(runner, host, port, reuse_port=True).start()
        await stop.wait()
    finally:
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def register_webhook(settings: Settings) -> None:
    """Points Telegram (or TELEGRAM_API_URL) at WEBHOOK_URL, with the secret it must send."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET are required to register the webhook")
    url, secret = settings.webhook_url, settings.webhook_secret.get_secret_value()
    bot = create_bot(settings)
    try:
        await call_at_start(
            "setWebhook",
            lambda: bot.set_webhook(
                url=url, secret_token=secret, allowed_updates=["message", "callback_query"]
            ),
            settings,
        )
    finally:
        await bot.session.close()


def serve_worker(index: int) -> None:
    """One worker process: serves until SIGTERM/SIGINT, then drains and exits.

    A worker that cannot listen says why in one line and exits 1; the parent decides whether
    to start it again.
    """
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format=f"%(asctime)s %(levelname)s w{index} %(name)s: %(message)s"
    )
    app = create_app(settings, load_content(settings))
    app.on_startup.append(lambda _app: freeze_startup_objects())  # after the Dispatcher's
    try:
        asyncio.run(serve(app, settings.webhook_host, settings.webhook_port))
    except OSError as exc:
        where = f"{settings.webhook_host}:{settings.webhook_port}"
        logger.error(
            "cannot listen on %s (%s): is another program using it? check WEBHOOK_HOST and "
            "WEBHOOK_PORT",
            where,
            os.strerror(exc.errno) if exc.errno else exc,
        )
        sys.exit(1)
    except Failure as exc:
        logger.error("%s", exc)
        sys.exit(1)


def run_workers(settings: Settings, workers: int) -> None:
    """Registers the webhook, then starts `workers` processes on one address and keeps them
    running until a stop signal (see Supervisor)."""
    asyncio.run(until_stopped(register_webhook(settings)))
    context = multiprocessing.get_context("spawn")

    def start(index: int) -> BaseProcess:
        process = context.Process(target=serve_worker, args=(index,), name=f"careerbot-w{index}")
        process.start()
        return process

    logger.info(
        "%d webhook worker(s) on %s:%d%s",
        workers,
        settings.webhook_host,
        settings.webhook_port,
        settings.webhook_path,
    )
    Supervisor(start, workers, settings.worker_crash_limit).run()


# A worker that ran this long before it died was not crash-looping: its back-off and its
# count of quick deaths start over.
WORKER_SETTLED_SECONDS = 60.0


@dataclass
class Slot:
    """One of the workers: the process in it now (None while it waits to be started again)."""

    index: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    quick_deaths: int = 0
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 30.0))


class Supervisor:
    """Keeps `workers` worker processes running until a stop signal.

    A worker that dies (killed, crashed, or exited by itself) is started again after a
    back-off of 1 s, 2 s, 4 s … 30 s, reset once a worker has run a minute. A worker that
    dies `crash_limit` times in a row, each time within a minute of starting, is a crash loop:
    the others are stopped gracefully and the command fails (exit 1), so that a service
    manager sees a failure. SIGTERM or SIGINT stops every worker gracefully; the command then
    ends normally (exit 0), however the workers ended.
    """

    def __init__(self, start: Callable[[int], BaseProcess], workers: int, crash_limit: int):
        self._start = start
        self._slots = [Slot(index) for index in range(workers)]
        self._crash_limit = crash_limit
        self._stopping = False
        self._wake_read, self._wake_write = os.pipe()

    def run(self) -> None:
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        clean = False
        try:
            for slot in self._slots:
                self._launch(slot)
            self._watch()
            clean = True
        finally:
            if not clean:
                self._stop_all(signal.SIGTERM)
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            os.close(self._wake_read)
            os.close(self._wake_write)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True
        self._forward(signum)
        os.write(self._wake_write, b"\0")  # wakes the wait below, even with no worker alive

    def _forward(self, signum: int) -> None:
        for slot in self._slots:
            if slot.process is not None and slot.process.is_alive() and slot.process.pid:
                os.kill(slot.process.pid, signum)

    def _watch(self) -> None:
        while True:
            running = [slot for slot in self._slots if slot.process is not None]
            if self._stopping and not running:
                logger.info("all webhook workers stopped")
                return
            pending = [slot.restart_at for slot in self._slots if slot.restart_at is not None]
            timeout = None
            if pending and not self._stopping:
                timeout = max(0.0, min(pending) - time.monotonic())
            waited: list[Any] = [slot.process.sentinel for slot in running if slot.process]
            connection.wait([*waited, self._wake_read], timeout)
            if self._wake_read in connection.wait([self._wake_read], 0):
                os.read(self._wake_read, 512)
            for slot in running:
                if slot.process is not None and not slot.process.is_alive():
                    self._reap(slot)
            for slot in self._slots:
                due = slot.restart_at is not None and slot.restart_at <= time.monotonic()
                if due and not self._stopping:
                    self._launch(slot)

    def _launch(self, slot: Slot) -> None:
        slot.restart_at = None
        slot.process = self._start(slot.index)
        slot.started_at = time.monotonic()
        logger.info("webhook worker w%d started: pid %s", slot.index, slot.process.pid)

    def _reap(self, slot: Slot) -> None:
        process = slot.process
        assert process is not None
        process.join()
        slot.process = None
        how = _how_it_ended(process.exitcode)
        if self._stopping:
            logger.info("webhook worker w%d (pid %s) stopped: %s", slot.index, process.pid, how)
            return
        ran = time.monotonic() - slot.started_at
        logger.error(
            "webhook worker w%d (pid %s) died after %.0f s: %s", slot.index, process.pid, ran, how
        )
        if ran >= WORKER_SETTLED_SECONDS:
            slot.backoff.reset()
            slot.quick_deaths = 0
        else:
            slot.quick_deaths += 1
        if slot.quick_deaths >= self._crash_limit:
            self._stopping = True
            self._stop_all(signal.SIGTERM)
            raise Failure(
                f"webhook: worker w{slot.index} died {slot.quick_deaths} times in a row, each "
                f"within {WORKER_SETTLED_SECONDS:.0f} s of starting (last: {how}); stopped the "
                "workers: see the log above for why"
            )
        delay = slot.backoff.next()
        slot.restart_at = time.monotonic() + delay
        logger.warning("restarting webhook worker w%d in %g s", slot.index, delay)

    def _stop_all(self, signum: int) -> None:
        """Signals every worker and waits for them to finish the updates in hand."""
        self._forward(signum)
        deadline = time.monotonic() + SHUTDOWN_GRACE_SECONDS + 10
        for slot in self._slots:
            if slot.process is None:
                continue
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            slot.process = None


def _how_it_ended(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"killed by {signal.Signals(-exitcode).name}"
    return f"exit code {exitcode}"
