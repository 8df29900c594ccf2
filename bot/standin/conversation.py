"""One person talking to the bot through the stand-in: sends updates, reads what came back."""

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.standin.telegram import Call, FakeTelegram, StoredMessage


@dataclass(frozen=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True)
class Reply:
    """One thing the bot did in answer: a message sent or edited, or a callback answered."""

    method: str
    text: str
    buttons: list[list[Button]]
    message_id: int | None
    params: dict[str, Any]
    # Files uploaded with it (a photo, a document), by parameter name, with their names.
    files: dict[str, bytes] = field(default_factory=dict)
    file_names: dict[str, str] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return [button.label for row in self.buttons for button in row]


class ButtonNotFound(LookupError):
    pass


class Conversation:
    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        telegram: FakeTelegram,
        user_id: int,
        first_name: str = "Sam",
        language: str = "en",
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.telegram = telegram
        self.user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language:
            self.user["language_code"] = language
        self.chat_id = user_id

    async def send(self, text: str) -> list[Reply]:
        return await self.send_message({"text": text})

    async def send_message(
        self, content: dict[str, Any], chat: dict[str, Any] | None = None
    ) -> list[Reply]:
        """Sends any kind of message: `{"text": …}`, `{"sticker": {…}}`, `{"photo": […]}`…"""
        chat = chat or {
            "id": self.chat_id,
            "type": "private",
            "first_name": self.user["first_name"],
        }
        message = {
            "message_id": self.telegram.next_message_id(int(chat["id"])),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user,
            **content,
        }
        return await self._feed({"message": message})

    async def press(self, label: str, message_id: int | None = None) -> list[Reply]:
        """Presses the button with this label (or starting with it) on the newest message that
        has it, or on the given message (an old one, say)."""
        for stored in self._messages_newest_first(message_id):
            for button in _buttons(stored):
                if button.label == label or button.label.startswith(label):
                    return await self.press_data(button.data, stored.message_id)
        raise ButtonNotFound(f"no button {label!r}; current: {self.current_labels()}")

    async def press_data(self, data: str, message_id: int | None = None) -> list[Reply]:
        """Presses a button carrying `data`, forged or real, on a message of this chat."""
        stored = (
            self.latest()
            if message_id is None
            else self.telegram.messages.get((self.chat_id, message_id))
        )
        callback: dict[str, Any] = {
            "id": str(self.telegram.next_update_id()),
            "from": self.user,
            "chat_instance": str(self.chat_id),
            "data": data,
        }
        if stored is not None:
            callback["message"] = self.telegram.message_json(stored)
        return await self._feed({"callback_query": callback})

    def latest(self) -> StoredMessage | None:
        """The newest bot message in this chat that has buttons."""
        return next(iter(self._messages_newest_first(None)), None)

    def current_buttons(self) -> list[Button]:
        """The buttons of the newest message that has any: what a person would tap next."""
        return _buttons(self.latest())

    def current_labels(self) -> list[str]:
        return [button.label for button in self.current_buttons()]

    def _messages_newest_first(self, message_id: int | None) -> list[StoredMessage]:
        mine = [
            stored
            for (chat_id, stored_id), stored in self.telegram.messages.items()
            if chat_id == self.chat_id and (message_id is None or stored_id == message_id)
        ]
        return sorted(
            (stored for stored in mine if stored.reply_markup),
            key=lambda stored: stored.message_id,
            reverse=True,
        )

    async def _feed(self, payload: dict[str, Any]) -> list[Reply]:
        before = len(self.telegram.calls)
        # As JSON through the bot's own decoder, as a webhook body or getUpdates result is.
        body = json.dumps({"update_id": self.telegram.next_update_id(), **payload})
        update = Update.model_validate(self.bot.session.json_loads(body), context={"bot": self.bot})
        await self.dispatcher.feed_update(self.bot, update)
        return [_reply(call) for call in self.telegram.calls[before:]]


def _buttons(stored: StoredMessage | None) -> list[Button]:
    return [button for row in _rows(stored.reply_markup if stored else None) for button in row]


def _rows(markup: dict[str, Any] | None) -> list[list[Button]]:
    if not markup:
        return []
    return [
        [Button(button["text"], button.get("callback_data", "")) for button in row]
        for row in markup.get("inline_keyboard", [])
    ]


def _reply(call: Call) -> Reply:
    params = call.params
    text = params.get("text") or params.get("caption") or ""
    message_id = params.get("message_id")
    rows = _rows(params.get("reply_markup"))
    return Reply(call.method, str(text), rows, message_id, params, call.files, call.file_names)
