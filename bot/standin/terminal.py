"""`careerbot chat`: the real Dispatcher in a terminal, buttons numbered, no Telegram needed."""

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import TextIO

from bot.engine.text import plain_text
from bot.standin.conversation import Button, Conversation, Reply

# Where the pictures and files the bot sends are saved, so they can be opened: a terminal
# cannot show them. Relative to the directory the chat runs in.
FILES_DIR = Path("careerbot-chat-files")


class TerminalChat:
    def __init__(
        self,
        conversation: Conversation,
        output: TextIO = sys.stdout,
        read_line: Callable[[], str] = input,
        files_dir: Path = FILES_DIR,
    ) -> None:
        self.conversation = conversation
        self.output = output
        self.read_line = read_line
        self.files_dir = files_dir
        self.buttons: list[Button] = []
        self.bold = output.isatty()

    async def run(self) -> None:
        self._say(
            "careerbot chat: type text to send it, a number to press that button, Ctrl-D to quit.\n"
        )
        self.show(await self.conversation.send("/start"))
        while True:
            try:
                line = (await asyncio.to_thread(self.read_line)).strip()
            except EOFError:
                self._say("bye")
                return
            if not line:
                continue
            if line.isdigit() and 1 <= int(line) <= len(self.buttons):
                button = self.buttons[int(line) - 1]
                self.show(await self.conversation.press_data(button.data))
            else:
                self.show(await self.conversation.send(line))

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.method == "answerCallbackQuery" and reply.params.get("text"):
                self._say(f"[{plain_text(str(reply.params['text']))}]")
            elif reply.method in {"sendPhoto", "sendDocument"}:
                kind = reply.method.removeprefix("send").lower()
                saved = "".join(f" saved: {self._save(reply, name)}" for name in reply.files)
                self._say(f"[{kind}{saved}] {plain_text(reply.text, self.bold)}")
            elif reply.method in {"sendMessage", "editMessageText"}:
                self._say("─" * 60)
                self._say(plain_text(reply.text, self.bold))
        self.buttons = self.conversation.current_buttons()
        for number, button in enumerate(self.buttons, start=1):
            self._say(f"  [{number}] {button.label}")
        self._say("")

    def _save(self, reply: Reply, name: str) -> Path:
        """Writes the file under a name of its own (never over an earlier one); its path."""
        sent = PurePath(reply.file_names.get(name) or name).name or name
        stem, suffix = PurePath(sent).stem, PurePath(sent).suffix
        self.files_dir.mkdir(parents=True, exist_ok=True)
        path, number = self.files_dir / sent, 1
        while path.exists():
            number += 1
            path = self.files_dir / f"{stem}-{number}{suffix}"
        path.write_bytes(reply.files[name])
        return path.resolve()

    def _say(self, text: str) -> None:
        print(text, file=self.output, flush=True)
