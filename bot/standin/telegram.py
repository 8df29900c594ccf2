"""A small in-memory imitation of the Telegram Bot API, for `careerbot chat`, tests and benchmarks.

It keeps each chat's messages so that edits, stale buttons and "message is not modified" behave
as on Telegram, records every call, and can be told to fail the next calls to a chat
(429 with retry_after, 403 blocked, 400 chat not found, a 5xx, no answer at all) to exercise
error handling.
"""

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "careerbot", "username": "careerbot_bot"}
SENDING_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
# Calls about one chat's command menu: told to fail like a send to that chat.
SCOPED_METHODS = frozenset({"setMyCommands", "deleteMyCommands"})
# Update ids of every stand-in of the process, counted from the time the process started (in
# microseconds): the bot handles an update_id once, so `careerbot chat` run again on the same
# database, or two stand-ins of one test run, must never reuse one.
_UPDATE_IDS = itertools.count(time.time_ns() // 1000)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    # The name each uploaded file was sent under (what Telegram shows on a document).
    file_names: dict[str, str] = field(default_factory=dict)


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict[str, Any] | None
    kind: str = "text"
    from_bot: bool = True


# The status of a Failure that gets no answer: the in-memory session (bot/standin/session.py)
# raises the client's timeout error, as aiogram's HTTP session does when Telegram is silent.
NO_ANSWER = 0


@dataclass
class Failure:
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1


class FakeTelegram:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], StoredMessage] = {}
        self.failures: dict[int, list[Failure]] = {}
        self._message_ids: dict[int, itertools.count[int]] = {}

    # Things a test or the terminal chat does as "Telegram".

    def next_update_id(self) -> int:
        return next(_UPDATE_IDS)

    def next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def fail(self, chat_id: int, failure: Failure) -> None:
        """The next `failure.times` sends to this chat fail this way."""
        self.failures.setdefault(chat_id, []).append(failure)

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: every send to them is refused from now on."""
        self.fail(chat_id, Failure(403, "Forbidden: bot was blocked by the user", times=10**9))

    def sent_to(self, chat_id: int) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method in SENDING_METHODS and call.params.get("chat_id") == chat_id
        ]

    # The API side.

    def handle(
        self,
        method: str,
        params: dict[str, Any],
        files: dict[str, bytes],
        file_names: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Answers one Bot API call as Telegram would, as a decoded JSON body plus status."""
        self.calls.append(Call(method, params, files, file_names or {}))
        chat_id = params.get("chat_id")
        if method in SCOPED_METHODS:
            chat_id = (params.get("scope") or {}).get("chat_id")
        if (method in SENDING_METHODS or method in SCOPED_METHODS) and isinstance(chat_id, int):
            failure = self._take_failure(chat_id)
            if failure is not None:
                return _error(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, f"_{method}", None)
        if handler is None:
            return {"status": 200, "ok": True, "result": True}
        result: dict[str, Any] = handler(params)
        return result

    def _take_failure(self, chat_id: int) -> Failure | None:
        queue = self.failures.get(chat_id)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def message_json(self, stored: StoredMessage) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": stored.message_id,
            "date": int(time.time()),
            "chat": {"id": stored.chat_id, "type": "private" if stored.chat_id > 0 else "group"},
            "from": BOT_USER,
        }
        if stored.kind == "text":
            message["text"] = stored.text
        elif stored.kind == "photo":
            message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
            if stored.text:
                message["caption"] = stored.text
        else:
            message["document"] = {"file_id": "d", "file_unique_id": "d"}
            if stored.text:
                message["caption"] = stored.text
        if stored.reply_markup:
            message["reply_markup"] = stored.reply_markup
        return message

    def _store(self, params: dict[str, Any], kind: str, text: str) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        stored = StoredMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            text=text,
            reply_markup=params.get("reply_markup"),
            kind=kind,
        )
        self.messages[(chat_id, stored.message_id)] = stored
        return _ok(self.message_json(stored))

    def _sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        return self._store(params, "text", text)

    def _sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, "photo", str(params.get("caption", "")))

    def _sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._store(params, "document", str(params.get("caption", "")))

    def _editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        stored = self.messages.get(key)
        if stored is None or stored.kind != "text" or not stored.from_bot:
            return _error(400, "Bad Request: message to edit not found")
        text, markup = str(params.get("text", "")), params.get("reply_markup")
        if stored.text == text and stored.reply_markup == markup:
            return _error(
                400,
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        if len(text) > 4096:
            return _error(400, "Bad Request: MESSAGE_TOO_LONG")
        stored.text, stored.reply_markup = text, markup
        return _ok(self.message_json(stored))

    def _editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
        if stored is None:
            return _error(400, "Bad Request: message to edit not found")
        stored.reply_markup = params.get("reply_markup")
        return _ok(self.message_json(stored))

    def _getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return _ok(BOT_USER)

    def _getUpdates(self, params: dict[str, Any]) -> dict[str, Any]:
        return _ok([])

    def _deleteMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self.messages.pop((int(params["chat_id"]), int(params["message_id"])), None)
        return _ok(True)


def _ok(result: Any) -> dict[str, Any]:
    return {"status": 200, "ok": True, "result": result}


def _error(status: int, description: str, retry_after: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": status,
        "ok": False,
        "error_code": status,
        "description": description,
    }
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return body
