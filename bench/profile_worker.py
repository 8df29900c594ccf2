"""One careerbot webhook worker with cProfile at hand, for `bench/throughput.py --profile`.

Does what `careerbot webhook --workers 1` does (migrations, setWebhook, serve until SIGTERM),
but in this process. SIGUSR1 starts profiling, SIGUSR2 stops it and writes the statistics to
the file named by PROFILE_OUTPUT, so the profile covers the measured updates only.

Times are CPU time of the main thread (time.thread_time), not wall time: on a busy machine a
system call's wall time includes waiting for the CPU. Work done in other threads (aiosqlite
runs each SQLite connection in a thread of its own) is not in the profile. cProfile slows the
worker down: read the profile for where the time goes, not for how much there is.
"""

import asyncio
import cProfile
import os
import signal
import time
from types import FrameType

from bot.config import load_settings
from bot.db.migrate import upgrade
from bot.webhook import register_webhook, serve_worker


def main() -> None:
    settings = load_settings()
    upgrade(settings.database_url)
    asyncio.run(register_webhook(settings))
    profiler = cProfile.Profile(time.thread_time)

    def start(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()
        profiler.dump_stats(os.environ["PROFILE_OUTPUT"])

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    serve_worker(0)


if __name__ == "__main__":
    main()
