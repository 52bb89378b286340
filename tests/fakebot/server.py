"""A fake Telegram Bot API server (aiohttp) for end-to-end tests and benchmarks.

It answers `POST {base_url}{token}/{method}` (JSON, form or multipart bodies, as PTB's HTTPXRequest
sends them) like Telegram would, including Telegram's 400 errors (HTML that would not parse, text
too long, bad inline keyboards, "message is not modified"), keeps a separate state per bot token,
records every call and every message, simulates users (updates served by long polling), and can
inject faults (429, 403, 5xx, delays, dropped connections) and enforce a rate cap. Faults can also
be a share of the traffic (`configure(fail_5xx=…, blocked=…, seed=…)`): a deterministic draw per
chat and per send, so that two runs with the same seed meet the same faults whatever the timing.

In-process use (same event loop as the test):

    server = await FakeBotServer().start()
    token = server.add_bot()
    app = ApplicationBuilder().token(token).base_url(server.base_url)...

Standalone: `python -m tests.fakebot.server --port 8081 [--token T]` (unknown tokens are accepted
and registered on first use), with a small control API under /_control/ (see `_control_routes`).

Updates are confirmed as Telegram does: only when a later getUpdates passes a higher offset. A bot
killed while handling an update it already confirmed does not get it again.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import itertools
import json
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from tests.fakebot.html_check import (
    MAX_CAPTION_LENGTH,
    Entity,
    check_text,
    utf16_length,
)

# Methods that count as messages for the rate caps (Telegram's ~30 messages/s per bot and about
# one per second per chat); polling, chat actions and callback answers do not.
RATE_COUNTED_METHODS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup",
     "editMessageCaption", "copyMessage", "forwardMessage"}
)
# Methods that deliver something to a chat: a blocked user makes them answer 403.
CHAT_SENDING_METHODS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "sendChatAction", "editMessageText",
     "editMessageReplyMarkup", "editMessageCaption", "copyMessage", "forwardMessage"}
)
CHAT_ACTIONS = frozenset(
    {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
     "upload_document", "choose_sticker", "find_location", "record_video_note",
     "upload_video_note"}
)
BUTTON_ACTIONS = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                  "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                  "copy_text", "callback_game", "pay")
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")
BLOCKED = "Forbidden: bot was blocked by the user"
QUERY_INVALID = ("Bad Request: query is too old and response timeout expired or query ID is "
                 "invalid")
CONFLICT = ("Conflict: terminated by other getUpdates request; make sure that only one bot "
            "instance is running")

# Form and multipart bodies carry every non-string value JSON-encoded (PTB's RequestData):
# decode them by parameter name, never guess (a text "123" must stay a string).
_JSON_KEYS = frozenset({"reply_markup", "commands", "scope", "menu_button", "entities",
                        "caption_entities", "allowed_updates", "reply_parameters",
                        "link_preview_options", "media"})
_INT_KEYS = frozenset({"chat_id", "message_id", "offset", "limit", "timeout", "user_id",
                       "cache_time", "reply_to_message_id", "message_thread_id", "from_chat_id"})
_BOOL_KEYS = frozenset({"disable_notification", "show_alert", "drop_pending_updates",
                        "protect_content", "disable_web_page_preview",
                        "allow_sending_without_reply", "disable_content_type_detection",
                        "has_spoiler", "revoke_messages", "is_big"})
_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_BOT_COMMAND_NAME_RE = re.compile(r"[a-z0-9_]{1,32}")
_INT_RE = re.compile(r"-?\d+")


def drawn(seed: int, rate: float, *key: object) -> bool:
    """A draw that is True for a `rate` share of keys: the same for the same seed and key in any
    process and whatever the order of the calls (unlike a seeded random stream)."""
    if rate <= 0:
        return False
    digest = hashlib.blake2b(repr((seed, *key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") < rate * 2**64


def is_drawn_blocked(seed: int, rate: float, chat_id: int) -> bool:
    """Whether `configure(blocked=rate, seed=seed)` makes this chat one that blocked the bot."""
    return drawn(seed, rate, "blocked", chat_id)


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description and optional `parameters`."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


class Signal:
    """Wakes every waiter at once. Waiters re-check their condition after each wake-up, so a
    notify can never be missed between a check and the wait (no await in between)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float | None) -> None:
        event = self._event
        if timeout is not None and timeout <= 0:
            return
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass


@dataclass
class Upload:
    filename: str | None
    data: bytes
    content_type: str | None = None


@dataclass
class Call:
    """One HTTP call to the Bot API, as received and as answered."""

    method: str
    params: dict[str, Any]
    at: float  # event-loop time (monotonic)
    chat_id: int | str | None = None
    status: int = 200
    description: str | None = None
    injected: bool = False  # the answer came from an injected fault
    capped: bool = False  # 429 because of the configured rate cap


@dataclass
class CallbackAnswer:
    query_id: str
    chat_id: int
    message_id: int
    text: str | None
    show_alert: bool
    url: str | None
    at: float


@dataclass
class SentMessage:
    """A message in a chat, in its current state (edits applied). For media, `text` is the
    caption. `text` is what the user sees (HTML parsed, stripped); `html` is what was sent."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    text: str | None = None
    html: str | None = None
    parse_mode: str | None = None
    entities: tuple[Entity, ...] = ()
    reply_markup: dict | None = None
    kind: str = "text"  # text | document | photo
    document: Upload | None = None
    file_id: str | None = None
    edit_date: int | None = None
    history: list[str | None] = field(default_factory=list)  # earlier visible texts
    deleted: bool = False
    update_id: int | None = None  # for user messages: the update that carried it

    @property
    def caption(self) -> str | None:
        return self.text if self.kind != "text" else None

    @property
    def edited(self) -> bool:
        return self.edit_date is not None

    @property
    def inline_keyboard(self) -> list[list[dict]]:
        if not self.reply_markup:
            return []
        return self.reply_markup.get("inline_keyboard") or []

    def buttons(self) -> list[dict]:
        """The inline buttons, row by row, as dicts (text, callback_data or url…)."""
        return [button for row in self.inline_keyboard for button in row]

    def labels(self) -> list[str]:
        return [button["text"] for button in self.buttons()]

    def snapshot(self) -> SentMessage:
        """A copy that later edits do not change (edits replace fields, never mutate them)."""
        clone = copy.copy(self)
        clone.history = list(self.history)
        return clone


@dataclass
class Output:
    """Something the bot did in a chat, in order: a new message, an edit, a deletion, or the
    answer to a callback query."""

    seq: int
    kind: str  # message | edit | delete | answer
    chat_id: int
    message_id: int | None
    at: float
    answer: CallbackAnswer | None = None


@dataclass
class Fault:
    """An injected fault on the next `times` matching calls (None: until cleared).

    kind "error": answer `status` (429 with parameters.retry_after, 403, 500, 502…) without
    applying the call. kind "delay": wait `seconds` before answering (the call is applied first
    when `apply`, as a message Telegram sent but whose answer never came back). kind "drop":
    close the connection without an answer (applied first when `apply`)."""

    kind: str
    method: str | None = None  # None: any method but getUpdates
    chat_id: int | str | None = None
    times: int | None = 1
    status: int = 500
    description: str | None = None
    retry_after: int | None = None
    seconds: float = 0.0
    apply: bool = False
    used: int = 0

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        if self.times is not None and self.used >= self.times:
            return False
        if self.method is None and method == "getUpdates":
            return False
        if self.method is not None and self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)

    def error(self) -> ApiError:
        parameters = None
        description = self.description
        if self.status == 429:
            retry_after = self.retry_after if self.retry_after is not None else 1
            parameters = {"retry_after": retry_after}
            description = description or f"Too Many Requests: retry after {retry_after}"
        default = {403: BLOCKED, 500: "Internal Server Error", 502: "Bad Gateway",
                   400: "Bad Request: injected"}
        return ApiError(self.status, description or default.get(self.status, "Error"),
                        parameters)


class ChatState:
    def __init__(self, chat_id: int) -> None:
        self.chat_id = chat_id
        self.next_message_id = 1
        self.messages: dict[int, SentMessage] = {}
        self.outputs: list[Output] = []
        self.signal = Signal()
        self.inflight = 0  # calls concerning this chat being handled right now
        self.recent: deque[float] = deque()  # accepted rate-counted calls, for chat_cap_per_s
        self.errors: list[Call] = []  # error answers Telegram itself would give (not faults)
        self.first_name: str | None = None

    def bot_messages(self, *, include_deleted: bool = False) -> list[SentMessage]:
        return [m for m in self.messages.values()
                if m.from_bot and (include_deleted or not m.deleted)]


class BotState:
    """Everything about one bot token: pending updates, chats, records, faults, caps."""

    def __init__(self, token: str, username: str, first_name: str) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else abs(hash(token)) % 10**9
        self.username = username
        self.first_name = first_name
        self.updates: deque[dict] = deque()
        self.next_update_id = 1
        self.updates_signal = Signal()
        self._poll_generation = 0
        self.chats: dict[int, ChatState] = {}
        self.users: dict[int, dict] = {}
        self.calls: list[Call] = []
        self.counters: Counter[str] = Counter()
        self.callback_queries: dict[str, dict] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[tuple[str, str], list[dict]] = {}
        self.menu_buttons: dict[str, dict] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self.faults: list[Fault] = []
        self.blocked: set[int] = set()
        # Shares of faults (configure): sendMessage calls answered 502, chats that blocked the
        # bot; drawn from `fault_seed` by chat and by the chat's n-th send that reaches the draw.
        self.fail_5xx_rate = 0.0
        self.blocked_rate = 0.0
        self.fault_seed = 0
        self._sends_drawn: Counter[int] = Counter()
        self.blocked_tries: Counter[int] = Counter()  # 403 answers per chat, as blocked
        self.cap_per_s: float | None = None
        self.chat_cap_per_s: float | None = None
        self.known_chats_only = False
        # The clock of the rate caps; tests may replace it to make the window deterministic.
        self.clock: Callable[[], float] = lambda: asyncio.get_running_loop().time()
        self._recent: deque[float] = deque()
        self._output_seq = itertools.count(1)
        self._file_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        self.update_chat: dict[int, int] = {}
        self.processed: set[int] = set()
        self.instrumented = False  # an in-process Application reports processed updates

    # ---- records -------------------------------------------------------------------------
    def chat(self, chat_id: int) -> ChatState:
        state = self.chats.get(chat_id)
        if state is None:
            state = self.chats[chat_id] = ChatState(chat_id)
        return state

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[SentMessage]:
        """The bot's messages in a chat, oldest first, current state."""
        chat = self.chats.get(chat_id)
        return chat.bot_messages(include_deleted=include_deleted) if chat else []

    def all_messages(self) -> list[SentMessage]:
        """Every message the bot sent (not deleted), chat by chat."""
        return [m for chat in self.chats.values() for m in chat.bot_messages()]

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def errors(self, *, chat_id: int | None = None, include_injected: bool = False) -> list[Call]:
        """Calls answered with an error that Telegram itself would have given (not injected
        faults, not the rate cap), optionally for one chat."""
        return [c for c in self.calls if c.status >= 400
                and (include_injected or not (c.injected or c.capped))
                and (chat_id is None or str(c.chat_id) == str(chat_id))]

    def commands_for(self, scope: str | dict = "default",
                     language_code: str = "") -> list[tuple[str, str]] | None:
        """The (command, description) pairs set for a scope and language, None when unset."""
        key = (_scope_key(scope if isinstance(scope, dict) else {"type": scope}), language_code)
        stored = self.commands.get(key)
        return None if stored is None else [(c["command"], c["description"]) for c in stored]

    def mark_processed(self, update_id: int) -> None:
        self.processed.add(update_id)
        chat_id = self.update_chat.get(update_id)
        if chat_id is not None and chat_id in self.chats:
            self.chats[chat_id].signal.notify()

    # ---- user simulation -----------------------------------------------------------------
    def push_update(self, payload: dict, *, chat_id: int | None = None) -> dict:
        """Queue an update (the update_id is assigned here) and wake the long poll."""
        update = {"update_id": self.next_update_id, **payload}
        self.next_update_id += 1
        if chat_id is not None:
            self.update_chat[update["update_id"]] = chat_id
        self.updates.append(update)
        self.counters["updates"] += 1
        self.updates_signal.notify()
        return update

    def _user_json(self, user_id: int) -> dict:
        return self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "User"}

    def push_message(self, user_id: int, text: str, *, language_code: str | None = "fr",
                     first_name: str = "Camille", last_name: str | None = None,
                     username: str | None = None, reply_to: int | None = None) -> dict:
        """A user writes `text` in the private chat with the bot (chat id = user id), as a
        reply to the message `reply_to` when given. Commands get bot_command entities so
        CommandHandler recognises them."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        self.users[user_id] = user
        chat = self.chat(user_id)
        chat.first_name = first_name
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id, "from": user, "chat": self._chat_json(user_id),
            "date": int(time.time()), "text": text,
        }
        entities = [
            {"type": "bot_command", "offset": utf16_length(text[:m.start()]),
             "length": utf16_length(m.group())}
            for m in _COMMAND_RE.finditer(text)
        ]
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            replied = chat.messages.get(reply_to)
            if replied is None:
                raise ValueError(f"no message {reply_to} in the chat with user {user_id}")
            message["reply_to_message"] = self._message_json(replied)
        update = self.push_update({"message": message}, chat_id=user_id)
        chat.messages[message_id] = SentMessage(
            chat_id=user_id, message_id=message_id, date=message["date"], from_bot=False,
            text=text, html=text, update_id=update["update_id"])
        return update

    def push_callback(self, user_id: int, message_id: int, data: str) -> dict:
        """A user taps an inline button carrying `data` under the bot's message."""
        chat = self.chats.get(user_id)
        message = chat.messages.get(message_id) if chat else None
        if message is None or not message.from_bot or message.deleted:
            raise ValueError(f"no bot message {message_id} in the chat with user {user_id}")
        query_id = f"{self.bot_id}{next(self._query_seq):08d}"
        self.callback_queries[query_id] = {"chat_id": user_id, "message_id": message_id,
                                           "answered": False}
        query = {
            "id": query_id, "from": self._user_json(user_id),
            "message": self._message_json(message),
            "chat_instance": f"{self.bot_id}-{user_id}", "data": data,
        }
        return self.push_update({"callback_query": query}, chat_id=user_id)

    # ---- faults and caps -----------------------------------------------------------------
    def inject(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def _take_fault(self, method: str, chat_id: int | str | None) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, chat_id):
                fault.used += 1
                return fault
        return None

    def is_blocked(self, chat_id: int | str | None) -> bool:
        if chat_id in self.blocked:
            return True
        return isinstance(chat_id, int) and is_drawn_blocked(self.fault_seed, self.blocked_rate,
                                                             chat_id)

    def _draws_5xx(self, chat_id: int | str | None) -> bool:
        """Whether this sendMessage is one of the `fail_5xx_rate` answered 502 (counted after
        the rate cap, so that a 429 does not change which sends fail)."""
        if not self.fail_5xx_rate or not isinstance(chat_id, int):
            return False
        number = self._sends_drawn[chat_id]
        self._sends_drawn[chat_id] += 1
        return drawn(self.fault_seed, self.fail_5xx_rate, "5xx", chat_id, number)

    def _over_cap(self, chat_id: int | None, now: float) -> bool:
        """Sliding one-second windows: beyond the cap, answer 429 (and do not count it)."""
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is not None:
            while chat.recent and chat.recent[0] <= now - 1.0:
                chat.recent.popleft()
        if self.cap_per_s is not None and len(self._recent) >= self.cap_per_s:
            return True
        if (self.chat_cap_per_s is not None and chat is not None
                and len(chat.recent) >= self.chat_cap_per_s):
            return True
        self._recent.append(now)
        if chat is not None:
            chat.recent.append(now)
        return False

    # ---- JSON shapes ---------------------------------------------------------------------
    def me(self) -> dict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.first_name,
                "username": self.username, "can_join_groups": True,
                "can_read_all_group_messages": False, "supports_inline_queries": False,
                "can_connect_to_business": False, "has_main_web_app": False}

    def _chat_json(self, chat_id: int) -> dict:
        if chat_id > 0:
            chat = self.chats.get(chat_id)
            return {"id": chat_id, "type": "private",
                    "first_name": (chat.first_name if chat else None) or "User"}
        return {"id": chat_id, "type": "supergroup", "title": "Group"}

    def _message_json(self, message: SentMessage) -> dict:
        data: dict[str, Any] = {
            "message_id": message.message_id, "date": message.date,
            "chat": self._chat_json(message.chat_id),
            "from": self.me() if message.from_bot else self._user_json(message.chat_id),
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        entities = [{"type": e.type, "offset": e.offset, "length": e.length,
                     **_entity_argument(e)} for e in message.entities]
        if message.kind == "text":
            data["text"] = message.text
            if entities:
                data["entities"] = entities
        else:
            if message.text:
                data["caption"] = message.text
                if entities:
                    data["caption_entities"] = entities
            upload = message.document
            size = len(upload.data) if upload else 0
            if message.kind == "document":
                data["document"] = {"file_id": message.file_id,
                                    "file_unique_id": f"u{message.file_id}", "file_size": size}
                if upload and upload.filename:
                    data["document"]["file_name"] = upload.filename
                if upload and upload.content_type:
                    data["document"]["mime_type"] = upload.content_type
            else:
                data["photo"] = [{"file_id": message.file_id, "file_unique_id": f"u{message.file_id}",
                                  "width": 320, "height": 240, "file_size": size}]
        if message.reply_markup and message.reply_markup.get("inline_keyboard"):
            data["reply_markup"] = message.reply_markup
        return data

    # ---- recording the bot's output ------------------------------------------------------
    def _output(self, kind: str, chat_id: int, message_id: int | None,
                answer: CallbackAnswer | None = None) -> None:
        chat = self.chat(chat_id)
        now = asyncio.get_running_loop().time()
        chat.outputs.append(Output(next(self._output_seq), kind, chat_id, message_id, now, answer))
        chat.signal.notify()

    def _target_chat(self, params: dict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if not isinstance(chat_id, int):
            raise bad_request("chat not found")
        if self.known_chats_only and chat_id not in self.chats:
            raise bad_request("chat not found")
        return chat_id

    def _new_message(self, chat_id: int, **fields: Any) -> SentMessage:
        chat = self.chat(chat_id)
        message = SentMessage(chat_id=chat_id, message_id=chat.next_message_id,
                              date=int(time.time()), from_bot=True, **fields)
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        self.counters["messages_sent"] += 1
        self._output("message", chat_id, message.message_id)
        return message

    def _check_reply_to(self, chat_id: int, params: dict) -> None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id") or params.get("reply_to_message_id")
        allow = reply.get("allow_sending_without_reply", params.get("allow_sending_without_reply"))
        chat = self.chats.get(chat_id)
        if message_id and not allow and (chat is None or message_id not in chat.messages):
            raise bad_request("message to be replied not found")

    def _edit_target(self, params: dict) -> SentMessage:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat_id = self._target_chat(params)
        message_id = params.get("message_id")
        chat = self.chats.get(chat_id)
        message = chat.messages.get(message_id) if chat and message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    # ---- API methods (sync: they only touch state) ---------------------------------------
    def api_sendMessage(self, params: dict) -> dict:
        chat_id = self._target_chat(params)
        parsed, error = check_text(params.get("text"), params.get("parse_mode"))
        if error:
            raise ApiError(400, error)
        markup = validate_reply_markup(params.get("reply_markup"))
        self._check_reply_to(chat_id, params)
        text, entities = _stripped(parsed.text, parsed.entities)
        message = self._new_message(chat_id, text=text, html=params.get("text"),
                                    parse_mode=params.get("parse_mode"), entities=entities,
                                    reply_markup=markup)
        return self._message_json(message)

    def _send_media(self, params: dict, kind: str) -> dict:
        chat_id = self._target_chat(params)
        media = params.get(kind)
        if media is None or media == "":
            raise bad_request(f"there is no {kind} in the request")
        parsed, error = check_text(params.get("caption"), params.get("parse_mode"),
                                   max_length=MAX_CAPTION_LENGTH, allow_empty=True,
                                   long_error="Bad Request: message caption is too long")
        if error:
            raise ApiError(400, error)
        markup = validate_reply_markup(params.get("reply_markup"))
        self._check_reply_to(chat_id, params)
        upload = media if isinstance(media, Upload) else None
        file_id = media if isinstance(media, str) else f"{kind[:3].upper()}{next(self._file_seq)}"
        text, entities = _stripped(parsed.text, parsed.entities)
        message = self._new_message(chat_id, text=text or None, html=params.get("caption"),
                                    parse_mode=params.get("parse_mode"), entities=entities,
                                    reply_markup=markup, kind=kind, document=upload,
                                    file_id=file_id)
        return self._message_json(message)

    def api_sendDocument(self, params: dict) -> dict:
        return self._send_media(params, "document")

    def api_sendPhoto(self, params: dict) -> dict:
        return self._send_media(params, "photo")

    def _apply_edit(self, message: SentMessage, *, text: str | None, html: str | None,
                    parse_mode: str | None, entities: tuple[Entity, ...],
                    markup: dict | None) -> dict:
        if (text, entities, _markup_key(markup)) == (
                message.text, message.entities, _markup_key(message.reply_markup)):
            raise ApiError(400, NOT_MODIFIED)
        if text != message.text:
            message.history.append(message.text)
        message.text, message.html, message.parse_mode = text, html, parse_mode
        message.entities, message.reply_markup = entities, markup
        message.edit_date = int(time.time())
        self.counters["edits"] += 1
        self._output("edit", message.chat_id, message.message_id)
        return self._message_json(message)

    def api_editMessageText(self, params: dict) -> dict:
        message = self._edit_target(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        parsed, error = check_text(params.get("text"), params.get("parse_mode"))
        if error:
            raise ApiError(400, error)
        # Without reply_markup, Telegram removes the inline keyboard: so does this server.
        markup = validate_reply_markup(params.get("reply_markup"))
        text, entities = _stripped(parsed.text, parsed.entities)
        return self._apply_edit(message, text=text, html=params.get("text"),
                                parse_mode=params.get("parse_mode"), entities=entities,
                                markup=markup)

    def api_editMessageCaption(self, params: dict) -> dict:
        message = self._edit_target(params)
        if message.kind == "text":
            raise bad_request("there is no caption in the message to edit")
        parsed, error = check_text(params.get("caption"), params.get("parse_mode"),
                                   max_length=MAX_CAPTION_LENGTH, allow_empty=True,
                                   long_error="Bad Request: message caption is too long")
        if error:
            raise ApiError(400, error)
        markup = validate_reply_markup(params.get("reply_markup"))
        text, entities = _stripped(parsed.text, parsed.entities)
        return self._apply_edit(message, text=text or None, html=params.get("caption"),
                                parse_mode=params.get("parse_mode"), entities=entities,
                                markup=markup)

    def api_editMessageReplyMarkup(self, params: dict) -> dict:
        message = self._edit_target(params)
        markup = validate_reply_markup(params.get("reply_markup"))
        return self._apply_edit(message, text=message.text, html=message.html,
                                parse_mode=message.parse_mode, entities=message.entities,
                                markup=markup)

    def api_deleteMessage(self, params: dict) -> bool:
        chat_id = self._target_chat(params)
        chat = self.chats.get(chat_id)
        message = chat.messages.get(params.get("message_id")) if chat else None
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self._output("delete", chat_id, message.message_id)
        return True

    def api_answerCallbackQuery(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        query = self.callback_queries.get(query_id)
        if query is None or query["answered"]:
            raise ApiError(400, QUERY_INVALID)
        text = params.get("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        query["answered"] = True
        answer = CallbackAnswer(query_id, query["chat_id"], query["message_id"], text,
                                bool(params.get("show_alert")), params.get("url"),
                                asyncio.get_running_loop().time())
        self.callback_answers.append(answer)
        self._output("answer", query["chat_id"], query["message_id"], answer)
        return True

    def api_sendChatAction(self, params: dict) -> bool:
        self._target_chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def api_setMyCommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("too many commands specified")
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            if not _BOT_COMMAND_NAME_RE.fullmatch(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _commands_key(self, params: dict) -> tuple[str, str]:
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return _scope_key(params.get("scope") or {"type": "default"}), language

    def api_getMyCommands(self, params: dict) -> list[dict]:
        return list(self.commands.get(self._commands_key(params), []))

    def api_deleteMyCommands(self, params: dict) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def api_setChatMenuButton(self, params: dict) -> bool:
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in ("default", "commands",
                                                                      "web_app"):
            raise bad_request("can't parse menu button JSON object")
        self.menu_buttons[str(params.get("chat_id") or "")] = button
        return True

    def api_getChatMenuButton(self, params: dict) -> dict:
        return self.menu_buttons.get(str(params.get("chat_id") or ""), {"type": "commands"})

    def _set_text_setting(self, params: dict, name: str, limit: int) -> bool:
        value = params.get(name) or ""
        if len(value) > limit:
            raise bad_request(f"{name} is too long")
        self.descriptions[(name, params.get("language_code") or "")] = value
        return True

    def api_setMyDescription(self, params: dict) -> bool:
        return self._set_text_setting(params, "description", 512)

    def api_setMyShortDescription(self, params: dict) -> bool:
        return self._set_text_setting(params, "short_description", 120)

    def api_setMyName(self, params: dict) -> bool:
        return self._set_text_setting(params, "name", 64)

    def api_getMe(self, params: dict) -> dict:
        return self.me()

    def api_deleteWebhook(self, params: dict) -> bool:
        if params.get("drop_pending_updates"):
            self.updates.clear()
        return True

    def api_getWebhookInfo(self, params: dict) -> dict:
        return {"url": "", "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    def api_close(self, params: dict) -> bool:
        return True

    def api_logOut(self, params: dict) -> bool:
        return True

    async def get_updates(self, params: dict) -> list[dict]:
        """Long polling: confirm what is below `offset`, answer at once when updates are
        queued, else wait up to `timeout` seconds for one. A newer getUpdates ends an older
        one with 409, as Telegram does when two instances poll."""
        self._poll_generation += 1
        generation = self._poll_generation
        self.updates_signal.notify()  # wake an older poll so it answers 409
        offset = params.get("offset")
        if isinstance(offset, int) and offset != 0:
            if offset > 0:
                while self.updates and self.updates[0]["update_id"] < offset:
                    self.updates.popleft()
            else:
                while len(self.updates) > -offset:
                    self.updates.popleft()
        limit = params.get("limit") or 100
        limit = min(max(int(limit), 1), 100)
        timeout = float(params.get("timeout") or 0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout, 0.0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)
            if self.updates:
                return list(itertools.islice(self.updates, limit))
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self.updates_signal.wait(remaining)


def _entity_argument(entity: Entity) -> dict:
    if entity.type == "text_link":
        return {"url": entity.argument}
    if entity.type == "pre" and entity.argument:
        return {"language": entity.argument}
    if entity.type == "custom_emoji":
        return {"custom_emoji_id": entity.argument}
    return {}


def _stripped(text: str, entities: Iterable[Entity]) -> tuple[str, tuple[Entity, ...]]:
    """Telegram strips leading and trailing whitespace; entity offsets follow."""
    lead = utf16_length(text) - utf16_length(text.lstrip())
    stripped = text.strip()
    size = utf16_length(stripped)
    kept = []
    for entity in entities:
        start = max(entity.offset - lead, 0)
        end = min(entity.offset + entity.length - lead, size)
        if end > start:
            kept.append(Entity(entity.type, start, end - start, entity.argument))
    return stripped, tuple(kept)


def _markup_key(markup: dict | None) -> str:
    if not markup or not markup.get("inline_keyboard"):
        return ""
    return json.dumps(markup, sort_keys=True)


def _scope_key(scope: dict) -> str:
    if not isinstance(scope, dict) or "type" not in scope:
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope["type"]
    if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
        return kind
    if kind in ("chat", "chat_administrators"):
        return f"{kind}:{scope.get('chat_id')}"
    if kind == "chat_member":
        return f"{kind}:{scope.get('chat_id')}:{scope.get('user_id')}"
    raise bad_request("wrong BotCommandScope type specified")


def validate_reply_markup(markup: Any) -> dict | None:
    """The markup as Telegram would accept it, or ApiError(400) with Telegram's description."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup should be '
                              "an Array of Arrays")
        count = 0
        for row in rows:
            for button in row:
                count += 1
                _validate_inline_button(button)
        if count > 100:
            raise bad_request("reply markup is too long")
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('field "keyboard" of the ReplyKeyboardMarkup should be an Array '
                              "of Arrays")
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else (button or {}).get("text")
                if not isinstance(text, str) or not text.strip():
                    raise bad_request("keyboard button text must be non-empty")
        return markup
    if markup.get("remove_keyboard") or markup.get("force_reply"):
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _validate_inline_button(button: Any) -> None:
    prefix = "can't parse inline keyboard button: "
    if not isinstance(button, dict):
        raise bad_request(prefix + "InlineKeyboardButton must be an Object")
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request(prefix + "Text must be non-empty")
    if not any(key in button for key in BUTTON_ACTIONS):
        raise bad_request(prefix + "Text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https", "tg") or not parts.netloc:
            raise bad_request("BUTTON_URL_INVALID")


def _coerce(raw: dict[str, Any]) -> dict[str, Any]:
    """Typed parameters from a form or multipart body (every value a string or an upload)."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _JSON_KEYS:
                try:
                    value = json.loads(value)
                except ValueError:
                    raise bad_request(f"can't parse {key} JSON object") from None
            elif key in _INT_KEYS and _INT_RE.fullmatch(value.strip()):
                value = int(value)
            elif key in _BOOL_KEYS:
                value = value.strip().lower() in ("true", "1")
            elif value.startswith("attach://") and value[9:] in raw:
                value = raw[value[9:]]
        params[key] = value
    return params


async def _read_params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.read()
        data = json.loads(body) if body else {}
        if not isinstance(data, dict):
            raise bad_request("JSON object expected")
        for key in _INT_KEYS & data.keys():  # Telegram takes "123" as well as 123
            if isinstance(data[key], str) and _INT_RE.fullmatch(data[key].strip()):
                data[key] = int(data[key])
        return {**_coerce(raw), **data}
    if request.method == "POST" and request.content_type in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                raw[key] = Upload(value.filename, value.file.read(), value.content_type)
            else:
                raw[key] = value
    return _coerce(raw)


def _error_response(error: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": error.status,
                            "description": error.description}
    if error.parameters:
        body["parameters"] = error.parameters
    return web.json_response(body, status=error.status)


class FakeBotServer:
    """The HTTP server plus one BotState per token. Start it on the test's event loop."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 auto_register: bool = False, keepalive_timeout: float = 75.0) -> None:
        self.host = host
        self.port = port
        self.auto_register = auto_register
        # Seconds an idle keep-alive connection stays open (aiohttp's default, 75 s).
        self.keepalive_timeout = keepalive_timeout
        self.bots: dict[str, BotState] = {}
        self._runner: web.AppRunner | None = None
        self._user_ids = itertools.count(700_000_001)
        self._bot_ids = itertools.count(6_000_000_001)
        self._methods: dict[str, tuple[str, Callable]] = {}
        for name in dir(BotState):
            if name.startswith("api_"):
                self._methods[name[4:].lower()] = (name[4:], getattr(BotState, name))

    # ---- life cycle ----------------------------------------------------------------------
    async def start(self) -> FakeBotServer:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        for method, path, handler in self._control_routes():
            app.router.add_route(method, path, handler)
        # handler_cancellation: a long poll whose client went away (bot stopped or killed)
        # ends at once instead of holding its slot until its timeout.
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True,
                                     shutdown_timeout=1.0,
                                     keepalive_timeout=self.keepalive_timeout)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the port 0 resolved to
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url(...) and TELEGRAM_API_URL."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # ---- bots and users ------------------------------------------------------------------
    def add_bot(self, token: str | None = None, *, username: str | None = None,
                first_name: str = "Centrale") -> str:
        """Register a bot (a fresh token when none is given) and return its token."""
        if token is None:
            bot_id = next(self._bot_ids)
            token = f"{bot_id}:TEST-{bot_id:x}"
        if token not in self.bots:
            prefix = token.split(":", 1)[0]
            self.bots[token] = BotState(token, username or f"centrale_{prefix}_bot", first_name)
        return token

    def bot(self, token: str) -> BotState:
        try:
            return self.bots[token]
        except KeyError:
            raise KeyError(f"unknown bot token {token!r}: call add_bot first") from None

    def new_user_id(self) -> int:
        """A user id never used before on this server (tests stay independent)."""
        return next(self._user_ids)

    def user(self, token: str, user_id: int | None = None, *, language_code: str = "fr",
             first_name: str = "Camille", **kwargs: Any):
        """A VirtualUser (tests.fakebot.client) talking to the bot `token`."""
        from tests.fakebot.client import VirtualUser

        return VirtualUser(self, token, user_id if user_id is not None else self.new_user_id(),
                           language_code=language_code, first_name=first_name, **kwargs)

    def push_message(self, token: str, user_id: int, text: str, **kwargs: Any) -> dict:
        return self.bot(token).push_message(user_id, text, **kwargs)

    def push_callback(self, token: str, user_id: int, message_id: int, data: str) -> dict:
        return self.bot(token).push_callback(user_id, message_id, data)

    def push_update(self, token: str, payload: dict) -> dict:
        return self.bot(token).push_update(payload)

    # ---- faults and caps -----------------------------------------------------------------
    def configure(self, token: str, *, cap_per_s: float | None = None,
                  chat_cap_per_s: float | None = None, known_chats_only: bool = False,
                  fail_5xx: float = 0.0, blocked: float = 0.0, seed: int = 0) -> None:
        """Rate caps (None: no cap): `cap_per_s` messages per sliding second for the bot,
        `chat_cap_per_s` per chat; beyond them answer 429 with retry_after=1. Shares of faults:
        `fail_5xx` of the sendMessage calls answer 502 Bad Gateway (not applied), and `blocked`
        of the chats blocked the bot (403 for every send to them, as `block`), both drawn from
        `seed` (see `drawn`). Every call resets what it does not set."""
        for name, rate in (("fail_5xx", fail_5xx), ("blocked", blocked)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1, not {rate!r}")
        state = self.bot(token)
        state.cap_per_s, state.chat_cap_per_s = cap_per_s, chat_cap_per_s
        state.known_chats_only = known_chats_only
        state.fail_5xx_rate, state.blocked_rate, state.fault_seed = fail_5xx, blocked, int(seed)
        state._sends_drawn.clear()

    def fail_next(self, token: str, method: str | None = "sendMessage", status: int = 429, *,
                  times: int | None = 1, chat_id: int | None = None,
                  retry_after: int | None = None, description: str | None = None) -> Fault:
        """The next `times` matching calls answer `status` (429 carries retry_after)."""
        return self.bot(token).inject(Fault("error", method, chat_id, times, status,
                                            description, retry_after))

    def delay_next(self, token: str, method: str | None = "sendMessage", seconds: float = 10.0,
                   *, times: int | None = 1, chat_id: int | None = None,
                   apply: bool = True) -> Fault:
        return self.bot(token).inject(Fault("delay", method, chat_id, times, seconds=seconds,
                                            apply=apply))

    def drop_next(self, token: str, method: str | None = "sendMessage", *,
                  times: int | None = 1, chat_id: int | None = None,
                  apply: bool = False) -> Fault:
        return self.bot(token).inject(Fault("drop", method, chat_id, times, apply=apply))

    def block(self, token: str, chat_id: int) -> None:
        """The user blocked the bot: sending to the chat answers 403 until unblock()."""
        self.bot(token).blocked.add(chat_id)

    def unblock(self, token: str, chat_id: int) -> None:
        self.bot(token).blocked.discard(chat_id)

    def clear_faults(self, token: str) -> None:
        state = self.bot(token)
        state.faults.clear()
        state.blocked.clear()
        state.fail_5xx_rate = state.blocked_rate = 0.0

    # ---- HTTP ----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        state = self.bots.get(token)
        if state is None and self.auto_register:
            state = self.bot(self.add_bot(token))
        if state is None:
            return _error_response(ApiError(401, "Unauthorized"))
        method_key = request.match_info["method"].lower()
        method = self._methods.get(method_key, (request.match_info["method"], None))[0]
        if method_key == "getupdates":
            method = "getUpdates"
        loop = asyncio.get_running_loop()
        call = Call(method, {}, loop.time())
        state.calls.append(call)
        state.counters[method] += 1
        chat: ChatState | None = None
        try:
            call.params = await _read_params(request)
            call.chat_id = call.params.get("chat_id")
            if method == "answerCallbackQuery":
                query = state.callback_queries.get(str(call.params.get("callback_query_id")))
                call.chat_id = query["chat_id"] if query else None
            if isinstance(call.chat_id, int):
                chat = state.chat(call.chat_id)
                chat.inflight += 1
            result = await self._dispatch(request, state, call, method_key)
        except ApiError as error:
            call.status, call.description = error.status, error.description
            state.counters[f"http_{error.status}"] += 1
            if chat is not None and not (call.injected or call.capped):
                chat.errors.append(call)
            return _error_response(error)
        finally:
            if chat is not None:
                chat.inflight -= 1
                chat.signal.notify()
        state.counters["http_200"] += 1
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, request: web.Request, state: BotState, call: Call,
                        method_key: str) -> Any:
        fault = state._take_fault(call.method, call.chat_id)
        if fault is not None and fault.kind == "error":
            call.injected = True
            raise fault.error()
        if method_key == "getupdates":
            return await state.get_updates(call.params)
        entry = self._methods.get(method_key)
        if entry is None:
            raise ApiError(404, "Not Found: method not found")
        if call.method in RATE_COUNTED_METHODS and (
                state.cap_per_s is not None or state.chat_cap_per_s is not None):
            if state._over_cap(call.chat_id, state.clock()):
                call.capped = True
                state.counters["rate_capped"] += 1
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
        if call.method in CHAT_SENDING_METHODS and state.is_blocked(call.chat_id):
            call.injected = True  # simulated by the test, not a mistake of the bot
            state.blocked_tries[call.chat_id] += 1
            raise ApiError(403, BLOCKED)
        if call.method == "sendMessage" and state._draws_5xx(call.chat_id):
            call.injected = True
            raise ApiError(502, "Bad Gateway")
        result = None
        if fault is None or fault.apply:
            result = entry[1](state, call.params)
        if fault is not None:
            call.injected = True
            if fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "drop":
                call.status, call.description = 0, "connection dropped"
                state.counters["dropped"] += 1
                if request.transport is not None:
                    request.transport.close()
                response = web.StreamResponse()  # never written: the transport is closed
                return response
        return result

    # ---- control API (for a server in another process) -----------------------------------
    def _control_routes(self) -> list[tuple[str, str, Callable]]:
        async def read(request: web.Request) -> dict:
            return await request.json() if request.can_read_body else {}

        async def add_bot(request: web.Request) -> web.Response:
            body = await read(request)
            token = self.add_bot(body.get("token"), username=body.get("username"))
            return web.json_response({"token": token})

        def state_of(request: web.Request) -> BotState:
            token = request.match_info["token"]
            if token not in self.bots and self.auto_register:
                self.add_bot(token)
            return self.bot(token)

        async def push_message(request: web.Request) -> web.Response:
            body = await read(request)
            update = state_of(request).push_message(
                int(body.pop("user_id")), body.pop("text"), **body)
            return web.json_response(update)

        async def push_callback(request: web.Request) -> web.Response:
            body = await read(request)
            update = state_of(request).push_callback(int(body["user_id"]),
                                                     int(body["message_id"]), body["data"])
            return web.json_response(update)

        async def configure(request: web.Request) -> web.Response:
            state_of(request)
            self.configure(request.match_info["token"], **await read(request))
            return web.json_response({"ok": True})

        async def fault(request: web.Request) -> web.Response:
            body = await read(request)
            state_of(request).inject(Fault(**body))
            return web.json_response({"ok": True})

        async def snapshot(request: web.Request) -> web.Response:
            state = state_of(request)
            chats = {str(chat_id): [state._message_json(m) for m in chat.bot_messages()]
                     for chat_id, chat in state.chats.items()}
            return web.json_response({
                "counters": dict(state.counters), "chats": chats,
                "blocked_tries": {str(chat_id): count
                                  for chat_id, count in state.blocked_tries.items()},
                "pending_updates": len(state.updates),
                "callback_answers": [a.__dict__ for a in state.callback_answers],
                "errors": [{"method": c.method, "status": c.status, "chat_id": c.chat_id,
                            "description": c.description} for c in state.errors()],
            })

        async def wait_messages(request: web.Request) -> web.Response:
            """Long poll until the chat holds at least `min_count` bot outputs."""
            state = state_of(request)
            chat = state.chat(int(request.query["chat_id"]))
            wanted = int(request.query.get("min_count", "1"))
            loop = asyncio.get_running_loop()
            deadline = loop.time() + float(request.query.get("timeout", "10"))
            while len(chat.outputs) < wanted and loop.time() < deadline:
                await chat.signal.wait(deadline - loop.time())
            return web.json_response({
                "outputs": len(chat.outputs),
                "messages": [state._message_json(m) for m in chat.bot_messages()]})

        return [
            ("POST", "/_control/bots", add_bot),
            ("POST", "/_control/{token}/push_message", push_message),
            ("POST", "/_control/{token}/push_callback", push_callback),
            ("POST", "/_control/{token}/configure", configure),
            ("POST", "/_control/{token}/fault", fault),
            ("GET", "/_control/{token}/state", snapshot),
            ("GET", "/_control/{token}/wait", wait_messages),
        ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    parser.add_argument("--token", action="append", default=[], help="register this bot token")
    args = parser.parse_args(argv)

    async def serve() -> None:
        server = await FakeBotServer(args.host, args.port, auto_register=True).start()
        for token in args.token:
            server.add_bot(token)
        print(f"fake Bot API listening on {server.base_url}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
