"""What a handler does in the chat its update came from: show a node, say a message, answer
the press, send a file. Handlers get it as `ui`, one per update (`UiMiddleware`).

Every Bot API call of a handler goes through here, and each one first ends the update's
transaction (`_end_transaction`, the one seam for it): what the student did is stored
before they see the answer to it, and no database connection waits on Telegram (on SQLite
there is one, shared by every update). When the handler returns, the session middleware
finds nothing left to commit and writes the update's done mark in a later batch
(bot/db/handled.py): one commit per update. Measured in bench/README.md.
"""

from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, CallbackQuery, LinkPreviewOptions, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Student
from bot.engine.dialogs import Screen
from bot.features.tour.service import TourService
from bot.screens import send_screen


class Ui:
    def __init__(
        self,
        event: Message | CallbackQuery,
        bot: Bot,
        session: AsyncSession,
        student: Student,
        tour: TourService,
    ) -> None:
        self.event, self.bot, self.session, self.student, self.tour = (
            event,
            bot,
            session,
            student,
            tour,
        )
        self._answered = not isinstance(event, CallbackQuery)

    @property
    def chat_id(self) -> int:
        if isinstance(self.event, Message):
            return self.event.chat.id
        message = self.event.message
        return message.chat.id if message is not None else self.event.from_user.id

    def text(self, name: str, **extra: Any) -> str:
        """A message of the dialog files, rendered for this student."""
        return self.tour.message(name, self.student, **extra)

    async def show(self, node: str, **extra: Any) -> None:
        """The node as a step of the student's journey: recorded, and their place now."""
        await self.put(await self.tour.show(self.session, self.student, node, **extra))

    async def show_entry(self, **extra: Any) -> None:
        """The student's menu, or the career list when they have no career yet."""
        await self.show(self.tour.entry_node(self.student), **extra)

    async def render(self, node: str, **extra: Any) -> None:
        """A staff screen: shown, not recorded as a step of anyone's journey."""
        await self.put(self.tour.render(self.student, node, **extra))

    async def menu_changed(self) -> None:
        """An old, unknown or forged button: say so briefly and show the current menu."""
        await self.toast("menu_changed")
        await self.show_entry()

    async def toast(self, name: str, **extra: Any) -> None:
        """Answers the press with a short note (a button) or says it (a message)."""
        if isinstance(self.event, Message):
            await self.say(name, **extra)
            return
        await self._end_transaction()
        await self.event.answer(self.text(name, **extra))
        self._answered = True

    async def say(self, name: str, *, link_preview: bool = True, **extra: Any) -> None:
        """A message of the dialog files, as a message of its own; `link_preview` False: no
        preview of a link in it, which Telegram would make by fetching the link."""
        await self.send_text(self.text(name, **extra), link_preview)

    async def send_text(self, text: str, link_preview: bool = True) -> Message:
        await self._end_transaction()
        options = None if link_preview else LinkPreviewOptions(is_disabled=True)
        return await self.bot.send_message(self.chat_id, text, link_preview_options=options)

    async def put(self, screen: Screen) -> None:
        """A button's screen replaces the message the button was on, so navigation does not
        flood the chat; a message that can no longer be edited (too old, deleted, or a
        screen of several parts) gets a fresh one instead."""
        await self.answer_press()
        message = self.event.message if isinstance(self.event, CallbackQuery) else None
        if isinstance(message, Message) and len(screen.parts) == 1:
            await self._end_transaction()
            try:
                await message.edit_text(screen.parts[0], reply_markup=screen.keyboard)
                return
            except TelegramBadRequest as exc:
                if "not modified" in exc.message:
                    return
        await self.send(screen)

    async def send(self, screen: Screen) -> None:
        """The screen as new messages, the keyboard on the last."""
        await self._end_transaction()
        await send_screen(self.bot, self.chat_id, screen)

    async def answer_press(self) -> None:
        """Stops the button's spinner; once per press."""
        if self._answered:
            return
        await self._end_transaction()
        assert isinstance(self.event, CallbackQuery)
        await self.event.answer()
        self._answered = True

    async def photo(self, data: bytes, name: str, caption: str, *, plain: bool = False) -> None:
        """A picture; a `plain` caption is shown as it is, not read as HTML."""
        await self._end_transaction()
        photo = BufferedInputFile(data, filename=name)
        if plain:
            await self.bot.send_photo(self.chat_id, photo, caption=caption, parse_mode=None)
        else:
            await self.bot.send_photo(self.chat_id, photo, caption=caption)

    async def document(self, data: bytes, name: str, caption: str) -> None:
        await self._end_transaction()
        await self.bot.send_document(
            self.chat_id, BufferedInputFile(data, filename=name), caption=caption
        )

    async def _end_transaction(self) -> None:
        if self.session.in_transaction():
            await self.session.commit()
