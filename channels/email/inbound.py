"""Inbound mail: stored raw, then processed once — keys checked, machines ignored, commands
carried out, answers mailed.

`store` writes each accepted message (one row per recipient) before anything else; the LMTP
server answers 250 only once it is committed, and 451 when the database cannot take it now (the
MTA keeps it and tries again: nothing is lost). The same bytes delivered again to the same
recipient (the MTA did not hear our 250) are stored once (`mail_inbound.digest`).

`process` takes one stored message and, in ONE transaction, marks it processed and does what it
asks — so a message is acted on exactly once, even if two processes race or the process dies
half-way (then nothing of it was committed and it is processed again). The answers it returns
are mailed after the commit (at most once).

What a message to one of our addresses does:
- from our own addresses (MAIL_FROM, anything @MAIL_DOMAIN): dropped — no mail loop;
- to `bounce+KEY@` (the VERP return path): a delivery-status notification raises the member's
  bounce score (channels.email.bounces); nothing is ever answered there;
- written by a machine (channels.email.parse.machine_reason: auto-replies, out-of-office,
  DSNs, bulk): ignored, never answered;
- to `unsubscribe+KEY@` (List-Unsubscribe's mailto): STOP for the key's member, in one step,
  confirmed once;
- to `reply+KEY@`: the key must be ours, unaltered, not expired, and the sender must be the
  key's member, or someone the member put in To/Cc of its own reply to that address (a colleague
  answering to all acts for the member); then the thread's handler (channels.email.threads) carries out the reply;
- to MAIL_FROM (or centrale@MAIL_DOMAIN): a member writing afresh (general thread), or
  INSCRIPTION and the diagnostic by email (channels.email.onboarding) for anyone else.
Anything refused gets at most one short explanation per sender address and day
(`mail_rejections`), and none at all for machines.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from alerts.message import Message, note
from channels.email import bounces, mime, threads
from channels.email import commands as C
from channels.email.channel import EmailChannel
from channels.email.config import MailConfig
from channels.email.keys import KeyStatus, Purpose, Thread, read_key, split_address
from channels.email.parse import Parsed, parse
from channels.email.quotes import strip_reply
from locales import gettext_for, normalise_language
from store.db import insert_ignoring, session_scope
from store.mail_models import InboundMail, InboundStatus, MailRejection
from store.models import Member

log = logging.getLogger(__name__)
S = InboundStatus
BOT = "bot"
T = InboundMail.__table__
COPIED_LOOKBACK = 20  # earlier mails of the thread read for its To/Cc (a reply to all)

# The two statements of each message, built once (a reply costs milliseconds: building them
# again for each was a good part of it). The claim returns what processing reads of the row.
_CLAIM = update(T).where(T.c.id == bindparam("inbound_id"), T.c.status == S.RECEIVED).values(
    status=S.PROCESSED, processed_at=bindparam("at")).returning(T.c.raw, T.c.envelope_from,
                                                                T.c.recipient)
_OUTCOME = update(T).where(T.c.id == bindparam("inbound_id")).values(
    status=bindparam("status"), note=bindparam("note"), member_id=bindparam("member_id"))


# Signing up by email (INSCRIPTION) walks the diagnostic, which lives above the channels
# (conversations/email_onboarding.py): it plugs itself in here when imported (bot/ does).
ONBOARDING: Callable[..., Any] | None = None


@dataclass(frozen=True)
class Stored:
    """What processing needs of a stored message's row (its raw mail is parsed apart)."""

    id: int
    recipient: str
    envelope_from: str


@dataclass
class Outcome:
    status: str
    note: str = ""
    member_id: int | None = None
    answers: list[mime.Outgoing] = field(default_factory=list)


class Bridge:
    """The inbound side, for one database and one configuration."""

    def __init__(self, engine: Engine, config: MailConfig, channel: EmailChannel, *,
                 tz: ZoneInfo, services=None, now=None) -> None:
        import channels.email.replies  # noqa: F401 - registers the alerts' thread handlers

        self.engine = engine
        self.config = config
        self.channel = channel
        self.tz = tz
        self.services = services
        self.now = now or (lambda: datetime.now(UTC))

    # -- receiving --

    def route(self, recipient: str) -> str | None:
        """BOT, a key Purpose, or None when the address is not ours (LMTP answers 550)."""
        address = (recipient or "").strip().strip("<>").lower()
        if address in self.config.bot_addresses:
            return BOT
        keyed = split_address(address, self.config.domain)
        return keyed[0] if keyed else None

    def store(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> list[int]:
        """Store the message once per recipient; returns the ids to process (a message already
        stored is not returned again). Raises when the database cannot take it."""
        digest = hashlib.sha256(raw).hexdigest()
        message_id = _message_id(raw)
        ids = []
        with session_scope(self.engine) as session:
            for recipient in recipients:
                inserted = insert_ignoring(session, InboundMail.__table__, {
                    "received_at": self.now(), "envelope_from": (envelope_from or "")[:320],
                    "recipient": recipient.strip("<>").lower()[:320], "digest": digest,
                    "message_id": message_id, "raw": raw, "status": S.RECEIVED,
                }, ["recipient", "digest"])
                ids += [key[0] for key in inserted]
        return ids

    def waiting(self, limit: int = 500) -> list[int]:
        """Stored messages not processed yet (after a restart, or a database outage)."""
        with session_scope(self.engine) as session:
            return list(session.execute(select(InboundMail.id).where(
                InboundMail.status == S.RECEIVED).order_by(InboundMail.id).limit(limit))
                .scalars())

    # -- processing --

    def process(self, inbound_id: int) -> list[mime.Outgoing] | None:
        """Process one stored message (see the module docstring); the answers to mail, or None
        when it was not this call's to process (done already, or claimed by another runner)."""
        now = self.now()
        try:
            with session_scope(self.engine) as session:
                found = session.execute(_CLAIM, {"inbound_id": inbound_id, "at": now}).first()
                if found is None:
                    return None
                row = Stored(inbound_id, found.recipient, found.envelope_from)
                mail = parse(found.raw, found.envelope_from)
                outcome = self._handle(session, row, now, mail)
                session.execute(_OUTCOME, {"inbound_id": inbound_id, "status": outcome.status,
                                           "note": outcome.note[:2000],
                                           "member_id": outcome.member_id})
            return outcome.answers
        except Exception as error:
            from sqlalchemy.exc import OperationalError

            if isinstance(error, OperationalError):
                raise  # the database is away: the row is still `received`, processed later
            log.exception("inbound mail %s could not be processed", inbound_id)
            with session_scope(self.engine) as session:
                session.execute(update(InboundMail).where(InboundMail.id == inbound_id).values(
                    status=S.FAILED, note=f"{type(error).__name__}: {error}"[:2000],
                    processed_at=now))
            return []

    def _handle(self, session: Session, row: Stored, now: datetime,
                mail: Parsed) -> Outcome:
        sender = mail.sender or row.envelope_from.strip("<>").lower()
        if self.config.ours(sender) or self.config.ours(row.envelope_from):
            return Outcome(S.IGNORED, "from our own address: no loop")
        route = self.route(row.recipient)
        if route == Purpose.BOUNCE:
            return self._bounce(session, row, mail, now)
        if mail.automatic:
            return Outcome(S.IGNORED, f"automatic: {mail.automatic}")
        if mail.problem:
            return self._reject(session, sender, "unreadable", None, now, mail.problem)
        if route == Purpose.UNSUBSCRIBE:
            return self._unsubscribe(session, row, mail, sender, now)
        if route == Purpose.REPLY:
            return self._reply(session, row, mail, sender, now)
        if route == BOT:
            return self._to_bot(session, mail, sender, now)
        return Outcome(S.IGNORED, "not one of our addresses")

    def _key(self, purpose: Purpose, row: Stored, now: datetime):
        keyed = split_address(row.recipient, self.config.domain)
        return read_key(self.config.secret, purpose, keyed[1] if keyed else "", now.date())

    # -- bounces --

    def _bounce(self, session: Session, row: Stored, mail: Parsed,
                now: datetime) -> Outcome:
        status, key = self._key(Purpose.BOUNCE, row, now)
        if key is None or status == KeyStatus.INVALID:
            return Outcome(S.IGNORED, "bounce to a forged or altered address")
        failed = [s for a, s in mail.dsn if a == "failed" or s.startswith("5")]
        if mail.dsn and not failed:
            return Outcome(S.IGNORED, f"delivery status without failure: {mail.dsn[:3]}",
                           key.member_id)
        if not mail.dsn and not (mail.automatic and "machine sender" in mail.automatic
                                 or mail.automatic and "subject" in mail.automatic):
            return Outcome(S.IGNORED, "not a bounce", key.member_id)
        reason = ", ".join(failed) or (mail.subject or "bounce")
        stopped = bounces.record(session, key.member_id, now, reason)
        return Outcome(S.PROCESSED, "bounce counted" + (": email stopped" if stopped else ""),
                       key.member_id)

    # -- rejections --

    def _reject(self, session: Session, sender: str, reason: str, lang: str | None,
                now: datetime, detail: str = "") -> Outcome:
        """At most one explanation a day per address; never to a machine (checked before)."""
        if not sender or "@" not in sender:
            return Outcome(S.REJECTED, f"{reason} (no sender to tell)")
        lang = normalise_language(lang)
        told = insert_ignoring(session, MailRejection.__table__, {
            "address": sender[:320], "day": now.astimezone(self.tz).date(),
            "reason": reason[:40]}, ["address", "day"])
        if not told:
            return Outcome(S.REJECTED, f"{reason} {detail} (already told today)".strip())
        answer = self.channel.compose_stranger(sender, rejection_message(reason, lang,
                                                                         self.config), lang,
                                                now=now)
        return Outcome(S.REJECTED, f"{reason} {detail}".strip(), answers=[answer])

    # -- keyed addresses --

    def _member_key(self, session: Session, purpose: Purpose, row: Stored, sender: str,
                    now: datetime) -> tuple[Member | None, Thread | None, Outcome | None]:
        status, key = self._key(purpose, row, now)
        if status == KeyStatus.INVALID:
            return None, None, self._reject(session, sender, "invalid key", None, now)
        member = session.get(Member, key.member_id)
        if member is None:
            return None, None, self._reject(session, sender, "unknown member", None, now)
        if status == KeyStatus.EXPIRED:
            return None, None, self._reject(session, sender, "expired key", member.language,
                                            now)
        if purpose == Purpose.REPLY and (not member.email or sender != member.email.lower()) \
                and not self._copied(session, row, member, sender):
            return None, None, self._reject(session, sender, "another sender", member.language,
                                            now, f"(member {member.id})")
        return member, key.thread, None

    def _copied(self, session: Session, row: Stored, member: Member, sender: str) -> bool:
        """A colleague the member put in To/Cc of its own reply in this thread may answer in it
        too (a reply to all): the key's address is the thread's, and the member's earlier mail
        to it shows the colleague among its recipients."""
        if not member.email or not sender:
            return False
        earlier = session.execute(select(InboundMail.raw).where(
            InboundMail.recipient == row.recipient, InboundMail.member_id == member.id,
            InboundMail.status == S.PROCESSED, InboundMail.id != row.id)
            .order_by(InboundMail.id.desc()).limit(COPIED_LOOKBACK)).scalars()
        for raw in earlier:
            mail = parse(raw, "")
            if mail.sender == member.email.lower() and sender in mail.recipients:
                return True
        return False

    def _unsubscribe(self, session: Session, row: Stored, mail: Parsed, sender: str,
                     now: datetime) -> Outcome:
        member, _thread, refused = self._member_key(session, Purpose.UNSUBSCRIBE, row, sender,
                                                    now)
        if refused is not None:
            return refused
        inbound = threads.Inbound(session, member, Thread(threads.GENERAL), C.Command(C.STOP),
                                  "", now, self.tz, normalise_language(member.language),
                                  mail.message_id)
        messages = threads.handler_for(threads.GENERAL)(inbound)
        return self._answered(member, Thread(threads.GENERAL), messages, mail, now,
                              "unsubscribed")

    def unsubscribe_link(self, key: str) -> tuple[str | None, list[mime.Outgoing]]:
        """The one-click link of List-Unsubscribe (RFC 8058, channels.email.web): STOP for the
        key's member, like the mailto. (None, []) for a key that is not valid now."""
        now = self.now()
        with session_scope(self.engine) as session:
            status, parsed = read_key(self.config.secret, Purpose.UNSUBSCRIBE, key, now.date())
            member = session.get(Member, parsed.member_id) if parsed else None
            if status != KeyStatus.VALID or member is None:
                return None, []
            lang = normalise_language(member.language)
            inbound = threads.Inbound(session, member, Thread(threads.GENERAL),
                                      C.Command(C.STOP), "", now, self.tz, lang, None)
            messages = threads.handler_for(threads.GENERAL)(inbound)
            answers = [self.channel.compose(member, list(messages), Thread(threads.GENERAL),
                                            now=now)] if messages and member.email else []
            return lang, answers

    def _reply(self, session: Session, row: Stored, mail: Parsed, sender: str,
               now: datetime) -> Outcome:
        member, thread, refused = self._member_key(session, Purpose.REPLY, row, sender, now)
        if refused is not None:
            return refused
        return self._carry_out(session, member, thread, mail, now)

    def _carry_out(self, session: Session, member: Member, thread: Thread, mail: Parsed,
                   now: datetime) -> Outcome:
        text = strip_reply(mail.text)
        command = C.parse(C.first_line(text))
        lang = normalise_language(member.language)
        handler = threads.handler_for(thread.kind)
        if handler is None:
            _ = gettext_for(lang)
            messages: Sequence[Message] = [note(_(
                "Replies to this email cannot be read. Write to {address} instead.").format(
                address=self.config.from_address))]
        else:
            messages = handler(threads.Inbound(session, member, thread, command, text, now,
                                               self.tz, lang, mail.message_id))
        label = command.name if command else ("free text" if text.strip() else "empty")
        return self._answered(member, thread, messages, mail, now, label)

    def _answered(self, member: Member, thread: Thread, messages: Sequence[Message],
                  mail: Parsed, now: datetime, label: str) -> Outcome:
        answers = []
        if messages and member.email:
            subject = mail.subject if mail.subject.lower().startswith(("re:", "re :")) else (
                f"Re: {mail.subject}" if mail.subject else None)
            answers.append(self.channel.compose(member, list(messages), thread,
                                                in_reply_to=mail.message_id, subject=subject,
                                                now=now))
        return Outcome(S.PROCESSED, label, member.id, answers)

    # -- the bot's own address --

    def _to_bot(self, session: Session, mail: Parsed, sender: str, now: datetime) -> Outcome:
        member = session.execute(select(Member).where(
            func.lower(Member.email) == sender).order_by(Member.id)).scalars().first()
        if member is not None and member.structure_id is not None:
            return self._carry_out(session, member, Thread(threads.GENERAL), mail, now)
        if ONBOARDING is not None:
            onboarding = ONBOARDING(self.channel, self.services, self.tz)
            handled = onboarding.receive(session, sender, mail, now, member)
            if handled is not None:
                return handled
        return self._reject(session, sender, "unknown sender", _language_of(mail), now)


def _message_id(raw: bytes) -> str | None:
    head = raw[:20_000].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in head.splitlines():
        if line[:11].lower() == b"message-id:":
            return line[11:].strip().decode("ascii", "replace")[:250] or None
    return None


def _language_of(mail: Parsed) -> str:
    """English for SIGNUP, else French (the default language)."""
    return "en" if C.fold(C.first_line(strip_reply(mail.text))).startswith("signup") else "fr"


def rejection_message(reason: str, lang: str, config: MailConfig) -> Message:
    """The one short explanation a refused sender gets (at most once a day)."""
    _ = gettext_for(lang)
    if reason == "expired key":
        text = _("This reply address has expired. Reply to a more recent email from Centrale, "
                 "or write to {address}.")
    elif reason == "another sender":
        text = _("This reply address belongs to another person's alerts: your message was not "
                 "used. Write from the address that receives the alerts, or to {address}.")
    elif reason == "unknown sender":
        text = _("Hello! This address is Centrale's, the public tenders assistant for the "
                 "social and solidarity economy. To receive the tenders that fit your "
                 "structure, reply with the word {signup} alone on the first line.")
    elif reason == "unreadable":
        text = _("Your message could not be read. Write again in plain text, with your "
                 "command on the first line.")
    else:
        text = _("This address is not valid: your message was not used. Reply to an email "
                 "from Centrale, or write to {address}.")
    return note(text.format(address=config.from_address, signup=C.shown(C.SIGNUP, lang)))
