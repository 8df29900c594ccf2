"""/mydata shows a student everything stored about them; /forget deletes it, after a yes."""

from functools import partial

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.db.fsm_storage import private_chat_data
from bot.engine.callbacks import ActionCallback
from bot.engine.dialogs import Screen
from bot.features.feature import Kit, Wiring
from bot.features.privacy.contract import FORGET
from bot.features.privacy.service import PrivacyService
from bot.filters import PrivateChat
from bot.services.students import record_event
from bot.ui import Ui


async def show_page(message: Message, command: CommandObject, ui: Ui) -> None:
    """/mydata and /forget (which asks first) are nodes named like their command."""
    await record_event(ui.session, ui.student, "command", command.command, commit=False)
    await ui.show(command.command)


async def forget(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    state: FSMContext,
    ui: Ui,
    privacy: PrivacyService,
) -> None:
    if callback_data.arg != "yes":
        await ui.menu_changed()
        return
    farewell = ui.text("forgotten")
    await state.clear()
    await privacy.forget(ui.session, ui.student)
    await ui.put(Screen(parts=[farewell]))


def setup(kit: Kit) -> Wiring:
    content = kit.content
    privacy = PrivacyService(
        content.catalog, partial(private_chat_data, kit.storage), content.quiz, content.reasons
    )
    return Wiring(
        services={"privacy": privacy},
        getters={"mydata": lambda session, student, profile: privacy.describe(session, student)},
    )


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    router.message.register(show_page, Command("mydata", "forget"))
    router.callback_query.register(forget, ActionCallback.filter(F.name == FORGET))
    return router
