"""Everything no feature claimed: unknown buttons and commands, and message types we can't use.

This router is included last.
"""

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Student
from bot.filters import PrivateChat, SlashCommand
from bot.handlers.tour import show_changed_menu
from bot.screens import answer_with_screen
from bot.services.tour import TourService


async def unknown_button(
    callback: CallbackQuery, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await show_changed_menu(callback, session, student, tour)


async def button_elsewhere(callback: CallbackQuery) -> None:
    await callback.answer()


async def _reply_with_menu(
    message: Message, name: str, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await message.answer(tour.message(name, student))
    await answer_with_screen(message, await tour.show(session, student, tour.entry_node(student)))


async def unknown_command(
    message: Message, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await _reply_with_menu(message, "unknown_command", session, student, tour)


async def unsupported_message(
    message: Message, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await _reply_with_menu(message, "unsupported_message", session, student, tour)


async def group_chat(message: Message, tour: TourService) -> None:
    """In a group the bot would speak to everyone; it points people to a private chat instead."""
    if message.text and message.text.startswith("/"):
        await message.answer(tour.dialogs.message("group_chat", {}))


def create_router() -> Router:
    router = Router(name="fallback")
    private = PrivateChat()
    router.callback_query.register(unknown_button, private)
    router.callback_query.register(button_elsewhere)
    router.message.register(unknown_command, private, SlashCommand())
    router.message.register(unsupported_message, private)
    router.message.register(group_chat)
    return router
