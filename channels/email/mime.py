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
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from channels.email.config import MailConfig
from channels.email.keys import Purpose, Thread, address, make_key
from channels.email.render import Body

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


def build_stranger(config: MailConfig, *, recipient: str, body: Body, now: datetime,
                   null_sender: bool, in_reply_to: str | None = None) -> Outgoing:
    """An email to someone who is no member (yet): an explanation, an onboarding question.
    No keys: replies come back to MAIL_FROM. `null_sender`: the envelope sender is empty, as
    RFC 3834 wants for automatic answers (nothing bounces back to us from them)."""
    msg_id = message_id("x", config.domain)
    mail = EmailMessage(policy=SMTP)
    mail["From"] = config.mail_from
    mail["To"] = recipient
    mail["Subject"] = body.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = msg_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
        mail["References"] = in_reply_to
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail.set_content(body.text)
    mail.add_alternative(body.html, subtype="html")
    return Outgoing("" if null_sender else config.from_address, recipient, msg_id,
                    mail.as_bytes())


def build(config: MailConfig, *, member_id: int, recipient: str, thread: Thread, body: Body,
          today: date, now: datetime, msg_id: str | None = None,
          in_reply_to: str | None = None, answer: bool = False,
          unsubscribe_key: str | None = None) -> Outgoing:
    """The email of `body` to one member in one thread. `in_reply_to`: the member's own message
    this answers (then `answer`: Auto-Submitted says auto-replied)."""
    domain = config.domain
    msg_id = msg_id or message_id(thread.kind, domain)
    reply_key = make_key(config.secret, Purpose.REPLY, member_id, thread, today)
    bounce_key = make_key(config.secret, Purpose.BOUNCE, member_id, Thread("b", 0), today)
    unsubscribe_key = unsubscribe_key or make_key(config.secret, Purpose.UNSUBSCRIBE, member_id,
                                                  Thread("u", 0), today)
    mail = EmailMessage(policy=SMTP)
    mail["From"] = config.mail_from
    mail["To"] = recipient
    mail["Subject"] = body.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = msg_id
    root = thread_root(thread, member_id, domain)
    parents = [p for p in (root, in_reply_to) if p]
    if parents:
        mail["In-Reply-To"] = parents[-1]
        mail["References"] = " ".join(parents)
    mail["Reply-To"] = Address(config.list_name, addr_spec=address(Purpose.REPLY, reply_key,
                                                                    domain))
    mail["Auto-Submitted"] = "auto-replied" if answer else "auto-generated"
    mail["X-Auto-Response-Suppress"] = "All"
    mail["List-Id"] = f"{config.list_name} <alerts.{domain}>"
    unsubscribe = [f"<mailto:{address(Purpose.UNSUBSCRIBE, unsubscribe_key, domain)}"
                   "?subject=unsubscribe>"]
    url = unsubscribe_url(config, unsubscribe_key)
    if url:
        unsubscribe.append(f"<{url}>")
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["List-Unsubscribe"] = ", ".join(unsubscribe)
    mail.set_content(body.text)
    mail.add_alternative(body.html, subtype="html")
    return Outgoing(address(Purpose.BOUNCE, bounce_key, domain), recipient, msg_id,
                    mail.as_bytes())
