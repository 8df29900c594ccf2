"""Reasons kept: a tap on a reason under the checklist's result or on the career list."""

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.content.models import Profile
from bot.engine.callbacks import ActionCallback
from bot.features.feature import Kit, Wiring
from bot.features.reasons.contract import REASON, SCREENS
from bot.features.reasons.service import ReasonService
from bot.filters import OfCareer, PrivateChat
from bot.ui import Ui


async def give_reason(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    profile: Profile,
    ui: Ui,
    reasons: ReasonService,
) -> None:
    given = await reasons.give(ui.session, ui.student, profile, callback_data.arg)
    if given is None:
        await ui.menu_changed()
        return
    await ui.toast("reason_saved")
    await ui.show(SCREENS[given.moment], **given.variables())


def setup(kit: Kit) -> Wiring:
    reasons = ReasonService(kit.content.reasons, kit.services["checklist"], kit.services["project"])
    return Wiring(services={"reasons": reasons}, getters={"reasons": reasons.shown})


def create_router() -> Router:
    router = Router(name="reasons")
    # A student with no career (none chosen yet, or gone with /forget) falls through to the
    # fallback's "menu changed": there is no career to give a reason about.
    router.callback_query.filter(PrivateChat(), OfCareer())
    router.callback_query.register(give_reason, ActionCallback.filter(F.name == REASON))
    return router
