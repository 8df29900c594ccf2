"""The web dashboard over real HTTP, signed in without the bot: a session opened straight
through DashboardService, for tests and benchmarks that read pages rather than log in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import DummyCookieJar, web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.contract import Content
from bot.db.engine import Database
from bot.db.models import utcnow
from bot.features.dashboard.service import Clock, DashboardService
from bot.features.dashboard.web import COOKIE, mount_dashboard

# The client and the headers that carry the session.
SignedIn = tuple[TestClient[web.Request, web.Application], dict[str, str]]


@asynccontextmanager
async def signed_in(
    settings: Settings,
    content: Content,
    database: Database,
    telegram_id: int,
    clock: Clock = utcnow,
) -> AsyncIterator[SignedIn]:
    """A test client of the dashboard (mounted as the workers mount it) and the headers of
    a fresh session of `telegram_id`, who must be staff."""
    logins = DashboardService(settings.admin_ids, settings.dashboard_session_hours, clock)
    async with database.session_factory() as session:
        token = await logins.issue(session, telegram_id)
        await session.commit()
        login = await logins.redeem(session, token)
    assert login is not None, f"{telegram_id} is not staff"
    root = web.Application()
    mount_dashboard(root, settings, content, database, clock)
    # The cookie is Secure and the test server speaks plain HTTP: it is sent by hand.
    headers = {"Cookie": f"{COOKIE}={login.session_id}"}
    async with TestClient(TestServer(root), cookie_jar=DummyCookieJar()) as client:
        yield client, headers
