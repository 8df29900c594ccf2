"""Project reminders: the student turns them on or off; the background jobs send them."""

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.content.models import Profile
from bot.engine.callbacks import ActionCallback
from bot.features.feature import Kit, Wiring
from bot.features.project.service import ProjectService
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
    project: ProjectService,
) -> None:
    switch, _, step_id = callback_data.arg.partition(".")
    if switch not in {"on", "off"}:
        await ui.menu_changed()
        return
    await reminders.switch(ui.session, ui.student, profile, switch == "on")
    step = await project.step(ui.session, ui.student, profile, step_id) if step_id else None
    if step is not None:
        await ui.show("project_step", step=step)
    else:
        await ui.show("project")


def setup(kit: Kit) -> Wiring:
    reminders = ReminderService(
        kit.database.session_factory,
        kit.services["tour"],
        kit.services["project"],
        kit.settings.reminder_after_days,
    )
    days = kit.settings.reminder_after_days

    async def reminder_days(*_: object) -> int:
        return days

    return Wiring(services={"reminders": reminders}, getters={"reminder_days": reminder_days})


def create_router() -> Router:
    router = Router(name="reminders")
    router.callback_query.filter(PrivateChat(), OfCareer())
    router.callback_query.register(remind, ActionCallback.filter(F.name == REMIND))
    return router
