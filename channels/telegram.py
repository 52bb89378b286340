"""The Telegram channel: a Message as HTML and inline buttons, callback data both ways, sending
with python-telegram-bot and what its errors mean.

HTML: every text is escaped with `html.escape`; links only for plain http(s) URLs; a message is at
most `LIMIT` UTF-16 code units of *HTML* (Telegram counts its 4096 limit on the visible text in
UTF-16 units; the HTML is never shorter, so this bound is the strict one). A message too long
takes its first shorter version that fits (alerts.message.Message.shorter); the last resort cuts
whole lines. Button labels are cut to `BUTTON_LABEL` characters.

Callback data (at most 64 bytes; this module and handlers/ are the only code that knows it). The
codes are those of the messages already in members' chats, so their buttons keep working:
  a|i|<tid> interested · a|n|<tid> not for us · a|nr|<tid>|<reason> not for us, with a reason ·
  a|u|<tid> undo · a|p|<tid> partners · a|h|<tid> help · a|o|<tid> open a digest's tender;
  al|m, al|h, al|d, al|q the /alertes screens · al|r|<rhythm> · al|h|<hour> · al|d|<day> ·
  al|q|<start>|<end> · al|w weekends · al|p|<days> pause · al|res resume · al|stop · al|x done;
  ev|y|<aid> register to an event · ev|n|<aid> not available;
  adv|l the announcements · adv|x|<aid> cancel one · adv|r|<aid> its registrants (CSV) ·
  adv|ol the open opportunities · adv|ox|<tid> cancel one · adv|oe|<tid> edit it · adv|s the
  bilan (advisors only).

Attachments (alerts.message.Attachment): the first goes as a document (a photo for a PNG) whose
caption is the message when it fits a caption; otherwise the text goes first. One API call when
it fits, so a retried send never doubles the text.
`decode` trusts nothing: unknown codes, bad numbers and garbage give None.

Answers and errors (`classify`):
- 429: RATE_LIMITED after `retry_after`.
- 5xx, connection refused, connect/pool/write timeouts (the request was not fully written): RETRY.
- 403 (blocked, deactivated…): BLOCKED; 400: DEAD with Telegram's description; a migrated group:
  MOVED to its new chat id; a refused token: STOP.
- A read timeout, or the connection lost after the request was written: UNCERTAIN — the Bot API
  has no idempotency key, so a message that may have arrived is not risked twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import Session
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from alerts.channel import Outcome, SendResult
from alerts.message import Action, Actions, Attachment, Intent, Line, Message, Request, Span
from store.models import Member

NAME = "telegram"
LIMIT = 4096
CAPTION_LIMIT = 1024
BUTTON_LABEL = 40
CALLBACK_LIMIT = 64
DEFAULT_RATE = 29.0  # Telegram allows about 30 messages a second per bot…
ADDRESS_INTERVAL_S = 1.0  # …and about one a second per chat

Keyboard = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class Rendered:
    html: str
    keyboard: Keyboard | None = None  # (label, callback data) rows
    attachments: tuple[Attachment, ...] = ()


# --- text ----------------------------------------------------------------------------------------


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def close_tags(html_text: str) -> str:
    stack: list[str] = []
    for match in re.finditer(r"<(/?)([a-z\-]+)[^>]*>", html_text):
        closing, tag = match.groups()
        if closing and stack and stack[-1] == tag:
            stack.pop()
        elif not closing:
            stack.append(tag)
    return html_text + "".join(f"</{tag}>" for tag in reversed(stack))


def fit(html_text: str, limit: int = LIMIT) -> str:
    """Cut an HTML message so that Telegram accepts it (never inside a tag or an entity).

    Counting UTF-16 units on the HTML source is an upper bound of the visible length, so the
    result always fits."""
    if units(html_text) <= limit:
        return html_text
    cut = html_text[: limit - 1]
    while units(cut) > limit - 1 - 40:  # room for the closing tags and the ellipsis
        cut = cut[: -max(1, (units(cut) - (limit - 41)) // 2)]
    # Back off to before any tag or entity that the cut left open.
    for opener, closer in (("<", ">"), ("&", ";")):
        start = cut.rfind(opener)
        if start != -1 and cut.find(closer, start) == -1:
            cut = cut[:start]
    return close_tags(cut) + "…"


def short(label: str, limit: int = BUTTON_LABEL) -> str:
    label = " ".join(label.split())
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _span(span: Span) -> str:
    text = escape(span.text)
    if span.strike:
        text = f"<s>{text}</s>"
    if span.italic:
        text = f"<i>{text}</i>"
    if span.bold:
        text = f"<b>{text}</b>"
    if span.link:
        text = f'<a href="{escape(span.link, quote=True)}">{text}</a>'
    return text


def _line(line: Line) -> str:
    return ("• " if line.item else "") + "".join(_span(span) for span in line.spans)


def html_of(message: Message) -> str:
    parts = []
    if message.title:
        title = f"<b>{escape(message.title)}</b>"
        parts.append(f"{message.icon} {title}" if message.icon else title)
    parts += ["\n".join(_line(line) for line in block) for block in message.blocks if block]
    return "\n\n".join(parts)


def _drop_lines(html_text: str, limit: int = LIMIT) -> str:
    """Last resort: whole lines off the end (each line is balanced HTML)."""
    lines = html_text.split("\n")
    while lines and units("\n".join(lines) + "\n…") > limit:
        lines.pop()
    return "\n".join(lines) + "\n…" if lines else fit(html_text, limit)


def render(message: Message) -> Rendered:
    """The first version of `message` that fits Telegram's limit, with its buttons."""
    html_text = ""
    for version in message.variants():
        html_text = html_of(version)
        if units(html_text) <= LIMIT:
            return Rendered(html_text, keyboard(version.actions), message.attachments)
    return Rendered(_drop_lines(html_text), keyboard(version.actions), message.attachments)


def render_html(message: Message) -> str:
    return render(message).html


# --- buttons -------------------------------------------------------------------------------------

_TENDER_CODES = {Intent.INTERESTED: "i", Intent.NOT_FOR_US: "n", Intent.UNDO: "u",
                 Intent.PARTNERS: "p", Intent.HELP: "h", Intent.OPEN: "o"}
_TENDER_INTENTS = {code: intent for intent, code in _TENDER_CODES.items()}
_MENU_SCREENS = {"main": "m", "hours": "h", "days": "d", "quiet": "q"}
_MENU_CODES = {Intent.RHYTHM: "r", Intent.DIGEST_HOUR: "h", Intent.WEEKLY_DAY: "d",
               Intent.PAUSE: "p"}
_MENU_FLAGS = {Intent.WEEKENDS: "w", Intent.RESUME: "res", Intent.STOP: "stop",
               Intent.DONE: "x"}
_EVENT_CODES = {Intent.EVENT_YES: "y", Intent.EVENT_NO: "n"}
_ADVISOR_CODES = {Intent.ANNOUNCEMENT_CANCEL: "x", Intent.REGISTRANTS: "r",
                  Intent.OPPORTUNITY_CANCEL: "ox", Intent.OPPORTUNITY_EDIT: "oe"}
_ADVISOR_FLAGS = {Intent.ANNOUNCEMENTS: "l", Intent.STATS: "s", Intent.OPPORTUNITIES: "ol"}
_ARG = re.compile(r"[a-z0-9_]{1,20}")
_MAX_ID = 2**63 - 1


def encode(action: Action | Request) -> str:
    """An action as callback data (≤ 64 bytes: targets are integers, arguments short codes)."""
    intent, target, arg = action.intent, action.target, action.arg
    if intent in _TENDER_CODES:
        if intent == Intent.NOT_FOR_US and arg:
            return f"a|nr|{int(target or 0)}|{arg}"
        return f"a|{_TENDER_CODES[intent]}|{int(target or 0)}"
    if intent == Intent.MENU:
        return "al|" + _MENU_SCREENS.get(arg or "main", "m")
    if intent == Intent.QUIET_HOURS:
        start, _sep, end = (arg or "").partition("-")
        return f"al|q|{start}|{end}"
    if intent in _MENU_CODES:
        return f"al|{_MENU_CODES[intent]}|{arg}"
    if intent in _MENU_FLAGS:
        return "al|" + _MENU_FLAGS[intent]
    if intent in _EVENT_CODES:
        return f"ev|{_EVENT_CODES[intent]}|{int(target or 0)}"
    if intent in _ADVISOR_CODES:
        return f"adv|{_ADVISOR_CODES[intent]}|{int(target or 0)}"
    if intent in _ADVISOR_FLAGS:
        return "adv|" + _ADVISOR_FLAGS[intent]
    return _encode_generic(intent, target, arg)


def _encode_generic(intent: Intent, target: int | None, arg: str | None) -> str:
    # The later flows' intents (groupements, support…) need no code of their own here:
    # "g|intent|target|arg", each part checked again on the way back.
    if arg is not None and not _ARG.fullmatch(arg):
        raise ValueError(f"argument {arg!r} of {intent} is not a short code")
    data = f"g|{intent.value}|{'' if target is None else int(target)}|{arg or ''}"
    if len(data.encode()) > CALLBACK_LIMIT:
        raise ValueError(f"callback data of {intent} over {CALLBACK_LIMIT} bytes")
    return data


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and int(text) <= _MAX_ID else None


def decode(data: str | None) -> Request | None:
    """Callback data back to a request; None for anything that is not ours."""
    parts = (data or "").split("|")
    if len(data or "") > CALLBACK_LIMIT or len(parts) < 2:
        return None
    if parts[0] == "a" and len(parts) in (3, 4):
        target = _number(parts[2])
        if target is None:
            return None
        if parts[1] == "nr" and len(parts) == 4 and _ARG.fullmatch(parts[3]):
            return Request(Intent.NOT_FOR_US, target, parts[3])
        intent = _TENDER_INTENTS.get(parts[1])
        return Request(intent, target) if intent and len(parts) == 3 else None
    if parts[0] in ("ev", "adv"):
        return _decode_targeted(parts)
    if parts[0] == "g":
        return _decode_generic(parts)
    if parts[0] != "al":
        return None
    code, args = parts[1], parts[2:]
    if not all(_ARG.fullmatch(arg) for arg in args):
        return None
    if not args:
        screens = {v: k for k, v in _MENU_SCREENS.items()}
        if code in screens:
            return Request(Intent.MENU, arg=screens[code])
        flags = {v: k for k, v in _MENU_FLAGS.items()}
        return Request(flags[code]) if code in flags else None
    if code == "q" and len(args) == 2:
        return Request(Intent.QUIET_HOURS, arg=f"{args[0]}-{args[1]}")
    codes = {v: k for k, v in _MENU_CODES.items()}
    if code in codes and len(args) == 1:
        return Request(codes[code], arg=args[0])
    return None


def _decode_targeted(parts: list[str]) -> Request | None:
    codes = {v: k for k, v in (_EVENT_CODES if parts[0] == "ev" else _ADVISOR_CODES).items()}
    if len(parts) == 3 and parts[1] in codes:
        target = _number(parts[2])
        return Request(codes[parts[1]], target) if target is not None else None
    flags = {v: k for k, v in _ADVISOR_FLAGS.items()} if parts[0] == "adv" else {}
    return Request(flags[parts[1]]) if len(parts) == 2 and parts[1] in flags else None


_CODED = frozenset(_TENDER_CODES) | frozenset(_MENU_CODES) | frozenset(_MENU_FLAGS) | frozenset(
    _EVENT_CODES) | frozenset(_ADVISOR_CODES) | frozenset(_ADVISOR_FLAGS) | {
    Intent.MENU, Intent.QUIET_HOURS}


def _decode_generic(parts: list[str]) -> Request | None:
    if len(parts) != 4:
        return None
    try:
        intent = Intent(parts[1])
    except ValueError:
        return None
    if intent in _CODED:  # those have their own code: "g|" is not how we send them
        return None
    target = _number(parts[2]) if parts[2] else None
    if parts[2] and target is None or parts[3] and not _ARG.fullmatch(parts[3]):
        return None
    return Request(intent, target, parts[3] or None)


def keyboard(actions: Actions) -> Keyboard | None:
    rows = [[(short(("✅ " if action.selected else "") + action.label), encode(action))
             for action in row] for row in actions if row]
    return rows or None


def markup(rows: Keyboard | None) -> InlineKeyboardMarkup | None:
    """(label, callback data) rows as PTB's inline keyboard."""
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in rows])


def pairs(reply_markup: InlineKeyboardMarkup | None) -> Keyboard:
    """PTB's inline keyboard back to (label, callback data) rows."""
    if reply_markup is None:
        return []
    return [[(button.text, button.callback_data) for button in row]
            for row in reply_markup.inline_keyboard]


# --- sending -------------------------------------------------------------------------------------

# httpx errors raised before the request was completely written: Telegram cannot have acted.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
             httpx.WriteTimeout, httpx.UnsupportedProtocol, httpx.LocalProtocolError,
             httpx.ProxyError)


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: BaseException) -> SendResult:
    """What a failed send means (see the module docstring)."""
    reason = f"{type(error).__name__}: {error}"
    if isinstance(error, RetryAfter):
        retry_after = getattr(error, "_retry_after", None)  # the property warns when read
        return SendResult(Outcome.RATE_LIMITED, reason, retry_after=_seconds(
            retry_after if retry_after is not None else error.retry_after))
    if isinstance(error, Forbidden):
        return SendResult(Outcome.BLOCKED, reason)
    if isinstance(error, ChatMigrated):
        return SendResult(Outcome.MOVED, reason, new_address=error.new_chat_id)
    if isinstance(error, InvalidToken):
        return SendResult(Outcome.STOP, reason)
    if isinstance(error, BadRequest):
        return SendResult(Outcome.DEAD, reason)
    cause = error.__cause__
    if isinstance(error, TimedOut | NetworkError):
        # TimedOut wraps every httpx timeout, NetworkError every connection error: only those
        # raised before the request was written are safe to retry. A NetworkError without a
        # cause is an error status from Telegram (5xx…): it did not deliver the message.
        not_sent = isinstance(cause, _NOT_SENT) or (cause is None
                                                    and not isinstance(error, TimedOut))
        return SendResult(Outcome.RETRY if not_sent else Outcome.UNCERTAIN, reason)
    if isinstance(error, TelegramError):
        return SendResult(Outcome.RETRY, reason)
    return SendResult(Outcome.UNCERTAIN, reason)


def make_bot(token: str, api_url: str, *, pool_size: int = 64,
             read_timeout_s: float = 10.0, connect_timeout_s: float = 5.0) -> Bot:
    """A plain PTB Bot for the delivery runner (no AIORateLimiter: pacing is the shared
    limiter's job). PTB's httpx client: `classify` relies on its exact error classes."""
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connection_pool_size=pool_size, read_timeout=read_timeout_s,
                           write_timeout=connect_timeout_s, connect_timeout=connect_timeout_s,
                           pool_timeout=1.0)
    return Bot(token, base_url=api_url,
               base_file_url=api_url.replace("/bot", "/file/bot"), request=request)


async def send_rendered(bot: Bot, chat_id: int, rendered: Rendered, **timeouts: Any):
    """Send a rendered message and its attachments (see the module docstring); returns the
    message that carries the text."""
    files = list(rendered.attachments)
    reply_markup = markup(rendered.keyboard)
    first = None
    if files and units(rendered.html) <= CAPTION_LIMIT:
        first = await _send_file(bot, chat_id, files.pop(0), caption=rendered.html,
                                 reply_markup=reply_markup, **timeouts)
    else:
        first = await bot.send_message(
            chat_id=chat_id, text=rendered.html, parse_mode=ParseMode.HTML,
            reply_markup=reply_markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True), **timeouts)
    for attachment in files:
        await _send_file(bot, chat_id, attachment, **timeouts)
    return first


async def _send_file(bot: Bot, chat_id: int, attachment: Attachment, *, caption: str | None = None,
                     reply_markup=None, **timeouts: Any):
    from telegram import InputFile

    upload = InputFile(attachment.data, filename=attachment.filename)
    common = dict(chat_id=chat_id, caption=caption, parse_mode=ParseMode.HTML if caption else None,
                  reply_markup=reply_markup, **timeouts)
    if attachment.mime == "image/png":
        return await bot.send_photo(photo=upload, **common)
    return await bot.send_document(document=upload, **common)


class TelegramChannel:
    """alerts.channel.Channel over a PTB Bot."""

    name = NAME

    def __init__(self, bot: Bot, *, rate_per_s: float = DEFAULT_RATE,
                 address_interval_s: float = ADDRESS_INTERVAL_S, read_timeout_s: float = 10.0,
                 connect_timeout_s: float = 5.0) -> None:
        self.bot = bot
        self.rate_per_s = rate_per_s
        self.address_interval_s = address_interval_s
        self.read_timeout_s = read_timeout_s
        self.connect_timeout_s = connect_timeout_s

    def address(self, member: Member) -> int | None:
        if member.telegram_chat_id is None or not member.telegram_active:
            return None
        return member.telegram_chat_id

    def render(self, message: Message) -> Rendered:
        return render(message)

    async def send(self, address: int, rendered: Rendered) -> SendResult:
        try:
            sent = await send_rendered(self.bot, address, rendered,
                                       read_timeout=self.read_timeout_s,
                                       connect_timeout=self.connect_timeout_s,
                                       write_timeout=self.connect_timeout_s)
        except Exception as error:  # noqa: BLE001 - every error is classified
            return classify(error)
        return SendResult(Outcome.SENT, message_id=str(sent.message_id))

    def close(self, session: Session, member_id: int) -> None:
        session.execute(update(Member).where(Member.id == member_id)
                        .values(telegram_active=False))

    def move(self, session: Session, member_id: int, new_address: Any) -> None:
        if new_address is not None:
            session.execute(update(Member).where(Member.id == member_id)
                            .values(telegram_chat_id=int(new_address)))
