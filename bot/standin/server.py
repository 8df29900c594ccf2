"""The stand-in Bot API served over HTTP, so a real client (`careerbot run` with
`TELEGRAM_API_URL`) can poll it like a local Bot API server.

Requests go to `/bot<token>/<method>` as JSON, urlencoded or multipart bodies (or a query
string), and are answered by the in-memory `FakeTelegram`. Updates a test pushes with
`push_update()` are handed out by `getUpdates`, which long-polls briefly.

For webhook tests and the benchmark: `listeners` are told of every call as it arrives (with
the answer given), `delays` holds a method's answer back for a while (a slow Telegram), and
`message_update()` / `callback_update()` build the updates Telegram would POST to a webhook.
"""

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.standin.telegram import Call, FakeTelegram, StoredMessage

# Told of each call once it is answered (before any delay): the call and the answer's body.
Listener = Callable[[Call, dict[str, Any]], None]

# Form bodies carry every value as a string; these are integers in the Bot API.
INTEGER_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "user_id",
        "message_id",
        "message_thread_id",
        "reply_to_message_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
    }
)
_INTEGER = re.compile(r"^-?\d+$")


class LocalBotApiServer:
    def __init__(self, telegram: FakeTelegram | None = None, max_poll_seconds: float = 1.0) -> None:
        self.telegram = telegram or FakeTelegram()
        self.max_poll_seconds = max_poll_seconds
        self.tokens: set[str] = set()
        self.url = ""
        self._updates: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self.listeners: list[Listener] = []
        self.delays: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/bot{token}/{method}", self._handle)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serves on `host` (port 0: any free one); returns the base URL for TELEGRAM_API_URL."""
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def push_update(self, update: dict[str, Any]) -> int:
        """Queues an update for `getUpdates`; gives it the next update_id unless it has one."""
        update = {"update_id": self.telegram.next_update_id(), **update}
        self._updates.append(update)
        self._notify()
        return int(update["update_id"])

    async def wait_for_call(self, matches: Callable[[Call], bool], timeout: float) -> Call:
        """The first call (made so far or within `timeout` seconds) that `matches`."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed
            found = next((call for call in self.telegram.calls if matches(call)), None)
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                methods = [call.method for call in self.telegram.calls]
                raise TimeoutError(f"no matching call within {timeout} s; calls: {methods}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.Response:
        self.tokens.add(request.match_info["token"])
        method = request.match_info["method"]
        params, files, names = await _read_params(request)
        body: dict[str, Any]
        if method.lower() == "getupdates":
            call = Call(method, params, files)
            self.telegram.calls.append(call)
            self._notify()
            body = {"status": 200, "ok": True, "result": await self._get_updates(params)}
        else:
            body = self.telegram.handle(method, params, files, names)
            call = self.telegram.calls[-1]
            self._notify()
        status = int(body.pop("status"))
        for listener in self.listeners:
            listener(call, body)
        delay = self.delays.get(method)
        if delay:
            await asyncio.sleep(delay)
        return web.json_response(body, status=status)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset > 0:  # Telegram forgets every update before the offset once it is asked for
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        timeout = min(float(params.get("timeout") or 0), self.max_poll_seconds)
        deadline = time.monotonic() + timeout
        while not self._updates and (remaining := deadline - time.monotonic()) > 0:
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                break
        limit = int(params.get("limit") or 100)
        return self._updates[:limit]


def user_json(user_id: int, first_name: str = "Ana", language: str = "en") -> dict[str, Any]:
    """A person as Telegram describes them in updates (no surname, no username)."""
    return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": language}


def message_update(
    telegram: FakeTelegram, user: dict[str, Any], text: str, update_id: int | None = None
) -> dict[str, Any]:
    """A text message from `user` in their private chat, as Telegram POSTs it to a webhook."""
    chat_id = int(user["id"])
    message: dict[str, Any] = {
        "message_id": telegram.next_message_id(chat_id),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private", "first_name": user["first_name"]},
        "from": user,
        "text": text,
    }
    if text.startswith("/"):
        length = len(text.split(maxsplit=1)[0])
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return {"update_id": update_id or telegram.next_update_id(), "message": message}


def callback_update(
    telegram: FakeTelegram,
    user: dict[str, Any],
    message: StoredMessage | None,
    data: str,
    update_id: int | None = None,
) -> dict[str, Any]:
    """A press of a button carrying `data` on the bot's `message`, as Telegram POSTs it."""
    update = update_id or telegram.next_update_id()
    callback: dict[str, Any] = {
        "id": f"cb{update}",
        "from": user,
        "chat_instance": str(user["id"]),
        "data": data,
    }
    if message is not None:
        callback["message"] = telegram.message_json(message)
    return {"update_id": update, "callback_query": callback}


def latest_with_buttons(telegram: FakeTelegram, chat_id: int) -> StoredMessage | None:
    """The newest bot message in the chat that has buttons: what a person would tap next."""
    found: StoredMessage | None = None
    for (chat, _), stored in telegram.messages.items():
        if (
            chat == chat_id
            and stored.reply_markup
            and (found is None or stored.message_id > found.message_id)
        ):
            found = stored
    return found


def button_data(message: StoredMessage | None, label: str) -> str | None:
    """The callback data of the button whose label is `label` or starts with it."""
    markup = (message.reply_markup if message is not None else None) or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button.get("text") == label or str(button.get("text", "")).startswith(label):
                data = button.get("callback_data")
                return str(data) if data is not None else None
    return None


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
    """The call's parameters as the Bot API types them, and any uploaded files with their
    names."""
    params: dict[str, Any] = {key: _decode(key, value) for key, value in request.query.items()}
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = value.file.read()
                names[key] = value.filename
            elif isinstance(value, str):
                params[key] = _decode(key, value)
            else:
                params[key] = _decode(key, value.decode())
    return params, files, names


def _decode(key: str, value: str) -> Any:
    """Form values are strings; nested objects (reply_markup, commands…) arrive JSON-encoded."""
    stripped = value.strip()
    if stripped[:1] in {"{", "["} and stripped[-1:] in {"}", "]"}:
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    if key in INTEGER_FIELDS and _INTEGER.match(stripped):
        return int(stripped)
    return value
