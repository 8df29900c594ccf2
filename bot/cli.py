"""`careerbot` — run the bot, try it in a terminal, check content, manage the database."""

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable

from bot.app import Content, Database, build_dispatcher, create_bot, load_content
from bot.config import Settings, SettingsError, load_settings
from bot.content.yaml_source import SourceErrors
from bot.db.migrate import upgrade, upgrade_async
from bot.standin.conversation import Conversation
from bot.standin.session import StandInSession
from bot.standin.terminal import TerminalChat

logger = logging.getLogger("careerbot")

CHAT_USER_ID = 1


class CommandFailed(Exception):
    """A command cannot go on; its message is shown as one line, without a traceback."""


def _content(settings: Settings) -> Content:
    try:
        return load_content(settings)
    except SourceErrors as exc:
        raise CommandFailed(f"content has {len(exc.errors)} error(s):\n{exc}") from None


async def _run_polling(settings: Settings) -> None:
    content = _content(settings)
    await upgrade_async(settings.database_url)
    database = Database.connect(settings.database_url)
    bot = create_bot(settings)
    dispatcher = build_dispatcher(settings, content, database)
    try:
        await dispatcher.start_polling(bot, handle_signals=True)
    finally:
        await bot.session.close()
        await database.close()


async def _run_chat(settings: Settings, user_id: int, first_name: str) -> None:
    logging.getLogger().setLevel(logging.WARNING)
    content = _content(settings)
    await upgrade_async(settings.database_url)
    database = Database.connect(settings.database_url)
    session = StandInSession()
    bot = create_bot(settings, session)
    dispatcher = build_dispatcher(settings, content, database)
    await dispatcher.emit_startup(bot=bot, **dispatcher.workflow_data)
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


def cmd_chat(settings: Settings, args: argparse.Namespace) -> None:
    asyncio.run(_run_chat(settings, args.user_id, args.name))


def cmd_content_check(settings: Settings, args: argparse.Namespace) -> None:
    content = _content(settings)
    print(
        f"content OK: {len(content.catalog)} career(s), {len(content.dialogs.nodes)} dialog nodes"
    )


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> None:
    upgrade(settings.database_url, args.revision)
    print(f"database upgraded to {args.revision}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="careerbot", description=__doc__)
    parser.set_defaults(handler=cmd_default)
    commands = parser.add_subparsers(title="commands")

    run = commands.add_parser("run", help="poll Telegram (or TELEGRAM_API_URL) for updates")
    run.set_defaults(handler=cmd_run)

    chat = commands.add_parser("chat", help="talk to the bot in this terminal, no Telegram")
    chat.add_argument("--user-id", type=int, default=CHAT_USER_ID, help="the student's id")
    chat.add_argument("--name", default="Student", help="the student's first name")
    chat.set_defaults(handler=cmd_chat)

    content = commands.add_parser("content", help="career profiles and dialogs")
    content_commands = content.add_subparsers(title="content commands", required=True)
    check = content_commands.add_parser("check", help="validate all content and dialogs")
    check.set_defaults(handler=cmd_content_check)

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
        print(f"careerbot: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler: Callable[[Settings, argparse.Namespace], None] = args.handler
    try:
        handler(settings, args)
    except CommandFailed as exc:
        print(f"careerbot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
