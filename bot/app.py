"""The one place that assembles the bot: content, dialogs, database, storage and Dispatcher.

Every entry point (polling, webhook, terminal chat) and the tests build the bot through here.
"""

import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import BotCommand
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.content.catalog import Catalog, load_catalog
from bot.db.engine import create_engine, create_session_factory
from bot.engine.dialogs import Contract, Dialogs, load_dialogs
from bot.handlers import errors, fallback, start, tour
from bot.middlewares import DatabaseSessionMiddleware, StudentMiddleware
from bot.services.tour import CAREER_LIST_NODE, HOME_NODE, TourService

logger = logging.getLogger(__name__)

# What the handlers rely on the dialog files to define; `content check` verifies it.
CONTRACT = Contract(
    nodes=frozenset({HOME_NODE, CAREER_LIST_NODE, "help", "privacy"}),
    messages=frozenset(
        {
            "welcome",
            "welcome_back",
            "menu_changed",
            "unknown_command",
            "use_buttons",
            "unsupported_message",
            "group_chat",
            "error",
        }
    ),
    labels=frozenset({"back", "home"}),
    actions=tour.ACTIONS,
)


@dataclass(frozen=True)
class Content:
    catalog: Catalog
    dialogs: Dialogs


def load_content(settings: Settings) -> Content:
    """Loads and checks profiles and dialogs; raises SourceErrors naming file, line and field."""
    catalog = load_catalog(settings.content_dir)
    return Content(catalog, load_dialogs(settings.dialogs_dir, catalog, CONTRACT))


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]

    @classmethod
    def connect(cls, database_url: str) -> "Database":
        engine = create_engine(database_url)
        return cls(engine, create_session_factory(engine))

    async def close(self) -> None:
        await self.engine.dispose()


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    """A Bot for the configured server; a stand-in session replaces the network in chat/tests."""
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    token = settings.bot_token.get_secret_value() if settings.bot_token else "1:standin"
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def build_dispatcher(
    settings: Settings,
    content: Content,
    database: Database,
    storage: BaseStorage | None = None,
) -> Dispatcher:
    dispatcher = Dispatcher(
        storage=storage or MemoryStorage(),
        settings=settings,
        catalog=content.catalog,
        dialogs=content.dialogs,
        tour=TourService(content.catalog, content.dialogs),
    )
    dispatcher.update.outer_middleware(DatabaseSessionMiddleware(database.session_factory))
    dispatcher.message.outer_middleware(StudentMiddleware())
    dispatcher.callback_query.outer_middleware(StudentMiddleware())
    dispatcher.include_routers(
        errors.create_router(),
        start.create_router(),
        tour.create_router(),
        fallback.create_router(),
    )
    dispatcher.startup.register(_register_commands)
    return dispatcher


async def _register_commands(bot: Bot, dialogs: Dialogs) -> None:
    commands = [BotCommand(command=c.command, description=c.description) for c in dialogs.commands]
    await bot.set_my_commands(commands)
