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
import socket
import sys
import time
from asyncio import AbstractServer
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from multiprocessing import connection
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import ValidationError
from redis.asyncio import Redis
from sqlalchemy import text

from bot.app import (
    Content,
    build_dispatcher,
    create_bot,
    freeze_startup_objects,
    load_content,
    pool_limits,
)
from bot.config import Settings, load_settings
from bot.db.engine import Database
from bot.db.fsm_storage import create_storage
from bot.failures import STOP_SIGNALS, Backoff, Failure, until_stopped
from bot.features.dashboard.web import mount_dashboard
from bot.outage import RETRY_AFTER_SECONDS, Overloaded, is_service_unavailable
from bot.telegram_client import call_at_start

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 30
LINGERING_SECONDS = 1.0
HEALTH_PATH = "/health"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
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


def create_app(
    settings: Settings, content: Content, bot: Bot | None = None, holder: str | None = None
) -> web.Application:
    """The webhook application of one worker; `bot` replaces the real one in tests. `holder`
    names the worker's slot, so that it releases the updates its dead predecessor held."""
    if settings.webhook_secret is None:
        raise ValueError("WEBHOOK_SECRET is required in webhook mode")
    database = Database.connect(settings.database_url, pool_limits(settings))
    bot = bot or create_bot(settings)
    dispatcher = build_dispatcher(
        settings, content, database, create_storage(settings, database), holder=holder
    )
    app = web.Application()
    # First of the shutdown hooks: the bot session, the jobs and the storage stay open until
    # the updates in hand are finished (aiohttp runs on_shutdown before it waits for them).
    app.on_shutdown.append(InFlight.install(app, settings.webhook_read_timeout).drain)
    UpdateRequestHandler(
        dispatcher,
        bot,
        secret_token=settings.webhook_secret.get_secret_value(),
        read_timeout=settings.webhook_read_timeout,
        max_updates=settings.webhook_max_updates,
        queue_timeout=settings.webhook_queue_timeout,
    ).register(app, path=settings.webhook_path)

    async def health(_request: web.Request) -> web.Response:
        report = await check_health(database, settings.redis_url)
        healthy = all(state == "ok" for state in report.values())
        return web.json_response(report, status=200 if healthy else 503)

    async def close_database(_app: web.Application) -> None:
        await dispatcher.storage.close()
        await database.close()

    app.router.add_get(HEALTH_PATH, health)
    # The web dashboard, on the same workers and database: the proxy forwards its prefix here.
    mount_dashboard(app, settings, content, database)
    setup_application(app, dispatcher, bot=bot)
    app.on_cleanup.append(close_database)
    app[DISPATCHER] = dispatcher
    return app


class Malformed(Exception):
    """A request that is not a Telegram update; the message names what is wrong with it, never
    what it contains."""


class UpdateRequestHandler(SimpleRequestHandler):
    """Answers Telegram only once the update has been handled, with what that means:

    - 200: handled (or handled before: a repeated delivery), or it failed on a bug, which
      the student was told about and a second delivery would only repeat;
    - 503 with Retry-After: not handled because PostgreSQL, SQLite or Redis is unavailable,
      the worker already has `max_updates` in hand for `queue_timeout` seconds, or another
      delivery of the update is in hand: Telegram delivers it again later;
    - 400: not an update (bad JSON, not an object, no integer update_id, a shape aiogram
      rejects), logged in one line without the request's content;
    - 408: the body did not arrive within `read_timeout` seconds (the connection is closed);
    - 401: a wrong or missing secret.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        *,
        secret_token: str,
        read_timeout: float,
        max_updates: int,
        queue_timeout: float,
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)
        self.read_timeout = read_timeout
        self.queue_timeout = queue_timeout
        self.slots = asyncio.Semaphore(max_updates)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.verify_secret(request.headers.get(SECRET_HEADER, ""), self.bot):
            return web.Response(body="Unauthorized", status=401)
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await request.read()
        except TimeoutError:
            logger.warning("request body not received within %s s: cut", self.read_timeout)
            response = web.Response(status=408)
            response.force_close()
            return response
        try:
            update = self.parse(body)
        except Malformed as exc:
            logger.warning("refused a request that is not an update: %s", exc)
            return web.Response(status=400, text=f"{exc}\n")
        try:
            await self._take_slot()
        except Overloaded:
            logger.warning("update %s: too many updates in hand, answered 503", update.update_id)
            return unavailable()
        try:
            result = await self.dispatcher.feed_update(self.bot, update, **self.data)
        except Exception as exc:
            if not is_service_unavailable(exc):
                logger.error("update %s failed", update.update_id, exc_info=exc)
                return web.Response(status=500)
            logger.warning(
                "update %s not handled, service unavailable (%s): answered 503",
                update.update_id,
                type(exc).__name__,
            )
            return unavailable()
        finally:
            self.slots.release()
        reply = result if isinstance(result, TelegramMethod) else None
        return web.Response(body=self._build_response_writer(bot=self.bot, result=reply))

    def parse(self, body: bytes) -> Update:
        try:
            data = self.bot.session.json_loads(body)
        except ValueError:
            raise Malformed("not JSON") from None
        if not isinstance(data, dict):
            raise Malformed(f"a JSON {type(data).__name__}, not an object")
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise Malformed("no integer update_id")
        try:
            update = Update.model_validate(data, context={"bot": self.bot})
            update.event_type  # noqa: B018 - raises for an update of no type aiogram knows
        except (ValidationError, UpdateTypeLookupError) as exc:
            fields = ", ".join(sorted({".".join(map(str, e["loc"][:2])) for e in _errors(exc)}))
            raise Malformed(f"update {update_id} rejected ({fields or 'no type'})") from None
        return update

    async def _take_slot(self) -> None:
        if not self.slots.locked():
            await self.slots.acquire()
            return
        try:
            async with asyncio.timeout(self.queue_timeout):
                await self.slots.acquire()
        except TimeoutError:
            raise Overloaded from None


def _errors(exc: Exception) -> list[Any]:
    return exc.errors() if isinstance(exc, ValidationError) else []


def unavailable() -> web.Response:
    return web.Response(status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class InFlight:
    """Counts the requests being handled, so that a stopping worker can wait for them, and
    knows the connections that have sent a whole request head, so that one that has not
    within `head_timeout` seconds can be cut (ConnectionCap)."""

    KEY: "web.AppKey[InFlight]" = web.AppKey("in_flight")

    def __init__(self, head_timeout: float) -> None:
        self.count = 0
        self.head_timeout = head_timeout
        # Connections (by id: aiohttp's protocol takes no weak reference) not yet past their
        # first request head; each leaves with its first request or its cut.
        self.silent: set[int] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def install(cls, app: web.Application, head_timeout: float) -> "InFlight":
        tracker = cls(head_timeout)
        app.middlewares.append(tracker.middleware)
        app[cls.KEY] = tracker
        return tracker

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.silent.discard(id(request.protocol))
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


class _Refused(asyncio.Protocol):
    """A connection over the worker's cap: told 503 and closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(REFUSED_RESPONSE)
        transport.close()


REFUSED_RESPONSE = (
    "HTTP/1.1 503 Service Unavailable\r\n"
    f"Retry-After: {RETRY_AFTER_SECONDS}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
).encode()


class ConnectionCap:
    """The protocol factory of a worker's socket: aiohttp's, until `limit` connections are open.

    Slow clients (a body dribbled a byte at a time) each hold a connection until the read
    timeout; the cap keeps them from taking every socket the worker can open. A connection
    that has not sent a whole request head within the read timeout (headers dribbled, or
    nothing at all) is closed: aiohttp itself would keep it for its keep-alive time, an hour.
    """

    def __init__(self, server: web.Server, limit: int, tracker: InFlight) -> None:
        self.server = server
        self.limit = limit
        self.tracker = tracker
        # Accepted, but not yet in server.connections: the loop accepts a burst at once and
        # calls connection_made (which counts it) only afterwards.
        self.starting = 0

    def __call__(self) -> asyncio.BaseProtocol:
        if len(self.server.connections) + self.starting >= self.limit:
            return _Refused()
        self.starting += 1
        loop = asyncio.get_running_loop()
        # The transport schedules connection_made once this returns: settle after it has run.
        loop.call_soon(loop.call_soon, self._started)
        protocol = self.server()
        self.tracker.silent.add(id(protocol))
        # The callback holds the protocol, so its id stays its own until then.
        loop.call_later(self.tracker.head_timeout, self._cut_if_silent, protocol)
        return protocol

    def _cut_if_silent(self, protocol: web.RequestHandler) -> None:
        if id(protocol) not in self.tracker.silent:
            return
        self.tracker.silent.discard(id(protocol))
        if protocol.transport is not None:
            timeout = self.tracker.head_timeout
            logger.warning("no request head within %s s: connection cut", timeout)
            protocol.transport.close()

    def _started(self) -> None:
        self.starting -= 1


@asynccontextmanager
async def serving(
    app: web.Application, host: str, port: int, max_connections: int
) -> AsyncIterator[AbstractServer]:
    """Serves `app` on host:port (shared with the other workers, SO_REUSEPORT) with at most
    `max_connections` connections open; on leaving, stops taking connections, finishes the
    requests in hand and cleans up."""
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
        # After an answer sent before the body was read (401, 408), aiohttp reads on, to
        # close cleanly, for 10 s by default: a slow client would keep its socket that long.
        lingering_time=LINGERING_SECONDS,
    )
    await runner.setup()
    assert runner.server is not None
    protocol = ConnectionCap(runner.server, max_connections, app[InFlight.KEY])
    try:
        listening = await asyncio.get_running_loop().create_server(
            protocol, host, port, reuse_port=True
        )
        try:
            yield listening
        finally:
            listening.close()
    finally:
        await runner.cleanup()


async def serve(app: web.Application, host: str, port: int, max_connections: int) -> None:
    """Serves `app` until SIGTERM or SIGINT (see `serving`).

    A second signal changes nothing: Ctrl-C in a terminal (or a supervisor signalling every
    process) reaches a worker both directly and through the parent, and must not cut the
    drain short, as aiohttp's own run_app would.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:
        async with serving(app, host, port, max_connections):
            await stop.wait()
    finally:
        for signum in STOP_SIGNALS:
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
    holder = f"{socket.gethostname()}:{settings.webhook_port}:w{index}"
    app = create_app(settings, load_content(settings), holder=holder)
    app.on_startup.append(lambda _app: freeze_startup_objects())  # after the Dispatcher's
    try:
        asyncio.run(
            serve(
                app, settings.webhook_host, settings.webhook_port, settings.webhook_max_connections
            )
        )
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
