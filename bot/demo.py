"""`centrale demo`: the bot's conversations in a terminal, on the local database.

The real Application and handlers run; only the transport differs (bot.transport). Buttons are
shown as numbered choices: type the number to tap one, or type text as in Telegram.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import time
from typing import TextIO

from telegram import Update

from bot.settings import Settings
from bot.transport import InProcessBotAPI, InProcessRequest, SentMessage
from locales import gettext_for

DEMO_USER_ID = 100_000_001


def to_plain(html_text: str) -> str:
    text = re.sub(r"</?(b|strong|i|em|u|s|code|pre|a[^>]*)>", "", html_text)
    return html.unescape(text)


class TerminalDemo:
    def __init__(self, settings: Settings, out: TextIO = sys.stdout, language: str = "fr"):
        from bot.app import build_application

        self.out = out
        self.language = language
        self.api = InProcessBotAPI(on_output=self._print)
        self.buttons: list[tuple[str, str, int]] = []  # (label, callback data, message id)
        self.update_id = 0
        request = InProcessRequest(self.api)
        self.application = build_application(settings, rate_limit=False, request=request)

    def _print(self, kind: str, payload: SentMessage | str) -> None:
        if isinstance(payload, str):
            self.out.write(f"  ({to_plain(payload)})\n")
            return
        if kind == "edit" and not payload.reply_markup:
            return  # a question closed after an answer: nothing new to show
        self.out.write("\n" + to_plain(payload.text) + "\n")
        if payload.document:
            self.out.write(f"  [document: {payload.document}]\n")
        self.buttons = []
        for row in (payload.reply_markup or {}).get("inline_keyboard", []):
            for button in row:
                self.buttons.append((button["text"], button["callback_data"], payload.message_id))
        for number, (label, _data, _mid) in enumerate(self.buttons, 1):
            self.out.write(f"  [{number}] {label}\n")
        self.out.flush()

    def _user(self) -> dict:
        return {"id": DEMO_USER_ID, "is_bot": False, "first_name": "Demo",
                "language_code": self.language}

    def _update(self, line: str) -> Update:
        self.update_id += 1
        if line.isdigit() and 1 <= int(line) <= len(self.buttons):
            _label, data, message_id = self.buttons[int(line) - 1]
            message = self.api.messages[message_id]
            payload = {"update_id": self.update_id, "callback_query": {
                "id": str(self.update_id), "from": self._user(), "chat_instance": "demo",
                "data": data, "message": self.api._as_message(message)}}
        else:
            message = {"message_id": 10_000 + self.update_id, "date": int(time.time()),
                       "chat": {"id": DEMO_USER_ID, "type": "private"}, "from": self._user(),
                       "text": line}
            if line.startswith("/"):
                command = line.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(command)}]
            payload = {"update_id": self.update_id, "message": message}
        return Update.de_json(payload, self.application.bot)

    async def send(self, line: str) -> None:
        await self.application.process_update(self._update(line))

    async def run(self, lines: TextIO) -> None:
        async with self.application:
            _ = gettext_for(self.language)
            self.out.write(_("Centrale — terminal demo. Type a button's number or your answer; "
                             "Ctrl-D to quit.") + "\n")
            await self.send("/start")
            loop = asyncio.get_running_loop()
            while True:
                line = await loop.run_in_executor(None, lines.readline)
                if not line:
                    break
                line = line.strip()
                if line:
                    await self.send(line)


def run_demo(settings: Settings, lines: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    from store.db import upgrade

    upgrade(settings.DATABASE_URL)
    asyncio.run(TerminalDemo(settings, out=out).run(lines))
    return 0
