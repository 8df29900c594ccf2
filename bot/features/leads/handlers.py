"""Admins manage program leads: /leads, /addlead <telegram id> <name>, /removelead <id>."""

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile
from bot.db.models import Student
from bot.features.feature import Kit, Wiring
from bot.features.leads.menus import CommandMenus
from bot.features.leads.service import grant_lead, list_leads, revoke_lead
from bot.filters import IsStaff, PrivateChat
from bot.services.roles import Viewer, role_of
from bot.ui import Ui

TELEGRAM_ID = re.compile(r"[1-9][0-9]{0,14}")


def parse_lead(args: str | None) -> tuple[int, str] | None:
    """`<telegram id> [name]`; the name defaults to the id. None if the id is no id."""
    words = (args or "").split(maxsplit=1)
    if not words or not TELEGRAM_ID.fullmatch(words[0]):
        return None
    return int(words[0]), words[1].strip() if len(words) > 1 else words[0]


async def show_leads(message: Message, ui: Ui) -> None:
    await ui.render("leads", leads=await list_leads(ui.session))


async def add_lead(
    message: Message, command: CommandObject, viewer: Viewer, ui: Ui, menus: CommandMenus
) -> None:
    parsed = parse_lead(command.args)
    if parsed is None:
        await ui.say("lead_usage")
        return
    telegram_id, name = parsed
    added = await grant_lead(ui.session, telegram_id, name, viewer.telegram_id)
    await ui.say("lead_added" if added else "lead_exists", telegram_id=telegram_id, lead_name=name)
    if added:
        role = await role_of(ui.session, telegram_id, menus.admin_ids)
        await menus.apply(ui.bot, telegram_id, role)


async def remove_lead(
    message: Message, command: CommandObject, ui: Ui, menus: CommandMenus
) -> None:
    parsed = parse_lead(command.args)
    if parsed is None:
        await ui.say("lead_usage")
        return
    telegram_id, _ = parsed
    removed = await revoke_lead(ui.session, telegram_id)
    await ui.say("lead_removed" if removed else "lead_unknown", telegram_id=telegram_id)
    if removed:
        # An admin who was also listed as a lead keeps the admin's menu.
        role = await role_of(ui.session, telegram_id, menus.admin_ids)
        await menus.apply(ui.bot, telegram_id, role)


def setup(kit: Kit) -> Wiring:
    admin_ids = kit.settings.admin_ids
    menus = CommandMenus(kit.content.dialogs, admin_ids, kit.database.session_factory)

    async def role(session: AsyncSession, student: Student, profile: Profile | None) -> str:
        """Whose /help it is: the staff part lists their tools."""
        return (await role_of(session, student.telegram_id, admin_ids)).value

    return Wiring(services={"menus": menus}, getters={"role": role}, on_startup=[menus.refresh_all])


def create_router() -> Router:
    router = Router(name="leads")
    router.message.filter(PrivateChat())
    admin = IsStaff(admin_only=True)
    router.message.register(show_leads, Command("leads"), admin)
    router.message.register(add_lead, Command("addlead"), admin)
    router.message.register(remove_lead, Command("removelead"), admin)
    return router
