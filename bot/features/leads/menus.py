"""Each staff member's command menu: Telegram's command scope of their own chat.

Everyone gets the students' commands (the default scope, set by bot/app.py); a lead's chat
gets those plus the staff tools, an admin's the admin tools as well (`roles` of the
`commands` in dialogs/bot.yaml). Set at every start for every lead and admin, and when an
admin grants or removes a lead in the bot. `careerbot lead add/remove` has no bot: the
running bot takes such a change into the menus at its next start (the commands themselves
work at once: roles are checked on every update).
"""

import logging
from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramServerError
from aiogram.types import BotCommand, BotCommandScopeChat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Staff
from bot.engine.dialogs import Dialogs
from bot.services.roles import Role

logger = logging.getLogger(__name__)
# A menu is not worth holding up an admin's command or the bot's start for long: Telegram
# answers these in well under a second when it is there at all.
MENU_TIMEOUT_SECONDS = 10


class Unreachable(Exception):
    """Telegram did not answer: the other menus would not get through either."""


class CommandMenus:
    def __init__(
        self,
        dialogs: Dialogs,
        admin_ids: frozenset[int],
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        self.dialogs, self.admin_ids, self.session_factory = dialogs, admin_ids, session_factory

    def commands(self, role: Role) -> list[BotCommand]:
        return [
            BotCommand(command=command.command, description=command.description)
            for command in self.dialogs.commands_for(role)
        ]

    async def apply(self, bot: Bot, telegram_id: int, role: Role) -> bool:
        """Gives the chat its role's menu (a student's: the default one, by deleting the
        chat's own). False when Telegram refused or could not be reached; never raises,
        as a menu is not worth failing an admin's command or the bot's start for."""
        try:
            await self._apply(bot, telegram_id, role)
        except (TelegramAPIError, Unreachable):
            return False
        return True

    async def _apply(self, bot: Bot, telegram_id: int, role: Role) -> None:
        scope = BotCommandScopeChat(chat_id=telegram_id)
        try:
            if role is Role.STUDENT:
                await bot.delete_my_commands(scope=scope, request_timeout=MENU_TIMEOUT_SECONDS)
            else:
                commands = self.commands(role)
                await bot.set_my_commands(
                    commands, scope=scope, request_timeout=MENU_TIMEOUT_SECONDS
                )
        except (TelegramNetworkError, TelegramServerError) as exc:
            logger.warning("command menu of %s not set: %s", telegram_id, exc.message)
            raise Unreachable from exc
        except TelegramAPIError as exc:
            # E.g. "chat not found": a lead who has not pressed Start yet.
            logger.info("command menu of %s not set: %s", telegram_id, exc.message)
            raise

    async def refresh_all(self, bot: Bot) -> None:
        """At start: every admin's and lead's menu. Stops at the first sign that Telegram is
        out of reach (the bot starts anyway; the menus follow at the next start)."""
        async with self.session_factory() as session:
            leads = list((await session.execute(select(Staff.telegram_id))).scalars())
        staff: Iterable[tuple[int, Role]] = [
            *((admin, Role.ADMIN) for admin in sorted(self.admin_ids)),
            *((lead, Role.LEAD) for lead in sorted(leads) if lead not in self.admin_ids),
        ]
        for telegram_id, role in staff:
            try:
                await self._apply(bot, telegram_id, role)
            except Unreachable:
                logger.warning("Telegram out of reach: staff command menus left for next start")
                return
            except TelegramAPIError:
                continue
