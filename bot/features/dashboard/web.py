"""The web dashboard: server-rendered pages for leads and admins, an aiohttp application.

The webhook workers mount it under DASHBOARD_PATH (bot/webhook.py), `careerbot dashboard`
serves it alone. Every page is drawn from the bot's own services, given the viewer, so a lead
reaches only their cohorts and sees the small-number rule exactly as the bot applies it: the
web layer renders the services' outputs and never counts anything itself.

A cohort that is not the viewer's, or does not exist, or an id that is no id, gets the same
404. Every response carries the security headers (`_secure`); pages are not cached, the one
stylesheet is. The access log (`QuietAccessLogger`) writes the path without its query, so
neither a login token nor anything else typed reaches it.
"""

import asyncio
import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Handler

from bot.config import Settings
from bot.contract import Content
from bot.db.engine import Database
from bot.db.models import Cohort, utcnow
from bot.features.announcements.service import AnnouncementService
from bot.features.cohorts.service import CohortService
from bot.features.dashboard.service import Clock, DashboardService, Visit
from bot.features.leads.service import list_leads
from bot.features.roster.service import RosterService
from bot.features.stats.export import ExportService, configured_key, file_name
from bot.features.stats.queries import StatsService, screen_titles
from bot.features.stats.report import FUNNEL_STEPS, PERIODS, PeriodUnknown, parse_period
from bot.features.tour.service import TourService
from bot.features.unanswered.service import UnansweredService
from bot.services.roles import Viewer

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STYLESHEET = HERE / "static" / "dashboard.css"
COOKIE = "careerbot_dashboard"
COHORT_ID = re.compile(r"[1-9][0-9]{0,8}")
# User agents of the previews chat apps make of a link (Telegram, WhatsApp, Slack, Discord…).
LINK_FETCHERS = re.compile(
    r"TelegramBot|WhatsApp|Slackbot|Slack-ImgProxy|Discordbot|facebookexternalhit|Twitterbot|"
    r"SkypeUriPreview|LinkedInBot|Iframely",
    re.IGNORECASE,
)
PAGE = re.compile(r"[1-9][0-9]{0,5}")
MAX_RANGE_DAYS = 3650
# No range starts before the bot could have had a student (and date arithmetic stays sane).
EARLIEST_DAY = date(2020, 1, 1)
STATIC_MAX_AGE = 86400
# Routes open without a session: the link's landing, the signed-out page, the stylesheet.
PUBLIC = frozenset({"login", "signed_out", "stylesheet"})
SECURITY_HEADERS = {
    # No inline script or style anywhere: the pages use the one stylesheet, same origin.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}

DASHBOARD: "web.AppKey[Dashboard]" = web.AppKey("dashboard")
VISIT = web.RequestKey("dashboard_visit", Visit)


class QuietAccessLogger(AbstractAccessLogger):
    """One line per request without the query string: a login link's token, and any text a
    form might carry, stay out of the log."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %d %.3fs",
            request.remote,
            request.method,
            # Still percent-encoded: a decoded line break would start a forged log line.
            request.rel_url.raw_path,
            response.status,
            time,
        )


@dataclass(frozen=True)
class Period:
    """The period a page covers: `days` before `now` (None: all time), as the bot's /stats
    takes it; `name` is the picker's choice ("7", "30", "all", or "range")."""

    days: int | None
    now: datetime
    name: str
    start: str = ""
    end: str = ""

    def query(self) -> str:
        if self.name == "range":
            return f"from={self.start}&to={self.end}"
        return f"period={self.name}"


class BadPeriod(ValueError):
    pass


def read_period(query: Any, now: datetime, today: date) -> Period:
    """`?period=7|30|all`, or `?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, from EARLIEST_DAY, to
    `today` in the program's time zone at the latest); neither: the bot's default."""
    start, end = query.get("from", ""), query.get("to", "")
    if start or end:
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            raise BadPeriod from None
        if not EARLIEST_DAY <= first <= last <= today or (last - first).days >= MAX_RANGE_DAYS:
            raise BadPeriod
        # The report counts back `days` from its `now`: the end of the last day asked for.
        end_of = datetime.combine(last + timedelta(days=1), time(), UTC) - timedelta(seconds=1)
        return Period(
            (last - first).days + 1, min(end_of, now), "range", first.isoformat(), last.isoformat()
        )
    try:
        days = parse_period(query.get("period"))
    except PeriodUnknown:
        raise BadPeriod from None
    return Period(days, now, "all" if days is None else str(days))


class Dashboard:
    """The pages; one per application, holding the services it draws on."""

    def __init__(
        self, settings: Settings, content: Content, database: Database, clock: Clock
    ) -> None:
        admins = settings.admin_ids
        self.settings, self.database, self.clock = settings, database, clock
        self.prefix = settings.dashboard_path
        self.logins = DashboardService(admins, settings.dashboard_session_hours, clock)
        self.cohorts = CohortService(content.catalog, settings.cohort_link_days, admins)
        self.stats = StatsService(
            content.catalog, admins, content.reasons, screen_titles(content.dialogs)
        )
        self.roster = RosterService(content.catalog, admins)
        self.unanswered = UnansweredService(admins)
        self.export = ExportService(content.catalog, configured_key(settings), admins)
        # Only its history is read here; it sends nothing.
        self.announcements = AnnouncementService(
            database.session_factory,
            TourService(content.catalog, content.dialogs),
            settings.broadcast_per_second,
            settings.announcement_retry_hours,
            settings.announcement_retry_base_seconds,
            settings.program_zone,
        )
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.stylesheet = STYLESHEET.read_bytes()
        version = hashlib.sha256(self.stylesheet).hexdigest()[:12]
        self.stylesheet_url = f"{self.prefix}/static/dashboard.css?v={version}"

    # --- plumbing -------------------------------------------------------------------------

    def page(
        self, request: web.Request, name: str, status: int = 200, **values: Any
    ) -> web.Response:
        visit: Visit | None = request.get(VISIT)
        text = self.templates.get_template(name).render(
            prefix=self.prefix,
            stylesheet=self.stylesheet_url,
            viewer=visit.viewer if visit else None,
            csrf_token=visit.csrf_token if visit else "",
            # The bot's periods and funnel steps, so the pages name them as /stats does.
            periods=list(PERIODS),
            funnel_steps=FUNNEL_STEPS,
            **values,
        )
        return web.Response(text=text, status=status, content_type="text/html")

    def not_found(self, request: web.Request) -> web.Response:
        return self.page(request, "not_found.html", status=404)

    def signed_out(self, status: int = 303) -> web.Response:
        response = web.Response(status=status, headers={"Location": f"{self.prefix}/signed-out"})
        response.del_cookie(COOKIE, path=self.prefix, secure=True, httponly=True, samesite="Lax")
        return response

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every page but the public ones needs a live session of someone still on staff."""
        try:
            route = request.match_info.route.name
            if route not in PUBLIC:
                async with self.database.session_factory() as session:
                    visit = await self.logins.visit(session, _session_cookie(request))
                if visit.revoked:
                    return self.signed_out()
                if visit.viewer is None:
                    return self.page(request, "signed_out.html", status=401, expired=False)
                request[VISIT] = visit
            return await handler(request)
        except BadPeriod:
            return self.page(request, "bad_period.html", status=400)
        except web.HTTPNotFound:
            # The router's own 404 (an id that is no number, an unknown path) looks like ours.
            return self.not_found(request)

    async def _secure(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")

    @staticmethod
    def _viewer(request: web.Request) -> Viewer:
        viewer = request[VISIT].viewer
        assert viewer is not None  # the guard let the request through
        return viewer

    async def _cohort(self, request: web.Request) -> Cohort:
        """The cohort the URL names, if the viewer may see it; any other id is not found."""
        text = request.match_info.get("cohort_id", "")
        if COHORT_ID.fullmatch(text) is None:
            raise web.HTTPNotFound
        async with self.database.report_sessions() as session:
            cohort = await self.cohorts.get(session, self._viewer(request), int(text))
        if cohort is None:
            raise web.HTTPNotFound
        return cohort

    def _period(self, request: web.Request) -> Period:
        now = self.clock()
        return read_period(request.query, now, now.astimezone(self.settings.program_zone).date())

    @staticmethod
    def _page_number(request: web.Request, name: str) -> int:
        text = request.query.get(name, "1")
        return int(text) if PAGE.fullmatch(text) else 1

    # --- sign in and out ------------------------------------------------------------------

    async def login(self, request: web.Request) -> web.Response:
        if LINK_FETCHERS.search(request.headers.get("User-Agent", "")):
            # A chat app making a preview of a link someone pasted or forwarded: it must not
            # use the link up before its owner opens it.
            return self.page(request, "signed_out.html", preview=True)
        async with self.database.session_factory() as session:
            login = await self.logins.redeem(session, request.query.get("token", ""))
        if login is None:
            return self.page(request, "signed_out.html", status=403, expired=True)
        response = web.Response(status=303, headers={"Location": f"{self.prefix}/"})
        # SameSite=Lax, not Strict: the link is opened from Telegram, another site, and a
        # Strict cookie would not come along on the redirect to the first page.
        response.set_cookie(
            COOKIE,
            login.session_id,
            max_age=int(self.settings.dashboard_session_hours * 3600),
            path=self.prefix,
            secure=True,
            httponly=True,
            samesite="Lax",
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        form = await request.post()
        token = form.get("csrf_token")
        async with self.database.session_factory() as session:
            ended = await self.logins.end(
                session, _session_cookie(request), token if isinstance(token, str) else ""
            )
        if not ended:
            return self.page(request, "forbidden.html", status=403)
        return self.signed_out()

    async def signed_out_page(self, request: web.Request) -> web.Response:
        return self.page(request, "signed_out.html", expired=False, left=True)

    async def stylesheet_file(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.stylesheet,
            content_type="text/css",
            headers={"Cache-Control": f"public, max-age={STATIC_MAX_AGE}"},
        )

    # --- pages ----------------------------------------------------------------------------

    async def overview(self, request: web.Request) -> web.Response:
        viewer, period = self._viewer(request), self._period(request)
        number = self._page_number(request, "page")
        async with self.database.report_sessions() as session:
            cohorts = await self.stats.cohort_page(session, viewer, number, period.days, period.now)
        return self.page(request, "overview.html", cohorts=cohorts, period=period)

    async def cohort(self, request: web.Request) -> web.Response:
        viewer, cohort, period = (
            self._viewer(request),
            await self._cohort(request),
            self._period(request),
        )
        async with self.database.report_sessions() as session:
            scope = await self.stats.scope(session, viewer, cohort.id)
            assert scope is not None  # `_cohort` found it the viewer's
            report = await self.stats.cohort_stats(session, scope, period.days, period.now)
            roster = await self.roster.everyone(session, scope)
            questions = await self.unanswered.page(
                session, viewer, cohort.id, self._page_number(request, "questions")
            )
            view = await self.cohorts.view(session, cohort, "", viewer)
            history = await self.announcements.history(
                session, view, self._page_number(request, "announcements"), self.settings.admin_ids
            )
        return self.page(
            request,
            "cohort.html",
            cohort=view,
            report=report,
            period=period,
            roster=roster,
            questions=questions,
            history=history,
        )

    async def _cohort_id(self, request: web.Request) -> int | None:
        """The cohort the URL names (the viewer's, else not found); None: no cohort named,
        all the viewer's students."""
        if "cohort_id" not in request.match_info:
            return None
        return (await self._cohort(request)).id

    async def chart(self, request: web.Request) -> web.Response:
        viewer, cohort_id, period = (
            self._viewer(request),
            await self._cohort_id(request),
            self._period(request),
        )
        async with self.database.report_sessions() as session:
            report = await self.stats.report(session, viewer, cohort_id, period.days, period.now)
        assert report is not None
        from bot.features.stats.charts import render_chart  # matplotlib: only once drawn

        png = await asyncio.to_thread(render_chart, report)
        return web.Response(body=png, content_type="image/png")

    async def csv(self, request: web.Request) -> web.Response:
        viewer, cohort_id = self._viewer(request), await self._cohort_id(request)
        # The pseudonyms' key as the bot's /export gets it: a key made now is kept for both.
        async with self.database.session_factory() as session:
            key = await self.export.key(session)
            await session.commit()
        async with self.database.report_sessions() as session:
            found = await self.export.export(session, viewer, cohort_id, key)
        assert found is not None
        name = file_name(cohort_id)
        return web.Response(
            body=found.csv_file(),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def leads(self, request: web.Request) -> web.Response:
        viewer = self._viewer(request)
        if not viewer.is_admin:
            raise web.HTTPNotFound
        async with self.database.report_sessions() as session:
            leads = await list_leads(session)
            cohorts = await self.cohorts.visible(session, viewer)
        return self.page(request, "leads.html", leads=leads, cohorts=cohorts)

    async def students(self, request: web.Request) -> web.Response:
        viewer = self._viewer(request)
        async with self.database.report_sessions() as session:
            found = await self.roster.everyone_page(
                session, viewer, self._page_number(request, "page")
            )
        if found is None:
            raise web.HTTPNotFound
        return self.page(request, "students.html", students=found)


def create_dashboard_app(
    settings: Settings, content: Content, database: Database, clock: Clock = utcnow
) -> web.Application:
    """The dashboard, to be mounted at `settings.dashboard_path` (`app.add_subapp`). The
    caller owns `database` and closes it; `clock` stands in for the time in tests."""
    dashboard = Dashboard(settings, content, database, clock)
    app = web.Application(middlewares=[dashboard.guard])
    app[DASHBOARD] = dashboard
    app.on_response_prepare.append(dashboard._secure)
    routes: list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]], str]] = [
        ("GET", "/login", dashboard.login, "login"),
        ("POST", "/logout", dashboard.logout, "logout"),
        ("GET", "/signed-out", dashboard.signed_out_page, "signed_out"),
        ("GET", "/static/dashboard.css", dashboard.stylesheet_file, "stylesheet"),
        ("GET", "/", dashboard.overview, "overview"),
        ("GET", "/cohorts/{cohort_id}", dashboard.cohort, "cohort"),
        ("GET", "/cohorts/{cohort_id}/chart.png", dashboard.chart, "chart"),
        ("GET", "/cohorts/{cohort_id}/export.csv", dashboard.csv, "csv"),
        ("GET", "/chart.png", dashboard.chart, "chart_all"),
        ("GET", "/export.csv", dashboard.csv, "csv_all"),
        ("GET", "/leads", dashboard.leads, "leads"),
        ("GET", "/students", dashboard.students, "students"),
    ]
    for method, path, handler, name in routes:
        if method == "GET":
            app.router.add_get(path, handler, name=name, allow_head=True)
        else:
            app.router.add_route(method, path, handler, name=name)
    return app


def mount_dashboard(
    root: web.Application,
    settings: Settings,
    content: Content,
    database: Database,
    clock: Clock = utcnow,
) -> None:
    """Serves the dashboard from `root` under DASHBOARD_PATH; the prefix without its slash,
    as people type it, leads to the first page. `clock`: see create_dashboard_app."""
    prefix = settings.dashboard_path

    async def to_first_page(_request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(f"{prefix}/")

    # Before the sub-application, which would take the bare prefix for its own (a 404).
    root.router.add_get(prefix, to_first_page)
    root.add_subapp(prefix, create_dashboard_app(settings, content, database, clock))


def _session_cookie(request: web.Request) -> str | None:
    """The session cookie; none when the request carries it twice (a cookie planted by
    another site of the domain must not stand in for, or beside, the real one)."""
    header = request.headers.get("Cookie", "")
    if sum(1 for part in header.split(";") if part.strip().startswith(f"{COOKIE}=")) > 1:
        return None
    return request.cookies.get(COOKIE)


def public_url(settings: Settings, host: str, port: int) -> str:
    """Where the dashboard is opened: DASHBOARD_URL, else this host and port."""
    return settings.dashboard_url or f"http://{host}:{port}{settings.dashboard_path}"
