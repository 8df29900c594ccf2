"""/digest: a lead turns their weekly digest on or off; the background jobs send it.

Every handler sits behind IsStaff: a student's /digest is an unknown command and their
(forged) button an old menu. The lead's staff row comes from `DigestLead`; an admin without
one is told the digest is for leads.
"""

from aiogram import F, Router
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Staff
from bot.engine.callbacks import ActionCallback
from bot.features.digest.contract import NOT_A_LEAD, SETTINGS_NODE, SWITCH
from bot.features.digest.service import DigestService
from bot.features.feature import Kit, Wiring
from bot.filters import IsStaff, PrivateChat
from bot.services.jobs import JobRunner
from bot.services.roles import Viewer
from bot.ui import Ui

# About a minute between looks at whether a digest is due.
DIGEST_EVERY_ROUNDS = 60
SWITCHES = {"on": True, "off": False}


class DigestLead(Filter):
    """Passes staff who have a staff row (leads, and admins also granted as leads), handing
    the handler that `lead`."""

    async def __call__(
        self, event: Message | CallbackQuery, session: AsyncSession, viewer: Viewer
    ) -> bool | dict[str, Staff]:
        lead = await DigestService.lead(session, viewer.telegram_id)
        return False if lead is None else {"lead": lead}


async def show(message: Message, lead: Staff, ui: Ui, digest: DigestService) -> None:
    await ui.render(SETTINGS_NODE, digest=digest.settings(lead))


async def switch(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    lead: Staff,
    ui: Ui,
    digest: DigestService,
) -> None:
    on = SWITCHES.get(callback_data.arg)
    if on is None:
        await ui.menu_changed()
        return
    await digest.switch(ui.session, lead, on)
    await ui.render(SETTINGS_NODE, digest=digest.settings(lead))


async def not_a_lead(event: Message | CallbackQuery, ui: Ui) -> None:
    await ui.toast(NOT_A_LEAD)


def setup(kit: Kit) -> Wiring:
    settings = kit.settings
    digest = DigestService(
        kit.database.session_factory,
        kit.services["tour"],
        settings.program_zone,
        settings.digest_hour,
        settings.admin_ids,
    )
    jobs: JobRunner = kit.services["jobs"]
    jobs.every(DIGEST_EVERY_ROUNDS, digest.send_due)
    return Wiring(services={"digest": digest})


def create_router() -> Router:
    router = Router(name="digest")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    staff, lead = IsStaff(), DigestLead()
    button = ActionCallback.filter(F.name == SWITCH)
    router.message.register(show, Command("digest"), staff, lead)
    router.message.register(not_a_lead, Command("digest"), staff)
    router.callback_query.register(switch, button, staff, lead)
    router.callback_query.register(not_a_lead, button, staff)
    return router
