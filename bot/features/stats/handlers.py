"""/stats and /export for admins and program leads, and the cohort screen's stats buttons.

Every handler sits behind IsStaff, checked on every update, buttons included; the services
look every cohort up through the viewer, so a lead never gets another lead's numbers, even
with forged buttons. Anyone else falls through to the fallback ("unknown command"/"menu
changed"). Staff screens are rendered, not shown: they are not counted as student events.
"""

import asyncio
import importlib

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.callbacks import ActionCallback
from bot.features.feature import Kit, Wiring
from bot.features.stats.contract import EXPORT_COHORT, STATS_COHORT, STATS_PERIOD
from bot.features.stats.export import ExportService, configured_key, file_name
from bot.features.stats.queries import StatsService, screen_titles
from bot.features.stats.report import DEFAULT_DAYS, PeriodUnknown, parse_period
from bot.filters import IsStaff, PrivateChat
from bot.services.roles import Viewer
from bot.ui import Ui

# matplotlib takes a second to import: the bot loads it in the background as it starts
# (preload_charts, a start-up step of the Dispatcher), and commands that never draw (content
# check, ask…) never load it.
CHARTS = "bot.features.stats.charts"

# Which students a report covers: a cohort (None: all the viewer may see), and a period in
# days (None: all time).
Scope = tuple[int | None, int | None]


class CohortArg(Filter):
    """Reads a button's `<cohort id>` or `<cohort id>.<7|30|all>` into `scope`; a forged
    arg does not pass (and gets the note of any stale button)."""

    async def __call__(
        self, callback: CallbackQuery, callback_data: ActionCallback
    ) -> bool | dict[str, Scope]:
        cohort, dot, period = callback_data.arg.partition(".")
        if not cohort.isdigit() or len(cohort) > 12 or (dot and not period):
            return False
        try:
            days = parse_period(period) if period else DEFAULT_DAYS
        except PeriodUnknown:
            return False
        return {"scope": (int(cohort), days)}


class PeriodArg(Filter):
    """Reads a period button's `<7|30|all>` (all the viewer's cohorts) or
    `<7|30|all>.<cohort id>` into `scope`; a forged arg does not pass."""

    async def __call__(
        self, callback: CallbackQuery, callback_data: ActionCallback
    ) -> bool | dict[str, Scope]:
        period, dot, cohort = callback_data.arg.partition(".")
        if not period or (dot and (not cohort.isdigit() or len(cohort) > 12)):
            return False
        try:
            days = parse_period(period)
        except PeriodUnknown:
            return False
        return {"scope": (int(cohort) if dot else None, days)}


async def send_stats(
    ui: Ui,
    reports: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    stats: StatsService,
    scope: Scope,
) -> bool:
    """Sends the report and its chart; False when the cohort is not the viewer's."""
    async with reports() as reading:
        report = await stats.report(reading, viewer, *scope)
    if report is None:
        return False
    await ui.answer_press()
    await ui.send(ui.tour.render(ui.student, "stats", stats=report))
    from bot.features.stats.charts import render_chart  # loaded at start-up: see CHARTS

    chart = await asyncio.to_thread(render_chart, report)
    await ui.photo(chart, "stats.png", ui.text("stats_chart", stats=report))
    return True


async def send_export(
    ui: Ui,
    reports: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    export: ExportService,
    cohort_id: int | None,
) -> bool:
    """Sends the CSV; False when the cohort is not the viewer's. The pseudonyms' key comes
    through the update's session: a key made by this export is stored with the update."""
    key = await export.key(ui.session)
    async with reports() as reading:
        found = await export.export(reading, viewer, cohort_id, key)
    if found is None:
        return False
    await ui.answer_press()
    if not found.rows:
        await ui.say("export_empty")
        return True
    await ui.document(found.csv_file(), file_name(cohort_id), ui.text("export_caption"))
    return True


async def stats_command(
    message: Message,
    command: CommandObject,
    reports: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    ui: Ui,
    stats: StatsService,
) -> None:
    try:
        days = parse_period(command.args)
    except PeriodUnknown:
        await ui.say("stats_period_unknown")
        return
    await send_stats(ui, reports, viewer, stats, (None, days))


async def export_command(
    message: Message,
    reports: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    ui: Ui,
    export: ExportService,
) -> None:
    await send_export(ui, reports, viewer, export, None)


async def stats_button(
    callback: CallbackQuery,
    scope: Scope,
    reports: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    ui: Ui,
    stats: StatsService,
) -> None:
    if not await send_stats(ui, reports, viewer, stats, scope):
        await refuse(callback, ui)


async def export_cohort(
    callback: CallbackQuery,
    scope: Scope,
    reports: async_sessionmaker[AsyncSession],
    viewer: Viewer,
    ui: Ui,
    export: ExportService,
) -> None:
    if not await send_export(ui, reports, viewer, export, scope[0]):
        await refuse(callback, ui)


async def refuse(callback: CallbackQuery, ui: Ui) -> None:
    """Someone else's cohort, or a forged button: the same note as any stale button."""
    await ui.toast("menu_changed")


async def preload_charts() -> None:
    await asyncio.to_thread(importlib.import_module, CHARTS)


def setup(kit: Kit) -> Wiring:
    settings, catalog = kit.settings, kit.content.catalog
    return Wiring(
        services={
            "stats": StatsService(
                catalog, settings.admin_ids, kit.content.reasons, screen_titles(kit.content.dialogs)
            ),
            "export": ExportService(catalog, configured_key(settings), settings.admin_ids),
        },
        on_startup=[preload_charts],
    )


def create_router() -> Router:
    router = Router(name="stats")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    staff, button = IsStaff(), ActionCallback.filter
    router.message.register(stats_command, Command("stats"), staff)
    router.message.register(export_command, Command("export"), staff)
    # A cohort's button and a period button differ only in how their arg reads (the filter).
    stats_cohort, stats_period = button(F.name == STATS_COHORT), button(F.name == STATS_PERIOD)
    router.callback_query.register(stats_button, stats_cohort, staff, CohortArg())
    router.callback_query.register(
        export_cohort, button(F.name == EXPORT_COHORT), staff, CohortArg()
    )
    router.callback_query.register(stats_button, stats_period, staff, PeriodArg())
    refused = {STATS_COHORT, STATS_PERIOD, EXPORT_COHORT}
    router.callback_query.register(refuse, button(F.name.in_(refused)), staff)
    return router
