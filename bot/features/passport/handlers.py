"""/passport: the careers a student explored, their quiz result, checklist results and project
progress on one screen, with or without their first name, and as a picture to forward. It
needs no career: a student who only took the quiz has a passport too."""

import asyncio
import importlib

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.engine.callbacks import ActionCallback
from bot.features.feature import Kit, Wiring
from bot.features.passport.contract import PICTURE, SHOW
from bot.features.passport.service import PassportService, parse_choice
from bot.filters import PrivateChat
from bot.services.students import record_event
from bot.ui import Ui

# matplotlib is loaded at start-up by the stats feature; the card's own module only in the
# background too, so the first picture does not wait for it.
CARD = "bot.features.passport.card"


async def open_passport(message: Message, ui: Ui) -> None:
    await record_event(ui.session, ui.student, "command", "passport", commit=False)
    await ui.show("passport")


async def toggle_name(
    callback: CallbackQuery, callback_data: ActionCallback, ui: Ui, passport: PassportService
) -> None:
    named = parse_choice(callback_data.arg)
    if named is None:
        await ui.menu_changed()
        return
    await ui.show("passport", passport=await passport.build(ui.session, ui.student, named=named))


async def send_picture(
    callback: CallbackQuery, callback_data: ActionCallback, ui: Ui, passport: PassportService
) -> None:
    """The card draws the passport screen's text as it would be shown, so the picture says
    nothing the text does not."""
    named = parse_choice(callback_data.arg)
    if named is None:
        await ui.menu_changed()
        return
    from bot.features.passport.card import render_card  # loaded at start-up: see CARD

    view = await passport.build(ui.session, ui.student, named=named)
    screen = ui.tour.render(ui.student, "passport", passport=view)
    picture = await asyncio.to_thread(render_card, "\n\n".join(screen.parts))
    await ui.answer_press()
    await ui.photo(picture, "career-passport.png", ui.text("passport_caption", passport=view))


async def preload_card() -> None:
    await asyncio.to_thread(importlib.import_module, CARD)


def setup(kit: Kit) -> Wiring:
    passport = PassportService(kit.services["progress"], kit.services["quiz"])
    return Wiring(
        services={"passport": passport},
        getters={
            "passport": lambda session, student, profile: passport.build(
                session, student, named=False
            )
        },
        on_startup=[preload_card],
    )


def create_router() -> Router:
    router = Router(name="passport")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    router.message.register(open_passport, Command("passport"))
    router.callback_query.register(toggle_name, ActionCallback.filter(F.name == SHOW))
    router.callback_query.register(send_picture, ActionCallback.filter(F.name == PICTURE))
    return router
