"""The stand-in Bot API over HTTP (bot/standin/server.py), called by aiogram's own HTTP client
and by plain HTTP requests."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.standin.server import LocalBotApiServer

TOKEN = "123456:TEST"
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Go", callback_data="n:menu")]]
)
KEYBOARD_JSON = {"inline_keyboard": [[{"text": "Go", "callback_data": "n:menu"}]]}


@pytest.fixture
async def server() -> AsyncIterator[LocalBotApiServer]:
    running = LocalBotApiServer(max_poll_seconds=5)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def bot(server: LocalBotApiServer) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    client = Bot(TOKEN, session=session)
    yield client
    await client.session.close()


def message_update(text: str) -> dict[str, Any]:
    user = {"id": 5, "is_bot": False, "first_name": "Ana"}
    chat = {"id": 5, "type": "private", "first_name": "Ana"}
    return {"message": {"message_id": 1, "date": 0, "chat": chat, "from": user, "text": text}}


async def test_form_encoded_call_is_typed_like_the_bot_api(
    server: LocalBotApiServer, bot: Bot
) -> None:
    sent = await bot.send_message(5, "Hi <b>there</b>", reply_markup=KEYBOARD, parse_mode="HTML")
    assert (sent.chat.id, sent.text) == (5, "Hi <b>there</b>")
    [call] = server.telegram.calls
    assert call.method == "sendMessage"
    assert call.params["chat_id"] == 5
    assert call.params["text"] == "Hi <b>there</b>"
    assert call.params["reply_markup"] == KEYBOARD_JSON
    assert server.telegram.messages[(5, sent.message_id)].reply_markup == KEYBOARD_JSON
    assert server.tokens == {TOKEN}


async def test_multipart_call_with_a_file(server: LocalBotApiServer, bot: Bot) -> None:
    document = BufferedInputFile(b"stats,1\n", filename="stats.csv")
    sent = await bot.send_document(5, document, caption="Your CSV", reply_markup=KEYBOARD)
    assert sent.caption == "Your CSV"
    [call] = server.telegram.calls
    assert call.method == "sendDocument"
    assert call.params["chat_id"] == 5
    assert call.params["reply_markup"] == KEYBOARD_JSON
    attached = str(call.params["document"]).removeprefix("attach://")
    assert call.files == {attached: b"stats,1\n"}


async def test_errors_reach_the_client_as_telegram_errors(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(5, " ")


async def test_json_and_query_string_calls(server: LocalBotApiServer) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/bot{TOKEN}/sendMessage"
        async with http.post(url, json={"chat_id": 7, "text": "json", "reply_markup": {}}) as r:
            assert (r.status, (await r.json())["ok"]) == (200, True)
        async with http.get(url, params={"chat_id": "7", "text": "query"}) as r:
            assert (r.status, (await r.json())["result"]["text"]) == (200, "query")
        async with http.get(f"{server.url}/bot{TOKEN}/getMe") as r:
            assert (await r.json())["result"]["is_bot"] is True
    assert [call.params for call in server.telegram.calls[:2]] == [
        {"chat_id": 7, "text": "json", "reply_markup": {}},
        {"chat_id": 7, "text": "query"},
    ]


async def test_get_updates_hands_out_pushed_updates_until_confirmed(
    server: LocalBotApiServer, bot: Bot
) -> None:
    first = server.push_update(message_update("/start"))
    second = server.push_update(message_update("hello"))
    assert second == first + 1
    updates = await bot.get_updates(offset=0, timeout=1)
    assert [(u.update_id, u.message.text if u.message else None) for u in updates] == [
        (first, "/start"),
        (second, "hello"),
    ]
    again = await bot.get_updates(offset=second, timeout=0)  # not yet confirmed: still there
    assert [u.update_id for u in again] == [second]
    assert await bot.get_updates(offset=second + 1, timeout=0) == []


async def test_get_updates_waits_for_an_update(server: LocalBotApiServer, bot: Bot) -> None:
    waiting = asyncio.create_task(bot.get_updates(offset=0, timeout=5))
    await server.wait_for_call(lambda call: call.method == "getUpdates", 10)  # it is waiting
    pushed = server.push_update(message_update("late"))
    updates = await asyncio.wait_for(waiting, 10)
    assert [u.update_id for u in updates] == [pushed]


async def test_wait_for_call_gives_up_at_its_deadline(server: LocalBotApiServer) -> None:
    with pytest.raises(TimeoutError, match="no matching call"):
        await server.wait_for_call(lambda call: call.method == "sendMessage", 0.1)
