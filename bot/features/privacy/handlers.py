"""/privacy: whether the student shares their name and progress with their group's lead,
asked once on joining and changeable here; /mydata shows a student everything stored about
them; /forget deletes it, after a yes."""

import re
from functools import partial

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.db.fsm_storage import private_chat_data
from bot.engine.callbacks import ActionCallback
from bot.engine.dialogs import Screen
from bot.features.feature import Kit, Wiring
from bot.features.privacy.contract import FORGET, PRIVACY_NODE, SHARE, SHARE_CHANGE
from bot.features.privacy.service import PrivacyService
from bot.filters import PrivateChat
from bot.services.students import record_event
from bot.ui import Ui

# A consent button's arg: the group the question was about, and the answer.
CHOICE = re.compile(r"([1-9][0-9]{0,17})\.(yes|no)")


async def show_page(message: Message, command: CommandObject, ui: Ui) -> None:
    """/privacy, /mydata and /forget (which asks first) are nodes named like their command."""
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


async def _choose(callback_data: ActionCallback, ui: Ui, privacy: PrivacyService) -> bool:
    """Records the choice the button carries; False once it has been answered otherwise
    (a forged arg, or a question about a group the student has left)."""
    choice = CHOICE.fullmatch(callback_data.arg)
    if choice is None:
        await ui.menu_changed()
        return False
    shares = choice.group(2) == "yes"
    if not await privacy.set_sharing(ui.session, ui.student, int(choice.group(1)), shares):
        await ui.toast("sharing_stale")
        await ui.show(PRIVACY_NODE)
        return False
    await ui.toast("sharing_yes" if shares else "sharing_no")
    return True


async def share(
    callback: CallbackQuery, callback_data: ActionCallback, ui: Ui, privacy: PrivacyService
) -> None:
    """The answer on the screen after joining a group; then what joining leads to."""
    if await _choose(callback_data, ui, privacy):
        await ui.show_entry()


async def share_change(
    callback: CallbackQuery, callback_data: ActionCallback, ui: Ui, privacy: PrivacyService
) -> None:
    if await _choose(callback_data, ui, privacy):
        await ui.show(PRIVACY_NODE)


def setup(kit: Kit) -> Wiring:
    content = kit.content
    privacy = PrivacyService(
        content.catalog, partial(private_chat_data, kit.storage), content.quiz, content.reasons
    )
    return Wiring(
        services={"privacy": privacy},
        getters={
            "mydata": lambda session, student, profile: privacy.describe(session, student),
            "sharing": lambda session, student, profile: privacy.sharing(session, student),
        },
    )


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    router.message.register(show_page, Command("privacy", "mydata", "forget"))
    router.callback_query.register(forget, ActionCallback.filter(F.name == FORGET))
    router.callback_query.register(share, ActionCallback.filter(F.name == SHARE))
    router.callback_query.register(share_change, ActionCallback.filter(F.name == SHARE_CHANGE))
    return router
