"""Applying the Alembic migrations in `migrations/` from code (`careerbot db upgrade`, start-up)."""

import asyncio

from alembic import command
from alembic.config import Config

from bot.config import PROJECT_DIR

MIGRATIONS_DIR = PROJECT_DIR / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Alembic's env runs its own event loop, so from async code it runs in a worker thread."""
    await asyncio.to_thread(upgrade, database_url, revision)
