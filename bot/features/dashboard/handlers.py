"""/dashboard: a lead or admin gets a one-time link that signs them in to the web dashboard.

Behind IsStaff: a student's /dashboard is an unknown command, as every staff command's is.
The page itself is served by bot/features/dashboard/web.py.
"""

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.config import Settings
from bot.features.dashboard.contract import LINK, NOT_CONFIGURED, DashboardLink
from bot.features.dashboard.service import DashboardService
from bot.features.feature import Kit, Wiring
from bot.filters import IsStaff, PrivateChat
from bot.services.roles import Viewer
from bot.ui import Ui


async def send_link(
    message: Message, settings: Settings, viewer: Viewer, ui: Ui, dashboard: DashboardService
) -> None:
    if settings.dashboard_url is None:
        await ui.say(NOT_CONFIGURED)
        return
    token = await dashboard.issue(ui.session, viewer.telegram_id)
    url = f"{settings.dashboard_url}/login?token={token}"
    # No preview: Telegram would make one by opening the link, which would use it up.
    await ui.say(LINK, link_preview=False, dashboard=DashboardLink(url))


def setup(kit: Kit) -> Wiring:
    settings = kit.settings
    service = DashboardService(settings.admin_ids, settings.dashboard_session_hours)
    return Wiring(services={"dashboard": service})


def create_router() -> Router:
    router = Router(name="dashboard")
    router.message.filter(PrivateChat())
    router.message.register(send_link, Command("dashboard"), IsStaff())
    return router
