"""A real browser for the web pages: Debian's headless Chromium driven through Selenium.

Nothing is downloaded at run time: the browser and its driver are the system's (installed by
`scripts/setup dev` where it can), and Selenium Manager is bypassed by naming the driver.

Tests wait for what they need with `wait(driver).until(...)` rather than implicit waits, so a
slow step fails with the condition that was not met; the limit suits a loaded machine.

The page under test runs with `served(app)` in a thread of its own: Selenium's calls block, and
a server on the test's own event loop could not answer the browser it is waiting for.
Use the host of `served`'s URL (127.0.0.1) throughout a test: cookies belong to the host name,
and 127.0.0.1 is where the server listens (localhost may try ::1 first). Chromium counts
http://127.0.0.1 as a secure context, so `Secure` cookies work there without TLS.
"""

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

from aiohttp import web
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path(os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))

# For any one step (a page load, an element, a download) on a machine shared by parallel runs.
WAIT_SECONDS = 60.0

# Fixed, so that screenshots of a page come out the same size on every machine.
WINDOW_SIZE = "1280,900"

# Chromium writes a download first under a hidden temporary name, then as <name>.crdownload.
_PARTIAL_SUFFIX = ".crdownload"


def missing_browser() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    absent = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if absent:
        return f"{', '.join(absent)} not installed (apt-get install chromium chromium-driver)"
    return None


def start_chrome(downloads: Path) -> WebDriver:
    """Headless Chromium that saves every download into `downloads` without asking."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    # --disable-dev-shm-usage: containers give /dev/shm a few MB; the browser crashes on it.
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW_SIZE}",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
        },
    )
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    # The default of 300 s would hide a hung page behind a long silence.
    driver.set_page_load_timeout(WAIT_SECONDS)
    driver.set_script_timeout(WAIT_SECONDS)
    return driver


def wait(driver: WebDriver, seconds: float = WAIT_SECONDS) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, seconds)


def wait_for_download(downloads: Path, name: str, seconds: float = WAIT_SECONDS) -> Path:
    """The file `name` once Chromium has finished writing it into `downloads`."""
    target = downloads / name
    partial = downloads / f"{name}{_PARTIAL_SUFFIX}"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if target.is_file() and not partial.exists():
            return target
        time.sleep(0.1)
    present = sorted(path.name for path in downloads.iterdir())
    raise AssertionError(f"{name} was not downloaded within {seconds:.0f} s; found {present}")


def screenshot(driver: WebDriver, path: Path) -> Path:
    """Saves the visible part of the page as a PNG at `path` (folders made as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(path)):
        raise AssertionError(f"the browser could not save a screenshot to {path}")
    return path


@contextlib.contextmanager
def served(app: web.Application, host: str = "127.0.0.1") -> Iterator[str]:
    """Runs `app` on a free port of `host` in a thread of its own; yields its base URL.

    The app's on_startup/cleanup_ctx run on that thread's loop, so whatever is bound to a loop
    (database engines, client sessions) belongs there and not in the test's loop.
    """
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="served-app", daemon=True)
    thread.start()

    def run(step: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(step, loop).result(WAIT_SECONDS)

    try:
        runner = web.AppRunner(app)
        run(runner.setup())
        try:
            run(web.TCPSite(runner, host, 0).start())
            port = runner.addresses[0][1]
            yield f"http://{host}:{port}"
        finally:
            run(runner.cleanup())
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(WAIT_SECONDS)
        loop.close()
