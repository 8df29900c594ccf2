"""Sending a rendered screen outside an update (announcements, reminders, digests); in an update,
handlers go through `ui` (bot/ui.py)."""

import asyncio

from aiogram import Bot
from aiogram.exceptions import TelegramRetryAfter

from bot.engine.dialogs import Screen


async def send_screen(bot: Bot, chat_id: int, screen: Screen) -> None:
    last = len(screen.parts) - 1
    for index, part in enumerate(screen.parts):
        markup = screen.keyboard if index == last else None
        await bot.send_message(chat_id, part, reply_markup=markup)


async def send_screen_retrying(bot: Bot, chat_id: int, screen: Screen) -> None:
    """`send_screen` for the background jobs (reminders, digests): told to slow down, it
    waits as long as Telegram asks and tries once more, so a burst of them is not lost to a
    flood limit; any other failure, or a second one, is the caller's to handle."""
    try:
        await send_screen(bot, chat_id, screen)
    except TelegramRetryAfter as exc:
        await asyncio.sleep(exc.retry_after)
        await send_screen(bot, chat_id, screen)
