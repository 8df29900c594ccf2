"""`careerbot` — run the bot, try it in a terminal, check content, manage the database."""

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings, SettingsError, load_settings
from bot.content.catalog import Catalog, load_profiles
from bot.content.check import DEFAULT_STALE_MONTHS
from bot.content.yaml_source import SourceErrors
from bot.db.engine import Database
from bot.db.migrate import upgrade, upgrade_async
from bot.db.models import Cohort
from bot.failures import Failure, Stopped, database_errors, until_stopped
from bot.features.cohorts.service import hand_cohort, staff_member
from bot.features.leads.service import grant_lead, list_leads, revoke_lead
from bot.features.stats.export import Export, ExportService, configured_key
from bot.features.stats.queries import StatsService, screen_titles
from bot.features.stats.report import DEFAULT_DAYS
from bot.services.roles import Role, Viewer

T = TypeVar("T")

# Importing aiogram takes seconds (its hundreds of pydantic types), so only the commands that
# talk to Telegram (run, webhook, chat) import the bot (`bot.app` and what builds on it); the
# others answer at once. The dialogs (Jinja) load only for the commands that render them.
if TYPE_CHECKING:
    from aiogram import Dispatcher

    from bot.contract import Content

logger = logging.getLogger("careerbot")

CHAT_USER_ID = 1
CLI_VIEWER = Viewer(0, Role.ADMIN)  # whoever runs the command line operates the bot
MAX_DAYS = 3650


class CommandFailed(Failure):
    """A command cannot go on for a reason of its own (bad content, an unknown cohort); like
    every Failure, its message is shown as one line, without a traceback."""


def _content(settings: Settings) -> "Content":
    from bot.contract import load_content

    try:
        return load_content(settings)
    except SourceErrors as exc:
        raise _content_failed(exc) from None


def _catalog(settings: Settings) -> Catalog:
    """The profiles without the dialogs, for commands that render no screen."""
    try:
        return load_profiles(settings.content_dir)[0]
    except SourceErrors as exc:
        raise _content_failed(exc) from None


def _content_failed(exc: SourceErrors) -> CommandFailed:
    return CommandFailed(f"content has {len(exc.errors)} error(s):\n{exc}")


async def _run_polling(settings: Settings) -> None:
    from bot.app import build_dispatcher, create_bot, freeze_startup_objects, pool_limits
    from bot.telegram_client import call_at_start

    content = _content(settings)
    await _upgrade_async(settings)
    database = Database.connect(settings.database_url, pool_limits(settings))
    bot = create_bot(settings)
    # One polling bot per token: the one before it on this host, if any, is gone.
    holder = f"{socket.gethostname()}:polling"
    dispatcher = build_dispatcher(settings, content, database, polling=True, holder=holder)
    dispatcher.startup.register(freeze_startup_objects)  # the last step of start-up
    try:
        # Cached by the Bot, so polling starts without asking again.
        await until_stopped(call_at_start("getMe", bot.me, settings))
        await dispatcher.start_polling(bot, handle_signals=True, close_bot_session=False)
        await _finish_updates_in_flight(dispatcher)
    finally:
        await bot.session.close()
        await database.close()


# Long enough for an update's replies on a slow link; a stop signal never waits longer.
IN_FLIGHT_SECONDS = 30


async def _finish_updates_in_flight(dispatcher: "Dispatcher") -> None:
    """After a stop signal, the updates being handled finish their replies before the Bot
    API session closes: aiogram stops polling without waiting for them, and a reply cut off
    by the closed session would be lost (and logged as a failed update)."""
    # aiogram keeps the tasks of updates handled concurrently here, with no public accessor.
    tasks: set[asyncio.Task[object]] = set(getattr(dispatcher, "_handle_update_tasks", ()))
    if tasks:
        await asyncio.wait(tasks, timeout=IN_FLIGHT_SECONDS)


async def _run_chat(settings: Settings, user_id: int, first_name: str) -> None:
    from bot.app import build_dispatcher, create_bot, freeze_startup_objects
    from bot.standin.conversation import Conversation
    from bot.standin.session import StandInSession
    from bot.standin.terminal import TerminalChat

    logging.getLogger().setLevel(logging.WARNING)
    content = _content(settings)
    await _upgrade_async(settings)
    database = Database.connect(settings.database_url)
    session = StandInSession()
    bot = create_bot(settings, session)
    dispatcher = build_dispatcher(settings, content, database)
    await dispatcher.emit_startup(bot=bot, **dispatcher.workflow_data)
    await freeze_startup_objects()
    try:
        conversation = Conversation(dispatcher, bot, session.telegram, user_id, first_name)
        await TerminalChat(conversation).run()
    finally:
        await dispatcher.emit_shutdown(bot=bot, **dispatcher.workflow_data)
        await database.close()


def cmd_default(settings: Settings, args: argparse.Namespace) -> None:
    """With a token the bot polls Telegram; without one it opens the terminal chat."""
    if settings.bot_token is None:
        print("No BOT_TOKEN set: starting `careerbot chat` (the bot in this terminal).")
        cmd_chat(settings, argparse.Namespace(user_id=CHAT_USER_ID, name="Student"))
    else:
        cmd_run(settings, args)


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    if settings.bot_token is None:
        raise CommandFailed(
            "setting BOT_TOKEN: required to talk to Telegram (try `careerbot chat`)"
        )
    asyncio.run(_run_polling(settings))


def cmd_webhook(settings: Settings, args: argparse.Namespace) -> None:
    if settings.bot_token is None or settings.webhook_secret is None or not settings.webhook_url:
        raise CommandFailed(
            "settings BOT_TOKEN, WEBHOOK_URL and WEBHOOK_SECRET are required in webhook mode"
        )
    if args.workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        raise CommandFailed(
            "several workers need PostgreSQL (and REDIS_URL): SQLite serves one process"
        )
    from bot.webhook import run_workers

    _content(settings)
    _upgrade(settings)
    run_workers(settings, args.workers)


def cmd_dashboard(settings: Settings, args: argparse.Namespace) -> None:
    """Serves the web dashboard alone (polling and local use; webhook workers serve it too)."""
    from aiohttp import web

    from bot.features.dashboard.web import QuietAccessLogger, mount_dashboard, public_url

    content = _content(settings)
    _upgrade(settings)
    database = Database.connect(settings.database_url)
    root = web.Application()
    mount_dashboard(root, settings, content, database)

    async def close_database(_app: web.Application) -> None:
        await database.close()

    root.on_cleanup.append(close_database)
    url = public_url(settings, args.host, args.port)
    print(f"dashboard on {url}/ — send /dashboard to the bot for a link (Ctrl-C stops)")
    if settings.dashboard_url is None:
        print(f"the bot sends links only with DASHBOARD_URL set, e.g. DASHBOARD_URL={url}")
    web.run_app(
        root,
        host=args.host,
        port=args.port,
        access_log_class=QuietAccessLogger,
        print=None,
        handle_signals=True,
    )


def cmd_chat(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(_run_chat(settings, args.user_id, args.name))


def cmd_content_check(settings: Settings, args: argparse.Namespace) -> None:
    from bot.content.check import card_errors, link_and_date_errors, stale_facts
    from bot.contract import load_content

    content = None
    try:
        content = load_content(settings)
        errors = []
    except SourceErrors as exc:
        errors = exc.errors
    # The cards are read even when a profile is broken, so one run shows every mistake.
    catalog = content.catalog if content is not None else None
    errors += card_errors(settings.content_dir, catalog)
    if catalog is not None:
        errors += link_and_date_errors(settings.content_dir, catalog)
        if args.stale is not None:
            for line in stale_facts(settings.content_dir, catalog, args.stale, date.today()):
                print(line)
    if errors:
        raise _content_failed(SourceErrors(errors))
    assert content is not None
    print(
        f"content OK: {len(content.catalog)} career(s), {len(content.dialogs.nodes)} dialog nodes"
    )


def cmd_content_import(settings: Settings, args: argparse.Namespace) -> None:
    """Imports career cards into profiles; every card is read before anything is written."""
    from bot.content.importer import import_cards, write

    try:
        results = import_cards(args.paths, settings.content_dir)
    except SourceErrors as exc:
        raise CommandFailed(
            f"{len(exc.errors)} error(s) in the cards, nothing written:\n{exc}"
        ) from None
    if not args.dry_run:
        write(results)
    for result in results:
        print(f"{_shown(result.profile_file)}: {result.status}")
        if result.card_copy.resolve() != result.card.file.resolve():
            print(f"{_shown(result.card_copy)}: {result.card_status}")
    if args.dry_run:
        print("dry run: nothing written")


def _shown(path: Path) -> Path:
    """`path` relative to the current directory when it is under it, as an author types it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def cmd_ask(settings: Settings, args: argparse.Namespace) -> None:
    """Prints the answer exactly as the bot would send it, for authors testing content."""
    from bot.contract import render_answer

    content = _content(settings)
    if args.career is not None and content.catalog.get(args.career) is None:
        known = ", ".join(profile.slug for profile in content.catalog)
        raise CommandFailed(f"no career '{args.career}' (known: {known})")
    screen, answer = render_answer(content, args.question, args.career)
    print(f"[{answer.reason}, score {answer.score:g}]", file=sys.stderr)
    print("\n\n".join(screen.parts))
    for row in screen.rows:
        print("  ".join(f"[{button.text}]" for button in row))


def _upgrade(settings: Settings, revision: str = "head") -> None:
    """Every command that uses the database first brings it up to date: the first touch, so
    where a database that cannot be reached or opened becomes one line."""
    with database_errors(settings.database_url):
        upgrade(settings.database_url, revision)


async def _upgrade_async(settings: Settings) -> None:
    with database_errors(settings.database_url):
        await upgrade_async(settings.database_url)


async def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    await _upgrade_async(settings)
    database = Database.connect(settings.database_url)
    try:
        async with database.session_factory() as session:
            return await work(session)
    finally:
        await database.close()


def cmd_cohort(settings: Settings, args: argparse.Namespace) -> None:
    """Hands a cohort to another lead, as an admin does with 🔁 on the cohort's screen."""

    async def work(session: AsyncSession) -> str:
        cohort = await session.get(Cohort, args.cohort_id)
        if cohort is None:
            raise CommandFailed(f"cohort {args.cohort_id}: no such cohort")
        lead = await staff_member(session, args.telegram_id)
        if lead is None:
            raise CommandFailed(
                f"{args.telegram_id} is not a program lead: add them with `careerbot lead add`"
            )
        former = await hand_cohort(session, cohort, lead)
        # No bot here to tell them: the leads find it in /cohorts.
        return (
            f"cohort {cohort.id} ({cohort.name}) is now led by {lead.name} "
            f"({lead.telegram_id}); before: {former}. Neither lead is told by message."
        )

    print(asyncio.run(_with_session(settings, work)))


def cmd_lead(settings: Settings, args: argparse.Namespace) -> None:
    """Grants, revokes and lists program leads, as an admin does with /addlead in the bot."""

    async def work(session: AsyncSession) -> str:
        # No bot here: the running bot sets the lead's command menu at its next start
        # (bot/features/leads/menus.py); /addlead and /removelead in the bot do it at once.
        menu = "their command menu follows when the bot next starts"
        if args.lead_command == "add":
            added = await grant_lead(session, args.telegram_id, args.name, None)
            said = f"{args.telegram_id} is {'now' if added else 'already'} a program lead"
            return f"{said}; {menu}" if added else said
        if args.lead_command == "remove":
            removed = await revoke_lead(session, args.telegram_id)
            said = f"{args.telegram_id} {'is no longer' if removed else 'was not'} a program lead"
            return f"{said}; {menu}" if removed else said
        leads = await list_leads(session)
        return "\n".join(f"{lead.telegram_id}\t{lead.name}" for lead in leads) or "no leads"

    print(asyncio.run(_with_session(settings, work)))


def period_days(text: str) -> int | None:
    """`--days`: a number of days (1-3650), or `all`."""
    if text.strip().lower() == "all":
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"expected 1-{MAX_DAYS} or 'all', got {text!r}")
    return int(text)


def cmd_stats(settings: Settings, args: argparse.Namespace) -> None:
    """Prints the usage stats as /stats shows them to an admin (all numbers exact)."""
    from bot.db.models import Student
    from bot.engine.text import plain_text
    from bot.features.tour.service import TourService

    content = _content(settings)
    service = StatsService(
        content.catalog, settings.admin_ids, content.reasons, screen_titles(content.dialogs)
    )

    async def work(session: AsyncSession) -> str:
        report = await service.report(session, CLI_VIEWER, args.cohort, args.days)
        if report is None:
            raise CommandFailed(f"no cohort {args.cohort}")
        if args.chart is not None:
            from bot.features.stats.charts import render_chart

            args.chart.write_bytes(render_chart(report))
        tour = TourService(content.catalog, content.dialogs)
        screen = tour.render(Student(first_name="admin"), "stats", stats=report)
        return plain_text("\n\n".join(screen.parts))

    print(asyncio.run(_with_session(settings, work)))


def cmd_export(settings: Settings, args: argparse.Namespace) -> None:
    """Writes the per-student progress CSV (pseudonymous, one row per student)."""
    service = ExportService(_catalog(settings), configured_key(settings), settings.admin_ids)

    async def work(session: AsyncSession) -> Export:
        key = await service.key(session)
        await session.commit()  # a key made now is the one the bot's /export uses too
        found = await service.export(session, CLI_VIEWER, args.cohort, key)
        if found is None:
            raise CommandFailed(f"no cohort {args.cohort}")
        return found

    found = asyncio.run(_with_session(settings, work))
    if args.output is None:
        sys.stdout.write(found.csv())  # piped to another program: no BOM
    else:
        args.output.write_bytes(found.csv_file())


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    _upgrade(settings, args.revision)
    print(f"database upgraded to {args.revision}")


def telegram_id(text: str) -> int:
    """A Telegram user id, as argparse checks it: a positive whole number that fits the DB."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**52:
        raise argparse.ArgumentTypeError(f"not a Telegram user id: {text!r}")
    return int(text)


def cohort_id(text: str) -> int:
    """A cohort's id as /cohorts shows it to admins: a positive whole number (an int4)."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
        raise argparse.ArgumentTypeError(f"not a cohort id: {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careerbot", description=__doc__)
    parser.set_defaults(handler=cmd_default)
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="poll Telegram (or TELEGRAM_API_URL) for updates")
    run.set_defaults(handler=cmd_run)

    webhook = commands.add_parser("webhook", help="serve Telegram's webhook with N workers")
    webhook.add_argument("--workers", type=int, default=1, choices=range(1, 65), metavar="N")
    webhook.set_defaults(handler=cmd_webhook)

    dashboard = commands.add_parser("dashboard", help="serve the web dashboard alone")
    dashboard.add_argument("--port", type=int, required=True, metavar="N")
    dashboard.add_argument("--host", default="127.0.0.1")
    dashboard.set_defaults(handler=cmd_dashboard)

    chat = commands.add_parser("chat", help="talk to the bot in this terminal, no Telegram")
    chat.add_argument("--user-id", type=int, default=CHAT_USER_ID, help="the student's id")
    chat.add_argument("--name", default="Student", help="the student's first name")
    chat.set_defaults(handler=cmd_chat)

    content = commands.add_parser("content", help="career profiles and dialogs")
    content_commands = content.add_subparsers(title="content commands", required=True)
    check = content_commands.add_parser("check", help="validate all content and dialogs")
    check.add_argument(
        "--stale",
        type=int,
        nargs="?",
        const=DEFAULT_STALE_MONTHS,
        metavar="MONTHS",
        help="also list dated facts older than MONTHS months "
        f"(default {DEFAULT_STALE_MONTHS}); a report, not a failure",
    )
    check.set_defaults(handler=cmd_content_check)
    content_import = content_commands.add_parser(
        "import", help="create or update profiles from career cards (*.txt)"
    )
    content_import.add_argument("paths", nargs="+", type=Path, metavar="FILE|DIR")
    content_import.add_argument(
        "--dry-run", action="store_true", help="report what would change, write nothing"
    )
    content_import.set_defaults(handler=cmd_content_import)

    ask = commands.add_parser("ask", help="print the bot's answer to a question")
    ask.add_argument("question")
    ask.add_argument("--career", help="the career slug the student is on")
    ask.set_defaults(handler=cmd_ask)

    lead = commands.add_parser("lead", help="grant, revoke or list program leads")
    lead_commands = lead.add_subparsers(title="lead commands", dest="lead_command", required=True)
    lead_add = lead_commands.add_parser("add", help="make someone a program lead")
    lead_add.add_argument("telegram_id", type=telegram_id)
    lead_add.add_argument("name")
    lead_remove = lead_commands.add_parser("remove", help="revoke a program lead")
    lead_remove.add_argument("telegram_id", type=telegram_id)
    lead_commands.add_parser("list", help="list the program leads")
    lead.set_defaults(handler=cmd_lead)

    cohort = commands.add_parser("cohort", help="hand a cohort to another lead")
    cohort_commands = cohort.add_subparsers(
        title="cohort commands", dest="cohort_command", required=True
    )
    cohort_hand = cohort_commands.add_parser("hand", help="make a program lead the cohort's lead")
    cohort_hand.add_argument("cohort_id", type=cohort_id, metavar="ID")
    cohort_hand.add_argument("telegram_id", type=telegram_id, metavar="LEAD_TELEGRAM_ID")
    cohort.set_defaults(handler=cmd_cohort)

    stats = commands.add_parser("stats", help="print the usage stats (as an admin sees them)")
    stats.add_argument("--cohort", type=int, metavar="ID", help="one cohort only")
    stats.add_argument(
        "--days",
        type=period_days,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"students who started in the last N days, or 'all' (default {DEFAULT_DAYS})",
    )
    stats.add_argument("--chart", type=Path, metavar="FILE", help="also write the chart (PNG)")
    stats.set_defaults(handler=cmd_stats)

    export = commands.add_parser("export", help="write the per-student progress CSV")
    export.add_argument("--cohort", type=int, metavar="ID", help="one cohort only")
    export.add_argument("-o", "--output", type=Path, metavar="FILE", help="default: stdout")
    export.set_defaults(handler=cmd_export)

    db = commands.add_parser("db", help="the database")
    db_commands = db.add_subparsers(title="db commands", required=True)
    db_upgrade = db_commands.add_parser("upgrade", help="apply migrations")
    db_upgrade.add_argument("revision", nargs="?", default="head")
    db_upgrade.set_defaults(handler=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        for line in str(exc).splitlines():
            print(f"careerbot: {line}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Database drivers log SQL parameters at DEBUG, and those can hold what students typed.
    for noisy in ("alembic", "aiosqlite", "asyncpg", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler: Callable[[Settings, argparse.Namespace], None] = args.handler
    try:
        handler(settings, args)
    except Failure as exc:
        print(f"careerbot: {exc}", file=sys.stderr)
        return 1
    except Stopped as exc:
        logger.info("stopped by %s while starting", exc)
        return 0
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
