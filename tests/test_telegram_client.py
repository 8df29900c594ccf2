"""The Bot API client (bot/telegram_client.py) over HTTP against the stand-in Bot API server:
parameters arrive whole as JSON, files still go as multipart, network failures are aiogram's."""

import gc
import weakref

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from aiogram.methods.base import Response
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.app import create_bot
from bot.config import Settings
from bot.standin.server import LocalBotApiServer
from bot.telegram_client import JsonAiohttpSession

CHAT_ID = 777002
TEXT = "<b>Ein Tag</b> im Studio 🎧 — 10:00 Mixing, «Feedback» & Café ☕"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def settings_for(url: str) -> Settings:
    return Settings(_env_file=None, bot_token="123:TEST", telegram_api_url=url)


async def test_a_message_with_a_keyboard_arrives_whole(bot_api: LocalBotApiServer) -> None:
    bot = create_bot(settings_for(bot_api.url))
    assert isinstance(bot.session, JsonAiohttpSession)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="🕘 Ein Tag", callback_data="n:day")]]
    )
    try:
        sent = await bot.send_message(CHAT_ID, TEXT, reply_markup=keyboard)
        [call] = [c for c in bot_api.telegram.calls if c.method == "sendMessage"]
        assert call.params["text"] == TEXT
        assert call.params["parse_mode"] == "HTML"
        assert call.params["reply_markup"] == {
            "inline_keyboard": [[{"text": "🕘 Ein Tag", "callback_data": "n:day"}]]
        }
        assert sent.chat.id == CHAT_ID
        with pytest.raises(TelegramBadRequest, match="not modified"):
            await bot.edit_message_text(
                TEXT, chat_id=CHAT_ID, message_id=sent.message_id, reply_markup=keyboard
            )
    finally:
        await bot.session.close()


async def test_a_photo_still_goes_as_a_file(bot_api: LocalBotApiServer) -> None:
    bot = create_bot(settings_for(bot_api.url))
    try:
        await bot.send_photo(CHAT_ID, BufferedInputFile(PNG, "chart.png"), caption="Stats 📊")
        [call] = [c for c in bot_api.telegram.calls if c.method == "sendPhoto"]
        assert call.params["caption"] == "Stats 📊"
        reference = call.params["photo"]
        assert reference.startswith("attach://")
        assert call.files[reference.removeprefix("attach://")] == PNG
    finally:
        await bot.session.close()


async def test_an_unreachable_server_is_a_network_error(bot_api: LocalBotApiServer) -> None:
    url = bot_api.url
    await bot_api.stop()
    bot = create_bot(settings_for(url))
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(CHAT_ID, TEXT)
    finally:
        await bot.session.close()


async def test_response_models_outlive_garbage_collection(bot_api: LocalBotApiServer) -> None:
    """pydantic keeps `Response[...]` models only weakly; rebuilt after every collection, they
    cost milliseconds per Bot API call under load."""
    bot = create_bot(settings_for(bot_api.url))
    try:
        await bot.send_message(CHAT_ID, TEXT)
    finally:
        await bot.session.close()
    model = weakref.ref(Response[Message])
    gc.collect()
    assert model() is not None
