"""What no feature claimed, and what failed: the first and the last router of the bot.

- Errors: log the failure (without message text) and tell the student. Not for an outage
  (`bot.outage`): that update will be delivered again (webhook) or retried (polling) and
  handled then, so the student is told nothing and the error goes on to the caller, which
  answers 503.
- Fallback: unknown buttons and commands, and message types the bot can't use.
"""

import logging

from aiogram import Bot, Router
from aiogram.types import (
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.engine.callbacks import NodeCallback
from bot.features.tour.nodes import HOME_NODE
from bot.features.tour.service import TourService
from bot.filters import PrivateChat, SlashCommand
from bot.outage import is_service_unavailable
from bot.ui import Ui

logger = logging.getLogger(__name__)


async def report_failure(event: ErrorEvent, bot: Bot, tour: TourService) -> None:
    update = event.update
    logger.error(
        "update %s (%s) failed: %s",
        update.update_id,
        update.event_type,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    chat_id = _private_chat_of(event)
    if chat_id is None:
        return
    dialogs = tour.dialogs
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=dialogs.label("home", {}),
                    callback_data=NodeCallback(node=HOME_NODE).pack(),
                )
            ]
        ]
    )
    try:
        await bot.send_message(chat_id, dialogs.message("error", {}), reply_markup=keyboard)
    except Exception:
        logger.exception("could not tell chat about the failure of update %s", update.update_id)
    if update.callback_query is not None:
        try:
            await update.callback_query.answer()
        except Exception:
            logger.debug("callback %s already answered or expired", update.callback_query.id)


def _private_chat_of(event: ErrorEvent) -> int | None:
    update = event.update
    if update.message is not None and update.message.chat.type == "private":
        return update.message.chat.id
    callback = update.callback_query
    if (
        callback is not None
        and callback.message is not None
        and callback.message.chat.type == "private"
    ):
        return callback.message.chat.id
    return None


async def _is_a_bug(event: ErrorEvent) -> bool:
    # A coroutine: aiogram runs a plain function filter in a worker thread (tests/test_routing.py).
    return not is_service_unavailable(event.exception)


def errors_router() -> Router:
    router = Router(name="errors")
    router.errors.register(report_failure, _is_a_bug)
    return router


async def unknown_button(callback: CallbackQuery, ui: Ui) -> None:
    await ui.menu_changed()


async def button_elsewhere(callback: CallbackQuery) -> None:
    await callback.answer()


async def unknown_command(message: Message, ui: Ui) -> None:
    await ui.say("unknown_command")
    await ui.show_entry()


async def unsupported_message(message: Message, ui: Ui) -> None:
    await ui.say("unsupported_message")
    await ui.show_entry()


async def group_chat(message: Message, tour: TourService) -> None:
    """In a group the bot would speak to everyone; it points people to a private chat instead."""
    if message.text and message.text.startswith("/"):
        await message.answer(tour.dialogs.message("group_chat", {}))


def fallback_router() -> Router:
    """Included last."""
    router = Router(name="fallback")
    private = PrivateChat()
    router.callback_query.register(unknown_button, private)
    router.callback_query.register(button_elsewhere)
    router.message.register(unknown_command, private, SlashCommand())
    router.message.register(unsupported_message, private)
    router.message.register(group_chat)
    return router
