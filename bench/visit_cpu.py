"""CPU per update of the music producer's visit, in process: the real Dispatcher over SQLite
with the stand-in Telegram, no HTTP, no other process. Less noisy than the webhook bench for
comparing two checkouts (run it with each checkout's own .venv, alternating), and what
`python -m cProfile` can look inside of.

    .venv/bin/python bench/visit_cpu.py [VISITS]
"""

import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import load_content
from bot.config import Settings
from bot.db.migrate import upgrade_async
from bot.standin.telegram import FakeTelegram
from tests.conftest import CATALOG_DIR, start_bot

CAREER = "Music Producer"
SIGNS = 7
# bench/loadgen.py's visit, as typed messages and the labels (or their starts) tapped.
VISIT: list[str | tuple[str]] = [
    "/start",
    (CAREER,),
    ("🛠 The job",),
    ("🕘 A typical day",),
    "wat skills do i need",
    "/menu",
    ("🤔 Is it me?",),
    ("▶️ Check it against myself",),
    *[(("👍 Yes", "🤷 Not sure", "👎 No")[index % 3],) for index in range(SIGNS)],
    "/menu",
    ("🚀",),
    ("▶️ Start the project",),
    ("✏️ Write my answer",),
    "lo-fi hip hop, rainy mood",
]


async def measure(visits: int) -> float:
    """Milliseconds of this process's CPU per update, over `visits` students after one warm-up."""
    url = f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/visit.db"
    await upgrade_async(url)
    settings = Settings(_env_file=None, content_dir=CATALOG_DIR, database_url=url)
    bot = await start_bot(settings, load_content(settings), FakeTelegram())

    async def visit(user_id: int) -> None:
        student = bot.user(user_id, "Student")
        for step in VISIT:
            if isinstance(step, tuple):
                await student.press(step[0])
            else:
                await student.send(step)

    try:
        await visit(1)
        started = time.process_time()
        for number in range(visits):
            await visit(100 + number)
        return (time.process_time() - started) / (visits * len(VISIT)) * 1000
    finally:
        await bot.stop()


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    print(f"{asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 30)):.3f} ms/update")
