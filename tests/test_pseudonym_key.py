"""Without PSEUDONYM_KEY, export pseudonyms are keyed with a random key made once and kept in
the database: the same for the bot's /export (across restarts) and `careerbot export`, and no
one can recompute them from row ids with a key published in the source."""

import csv
import io
from pathlib import Path

from sqlalchemy import delete, select

from bot.app import Content
from bot.config import Settings
from bot.db.engine import Database
from bot.db.models import Secret, Student
from bot.features.stats.export import pseudonym
from bot.services.secrets import PSEUDONYM_KEY
from bot.standin.telegram import FakeTelegram
from tests.cli_support import clean_env, run_careerbot
from tests.conftest import BotHarness, start_bot
from tests.feature_support import assert_no_error

ADMIN = 900  # settings.admin_ids in tests/conftest.py
STUDENTS = (3001, 3002, 3003)
# The key every install shared before: published in the source, so useless as a secret.
OLD_PUBLIC_KEY = "careerbot-default-pseudonym-key-set-your-own"


async def some_students(harness: BotHarness) -> dict[int, int]:
    """Telegram id → row id of a few students."""
    for telegram_id in STUDENTS:
        assert_no_error(await harness.user(telegram_id, "Kim").send("/start"))
    async with harness.database.session_factory() as session:
        rows = await session.execute(select(Student.telegram_id, Student.id))
        return {telegram_id: row_id for telegram_id, row_id in rows.all()}


async def bot_export(harness: BotHarness) -> set[str]:
    before = len(harness.telegram.calls)
    assert_no_error(await harness.user(ADMIN, "Ada").send("/export"))
    [upload] = [c for c in harness.telegram.calls[before:] if c.method == "sendDocument"]
    text = next(iter(upload.files.values())).decode("utf-8-sig")
    return {row["pseudonym"] for row in csv.DictReader(io.StringIO(text))}


def cli_export(settings: Settings, tmp_path: Path) -> set[str]:
    admins = ",".join(str(admin) for admin in settings.admin_ids)
    env = clean_env(tmp_path, DATABASE_URL=settings.database_url, ADMIN_IDS=admins)
    if settings.pseudonym_key is not None:
        env["PSEUDONYM_KEY"] = settings.pseudonym_key.get_secret_value()
    result = run_careerbot("export", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    return {row["pseudonym"] for row in csv.DictReader(io.StringIO(result.stdout))}


async def stored_keys(harness: BotHarness) -> list[str]:
    async with harness.database.session_factory() as session:
        found = await session.scalars(select(Secret.value).where(Secret.name == PSEUDONYM_KEY))
        return list(found)


async def test_without_pseudonym_key_a_random_key_is_kept_and_used_by_every_export(
    harness: BotHarness, tmp_path: Path
) -> None:
    assert harness.settings.pseudonym_key is None
    ids = await some_students(harness)
    first = await bot_export(harness)
    [key] = await stored_keys(harness)
    assert len(key) >= 40 and key != OLD_PUBLIC_KEY
    assert first == {pseudonym(row_id, key) for row_id in ids.values()}
    assert first.isdisjoint(pseudonym(row_id, OLD_PUBLIC_KEY) for row_id in ids.values())
    await harness.restart()
    assert await bot_export(harness) == first, "a restart keeps the pseudonyms"
    assert await stored_keys(harness) == [key]
    assert cli_export(harness.settings, tmp_path) == first, "the CLI uses the same key"
    # Rotating: deleting the stored key makes a new one, and every pseudonym changes.
    async with harness.database.session_factory() as session:
        await session.execute(delete(Secret).where(Secret.name == PSEUDONYM_KEY))
        await session.commit()
    rotated = await bot_export(harness)
    assert rotated.isdisjoint(first) and len(rotated) == len(first)
    assert await stored_keys(harness) != [key]


async def test_the_cli_export_makes_the_key_the_bot_then_uses(
    harness: BotHarness, tmp_path: Path
) -> None:
    await some_students(harness)
    from_cli = cli_export(harness.settings, tmp_path)
    assert len(await stored_keys(harness)) == 1
    assert await bot_export(harness) == from_cli


async def test_pseudonym_key_setting_is_used_and_nothing_is_stored(
    settings: Settings, content: Content, database: Database, tmp_path: Path
) -> None:
    """`database`: an empty one (PostgreSQL's is emptied by that fixture)."""
    configured = Settings(
        _env_file=None,
        database_url=settings.database_url,
        admin_ids=settings.admin_ids,
        pseudonym_key="our own secret key, set by the operator",
    )
    harness = await start_bot(configured, content, FakeTelegram())
    try:
        ids = await some_students(harness)
        exported = await bot_export(harness)
        key = "our own secret key, set by the operator"
        assert exported == {pseudonym(row_id, key) for row_id in ids.values()}
        assert await stored_keys(harness) == []
        assert cli_export(configured, tmp_path) == exported
    finally:
        await harness.stop()
