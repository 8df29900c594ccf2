"""The one place that assembles the bot: content, dialogs, database, storage and Dispatcher.

Every entry point (polling, webhook, terminal chat) and the tests build the bot through here.
"""

import gc
import logging
from functools import partial
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import BotCommand, Update
from redis.asyncio import BlockingConnectionPool, Redis

from bot.config import Settings
from bot.content.models import Profile

# Loading content needs no aiogram (bot/contract.py); imported from here too, as it always was.
from bot.contract import CONTRACT as CONTRACT
from bot.contract import Content as Content
from bot.contract import load_content as load_content
from bot.contract import render_answer as render_answer
from bot.db.engine import Database, PoolLimits
from bot.db.fsm_storage import DatabaseStorage, RecordCache, private_chat_data
from bot.engine.dialogs import Dialogs
from bot.handlers import (
    checklist,
    cohorts,
    errors,
    fallback,
    privacy,
    project,
    questions,
    start,
    stats,
    tour,
)
from bot.middlewares import (
    CommitBeforeTelegramMiddleware,
    DatabaseSessionMiddleware,
    KeepResponseModelsMiddleware,
    PendingInputMiddleware,
    RetryOnceMiddleware,
    StudentMiddleware,
)
from bot.outage import retry_through_outage
from bot.safe_text import safe_json_loads
from bot.services.broadcast import BroadcastService
from bot.services.checklist import ChecklistService
from bot.services.cohorts import CohortService
from bot.services.export import ExportService, configured_key
from bot.services.jobs import JobRunner
from bot.services.privacy import PrivacyService
from bot.services.project import ProjectService
from bot.services.reminders import ReminderService
from bot.services.stats import StatsService
from bot.services.tour import Provider, TourService
from bot.telegram_client import JsonAiohttpSession, call_at_start

logger = logging.getLogger(__name__)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """A Bot for the configured server; a stand-in session replaces the network in chat/tests."""
    if session is None:
        session = JsonAiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    # Every update comes in through this decoder (webhook bodies, getUpdates, the stand-in):
    # the one place where incoming text is made safe to store (bot.safe_text).
    session.json_loads = safe_json_loads
    token = settings.bot_token.get_secret_value() if settings.bot_token else "1:standin"
    bot = Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    bot.session.middleware(KeepResponseModelsMiddleware())
    bot.session.middleware(CommitBeforeTelegramMiddleware())
    bot.session.middleware(RetryOnceMiddleware())
    return bot


def pool_limits(settings: Settings) -> PoolLimits:
    return PoolLimits(settings.db_pool_size, settings.db_pool_overflow, settings.db_pool_timeout)


def create_storage(settings: Settings, database: Database) -> BaseStorage:
    """FSM state lives in Redis when REDIS_URL is set, else in the database: never only in
    memory, so a student half way through typing a note keeps their place across a restart.
    On SQLite, which one process serves, what was read is also kept in memory."""
    if settings.redis_url:
        # Under load, updates wait (a bounded time) for a connection of the pool rather than
        # failing at once with "Too many connections".
        pool = BlockingConnectionPool.from_url(
            settings.redis_url,
            max_connections=settings.redis_pool_size,
            timeout=settings.redis_pool_timeout,
            socket_connect_timeout=settings.redis_pool_timeout,
            socket_timeout=settings.redis_pool_timeout,
        )
        return RedisStorage(Redis(connection_pool=pool))
    cache = RecordCache() if database.engine.dialect.name == "sqlite" else None
    return DatabaseStorage(database.session_factory, cache=cache)


class PollingDispatcher(Dispatcher):
    """The Dispatcher of `careerbot run`. Polling moves past an update once it was fetched: it
    is never delivered again. So an update that meets an outage is tried again in place."""

    async def feed_update(self, bot: Bot, update: Update, **kwargs: Any) -> Any:
        return await retry_through_outage(
            lambda: super(PollingDispatcher, self).feed_update(bot, update, **kwargs),
            f"update {update.update_id}",
        )


def build_dispatcher(
    settings: Settings,
    content: Content,
    database: Database,
    storage: BaseStorage | None = None,
    *,
    polling: bool = False,
    holder: str | None = None,
) -> Dispatcher:
    checklist_service = ChecklistService()
    project_service = ProjectService()
    fsm_storage = storage or create_storage(settings, database)
    privacy_service = PrivacyService(content.catalog, partial(private_chat_data, fsm_storage))
    providers: dict[str, Provider] = {
        "checklist": lambda session, student, profile: checklist_service.overview(
            session, student, _required(profile)
        ),
        "result": lambda session, student, profile: checklist_service.last_result(
            session, student, _required(profile)
        ),
        "project": lambda session, student, profile: project_service.overview(
            session, student, _required(profile)
        ),
        "mydata": lambda session, student, profile: privacy_service.describe(session, student),
    }
    tour_service = TourService(content.catalog, content.dialogs, providers, settings.admin_ids)
    broadcast = BroadcastService(
        database.session_factory,
        tour_service,
        settings.broadcast_per_second,
        settings.announcement_retry_hours,
        settings.announcement_retry_base_seconds,
    )
    reminders = ReminderService(
        database.session_factory, tour_service, project_service, settings.nudge_after_days
    )
    dispatcher = (PollingDispatcher if polling else Dispatcher)(
        storage=fsm_storage,
        settings=settings,
        catalog=content.catalog,
        dialogs=content.dialogs,
        tour=tour_service,
        checklist=checklist_service,
        project=project_service,
        privacy=privacy_service,
        questions=content.questions,
        cohorts=CohortService(content.catalog, settings.cohort_link_days),
        stats=StatsService(content.catalog, settings.admin_ids),
        reports=database.report_sessions,
        export=ExportService(content.catalog, configured_key(settings), settings.admin_ids),
        broadcast=broadcast,
        jobs=JobRunner(database.session_factory, broadcast, reminders, settings.jobs_lease_seconds),
    )
    sessions = DatabaseSessionMiddleware(database.session_factory, holder)
    dispatcher.startup.register(sessions.release_predecessor)
    dispatcher.update.outer_middleware(sessions)
    dispatcher.shutdown.register(sessions.done_marks.write)
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(StudentMiddleware())
        observer.outer_middleware(PendingInputMiddleware())
    dispatcher.include_routers(
        errors.create_router(),
        start.create_router(),
        tour.create_router(),
        checklist.create_router(),
        project.create_router(),
        privacy.create_router(),
        cohorts.create_router(),
        stats.create_router(),
        questions.create_router(),
        fallback.create_router(),
    )
    dispatcher.startup.register(_register_commands)
    dispatcher.startup.register(_start_jobs)
    dispatcher.startup.register(stats.preload_charts)
    dispatcher.shutdown.register(_stop_jobs)

    async def close_storage() -> None:
        await dispatcher.storage.close()

    dispatcher.shutdown.register(close_storage)
    return dispatcher


async def freeze_startup_objects() -> None:
    """Leaves what start-up built (modules, content, dialogs, the chart library: some 300,000
    objects that live as long as the process) out of every later garbage collection.

    A full collection walks every object it tracks: about 160 ms on a 2-core machine, during
    which no update is handled (seen after /stats, whose report and chart leave many objects
    behind). With these left out, it takes a few ms. For a bot process once its Dispatcher has
    started, not for the tests, which start many bots in one process.
    """
    gc.collect()
    gc.freeze()
    logger.info("started: %d objects kept out of garbage collection", gc.get_freeze_count())


async def _start_jobs(bot: Bot, jobs: JobRunner, tour: TourService) -> None:
    jobs.start(bot, cohorts.ProgressReporter(bot, tour))


async def _stop_jobs(jobs: JobRunner) -> None:
    await jobs.stop()


def _required(profile: Profile | None) -> Profile:
    """Providers run only for nodes of a career; the tour sends career-less students elsewhere."""
    if profile is None:
        raise LookupError("this node needs a career")
    return profile


async def _register_commands(bot: Bot, dialogs: Dialogs, settings: Settings) -> None:
    commands = [BotCommand(command=c.command, description=c.description) for c in dialogs.commands]
    await call_at_start("setMyCommands", lambda: bot.set_my_commands(commands), settings)
