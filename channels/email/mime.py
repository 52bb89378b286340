"""The email itself: headers, Message-IDs and the MIME bytes handed to SMTP.

Headers of every email we send:
- `Message-ID: <kind.random[.items]@MAIL_DOMAIN>`; a digest's lists its items' tender ids in
  order (`<d.1a2b….812-815-790@…>`): kept in the deliveries' `channel_message_id`, it is how a
  reply's "INTERESSE 2" finds the second tender of *that* digest;
- threading per tender (or groupement, support request…): `In-Reply-To` and `References` name
  the thread's root `<t812.m44@MAIL_DOMAIN>`, so a member's client groups the alert, its
  updates, its reminder and our answers to their replies;
- `Reply-To: reply+KEY@MAIL_DOMAIN` (channels.email.keys), `Auto-Submitted: auto-generated`
  (`auto-replied` for answers), `X-Auto-Response-Suppress: All` (Exchange's out-of-office stays
  quiet), `List-Id`, `List-Unsubscribe` (mailto with a signed token, and an https link when
  PUBLIC_URL is set) with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058, only
  with the https link);
- the envelope sender (`MAIL FROM`) is a VERP address `bounce+KEY@MAIL_DOMAIN`: a bounce comes
  back to an address that names the member, signed, so a forged bounce raises nobody's score.

The bytes are assembled here from the standard library's encoders (email.header for RFC 2047
words, email.utils.formataddr, binascii's quoted-printable) rather than through
email.message.EmailMessage: its header registry and generator took 2.5 ms a message, five times
the whole send, and the benchmark's 500 emails a second could not be reached through it. The
result is plain multipart/alternative MIME (in a multipart/mixed when files are attached), which
the tests read back with the email package.
"""

from __future__ import annotations

import base64
import re
import secrets
from binascii import b2a_qp
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr, parseaddr

from alerts.message import Attachment
from channels.email.config import MailConfig
from channels.email.keys import Purpose, Thread, address, make_key
from channels.email.render import Body

_MIME = re.compile(r"[a-z]+/[a-z0-9.+-]+")
_METHOD = re.compile(rb"^METHOD:([A-Z]{1,20})\r?$", re.MULTILINE)
_ITEMS = re.compile(r"^<d\.[0-9a-f]+\.([0-9-]+)@")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An email ready for SMTP."""

    envelope_from: str
    recipient: str
    message_id: str
    data: bytes


def message_id(kind: str, domain: str, items: list[int] | None = None) -> str:
    token = secrets.token_hex(8)
    if items:
        return f"<d.{token}.{'-'.join(str(i) for i in items)}@{domain}>"
    return f"<{kind}.{token}@{domain}>"


def items_of(message_id: str | None) -> list[int]:
    """The tender ids of a digest's Message-ID, item 1 first ([] for any other id)."""
    match = _ITEMS.match(message_id or "")
    return [int(part) for part in match.group(1).split("-") if part] if match else []


def thread_root(thread: Thread, member_id: int, domain: str) -> str | None:
    if thread.kind in ("g", "d") or not thread.id:
        return None  # a digest or a note starts its own thread
    return f"<{thread.kind}{thread.id}.m{member_id}@{domain}>"


def unsubscribe_url(config: MailConfig, key: str) -> str | None:
    return f"{config.public_url}/unsubscribe/{key}" if config.public_url else None


def _header_value(value: str) -> str:
    value = " ".join(value.split())  # no line breaks from anyone
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode()


def _address(value: str) -> str:
    name, addr = parseaddr(value)
    return formataddr((name, addr), charset="utf-8") if name else addr


def _qp(text: str) -> bytes:
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    return b2a_qp(lines.encode("utf-8"), istext=True).replace(b"\r\n", b"\n").replace(
        b"\n", b"\r\n")


def assemble(headers: list[tuple[str, str]], text: str, html: str,
             attachments: Sequence[Attachment] = ()) -> bytes:
    """RFC 5322 bytes: the headers, then text/plain and text/html as multipart/alternative,
    both UTF-8 quoted-printable; with attachments (an .ics invitation, a CSV, a chart), that
    alternative and each file (base64) in a multipart/mixed."""
    boundary = "=_" + secrets.token_hex(12)
    part = ("--{b}\r\nContent-Type: text/{kind}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n")
    alternative = b"".join((
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode("ascii"),
        part.format(b=boundary, kind="plain").encode("ascii"), _qp(text), b"\r\n",
        part.format(b=boundary, kind="html").encode("ascii"), _qp(html),
        f"\r\n--{boundary}--\r\n".encode("ascii")))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers) + "MIME-Version: 1.0\r\n"
    if not attachments:
        return head.encode("ascii") + alternative
    mixed = "=_" + secrets.token_hex(12)
    chunks = [head.encode("ascii"),
              f'Content-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'.encode("ascii"),
              f"--{mixed}\r\n".encode("ascii"), alternative]
    for attachment in attachments:
        chunks += [f"--{mixed}\r\n".encode("ascii"), _attachment_part(attachment)]
    chunks.append(f"--{mixed}--\r\n".encode("ascii"))
    return b"".join(chunks)


def _attachment_part(attachment: Attachment) -> bytes:
    kind = attachment.mime if _MIME.fullmatch(attachment.mime) else "application/octet-stream"
    name = attachment.filename.replace('"', "").replace("\\", "")
    if name.isascii():
        disposition = f'attachment; filename="{name}"'
    else:  # RFC 2231: a French file name keeps its accents
        disposition = "attachment; filename*=" + encode_rfc2231(name, "utf-8")
    if kind == "text/calendar":  # the calendar's METHOD repeated: clients offer to add it
        method = _METHOD.search(attachment.data)
        kind += (f"; method={method.group(1).decode()}" if method else "") + "; charset=utf-8"
    data = base64.encodebytes(attachment.data).replace(b"\n", b"\r\n")
    return (f"Content-Type: {kind}\r\nContent-Disposition: {disposition}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n").encode("ascii") + data + b"\r\n"


def build_stranger(config: MailConfig, *, recipient: str, body: Body, now: datetime,
                   null_sender: bool, in_reply_to: str | None = None) -> Outgoing:
    """An email to someone who is no member (yet): an explanation, an onboarding question.
    No keys: replies come back to MAIL_FROM. `null_sender`: the envelope sender is empty, as
    RFC 3834 wants for automatic answers (nothing bounces back to us from them)."""
    msg_id = message_id("x", config.domain)
    headers = [("From", _address(config.mail_from)), ("To", _address(recipient)),
               ("Subject", _header_value(body.subject)), ("Date", format_datetime(now)),
               ("Message-ID", msg_id)]
    if in_reply_to:
        headers += [("In-Reply-To", in_reply_to), ("References", in_reply_to)]
    headers += [("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]
    return Outgoing("" if null_sender else config.from_address, recipient, msg_id,
                    assemble(headers, body.text, body.html))


def build(config: MailConfig, *, member_id: int, recipient: str, thread: Thread, body: Body,
          today: date, now: datetime, msg_id: str | None = None,
          in_reply_to: str | None = None, answer: bool = False,
          unsubscribe_key: str | None = None,
          attachments: Sequence[Attachment] = ()) -> Outgoing:
    """The email of `body` to one member in one thread. `in_reply_to`: the member's own message
    this answers (then `answer`: Auto-Submitted says auto-replied)."""
    domain = config.domain
    msg_id = msg_id or message_id(thread.kind, domain)
    reply_key = make_key(config.secret, Purpose.REPLY, member_id, thread, today)
    bounce_key = make_key(config.secret, Purpose.BOUNCE, member_id, Thread("b", 0), today)
    unsubscribe_key = unsubscribe_key or make_key(config.secret, Purpose.UNSUBSCRIBE, member_id,
                                                  Thread("u", 0), today)
    headers = [("From", _address(config.mail_from)), ("To", _address(recipient)),
               ("Subject", _header_value(body.subject)), ("Date", format_datetime(now)),
               ("Message-ID", msg_id)]
    root = thread_root(thread, member_id, domain)
    parents = [p for p in (root, in_reply_to) if p]
    if parents:
        headers += [("In-Reply-To", parents[-1]), ("References", " ".join(parents))]
    reply_to = address(Purpose.REPLY, reply_key, domain)
    headers += [("Reply-To", formataddr((config.list_name, reply_to), charset="utf-8")),
                ("Auto-Submitted", "auto-replied" if answer else "auto-generated"),
                ("X-Auto-Response-Suppress", "All"),
                ("List-Id", f"{config.list_name} <alerts.{domain}>")]
    unsubscribe = [f"<mailto:{address(Purpose.UNSUBSCRIBE, unsubscribe_key, domain)}"
                   "?subject=unsubscribe>"]
    url = unsubscribe_url(config, unsubscribe_key)
    if url:
        unsubscribe.append(f"<{url}>")
    headers.append(("List-Unsubscribe", ", ".join(unsubscribe)))
    if url:
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return Outgoing(address(Purpose.BOUNCE, bounce_key, domain), recipient, msg_id,
                    assemble(headers, body.text, body.html, attachments))
