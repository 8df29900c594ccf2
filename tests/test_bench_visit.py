"""The throughput benchmark's visit (bench/loadgen.py) finds every button it taps in the bot as
shipped: with several careers, /start shows the career list before any career's menu.

In process, on SQLite, over HTTP as the benchmark runs it: the webhook application, the
stand-in Bot API and the load generator."""

import shutil
import sys
from collections import Counter
from pathlib import Path

from aiohttp.test_utils import TestServer

from bot.app import create_bot, load_content
from bot.config import Settings
from bot.standin.server import LocalBotApiServer
from bot.webhook import create_app
from tests.conftest import CATALOG_DIR

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.append(str(BENCH))

from loadgen import LoadGenerator, scenario  # noqa: E402
from throughput import PATH, TOKEN, visit  # noqa: E402

SECRET = "bench-visit-secret"
STUDENTS = 2


async def test_the_benchmark_visit_taps_only_buttons_the_shipped_catalog_shows(
    tmp_path: Path, sqlite_template: Path, bot_api: LocalBotApiServer
) -> None:
    path = tmp_path / "bench.db"
    shutil.copy(sqlite_template, path)
    settings = Settings(
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{path}",
        content_dir=CATALOG_DIR,
        bot_token=TOKEN,
        telegram_api_url=bot_api.url,
        webhook_secret=SECRET,
    )
    content = load_content(settings)
    assert len(content.catalog) > 1, "the shipped catalog opens on the career list"
    signs, career = visit(content)
    bot = create_bot(settings)
    server = TestServer(create_app(settings, content, bot=bot))
    await server.start_server()
    try:
        generator = LoadGenerator(
            bot_api,
            str(server.make_url(PATH)),
            SECRET,
            students=STUDENTS,
            signs=signs,
            keyboards=True,
            error_text=content.dialogs.message("error", {}),
            career=career,
        )
        steps = len(scenario(signs, "a question", career))
        stats = await generator.run(STUDENTS * steps, 120)
    finally:
        await server.close()
        await bot.session.close()
    assert stats.errors == Counter(), stats.errors
    assert (stats.updates, stats.lost) == (STUDENTS * steps, 0)
