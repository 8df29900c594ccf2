"""The web dashboard through real HTTP, on SQLite and PostgreSQL: staff log in with the link
the bot sends for /dashboard (through the real Dispatcher), and every page, chart and CSV is
fetched from the real application (create_dashboard_app, mounted as the webhook mounts it).

The clock is injected (no sleeps): a link is opened minutes "later" by moving it forward.
"""

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import pytest
from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import func, select, update

from bot.config import Settings
from bot.db.models import Cohort, DashboardSession, Staff, Student, UnansweredQuestion, utcnow
from bot.features.dashboard.web import COOKIE, QuietAccessLogger, create_dashboard_app
from bot.standin.conversation import Conversation
from bot.standin.telegram import FakeTelegram
from tests.cohort_support import UNKNOWN_COMMAND
from tests.conftest import BotHarness, start_bot
from tests.feature_support import DIALOGS, assert_no_error

ADMIN = 900  # settings.admin_ids in tests/conftest.py
LEAD_A, LEAD_B = 7_000_000_901, 7_000_000_902
CODE_A, CODE_B = "dashAAAAAAAAAAAA", "dashBBBBBBBBBBBB"
PUBLIC_URL = "https://dash.example.org/dashboard"
PREFIX = "/dashboard"
LINK = re.compile(re.escape(PUBLIC_URL) + r"(/login\?token=[A-Za-z0-9._-]+)")
EXPIRED = "This link has expired or was already used — send /dashboard again"
YES, NOT_NOW = "✅ Yes, share", "Not now"
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_COHORT = '<img src=x onerror="alert(2)">'
HOSTILE_QUESTION = "<b>zqxv</b> <script>steal()</script> wibblequark?"
ROW_HEADER = re.compile(r'<th scope="row">(.*?)</th>', re.S)
CAPTION = re.compile(r"<caption>(.*?)</caption>", re.S)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,
        database_url=database_url,
        admin_ids=frozenset({ADMIN}),
        dashboard_url=PUBLIC_URL,
    )


class Clock:
    """Real time, moved forward by `ahead`."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.ahead


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def client(
    harness: BotHarness, clock: Clock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    root = web.Application()
    root.add_subapp(
        PREFIX, create_dashboard_app(harness.settings, harness.content, harness.database, clock)
    )
    # Cookies are sent by hand: the cookie is Secure, and the test server speaks plain HTTP.
    async with TestClient(TestServer(root), cookie_jar=DummyCookieJar()) as running:
        yield running


async def setup_cohorts(harness: BotHarness) -> tuple[int, int]:
    async with harness.database.session_factory() as session:
        session.add(Staff(telegram_id=LEAD_A, name="Lead A", granted_by=ADMIN))
        session.add(Staff(telegram_id=LEAD_B, name="Lead B", granted_by=ADMIN))
        cohort_a = Cohort(code=CODE_A, name="Class A", lead_id=LEAD_A, career=None)
        cohort_b = Cohort(code=CODE_B, name=HOSTILE_COHORT, lead_id=LEAD_B, career=None)
        session.add_all([cohort_a, cohort_b])
        await session.commit()
        return cohort_a.id, cohort_b.id


async def join(harness: BotHarness, telegram_id: int, name: str, code: str, shares: bool) -> None:
    student = harness.user(telegram_id, name)
    assert_no_error(await student.send(f"/start {code}"))
    assert_no_error(await student.press(YES if shares else NOT_NOW))


async def populate(harness: BotHarness) -> tuple[int, int]:
    """Class A: a hostile name (shares), Ada (shares), two who don't; class B: Mo."""
    cohort_a, cohort_b = await setup_cohorts(harness)
    await join(harness, 7_400_000_001, HOSTILE_NAME, CODE_A, True)
    await join(harness, 7_400_000_002, "Ada", CODE_A, True)
    await join(harness, 7_400_000_003, "Hidden1", CODE_A, False)
    await join(harness, 7_400_000_004, "Hidden2", CODE_A, False)
    await join(harness, 7_400_000_101, "Mo", CODE_B, True)
    return cohort_a, cohort_b


async def link_for(harness: BotHarness, telegram_id: int) -> str:
    """The path of the login link the bot sends this staff member for /dashboard."""
    replies = await Conversation(
        harness.dispatcher, harness.bot, harness.telegram, telegram_id, "Staff"
    ).send("/dashboard")
    assert_no_error(replies)
    found = LINK.search(replies[-1].text)
    assert found is not None, replies[-1].text
    return PREFIX + found.group(1)


async def log_in(harness: BotHarness, client: TestClient, telegram_id: int) -> str:  # type: ignore[type-arg]
    """Logs in through a fresh link; returns the session cookie's value."""
    response = await client.get(await link_for(harness, telegram_id), allow_redirects=False)
    assert response.status == 303
    return response.cookies[COOKIE].value


def with_cookie(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


async def csrf_of(client: TestClient, cookie: str) -> str:  # type: ignore[type-arg]
    page = await (await client.get(f"{PREFIX}/", headers=with_cookie(cookie))).text()
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


async def sessions(harness: BotHarness) -> int:
    async with harness.database.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(DashboardSession)) or 0)


async def test_the_overview_pages_cohorts_newest_first_with_their_funnels(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await populate(harness)
    async with harness.database.session_factory() as session:
        session.add_all(
            Cohort(code=f"page{number:012d}", name=f"Extra {number}", lead_id=LEAD_A, career=None)
            for number in range(1, 27)
        )
        await session.commit()
    cookie = await log_in(harness, client, LEAD_A)
    first = await (await client.get(f"{PREFIX}/?period=all", headers=with_cookie(cookie))).text()
    assert "Cohorts (27), all time, page 1 of 2" in first
    rows = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', first)
    assert rows == [f"Extra {number}" for number in range(26, 1, -1)]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert "Class B" not in first and "onerror" not in first

    second = await client.get(f"{PREFIX}/?period=all&page=2", headers=with_cookie(cookie))
    text = await second.text()
    rows = re.findall(r'<th scope="row"><a href="([^"]+)">([^<]+)</a>', text)
    assert [name for _, name in rows] == ["Extra 1", "Class A"]
    assert rows[1][0] == f"{PREFIX}/cohorts/{cohort_a}?period=all"
    # Class A: 4 students, 2 sharing; the sharers exact, the two others "<5".
    row = text[text.index("Class A") :]
    cells = re.findall(r"<td>([^<]*)", row[: row.index("</tr>")])
    assert cells[:3] == ["4", "2", "2"] and cells[-1] == "&lt;5"
    assert 'rel="prev"' in text and 'rel="next"' not in text
    # Junk or too-large pages: the nearest page, never an error.
    for junk in ("abc", "0", "-1", "99999999", "2.5"):
        response = await client.get(f"{PREFIX}/?page={junk}", headers=with_cookie(cookie))
        assert response.status == 200, junk
        assert "Cohorts (27)" in await response.text()


async def test_login_link_sets_a_session_cookie_and_redirects_without_the_token(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await populate(harness)
    path = await link_for(harness, LEAD_A)
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"{PREFIX}/"
    assert "token" not in response.headers["Location"]
    raw = response.headers["Set-Cookie"]
    cookie = SimpleCookie(raw)[COOKIE]
    assert cookie["httponly"] and cookie["secure"]
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == PREFIX
    assert int(cookie["max-age"]) == 12 * 3600
    assert await sessions(harness) == 1

    page = await client.get(f"{PREFIX}/", headers=with_cookie(cookie.value))
    assert page.status == 200
    text = await page.text()
    assert "Class A" in text and "Your cohorts" in text
    assert "Class B" not in text and "onerror" not in text  # lead B's cohort
    assert "/leads" not in text  # admins only

    # The same link again: refused, no second session.
    again = await client.get(path, allow_redirects=False)
    assert again.status == 403
    assert EXPIRED in await again.text()
    assert "Set-Cookie" not in again.headers
    assert await sessions(harness) == 1


async def test_a_link_preview_does_not_use_the_link_up(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await setup_cohorts(harness)
    replies = await harness.user(LEAD_A, "Lead A").send("/dashboard")
    # The bot asks Telegram for no preview, which Telegram would make by opening the link.
    assert replies[-1].params["link_preview_options"] == {"is_disabled": True}
    found = LINK.search(replies[-1].text)
    assert found is not None
    path = PREFIX + found.group(1)
    # A preview all the same (the link pasted elsewhere): a page, no session, link kept.
    for agent in ("TelegramBot (like TwitterBot)", "WhatsApp/2.23", "Slackbot-LinkExpanding 1.0"):
        preview = await client.get(path, headers={"User-Agent": agent}, allow_redirects=False)
        assert preview.status == 200 and "Set-Cookie" not in preview.headers
        assert "open it in your browser" in await preview.text()
    assert await sessions(harness) == 0
    opened = await client.get(path, allow_redirects=False)
    assert opened.status == 303 and COOKIE in opened.cookies


async def test_a_link_expires_after_ten_minutes(
    harness: BotHarness,
    client: TestClient,
    clock: Clock,  # type: ignore[type-arg]
) -> None:
    await setup_cohorts(harness)
    late = await link_for(harness, LEAD_A)
    clock.ahead = timedelta(minutes=10, seconds=1)
    response = await client.get(late, allow_redirects=False)
    assert response.status == 403 and EXPIRED in await response.text()
    assert "Set-Cookie" not in response.headers
    clock.ahead = timedelta()
    in_time = await link_for(harness, LEAD_A)
    clock.ahead = timedelta(minutes=9, seconds=50)
    assert (await client.get(in_time, allow_redirects=False)).status == 303
    # The session lasts DASHBOARD_SESSION_HOURS, then the cookie opens nothing.
    assert await sessions(harness) == 1


async def test_a_session_ends_after_its_hours(
    harness: BotHarness,
    client: TestClient,
    clock: Clock,  # type: ignore[type-arg]
) -> None:
    await setup_cohorts(harness)
    cookie = await log_in(harness, client, LEAD_A)
    clock.ahead = timedelta(hours=11, minutes=59)
    assert (await client.get(f"{PREFIX}/", headers=with_cookie(cookie))).status == 200
    clock.ahead = timedelta(hours=12, minutes=1)
    assert (await client.get(f"{PREFIX}/", headers=with_cookie(cookie))).status == 401
    assert await sessions(harness) == 0


async def test_forged_and_malformed_tokens_are_refused(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await setup_cohorts(harness)
    genuine = (await link_for(harness, LEAD_A)).split("token=", 1)[1]
    user, issued, nonce, signature = genuine.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = [
        f"{user}.{issued}.{nonce}.{flipped}",  # signature changed
        f"{LEAD_B}.{issued}.{nonce}.{signature}",  # moved to another user
        f"{ADMIN}.{issued}.{nonce}.{signature}",  # to an admin
        f"{user}.{int(issued) + 600}.{nonce}.{signature}",  # made to last longer
        f"{user}.{issued}.{nonce}.{signature}x",
        "",
        "garbage",
        "1.2.3.4",
        genuine + "." + genuine,
        "%00" * 40,
    ]
    for token in forged:
        response = await client.get(
            f"{PREFIX}/login", params={"token": token}, allow_redirects=False
        )
        assert response.status == 403, token
        assert EXPIRED in await response.text()
        assert "Set-Cookie" not in response.headers
    no_token = await client.get(f"{PREFIX}/login", allow_redirects=False)
    assert no_token.status == 403
    assert await sessions(harness) == 0
    # The genuine one still works: the forgeries claimed nothing.
    assert (
        await client.get(f"{PREFIX}/login?token={genuine}", allow_redirects=False)
    ).status == 303


async def test_students_get_no_link_and_unconfigured_bots_say_so(
    harness: BotHarness, settings: Settings
) -> None:
    await setup_cohorts(harness)
    await join(harness, 7_400_000_001, "Sam", CODE_A, True)
    replies = await harness.user(7_400_000_001, "Sam").send("/dashboard")
    assert UNKNOWN_COMMAND in [reply.text for reply in replies]
    assert not any("token=" in reply.text for reply in replies)

    unconfigured = settings.model_copy(update={"dashboard_url": None})
    bot = await start_bot(unconfigured, harness.content, FakeTelegram())
    try:
        lead = bot.user(LEAD_A, "Lead A")
        replies = await lead.send("/dashboard")
        assert [reply.text for reply in replies] == [DIALOGS.message("dashboard_not_configured")]
    finally:
        await bot.stop()


async def test_logout_needs_the_csrf_token(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await setup_cohorts(harness)
    cookie = await log_in(harness, client, LEAD_A)
    token = await csrf_of(client, cookie)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": token[:-1] + "x"}):
        refused = await client.post(
            f"{PREFIX}/logout", data=data, headers=with_cookie(cookie), allow_redirects=False
        )
        assert refused.status == 403
        assert (await client.get(f"{PREFIX}/", headers=with_cookie(cookie))).status == 200
    # Another session's token does not sign this one out either.
    other = await log_in(harness, client, LEAD_B)
    response = await client.post(
        f"{PREFIX}/logout",
        data={"csrf_token": await csrf_of(client, other)},
        headers=with_cookie(cookie),
        allow_redirects=False,
    )
    assert response.status == 403
    done = await client.post(
        f"{PREFIX}/logout",
        data={"csrf_token": token},
        headers=with_cookie(cookie),
        allow_redirects=False,
    )
    assert done.status == 303 and done.headers["Location"] == f"{PREFIX}/signed-out"
    assert done.cookies[COOKIE].value == ""
    assert (await client.get(f"{PREFIX}/", headers=with_cookie(cookie))).status == 401
    assert (await client.get(f"{PREFIX}/", headers=with_cookie(other))).status == 200


async def test_a_removed_lead_loses_access_at_the_next_request(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await setup_cohorts(harness)
    cookie = await log_in(harness, client, LEAD_A)
    assert (
        await client.get(f"{PREFIX}/cohorts/{cohort_a}", headers=with_cookie(cookie))
    ).status == 200
    admin = harness.user(ADMIN, "Admin")
    assert_no_error(await admin.send(f"/removelead {LEAD_A}"))
    response = await client.get(
        f"{PREFIX}/cohorts/{cohort_a}", headers=with_cookie(cookie), allow_redirects=False
    )
    assert response.status == 303 and response.headers["Location"] == f"{PREFIX}/signed-out"
    assert await sessions(harness) == 0
    assert (await client.get(f"{PREFIX}/", headers=with_cookie(cookie))).status == 401


async def test_every_url_for_each_role_and_guessed_ids(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, cohort_b = await populate(harness)
    lead_a = await log_in(harness, client, LEAD_A)
    lead_b = await log_in(harness, client, LEAD_B)
    admin = await log_in(harness, client, ADMIN)
    suffixes = ("", "/chart.png", "/export.csv")
    cases = {
        lead_a: {cohort_a: 200, cohort_b: 404},
        lead_b: {cohort_a: 404, cohort_b: 200},
        admin: {cohort_a: 200, cohort_b: 200},
    }
    for cookie, expected in cases.items():
        not_found_body = None  # each session's page holds its own CSRF token
        guessed = {cohort_b + 1000: 404}
        for cohort_id, status in {**expected, **guessed}.items():
            for suffix in suffixes:
                url = f"{PREFIX}/cohorts/{cohort_id}{suffix}"
                response = await client.get(url, headers=with_cookie(cookie))
                assert response.status == status, url
                if status == 404:
                    body = await response.text()
                    not_found_body = not_found_body or body
                    assert body == not_found_body, "every 404 reads the same"
        for bad in ("0", "abc", "-1", str(2**40), "1.5", "%3Cscript%3E"):
            response = await client.get(f"{PREFIX}/cohorts/{bad}", headers=with_cookie(cookie))
            assert response.status == 404, bad
            assert await response.text() == not_found_body
    leads = {lead_a: 404, lead_b: 404, admin: 200}
    for cookie, status in leads.items():
        response = await client.get(f"{PREFIX}/leads", headers=with_cookie(cookie))
        assert response.status == status
    assert (
        "Lead B" in await (await client.get(f"{PREFIX}/leads", headers=with_cookie(admin))).text()
    )
    # Without a session: nothing, whatever the URL.
    for url in (
        f"{PREFIX}/",
        f"{PREFIX}/cohorts/{cohort_a}",
        f"{PREFIX}/cohorts/{cohort_a}/export.csv",
        f"{PREFIX}/leads",
    ):
        assert (await client.get(url)).status == 401
        assert (await client.get(url, headers=with_cookie("x" * 43))).status == 401


async def test_the_csv_is_the_bots_file(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await populate(harness)
    cookie = await log_in(harness, client, LEAD_A)
    response = await client.get(
        f"{PREFIX}/cohorts/{cohort_a}/export.csv", headers=with_cookie(cookie)
    )
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = await response.read()
    # Lead A has one cohort: the bot's /export holds exactly its rows.
    replies = await harness.user(LEAD_A, "Lead A").send("/export")
    assert any(reply.method == "sendDocument" for reply in replies), replies
    sent = [call for call in harness.telegram.calls if call.method == "sendDocument"]
    assert next(iter(sent[-1].files.values())) == body
    text = body.decode("utf-8-sig")
    assert "Ada" in text and "Hidden1" not in text and "Mo" not in text


async def test_the_csv_and_chart_of_all_the_viewers_students(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await populate(harness)
    for viewer, name, shown, hidden in (
        (LEAD_A, "Lead A", ["Ada"], ["Hidden1", "Mo"]),
        (ADMIN, "Admin", ["Ada", "Mo"], []),
    ):
        cookie = await log_in(harness, client, viewer)
        response = await client.get(f"{PREFIX}/export.csv", headers=with_cookie(cookie))
        assert response.status == 200
        assert 'filename="progress-all-' in response.headers["Content-Disposition"]
        body = await response.read()
        # Byte for byte the bot's /export (no cohort named: all the viewer's students).
        replies = await harness.user(viewer, name).send("/export")
        sent = [reply for reply in replies if reply.method == "sendDocument"]
        assert sent and next(iter(sent[-1].files.values())) == body
        text = body.decode("utf-8-sig")
        assert all(who in text for who in shown) and not any(who in text for who in hidden)
        overview = await (await client.get(f"{PREFIX}/", headers=with_cookie(cookie))).text()
        assert f'href="{PREFIX}/export.csv"' in overview
        assert f'src="{PREFIX}/chart.png?period=30"' in overview
        chart = await client.get(f"{PREFIX}/chart.png?period=all", headers=with_cookie(cookie))
        assert chart.status == 200 and chart.content_type == "image/png"
        assert (await chart.read()).startswith(b"\x89PNG")
    for path in ("/export.csv", "/chart.png"):
        assert (await client.get(PREFIX + path)).status == 401
    junk = await client.get(f"{PREFIX}/chart.png?period=junk", headers=with_cookie(cookie))
    assert junk.status == 400


async def test_small_numbers_and_hostile_text(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, cohort_b = await populate(harness)
    asker = harness.user(7_400_000_001, HOSTILE_NAME)
    await asker.send(HOSTILE_QUESTION)
    async with harness.database.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(UnansweredQuestion)) == 1
    lead_a = await log_in(harness, client, LEAD_A)
    admin = await log_in(harness, client, ADMIN)

    overview = await (await client.get(f"{PREFIX}/?period=all", headers=with_cookie(lead_a))).text()
    # Two students of class A haven't shared: a lead reads "<5", never 2.
    assert "&lt;5" in overview
    detail = await (
        await client.get(f"{PREFIX}/cohorts/{cohort_a}", headers=with_cookie(lead_a))
    ).text()
    assert "Hidden1" not in detail and "Hidden2" not in detail
    assert "Student 3" in detail and "Student 4" in detail
    for raw in (HOSTILE_NAME, "<script>steal()</script>", "<b>zqxv</b>"):
        assert raw not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    # Masked as the bot masks it (the asker's name holds "script"), then escaped.
    assert "&lt;b&gt;zqxv&lt;/b&gt;" in detail and "steal()" in detail
    admin_view = await (
        await client.get(f"{PREFIX}/?period=all", headers=with_cookie(admin))
    ).text()
    assert HOSTILE_COHORT not in admin_view
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in admin_view
    admin_b = await (
        await client.get(f"{PREFIX}/cohorts/{cohort_b}", headers=with_cookie(admin))
    ).text()
    assert HOSTILE_COHORT not in admin_b


async def test_headers_periods_chart_and_stylesheet(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await populate(harness)
    cookie = await log_in(harness, client, LEAD_A)
    page = await client.get(f"{PREFIX}/cohorts/{cohort_a}", headers=with_cookie(cookie))
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    html = await page.text()
    assert "<script" not in html and "style=" not in html
    assert '<th scope="col">' in html and "<caption>" in html
    for refused in (
        await client.get(f"{PREFIX}/login?token=x"),
        await client.get(f"{PREFIX}/nowhere"),
    ):
        assert "Content-Security-Policy" in refused.headers
    css_url = re.search(r'href="([^"]+\.css[^"]*)"', html)
    assert css_url is not None
    css = await client.get(css_url.group(1))
    assert css.status == 200 and css.content_type == "text/css"
    assert "max-age=" in css.headers["Cache-Control"]

    for query in ("period=7", "period=30", "period=all", "from=2020-01-01&to=2020-01-31"):
        response = await client.get(
            f"{PREFIX}/cohorts/{cohort_a}?{query}", headers=with_cookie(cookie)
        )
        assert response.status == 200, query
    for query in (
        "period=8",
        "from=2020-02-01&to=2020-01-01",
        "from=x&to=y",
        "from=2020-01-01&to=2999-01-01",
    ):
        response = await client.get(f"{PREFIX}/?{query}", headers=with_cookie(cookie))
        assert response.status == 400, query
    chart = await client.get(
        f"{PREFIX}/cohorts/{cohort_a}/chart.png?period=all", headers=with_cookie(cookie)
    )
    assert chart.status == 200 and chart.content_type == "image/png"
    assert (await chart.read()).startswith(b"\x89PNG")


async def test_a_date_range_counts_only_its_own_days(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await populate(harness)
    cookie = await log_in(harness, client, ADMIN)
    today = utcnow().date()
    here = f"{PREFIX}/cohorts/{cohort_a}"

    async def funnel(query: str) -> list[str]:
        page = await (await client.get(f"{here}?{query}", headers=with_cookie(cookie))).text()
        caption = page.index("<caption>Funnel")
        row = page[page.index("Active in the period", caption) :]
        return re.findall(r"<td>([^<]*)</td>", row[: row.index("</tr>")])[:1]

    # Everyone joined today: a range that ends yesterday counts no one.
    last_week = f"from={today - timedelta(days=7)}&to={today - timedelta(days=1)}"
    assert await funnel(last_week) == ["0"]
    assert await funnel(f"from={today - timedelta(days=7)}&to={today}") == ["4"]
    assert await funnel("period=7") == ["4"]
    for bad in (
        "from=0001-01-01&to=0001-01-02",  # before any student could have been
        f"from={today}&to={today - timedelta(days=1)}",  # reversed
        f"from={today}&to={today + timedelta(days=2)}",  # the future
        "from=2026-02-30&to=2026-03-01",
        "from=&to=2026-03-01",
    ):
        for path in (here, f"{here}/chart.png", f"{PREFIX}/chart.png", f"{PREFIX}/"):
            response = await client.get(f"{path}?{bad}", headers=with_cookie(cookie))
            assert response.status == 400, (path, bad)
    # A compact date is read, and shown back the standard way.
    compact = f"from={(today - timedelta(days=3)):%Y%m%d}&to={today:%Y%m%d}"
    page = await (await client.get(f"{here}?{compact}", headers=with_cookie(cookie))).text()
    assert f'value="{today.isoformat()}"' in page


async def test_head_a_twice_sent_cookie_and_a_formula_in_a_cohort_name(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await populate(harness)
    async with harness.database.session_factory() as session:
        cohort = await session.get(Cohort, cohort_a)
        assert cohort is not None
        cohort.name = "Class $x^2$ and $$"
        await session.commit()
    cookie = await log_in(harness, client, LEAD_A)
    for path in ("/", f"/cohorts/{cohort_a}", "/static/dashboard.css"):
        head = await client.head(PREFIX + path, headers=with_cookie(cookie))
        assert head.status == 200, path
    # The lead's cohort name on the chart: drawn as typed, not as a formula (that used to fail).
    chart = await client.get(f"{PREFIX}/cohorts/{cohort_a}/chart.png", headers=with_cookie(cookie))
    assert chart.status == 200 and (await chart.read()).startswith(b"\x89PNG")
    # The session cookie twice (one planted by another site of the domain): no session.
    twice = {"Cookie": f"{COOKIE}={cookie}; {COOKIE}={cookie}"}
    assert (await client.get(f"{PREFIX}/", headers=twice)).status == 401


async def test_access_log_has_no_query_string(
    harness: BotHarness, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    await setup_cohorts(harness)
    root = web.Application()
    root.add_subapp(
        PREFIX, create_dashboard_app(harness.settings, harness.content, harness.database, clock)
    )
    server = TestServer(root)
    log = logging.getLogger("careerbot.test.access")
    await server.start_server(access_log_class=QuietAccessLogger, access_log=log)
    async with TestClient(server, cookie_jar=DummyCookieJar()) as client:
        path = await link_for(harness, LEAD_A)
        token = path.split("token=", 1)[1]
        with caplog.at_level(logging.INFO, logger=log.name):
            assert (await client.get(path, allow_redirects=False)).status == 303
            await client.get(f"{PREFIX}/?from=2020-01-01&to=secret-words")
            await client.get(f"{PREFIX}/a%0A2026-12-02 INFO aiohttp.access: forged%0D")
        lines = [record.getMessage() for record in caplog.records if record.name == log.name]
        assert len(lines) == 3
        # A line break in the path stays encoded: no forged line in the log.
        assert "%0A" in lines[2] and not any("\n" in line or "\r" in line for line in lines)
        assert all(token not in line and "?" not in line for line in lines)
        assert f"GET {PREFIX}/login 303" in lines[0]
        assert "secret-words" not in "\n".join(lines)


async def test_the_webhook_app_serves_the_dashboard_under_its_prefix(
    harness: BotHarness, settings: Settings
) -> None:
    from bot.webhook import create_app

    webhook_settings = settings.model_copy(update={"webhook_secret": SecretStr("s3cret")})
    app = create_app(webhook_settings, harness.content, bot=harness.bot)
    async with TestClient(TestServer(app), cookie_jar=DummyCookieJar()) as client:
        response = await client.get(f"{PREFIX}/")
        assert response.status == 401
        assert "Content-Security-Policy" in response.headers
        css = await client.get(f"{PREFIX}/static/dashboard.css")
        assert css.status == 200
        # The prefix as people type it, without its slash.
        bare = await client.get(PREFIX, allow_redirects=False)
        assert bare.status == 301 and bare.headers["Location"] == f"{PREFIX}/"


async def test_student_rows_stay_out_of_a_lead_overview(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await populate(harness)
    cookie = await log_in(harness, client, LEAD_B)
    text = await (await client.get(f"{PREFIX}/?period=all", headers=with_cookie(cookie))).text()
    assert "Class A" not in text
    async with harness.database.session_factory() as session:
        names = set((await session.execute(select(Student.first_name))).scalars())
    for name in names - {"Mo", "Staff", "Lead A", "Lead B"}:
        assert name not in text


def row_names(page: str) -> list[str]:
    """The students page's rows, each its first cell's text without the notes after it."""
    return [
        re.sub(r"\s*<span.*", "", cell, flags=re.S).strip() for cell in ROW_HEADER.findall(page)
    ]


async def students_page(client: TestClient, cookie: str, query: str = "") -> str:  # type: ignore[type-arg]
    response = await client.get(f"{PREFIX}/students{query}", headers=with_cookie(cookie))
    assert response.status == 200, query
    return await response.text()


async def set_last_seen(harness: BotHarness, moments: dict[int, datetime]) -> None:
    async with harness.database.session_factory() as session:
        for telegram_id, moment in moments.items():
            await session.execute(
                update(Student).where(Student.telegram_id == telegram_id).values(last_seen=moment)
            )
        await session.commit()


async def test_admin_sees_every_student_by_last_active_as_their_cohorts_roster_does(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await populate(harness)
    # Lead A's own student row, in no cohort, comes before Nomad's and is not counted.
    lead_a = await log_in(harness, client, LEAD_A)
    nomad = harness.user(7_400_000_201, "Nomad")
    assert_no_error(await nomad.send("/start"))
    admin = await log_in(harness, client, ADMIN)
    # Last active in an order that is neither join order nor its reverse.
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    order = [7_400_000_003, 7_400_000_101, 7_400_000_001, 7_400_000_201, 7_400_000_004]
    order.append(7_400_000_002)
    await set_last_seen(
        harness, {telegram_id: base - timedelta(hours=n) for n, telegram_id in enumerate(order)}
    )

    page = await students_page(client, admin)
    escaped_name = "&lt;script&gt;alert(1)&lt;/script&gt;"
    # Hidden1 and Hidden2 are Students 3 and 4 of class A, as its roster numbers them; Nomad,
    # in no cohort and asked nothing, is the first of those in none.
    assert row_names(page) == ["Student 3", "Mo", escaped_name, "Student 1", "Student 4", "Ada"]
    for raw in (HOSTILE_NAME, HOSTILE_COHORT, "Hidden1", "Hidden2", "Nomad"):
        assert raw not in page
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in page
    assert page.count("(not shared with leads)") == 3  # Hidden1, Hidden2 and Nomad
    assert "Hasn't shared their progress" not in page  # admins see everyone's
    assert page.count(">2026-03-01<") == 6
    assert "no cohort" in page
    assert f'<a href="{PREFIX}/cohorts/{cohort_a}">Class A</a>' in page
    assert "page 1 of 1" in CAPTION.findall(page)[0]
    assert 'rel="next"' not in page and 'rel="prev"' not in page
    # Staff (leads, an admin, all with student rows of their own from /dashboard) are none.
    assert "Staff" not in page and "Lead A" not in page
    # The cohort's own roster, as the admin sees it, names and numbers them alike.
    roster = await (
        await client.get(f"{PREFIX}/cohorts/{cohort_a}", headers=with_cookie(admin))
    ).text()
    assert {"Student 3", "Student 4", "Ada", escaped_name} <= set(row_names(roster))
    # Only admins: the nav links it for them alone.
    assert f'href="{PREFIX}/students"' in page
    lead_home = await (await client.get(f"{PREFIX}/", headers=with_cookie(lead_a))).text()
    assert "/students" not in lead_home


async def test_students_page_is_for_admins_only(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    await populate(harness)
    lead_a = await log_in(harness, client, LEAD_A)
    refused = await client.get(f"{PREFIX}/students", headers=with_cookie(lead_a))
    assert refused.status == 404
    unknown = await client.get(f"{PREFIX}/nowhere", headers=with_cookie(lead_a))
    assert await refused.text() == await unknown.text()
    for query in ("", "?page=2"):
        assert (await client.get(f"{PREFIX}/students{query}")).status == 401
        forged = with_cookie("x" * 43)
        assert (await client.get(f"{PREFIX}/students{query}", headers=forged)).status == 401


async def test_students_are_paged_fifty_at_a_time(
    harness: BotHarness,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    cohort_a, _ = await setup_cohorts(harness)
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    async with harness.database.session_factory() as session:
        session.add_all(
            Student(
                telegram_id=7_500_000_000 + n,
                first_name=f"Bulk{n:03}",
                # Joined in reverse: the numbers are join order, not the list's order.
                cohort_id=cohort_a,
                joined_cohort_at=base - timedelta(seconds=n),
                first_seen=base - timedelta(days=1),
                last_seen=base - timedelta(minutes=n),
                shares=n % 10 != 7,
            )
            for n in range(120)
        )
        await session.commit()
    admin = await log_in(harness, client, ADMIN)

    def expected(numbers: range) -> list[str]:
        return [f"Student {120 - n}" if n % 10 == 7 else f"Bulk{n:03}" for n in numbers]

    first = await students_page(client, admin)
    assert row_names(first) == expected(range(0, 50))
    assert "Students (120), page 1 of 3" in CAPTION.findall(first)[0]
    assert f'href="{PREFIX}/students?page=2" rel="next"' in first and 'rel="prev"' not in first
    second = await students_page(client, admin, "?page=2")
    assert row_names(second) == expected(range(50, 100))
    assert "page 2 of 3" in CAPTION.findall(second)[0]
    assert f'href="{PREFIX}/students?page=1" rel="prev"' in second
    assert f'href="{PREFIX}/students?page=3" rel="next"' in second
    last = await students_page(client, admin, "?page=3")
    assert row_names(last) == expected(range(100, 120))
    assert 'rel="next"' not in last
    # Junk reads as the first page; a page past the end, as the last.
    for junk in ("abc", "0", "-1", "1.5", "99999999", "%3Cscript%3E", ""):
        assert row_names(await students_page(client, admin, f"?page={junk}")) == expected(
            range(0, 50)
        ), junk
    for beyond in ("4", "999999"):
        page = await students_page(client, admin, f"?page={beyond}")
        assert row_names(page) == expected(range(100, 120)), beyond
        assert "page 3 of 3" in CAPTION.findall(page)[0]
