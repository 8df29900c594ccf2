"""Project reminders: the student turns them on or off; the background jobs send them."""

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.content.models import Profile
from bot.engine.callbacks import ActionCallback
from bot.features.feature import Kit, Wiring
from bot.features.reminders.contract import REMIND
from bot.features.reminders.service import ReminderService
from bot.filters import OfCareer, PrivateChat
from bot.ui import Ui


async def remind(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    profile: Profile,
    ui: Ui,
    reminders: ReminderService,
) -> None:
    if callback_data.arg not in {"on", "off"}:
        await ui.menu_changed()
        return
    await reminders.switch(ui.session, ui.student, profile, callback_data.arg == "on")
    await ui.show("project")


def setup(kit: Kit) -> Wiring:
    reminders = ReminderService(
        kit.database.session_factory,
        kit.services["tour"],
        kit.services["project"],
        kit.settings.reminder_after_days,
    )
    return Wiring(services={"reminders": reminders})


def create_router() -> Router:
    router = Router(name="reminders")
    router.callback_query.filter(PrivateChat(), OfCareer())
    router.callback_query.register(remind, ActionCallback.filter(F.name == REMIND))
    return router
