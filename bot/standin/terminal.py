"""`careerbot chat`: the real Dispatcher in a terminal, buttons numbered, no Telegram needed."""

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from bot.engine.text import plain_text
from bot.standin.conversation import Button, Conversation, Reply


class TerminalChat:
    def __init__(
        self,
        conversation: Conversation,
        output: TextIO = sys.stdout,
        read_line: Callable[[], str] = input,
    ) -> None:
        self.conversation = conversation
        self.output = output
        self.read_line = read_line
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
                self._say(f"[{kind}] {plain_text(reply.text, self.bold)}")
            elif reply.method in {"sendMessage", "editMessageText"}:
                self._say("─" * 60)
                self._say(plain_text(reply.text, self.bold))
        self.buttons = self.conversation.current_buttons()
        for number, button in enumerate(self.buttons, start=1):
            self._say(f"  [{number}] {button.label}")
        self._say("")

    def _say(self, text: str) -> None:
        print(text, file=self.output, flush=True)
