"""The benchmark's baseline: a bare aiogram bot on the same webhook harness as careerbot.

It answers each message with its text, and each button press with an answer to the callback
plus a message. It is served exactly as a careerbot worker is: aiogram's SimpleRequestHandler
with handle_in_background=False and the secret token, through bot.webhook.serve.

Run by bench/throughput.py with BOT_TOKEN, TELEGRAM_API_URL, WEBHOOK_SECRET, WEBHOOK_PORT and
LOG_LEVEL in the environment.
"""

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.webhook import HEALTH_PATH, serve

router = Router(name="echo")


@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "…")


@router.callback_query()
async def press(callback: CallbackQuery, bot: Bot) -> None:
    await callback.answer()
    await bot.send_message(callback.from_user.id, callback.data or "…")


async def health(_request: web.Request) -> web.Response:
    return web.json_response({"echo": "ok"})


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s echo %(name)s: %(message)s",
    )
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(
        dispatcher,
        bot,
        handle_in_background=False,
        secret_token=os.environ["WEBHOOK_SECRET"],
    ).register(app, path=os.environ.get("WEBHOOK_PATH", "/telegram"))
    app.router.add_get(HEALTH_PATH, health)
    setup_application(app, dispatcher, bot=bot)
    asyncio.run(serve(app, "127.0.0.1", int(os.environ["WEBHOOK_PORT"])))


if __name__ == "__main__":
    main()
