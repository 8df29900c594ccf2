"""Putting a rendered screen in front of the student."""

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message

from bot.engine.dialogs import Screen


async def send_screen(bot: Bot, chat_id: int, screen: Screen) -> None:
    last = len(screen.parts) - 1
    for index, part in enumerate(screen.parts):
        markup = screen.keyboard if index == last else None
        await bot.send_message(chat_id, part, reply_markup=markup)


async def answer_with_screen(message: Message, screen: Screen) -> None:
    await send_screen(_bot(message.bot), message.chat.id, screen)


async def replace_with_screen(callback: CallbackQuery, screen: Screen) -> None:
    """Edits the message the button was on, so navigation does not flood the chat.

    A message that can no longer be edited (too old, deleted, or a screen of several parts)
    gets a fresh message instead.
    """
    message = callback.message
    bot = _bot(callback.bot)
    if isinstance(message, Message) and len(screen.parts) == 1:
        try:
            await message.edit_text(screen.parts[0], reply_markup=screen.keyboard)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return
    chat_id = message.chat.id if message is not None else callback.from_user.id
    await send_screen(bot, chat_id, screen)


def _bot(bot: Bot | None) -> Bot:
    if bot is None:
        raise RuntimeError("the update is not bound to a bot")
    return bot
