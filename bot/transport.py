"""An in-process Bot API: the real Application and handlers, with no network.

`centrale demo` uses it to run the very same conversation in a terminal: updates are fed to
`Application.process_update`, and what the bot sends comes back here as Bot API calls.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Centrale", "username": "centrale_bot",
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}


@dataclass
class SentMessage:
    chat_id: int
    message_id: int
    text: str
    reply_markup: dict | None = None
    document: str | None = None


@dataclass
class InProcessBotAPI:
    """The state of the fake Bot API: messages per chat, and a hook called on each change."""

    on_output: Callable[[str, SentMessage | str], None] | None = None
    messages: dict[int, SentMessage] = field(default_factory=dict)
    next_id: int = 1

    def call(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "sendDocument"):
            message = SentMessage(
                chat_id=int(params["chat_id"]), message_id=self.next_id,
                text=params.get("text") or params.get("caption") or "",
                reply_markup=_markup(params.get("reply_markup")),
                document=next((v.filename for v in params.values() if isinstance(v, _Upload)),
                              None),
            )
            self.next_id += 1
            self.messages[message.message_id] = message
            self._emit("message", message)
            return self._as_message(message)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            message = self.messages[int(params["message_id"])]
            if method == "editMessageText":
                message.text = params["text"]
            message.reply_markup = _markup(params.get("reply_markup"))
            self._emit("edit", message)
            return self._as_message(message)
        if method == "answerCallbackQuery":
            if params.get("text"):
                self._emit("notice", params["text"])
            return True
        return True  # setMyCommands, deleteWebhook, sendChatAction…

    def _emit(self, kind: str, payload) -> None:
        if self.on_output:
            self.on_output(kind, payload)

    def _as_message(self, message: SentMessage) -> dict:
        data = {"message_id": message.message_id, "date": int(time.time()),
                "chat": {"id": message.chat_id, "type": "private"}, "from": BOT_USER,
                "text": message.text}
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data


def _markup(value) -> dict | None:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


class InProcessRequest(BaseRequest):
    def __init__(self, api: InProcessBotAPI):
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args, **kwargs) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        if request_data and request_data.multipart_data:
            for name, value in request_data.multipart_data.items():
                params.setdefault(name, _Upload(value))
        result = self.api.call(api_method, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()


class _Upload:
    def __init__(self, value):
        # multipart values are (filename, bytes, mime type)
        self.filename = value[0] if isinstance(value, tuple) else None
        self.content = value[1] if isinstance(value, tuple) else value
