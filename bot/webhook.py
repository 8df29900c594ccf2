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
    bot = create_bot(settings)
    try:
        await bot.set_webhook(
            url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=["message", "callback_query"],
        )
    finally:
        await bot.session.close()


def serve_worker(index: int) -> None:
    """One worker process: serves until SIGTERM/SIGINT, then drains and exits."""
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format=f"%(asctime)s %(levelname)s w{index} %(name)s: %(message)s"
    )
    app = create_app(settings, load_content(settings))
    app.on_startup.append(lambda _app: freeze_startup_objects())  # after the Dispatcher's
    asyncio.run(serve(app, settings.webhook_host, settings.webhook_port))


def run_workers(settings: Settings, workers: int) -> None:
    """Starts `workers` processes on one address and waits; a signal stops them all."""
    asyncio.run(register_webhook(settings))
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=serve_worker, args=(index,), name=f"careerbot-w{index}")
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    logger.info(
        "%d webhook worker(s) on %s:%d%s",
        workers,
        settings.webhook_host,
        settings.webhook_port,
        settings.webhook_path,
    )

    def forward(signum: int, _frame: Any) -> None:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for process in processes:
        process.join()
