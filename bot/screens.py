"""Sending a rendered screen outside an update (announcements, reminders); in an update,
handlers go through `ui` (bot/ui.py)."""

from aiogram import Bot

from bot.engine.dialogs import Screen


async def send_screen(bot: Bot, chat_id: int, screen: Screen) -> None:
    last = len(screen.parts) - 1
    for index, part in enumerate(screen.parts):
        markup = screen.keyboard if index == last else None
        await bot.send_message(chat_id, part, reply_markup=markup)
