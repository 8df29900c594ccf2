"""The benchmark's baseline: a bare aiogram bot on the same webhook harness as careerbot.

It answers each message with its text, and each button press with an answer to the callback
plus a message. It is served exactly as a careerbot worker is: aiogram's SimpleRequestHandler
with handle_in_background=False and the secret token, through bot.webhook.serve.

With DATABASE_URL set (the `echo-db` target) it also does the least a bot that keeps anything
does per update, through careerbot's engine and models: find the user's row (created on first
contact), log the update as an event, commit. That shows what one read and one write per
update cost on this stack, before any feature.

Run by bench/throughput.py with BOT_TOKEN, TELEGRAM_API_URL, WEBHOOK_SECRET, WEBHOOK_PORT and
LOG_LEVEL (and DATABASE_URL) in the environment.
"""

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from sqlalchemy import select

from bot.db.engine import Database
from bot.db.migrate import upgrade
from bot.db.models import Event, Student
from bot.webhook import HEALTH_PATH, serve

router = Router(name="echo")


@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "…")


@router.callback_query()
async def press(callback: CallbackQuery, bot: Bot) -> None:
    await callback.answer()
    await bot.send_message(callback.from_user.id, callback.data or "…")


class LogEveryUpdate(BaseMiddleware):
    def __init__(self, database: Database) -> None:
        self.database = database

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User = data["event_from_user"]
        async with self.database.session_factory() as session:
            query = select(Student).where(Student.telegram_id == user.id)
            student = (await session.execute(query)).scalar_one_or_none()
            if student is None:
                student = Student(telegram_id=user.id, first_name=user.first_name)
                session.add(student)
                await session.flush()
            session.add(Event(student_id=student.id, kind="echo", name=type(event).__name__))
            await session.commit()
        return await handler(event, data)


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
    database_url = os.environ.get("DATABASE_URL")
    if database_url:
        upgrade(database_url)
        database = Database.connect(database_url)
        for observer in (dispatcher.message, dispatcher.callback_query):
            observer.outer_middleware(LogEveryUpdate(database))
        dispatcher.shutdown.register(database.close)
    app = web.Application()
    SimpleRequestHandler(
        dispatcher,
        bot,
        handle_in_background=False,
        secret_token=os.environ["WEBHOOK_SECRET"],
    ).register(app, path=os.environ.get("WEBHOOK_PATH", "/telegram"))
    app.router.add_get(HEALTH_PATH, health)
    setup_application(app, dispatcher, bot=bot)
    asyncio.run(serve(app, "127.0.0.1", int(os.environ["WEBHOOK_PORT"]), max_connections=200))


if __name__ == "__main__":
    main()
