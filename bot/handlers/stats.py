"""/stats and /export for admins and program leads, and the cohort screen's stats buttons.

Every handler sits behind IsStaff, checked on every update, buttons included; the services
look every cohort up through the viewer, so a lead never gets another lead's numbers, even
with forged buttons. Anyone else falls through to the fallback ("unknown command"/"menu
changed"). Staff screens are rendered, not shown: they are not counted as student events.
"""

import asyncio
import importlib

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions.stats import EXPORT_COHORT, STATS_COHORT
from bot.db.models import Student, utcnow
from bot.engine.callbacks import ActionCallback
from bot.filters import IsStaff, PrivateChat
from bot.screens import send_screen
from bot.services.export import ExportService
from bot.services.roles import Viewer
from bot.services.stats import DEFAULT_DAYS, StatsService, parse_period
from bot.services.tour import TourService

# matplotlib takes a second to import: the bot loads it in the background as it starts
# (preload_charts, a start-up step of the Dispatcher), and commands that never draw (content
# check, ask…) never load it.
CHARTS = "bot.services.charts"
CSV_ENCODING = "utf-8-sig"  # with a BOM, so that spreadsheet apps read names correctly


def parse_cohort_arg(arg: str) -> tuple[int, int | None] | None:
    """`<cohort id>` or `<cohort id>.<7|30|all>` from a button; None if forged."""
    cohort, _, period = arg.partition(".")
    if not cohort.isdigit() or len(cohort) > 12:
        return None
    return int(cohort), parse_period(period) if period else DEFAULT_DAYS


async def send_stats(
    bot: Bot,
    chat_id: int,
    reports: async_sessionmaker[AsyncSession],
    student: Student,
    viewer: Viewer,
    tour: TourService,
    stats: StatsService,
    cohort_id: int | None,
    days: int | None,
) -> bool:
    """Sends the report and its chart; False when the cohort is not the viewer's."""
    async with reports() as reading:
        report = await stats.report(reading, viewer, cohort_id, days)
    if report is None:
        return False
    await send_screen(bot, chat_id, tour.render(student, "stats", stats=report))
    from bot.services.charts import render_chart  # loaded at start-up: see CHARTS

    chart = await asyncio.to_thread(render_chart, report)
    await bot.send_photo(
        chat_id,
        BufferedInputFile(chart, filename="stats.png"),
        caption=tour.message("stats_chart", student, stats=report),
    )
    return True


async def send_export(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    reports: async_sessionmaker[AsyncSession],
    student: Student,
    viewer: Viewer,
    tour: TourService,
    export: ExportService,
    cohort_id: int | None,
) -> bool:
    """Sends the CSV; False when the cohort is not the viewer's. The pseudonyms' key comes
    through the update's session: a key made by this export is stored with the update."""
    key = await export.key(session)
    async with reports() as reading:
        found = await export.export(reading, viewer, cohort_id, key)
    if found is None:
        return False
    if not found.rows:
        await bot.send_message(chat_id, tour.message("export_empty", student))
        return True
    which = f"cohort-{cohort_id}" if cohort_id is not None else "all"
    name = f"progress-{which}-{utcnow().date().isoformat()}.csv"
    await bot.send_document(
        chat_id,
        BufferedInputFile(found.csv().encode(CSV_ENCODING), filename=name),
        caption=tour.message("export_caption", student),
    )
    return True


async def stats_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    reports: async_sessionmaker[AsyncSession],
    student: Student,
    viewer: Viewer,
    tour: TourService,
    stats: StatsService,
) -> None:
    days = parse_period(command.args)
    await send_stats(bot, message.chat.id, reports, student, viewer, tour, stats, None, days)


async def export_command(
    message: Message,
    bot: Bot,
    session: AsyncSession,
    reports: async_sessionmaker[AsyncSession],
    student: Student,
    viewer: Viewer,
    tour: TourService,
    export: ExportService,
) -> None:
    await send_export(bot, message.chat.id, session, reports, student, viewer, tour, export, None)


async def stats_cohort(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    bot: Bot,
    reports: async_sessionmaker[AsyncSession],
    student: Student,
    viewer: Viewer,
    tour: TourService,
    stats: StatsService,
) -> None:
    parsed = parse_cohort_arg(callback_data.arg)
    chat_id = callback.from_user.id
    if parsed is not None and await send_stats(
        bot, chat_id, reports, student, viewer, tour, stats, *parsed
    ):
        await callback.answer()
        return
    await _refuse(callback, student, tour)


async def export_cohort(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    bot: Bot,
    session: AsyncSession,
    reports: async_sessionmaker[AsyncSession],
    student: Student,
    viewer: Viewer,
    tour: TourService,
    export: ExportService,
) -> None:
    parsed = parse_cohort_arg(callback_data.arg)
    chat_id = callback.from_user.id
    if parsed is not None and await send_export(
        bot, chat_id, session, reports, student, viewer, tour, export, parsed[0]
    ):
        await callback.answer()
        return
    await _refuse(callback, student, tour)


async def _refuse(callback: CallbackQuery, student: Student, tour: TourService) -> None:
    """Someone else's cohort, or a forged button: the same note as any stale button."""
    await callback.answer(tour.message("menu_changed", student))


async def preload_charts() -> None:
    await asyncio.to_thread(importlib.import_module, CHARTS)


def create_router() -> Router:
    router = Router(name="stats")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    staff = IsStaff()
    router.message.register(stats_command, Command("stats"), staff)
    router.message.register(export_command, Command("export"), staff)
    router.callback_query.register(
        stats_cohort, ActionCallback.filter(F.name == STATS_COHORT), staff
    )
    router.callback_query.register(
        export_cohort, ActionCallback.filter(F.name == EXPORT_COHORT), staff
    )
    return router
