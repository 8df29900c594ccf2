"""The web dashboard in a real browser (headless Chromium, tests/browser_support.py), on SQLite.

A lead sends /dashboard to the bot (the real Dispatcher, the stand-in Telegram), opens the
link it answers with, and clicks through as a person would: the overview, their cohort's
roster, the CSV, a guessed cohort id typed in the address bar, the sign-out button.

Selenium's calls block, so the dashboard is `served` on a thread of its own, and everything
bound to an event loop (the bot, the database engines) lives on that thread's loop: `Stage.run`
hands coroutines to it. The bot's settings need the served URL for its links, and the server
needs the dashboard app before it starts, so the dashboard and the bot each have an engine
over the same SQLite file; the test never makes them write at once.

With SAVE_SCREENSHOTS=1, `test_save_screenshots` writes the README's pictures into docs/.
"""

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import web
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from sqlalchemy import update

from bot.config import PROJECT_DIR, Settings
from bot.contract import Content
from bot.db.engine import Database
from bot.db.models import Cohort, Staff, Student, utcnow
from bot.features.dashboard.web import COOKIE, create_dashboard_app
from bot.standin.conversation import Conversation
from bot.standin.telegram import FakeTelegram
from tests.browser_support import WAIT_SECONDS, screenshot, served, wait, wait_for_download
from tests.cohort_support import SEND_NOW, announcements, prepare_announcement, wait_finished
from tests.conftest import BotHarness, start_bot
from tests.feature_support import (
    Someone,
    assert_no_error,
    do_steps,
    profile_of,
    start_project,
    take_checklist,
)

ADMIN = 900
LEAD, OTHER_LEAD = 7_000_000_951, 7_000_000_952
CODE, OTHER_CODE = "browserAAAAAAAAA", "browserBBBBBBBBB"
CLASS, OTHER_CLASS = "Class 9B", "Class 10A"
PREFIX = "/dashboard"
YES, NOT_NOW = "✅ Yes, share", "Not now"
T = TypeVar("T")


@dataclass(frozen=True)
class Classmate(Someone):
    """Who also went quiet some days ago, or asked the bot something it couldn't answer."""

    quiet_days: int = 0
    question: str | None = None


SHARED_QUESTION = "Will there be pizza at the final showcase?"
HIDDEN_QUESTION = "Which bus goes to the youth centre?"  # asked by a student who doesn't share

# Class 9B in join order: five who share, three who don't (the overview reads "<5" for them).
CLASS_9B = [
    Classmate(7_500_000_001, "Ada", True, ("yes",) * 5 + ("no",) * 2, 3, 1),
    Classmate(7_500_000_002, "Ben", True, ("yes",) * 3, None, 9),
    Classmate(7_500_000_003, "Dev", False, ("yes",) * 7, 2, 2),
    Classmate(
        7_500_000_004,
        "Chloe",
        True,
        ("yes", "unsure") * 3 + ("no",),
        1,
        question="Is there a summer internship at a studio in our city?",
    ),
    Classmate(7_500_000_005, "Finn", False, question=HIDDEN_QUESTION),
    Classmate(7_500_000_006, "Emma", True, (), None, 3),
    Classmate(
        7_500_000_007,
        "Grace",
        True,
        ("yes",) * 7,
        5,
        2,
        question=SHARED_QUESTION,
    ),
    Classmate(7_500_000_008, "Hugo", False, (), None, 12),
]
CLASS_10A = [
    Classmate(7_500_000_101, "Mo", True, ("yes",) * 7, 2),
    Classmate(7_500_000_102, "Li", False),
]
SHARER, HIDDEN = CLASS_9B[0], CLASS_9B[2]  # Dev joined third: "Student 3"
OTHERS_STUDENT = CLASS_10A[0]


@dataclass(frozen=True)
class Stage:
    """The served dashboard and the bot that links to it, on the server's loop."""

    url: str  # the dashboard's base: http://127.0.0.1:PORT/dashboard
    harness: BotHarness
    loop: asyncio.AbstractEventLoop

    def run(self, step: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(step, self.loop).result(WAIT_SECONDS)


@contextlib.contextmanager
def staged(database_url: str, content: Content) -> Iterator[Stage]:
    settings = Settings(_env_file=None, database_url=database_url, admin_ids=frozenset({ADMIN}))
    # Made here, connected on first use: on the server's loop.
    database = Database.connect(database_url)
    loops: list[asyncio.AbstractEventLoop] = []

    async def remember_loop(_app: web.Application) -> None:
        loops.append(asyncio.get_running_loop())

    root = web.Application()
    root.on_startup.append(remember_loop)
    root.add_subapp(PREFIX, create_dashboard_app(settings, content, database))
    with served(root) as base:
        loop = loops[0]

        def run(step: Coroutine[Any, Any, T]) -> T:
            return asyncio.run_coroutine_threadsafe(step, loop).result(WAIT_SECONDS)

        linked = settings.model_copy(update={"dashboard_url": f"{base}{PREFIX}"})
        harness = run(start_bot(linked, content, FakeTelegram()))
        try:
            yield Stage(f"{base}{PREFIX}", harness, loop)
        finally:
            run(harness.stop())
            run(database.close())


@pytest.fixture
def stage(tmp_path: Path, sqlite_template: Path, content: Content) -> Iterator[Stage]:
    path = tmp_path / "careerbot.db"
    shutil.copy(sqlite_template, path)
    with staged(f"sqlite+aiosqlite:///{path}", content) as running:
        yield running


# --- the world, through the bot ---------------------------------------------------------


async def join(harness: BotHarness, someone: Someone, code: str) -> Conversation:
    student = harness.user(someone.telegram_id, someone.name)
    assert_no_error(await student.send(f"/start {code}"))
    assert_no_error(await student.press(YES if someone.shares else NOT_NOW))
    return student


async def act(harness: BotHarness, student: Conversation, someone: Classmate) -> None:
    profile = profile_of(harness.content)
    if someone.checklist:
        await take_checklist(student, someone.checklist)
    if someone.project_steps is not None:
        await start_project(student, profile)
        await do_steps(student, profile, someone.project_steps)
    if someone.question is not None:
        assert_no_error(await student.send("/menu"))
        assert_no_error(await student.send(someone.question))


async def populate(harness: BotHarness) -> tuple[int, int]:
    """Class 9B (the lead's) and Class 10A (another lead's); returns their ids."""
    async with harness.database.session_factory() as session:
        session.add(Staff(telegram_id=LEAD, name="Maria Ivanova", granted_by=ADMIN))
        session.add(Staff(telegram_id=OTHER_LEAD, name="Tom Becker", granted_by=ADMIN))
        mine = Cohort(code=CODE, name=CLASS, lead_id=LEAD, career=None)
        other = Cohort(code=OTHER_CODE, name=OTHER_CLASS, lead_id=OTHER_LEAD, career=None)
        session.add_all([mine, other])
        await session.commit()
        ids = mine.id, other.id
    for cohort, code in ((CLASS_9B, CODE), (CLASS_10A, OTHER_CODE)):
        students = [await join(harness, someone, code) for someone in cohort]
        for student, someone in zip(students, cohort, strict=True):
            await act(harness, student, someone)
    async with harness.database.session_factory() as session:
        for someone in CLASS_9B + CLASS_10A:
            await session.execute(
                update(Student)
                .where(Student.telegram_id == someone.telegram_id)
                .values(last_seen=utcnow() - timedelta(days=someone.quiet_days, hours=2))
            )
        await session.commit()
    return ids


LINK = re.compile(r"https?://\S+/login\?token=[A-Za-z0-9._-]+")


async def link_for(harness: BotHarness, telegram_id: int) -> str:
    """The login link the bot sends this staff member for /dashboard."""
    conversation = Conversation(
        harness.dispatcher, harness.bot, harness.telegram, telegram_id, "Staff"
    )
    replies = await conversation.send("/dashboard")
    assert_no_error(replies)
    found = LINK.search(replies[-1].text)
    assert found is not None, replies[-1].text
    return found.group(0)


async def bots_export(harness: BotHarness, telegram_id: int) -> bytes:
    """The file the bot's /export sends this lead."""
    assert_no_error(await harness.user(telegram_id, "Staff").send("/export"))
    sent = [call for call in harness.telegram.calls if call.method == "sendDocument"]
    assert sent, "the bot sent no file for /export"
    return next(iter(sent[-1].files.values()))


async def announce(harness: BotHarness, text: str) -> None:
    """The lead sends Class 9B an announcement from the bot and waits until it is delivered."""
    lead = harness.user(LEAD, "Maria Ivanova")
    await prepare_announcement(lead, CLASS, text)
    assert_no_error(await lead.press(SEND_NOW))
    await wait_finished(harness, (await announcements(harness))[-1].id)


# --- the browser ------------------------------------------------------------------------


def heading(browser: WebDriver) -> str:
    return str(wait(browser).until(ec.visibility_of_element_located((By.TAG_NAME, "h1"))).text)


def open_page(browser: WebDriver, url: str) -> str:
    """Types `url` in the address bar; the page's h1 once it has loaded."""
    browser.get(url)
    return heading(browser)


def roster_rows(browser: WebDriver) -> list[str]:
    table = browser.find_element(
        By.XPATH, "//table[caption[starts-with(normalize-space(), 'Students of')]]"
    )
    return [row.text for row in table.find_elements(By.CSS_SELECTOR, "tbody th[scope=row]")]


def focused_after_tab(browser: WebDriver) -> tuple[str, str]:
    ActionChains(browser).send_keys(Keys.TAB).perform()
    element = browser.switch_to.active_element
    return element.tag_name.lower(), element.get_attribute("href") or ""


def test_a_lead_signs_in_reads_the_roster_downloads_the_csv_and_signs_out(
    browser: WebDriver, downloads: Path, stage: Stage
) -> None:
    mine, others = stage.run(populate(stage.harness))
    link = stage.run(link_for(stage.harness, LEAD))
    assert link.startswith(f"{stage.url}/login?token=")

    # 1. The link signs in and lands on the overview; the token is gone from the address.
    assert open_page(browser, link) == "Your cohorts"
    assert browser.current_url == f"{stage.url}/"
    assert "token" not in browser.current_url
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None and cookie["httpOnly"] and cookie["secure"]
    overview = browser.page_source
    assert CLASS in overview and OTHER_CLASS not in overview
    # Keyboard first: the first Tab lands on the skip link, which leads to the content.
    tag, href = focused_after_tab(browser)
    assert tag == "a" and href.endswith("#main"), (tag, href)

    # 2. Their cohort's roster: the sharer by first name, the one who didn't as "Student 3".
    browser.find_element(By.LINK_TEXT, CLASS).click()
    wait(browser).until(ec.title_contains(CLASS))
    assert browser.current_url.startswith(f"{stage.url}/cohorts/{mine}?")
    rows = roster_rows(browser)
    assert len(rows) == len(CLASS_9B), rows
    assert any(row.startswith(SHARER.name) for row in rows), rows
    assert any(row.startswith("Student 3") for row in rows), rows
    hidden_names = [someone.name for someone in CLASS_9B + CLASS_10A if not someone.shares]
    text = browser.find_element(By.TAG_NAME, "main").text
    for name in [*hidden_names, OTHERS_STUDENT.name]:
        assert not re.search(rf"\b{name}\b", text), name
    # Questions: a sharer's, not those of a student who doesn't share.
    assert SHARED_QUESTION in text and HIDDEN_QUESTION not in text

    # 3. The CSV: the very bytes the bot's /export sends this lead (one cohort, the same rows).
    name = f"progress-cohort-{mine}-{utcnow().date().isoformat()}.csv"
    browser.find_element(By.LINK_TEXT, "Download the CSV").click()
    saved = wait_for_download(downloads, name).read_bytes()
    assert saved.startswith(b"\xef\xbb\xbf")
    assert SHARER.name in saved.decode("utf-8-sig")
    assert HIDDEN.name not in saved.decode("utf-8-sig")
    assert saved == stage.run(bots_export(stage.harness, LEAD))

    # 4. Another lead's cohort, typed in: the same "not found" as an id that does not exist.
    assert open_page(browser, f"{stage.url}/cohorts/{others}") == "Not found"
    assert OTHER_CLASS not in browser.page_source
    assert OTHERS_STUDENT.name not in browser.page_source
    assert open_page(browser, f"{stage.url}/cohorts/{others + 1000}") == "Not found"

    # 5. The sign-out button (a POST with its CSRF token) ends the session for good.
    browser.find_element(By.XPATH, "//form[contains(@action, '/logout')]//button").click()
    wait(browser).until(ec.url_to_be(f"{stage.url}/signed-out"))
    assert heading(browser) == "Signed out"
    assert browser.get_cookie(COOKIE) is None
    assert open_page(browser, f"{stage.url}/") == "Not signed in"
    assert open_page(browser, f"{stage.url}/cohorts/{mine}") == "Not signed in"
    assert SHARER.name not in browser.page_source
    # The link was used once: it does not sign in again.
    assert open_page(browser, link) == "Link not valid"
    assert browser.get_cookie(COOKIE) is None


# --- screenshots for the README ---------------------------------------------------------

DOCS = PROJECT_DIR / "docs"
PHONE, LAPTOP = 390, 1280


def full_page(browser: WebDriver, width: int, path: Path) -> None:
    """A screenshot of the whole page at `width` CSS pixels (a phone's: as a phone draws it)."""
    metrics: Callable[[int], dict[str, Any]] = lambda height: {  # noqa: E731
        "width": width,
        "height": height,
        "deviceScaleFactor": 1,
        "mobile": width < 600,
    }
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics(800))
    browser.refresh()
    heading(browser)
    wait(browser).until(
        lambda driver: driver.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
    )
    # The body's own height: the document's is at least the viewport's.
    height = int(
        browser.execute_script("return Math.ceil(document.body.getBoundingClientRect().height)")
    )
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics(height))
    screenshot(browser, path)


@pytest.mark.skipif(
    os.environ.get("SAVE_SCREENSHOTS") != "1", reason="SAVE_SCREENSHOTS=1 writes docs/*.png"
)
def test_save_screenshots(browser: WebDriver, stage: Stage) -> None:
    into = Path(os.environ.get("SCREENSHOTS_DIR", DOCS))
    mine, _ = stage.run(populate(stage.harness))
    stage.run(announce(stage.harness, "Studio visit on Friday at 15:00, meet at the main door."))
    open_page(browser, stage.run(link_for(stage.harness, LEAD)))
    full_page(browser, LAPTOP, into / "dashboard-overview.png")
    open_page(browser, f"{stage.url}/cohorts/{mine}?period=30")
    full_page(browser, PHONE, into / "dashboard-cohort.png")
    if into != DOCS:  # for review: the cohort at laptop width too
        full_page(browser, LAPTOP, into / "dashboard-cohort-laptop.png")
    open_page(browser, stage.run(link_for(stage.harness, ADMIN)))
    open_page(browser, f"{stage.url}/leads")
    full_page(browser, LAPTOP, into / "dashboard-leads.png")
