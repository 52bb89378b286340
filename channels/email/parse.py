"""An inbound message, read defensively: who sent it, what it answers, whether a machine wrote it,
and its text.

Nothing in a message is trusted and nothing in it may stop the bridge: malformed MIME, an
unknown or lying charset, 8-bit headers, an HTML-only body, a 10 MB attachment — each gives the
best text it can (or none), never an exception.

Machines (`automatic`), which never trigger an action nor an answer (Discourse's and RFC 3834's
rules): `Auto-Submitted` other than "no"; `X-Autoreply`, `X-Autorespond`; an Exchange
`X-Auto-Response-Suppress` naming OOF or AutoReply; `Precedence` (or `X-Precedence`) bulk, junk,
list or auto_reply; an empty envelope sender; mailer-daemon, postmaster and no-reply senders;
out-of-office subjects in French and English; delivery-status notifications (DSNs,
multipart/report).
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

MAX_BODY = 200_000  # characters of text considered (a reply is short; the rest is quotes)

_MACHINE_SENDERS = re.compile(
    r"^(?:mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?|"
    r"auto[-_.]?reply|autoresponder|notifications?)(?:[+-][^@]*)?@", re.IGNORECASE)
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*)?(?:"
    r"auto(?:matic)?[ -]?(?:reply|response)|autoreply|out of (?:the )?office|"
    r"away from (?:the )?office|on vacation|"
    r"r[ée]ponse automatique|message automatique|absence|absent|je suis absente?|"
    r"en cong[ée]s?|hors du bureau|"
    r"undeliverable|undelivered|delivery status notification|"
    r"(?:mail )?delivery (?:has )?failed|returned mail|non remis|"
    r"[ée]chec de (?:la )?remise|message non d[ée]livr[ée])", re.IGNORECASE)
_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}


class _ReadPolicy(email.policy.EmailPolicy):
    """policy.default, except that a header of plain ASCII without encoded words — nearly all of
    them — is read as its unfolded text: the header registry's full RFC 5322 parse of every
    header read was most of the cost of reading a reply. Encoded words and 8-bit bytes still
    go through the registry, which decodes them."""

    def header_fetch_parse(self, name, value):
        if isinstance(value, str) and value.isascii() and "=?" not in value:
            return "".join(value.splitlines())
        return super().header_fetch_parse(name, value)


_POLICY = _ReadPolicy()


@dataclass
class Parsed:
    sender: str  # the From address, lower case ("" when there is none)
    subject: str
    message_id: str | None
    in_reply_to: list[str]
    recipients: list[str]  # To and Cc addresses, lower case
    automatic: str | None  # why a machine wrote it, or None
    dsn: list[tuple[str, str]] = field(default_factory=list)  # (action, status) per recipient
    text: str = ""  # the body as text (quotes still in)
    problem: str | None = None  # what could not be read


def _header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a header the policy cannot parse
        value = None
    if value is None:
        return ""
    return " ".join(str(value).split())[:2000]


def _addresses(message: Message, *names: str) -> list[str]:
    values = [_header(message, name) for name in names]
    try:
        pairs = getaddresses([v for v in values if v])
    except Exception:  # noqa: BLE001
        return []
    return [address.lower() for _name, address in pairs if "@" in address]


def machine_reason(message: Message, envelope_from: str, sender: str,
                   subject: str) -> str | None:
    auto = _header(message, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if _header(message, name):
            return name
    suppress = _header(message, "X-Auto-Response-Suppress").lower()
    if "oof" in suppress or "autoreply" in suppress:
        return f"X-Auto-Response-Suppress: {suppress}"
    for name in ("Precedence", "X-Precedence"):
        if _header(message, name).lower() in _PRECEDENCE:
            return f"{name}: {_header(message, name)}"
    if envelope_from.strip() in ("", "<>"):
        return "empty envelope sender"
    for address in (envelope_from, sender):
        if address and _MACHINE_SENDERS.match(address.strip("<>")):
            return f"machine sender {address}"
    if _OUT_OF_OFFICE.match(subject):
        return f"subject: {subject[:80]}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    return None


# --- text ----------------------------------------------------------------------------------------


class _Text(HTMLParser):
    """HTML to plain text: blocks become lines; scripts, styles and quoted parts (blockquote,
    Gmail's and Thunderbird's quote containers) are left out."""

    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul",
              "ol", "hr", "pre"}
    SKIP = {"script", "style", "head", "title", "blockquote"}
    QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.skipping:
            if tag == self.skipping[-1] or tag in self.SKIP:
                self.skipping.append(tag)
            return
        classes = " ".join(value or "" for name, value in attrs if name in ("class", "id"))
        if tag in self.SKIP or any(quote in classes for quote in self.QUOTE_CLASSES) or \
                "divRplyFwdMsg" in classes:
            self.skipping.append(tag)
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if not self.skipping and tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html[:MAX_BODY * 5])
        parser.close()
    except Exception:  # noqa: BLE001 - broken HTML: what was read so far
        pass
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def _decode(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", "replace")


def body_text(message: Message) -> str:
    """The first text/plain part that is not an attachment, else the first text/html one as
    text; "" when there is none."""
    plain = html = None
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = (part.get("Content-Disposition") or "").lower()
        if disposition.startswith("attachment"):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decode(part)
        elif kind == "text/html" and html is None:
            html = _decode(part)
        if plain is not None:
            break
    if plain is not None and plain.strip():
        return plain[:MAX_BODY]
    return html_to_text(html)[:MAX_BODY] if html else ""


def delivery_status(message: Message) -> list[tuple[str, str]]:
    """(action, status) of each recipient in a DSN's message/delivery-status part."""
    found: list[tuple[str, str]] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks:
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            if action or status:
                found.append((action, status))
        if not blocks and isinstance(payload, str):
            for action, status in re.findall(r"Action:\s*(\S+).*?Status:\s*([245]\.\d+\.\d+)",
                                             payload, re.IGNORECASE | re.DOTALL):
                found.append((action.lower(), status))
    return found


def parse(raw: bytes, envelope_from: str = "") -> Parsed:
    try:
        message: Message = email.message_from_bytes(raw, policy=_POLICY)
    except Exception as error:  # noqa: BLE001
        return Parsed("", "", None, [], [], None, problem=f"unreadable: {error!r}")
    sender = (parseaddr(_header(message, "From"))[1] or "").lower()
    subject = _header(message, "Subject")
    message_id = _header(message, "Message-ID") or None
    in_reply_to = re.findall(r"<[^<>\s]+>", _header(message, "In-Reply-To") + " "
                             + _header(message, "References"))
    parsed = Parsed(sender, subject, message_id[:250] if message_id else None, in_reply_to,
                    _addresses(message, "To", "Cc"),
                    machine_reason(message, envelope_from, sender, subject))
    try:
        parsed.dsn = delivery_status(message)
        if parsed.dsn and parsed.automatic is None:
            parsed.automatic = "delivery status notification"
        parsed.text = body_text(message)
    except Exception as error:  # noqa: BLE001 - malformed MIME: no text, and say why
        parsed.problem = f"body unreadable: {error!r}"
    if message.defects and not parsed.text:
        parsed.problem = parsed.problem or f"MIME defects: {message.defects[:3]!r}"
    if not any(message.get(name) for name in ("From", "Subject", "Content-Type", "Date")):
        parsed.problem = "not a message (no header)"
    garbled = [d for part in message.walk() for d in part.defects
               if "Base64" in type(d).__name__ or "Undecodable" in type(d).__name__]
    if garbled:
        parsed.problem = f"undecodable body: {garbled[:2]!r}"
    return parsed

