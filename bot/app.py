"""The one place that assembles the bot: content, dialogs, database, storage and Dispatcher.

Every entry point (polling, webhook, terminal chat) and the tests build the bot through here.
"""

import gc
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.types import BotCommand, Update

from bot.catchall import errors_router, fallback_router
from bot.config import Settings

# Loading content needs no aiogram (bot/contract.py); imported from here too, as it always was.
from bot.contract import CONTRACT as CONTRACT
from bot.contract import Content as Content
from bot.contract import load_content as load_content
from bot.contract import render_answer as render_answer
from bot.db.engine import Database, PoolLimits
from bot.db.fsm_storage import create_storage
from bot.engine.dialogs import Dialogs
from bot.features import handler_modules
from bot.features.feature import Getter, Kit
from bot.middlewares import (
    DatabaseSessionMiddleware,
    KeepResponseModelsMiddleware,
    PendingInputMiddleware,
    RetryOnceMiddleware,
    StudentMiddleware,
)
from bot.outage import retry_through_outage
from bot.safe_text import safe_json_loads
from bot.services.roles import Role
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
    bot.session.middleware(RetryOnceMiddleware())
    return bot


def pool_limits(settings: Settings) -> PoolLimits:
    return PoolLimits(settings.db_pool_size, settings.db_pool_overflow, settings.db_pool_timeout)


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
    """The Dispatcher of every entry point and test: each feature (bot/features) sets up its
    services and getters and includes its router, between the catch-alls."""
    fsm_storage = storage or create_storage(settings, database)
    services: dict[str, Any] = {
        "settings": settings,
        "catalog": content.catalog,
        "dialogs": content.dialogs,
        "reports": database.report_sessions,
    }
    getters: dict[str, Getter] = {}
    dispatcher = (PollingDispatcher if polling else Dispatcher)(storage=fsm_storage)
    dispatcher.include_router(errors_router())
    for feature in handler_modules():
        wiring = feature.setup(Kit(settings, content, database, fsm_storage, services, getters))
        services.update(wiring.services)
        getters.update(wiring.getters)
        for step in wiring.on_startup:
            dispatcher.startup.register(step)
        for step in wiring.on_shutdown:
            dispatcher.shutdown.register(step)
        dispatcher.include_router(feature.create_router())
    dispatcher.include_router(fallback_router())
    dispatcher.workflow_data.update(services)

    sessions = DatabaseSessionMiddleware(database.session_factory, holder)
    dispatcher.startup.register(sessions.release_predecessor)
    dispatcher.update.outer_middleware(sessions)
    dispatcher.shutdown.register(sessions.done_marks.write)
    for observer in (dispatcher.message, dispatcher.callback_query):
        observer.outer_middleware(StudentMiddleware())
        observer.outer_middleware(PendingInputMiddleware())
    dispatcher.startup.register(_register_commands)

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


async def _register_commands(bot: Bot, dialogs: Dialogs, settings: Settings) -> None:
    """Everyone's menu: the students' commands. Staff get theirs per chat (bot/features/leads)."""
    commands = [
        BotCommand(command=c.command, description=c.description)
        for c in dialogs.commands_for(Role.STUDENT)
    ]
    await call_at_start("setMyCommands", lambda: bot.set_my_commands(commands), settings)
