"""The email channel for the delivery runner (alerts.channel.Channel): render a Message as a
mail for one member and send it with aiosmtplib to SMTP_URL.

Rendering happens with the claim, in the runner's worker thread (`render_to`: the member and the
deliveries decide the language, the thread, the signed addresses); `send` only talks SMTP, over a
small pool of kept-open connections (one transaction at a time on each).

What an SMTP answer means (`send`):
- 250: SENT, with the Message-ID (kept in the deliveries' `channel_message_id`);
- 4xx at any step (421, 450, 451, 452…), a refused or lost connection before DATA, a timeout
  before DATA: RETRY — the runner backs off with jitter and tries again;
- 5xx to RCPT or to the message (550 no such user, 554 refused): a hard bounce — the member's
  bounce score rises (channels.email.bounces); DEAD for this message, or BLOCKED once the score
  passes the threshold (email stops for the member, their other channel takes over, the
  advisors are told);
- 5xx to MAIL FROM, a refused login: STOP — our own sending is misconfigured, the runner stops;
- the connection lost or timed out after the message was handed over (DATA): UNCERTAIN — the
  relay may have queued it; like Telegram's read timeout it is not sent twice blindly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosmtplib
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from alerts.channel import Outcome, SendResult
from alerts.message import Message
from channels.email import bounces, mime, threads
from channels.email.config import MailConfig, SmtpServer
from channels.email.keys import Purpose, Thread, make_key
from channels.email.render import Body, choices_of, render_body
from locales import normalise_language
from store.alert_models import Delivery
from store.db import session_scope
from store.models import Member

log = logging.getLogger(__name__)
NAME = "email"
POOL_SIZE = 8
TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class EmailAddress:
    member_id: int
    email: str
    lang: str


class SmtpPool:
    """Kept-open SMTP connections, each used by one send at a time."""

    def __init__(self, server: SmtpServer, size: int = POOL_SIZE, timeout_s: float = TIMEOUT_S):
        self.server = server
        self.timeout_s = timeout_s
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(size)

    async def _connect(self) -> aiosmtplib.SMTP:
        server = self.server
        client = aiosmtplib.SMTP(hostname=server.host, port=server.port,
                                 use_tls=server.implicit_tls,
                                 start_tls=False if server.implicit_tls else None,
                                 timeout=self.timeout_s)
        await client.connect()
        if server.username:
            await client.login(server.username, server.password or "")
        return client

    async def acquire(self) -> aiosmtplib.SMTP:
        await self._slots.acquire()
        try:
            while self._idle:
                client = self._idle.pop()
                if client.is_connected:
                    return client
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    def release(self, client: aiosmtplib.SMTP, *, reuse: bool) -> None:
        if reuse and client.is_connected:
            self._idle.append(client)
        else:
            client.close()
        self._slots.release()

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except Exception:  # noqa: BLE001 - closing anyway
                client.close()


class _Step(Exception):
    def __init__(self, result: SendResult):
        self.result = result


class EmailChannel:
    """alerts.channel.Channel over SMTP."""

    name = NAME

    def __init__(self, config: MailConfig, engine: Engine | None = None, *,
                 pool_size: int = POOL_SIZE, timeout_s: float = TIMEOUT_S,
                 address_interval_s: float = 0.0) -> None:
        self.config = config
        self.engine = engine
        self.rate_per_s = config.rate_per_minute / 60.0
        self.address_interval_s = address_interval_s
        self.timeout_s = timeout_s
        self.pool = SmtpPool(config.smtp, pool_size, timeout_s) if config.smtp else None

    # -- rendering --

    def address(self, member: Member) -> EmailAddress | None:
        if not member.email or not member.email_active:
            return None
        return EmailAddress(member.id, member.email, normalise_language(member.language))

    def render(self, message: Message) -> Body:
        """The body alone, in French (no recipient: previews and tests)."""
        return render_body(message, "fr")

    def render_to(self, message: Message, member: Member,
                  deliveries: Sequence[Delivery]) -> mime.Outgoing:
        thread = threads.thread_for(deliveries)
        if thread.kind == threads.GENERAL and choices_of(message):
            thread = Thread(threads.CHOICES, deliveries[0].id)  # a reply "2" finds them back
        items = [a.target for row in message.actions for a in sorted(row, key=_item)
                 if a.item and a.target]
        msg_id = mime.message_id(thread.kind, self.config.domain,
                                 items if thread.kind == threads.DIGEST else None)
        return self.compose(member, [message], thread, msg_id=msg_id)

    def compose(self, member: Member, messages: Sequence[Message], thread: Thread, *,
                note: str | None = None, msg_id: str | None = None,
                in_reply_to: str | None = None, subject: str | None = None,
                now: datetime | None = None) -> mime.Outgoing:
        """One email to `member` in `thread`: the first message in full, the others after it
        (an answer: `note` first, then what the reply brought, e.g. the full alert)."""
        now = now or datetime.now(UTC)
        lang = normalise_language(member.language)
        today = now.date()
        unsubscribe_key = make_key(self.config.secret, Purpose.UNSUBSCRIBE, member.id,
                                   Thread("u", 0), today)
        body = render_body(list(messages), lang, note=note, subject=subject,
                           unsubscribe_url=mime.unsubscribe_url(self.config, unsubscribe_key),
                           numbered=(thread.kind == threads.CHOICES
                                     or thread.kind in threads.NUMBERED) and in_reply_to is None)
        return mime.build(self.config, member_id=member.id, recipient=member.email,
                          thread=thread, body=body, today=today, now=now, msg_id=msg_id,
                          in_reply_to=in_reply_to, answer=in_reply_to is not None,
                          unsubscribe_key=unsubscribe_key,
                          attachments=[a for m in messages for a in m.attachments])

    def compose_stranger(self, recipient: str, message: Message, lang: str, *,
                         now: datetime | None = None, in_reply_to: str | None = None,
                         null_sender: bool = True, footer: bool = False) -> mime.Outgoing:
        """An email to an address that is no member (an explanation, an onboarding step)."""
        body = render_body([message], lang, with_footer=footer)
        return mime.build_stranger(self.config, recipient=recipient, body=body,
                                   now=now or datetime.now(UTC), null_sender=null_sender,
                                   in_reply_to=in_reply_to)

    # -- sending --

    async def send(self, address: Any, rendered: mime.Outgoing) -> SendResult:
        if self.pool is None:
            return SendResult(Outcome.STOP, "SMTP_URL is not set")
        try:
            client = await self.pool.acquire()
        except aiosmtplib.SMTPAuthenticationError as error:
            return SendResult(Outcome.STOP, f"SMTP login refused: {error}")
        except (aiosmtplib.SMTPException, OSError) as error:
            return SendResult(Outcome.RETRY, f"SMTP connection failed: {error!r}")
        reuse = False
        try:
            result = await self._transaction(client, address, rendered)
            reuse = result.outcome == Outcome.SENT
        except _Step as step:
            result = step.result
        finally:
            self.pool.release(client, reuse=reuse)
        if result.outcome == Outcome.DEAD and result.reason.startswith("5"):
            return await self._bounced(address, result)
        return result

    async def _transaction(self, client: aiosmtplib.SMTP, address: Any,
                           rendered: mime.Outgoing) -> SendResult:
        try:
            await client.mail(rendered.envelope_from)
            await client.rcpt(rendered.recipient)
        except aiosmtplib.SMTPSenderRefused as error:
            if error.code >= 500:
                return SendResult(Outcome.STOP, f"sender refused: {error.code} {error.message}")
            return SendResult(Outcome.RETRY, f"{error.code} {error.message}")
        except aiosmtplib.SMTPResponseException as error:
            return _answer(error.code, error.message)
        except (aiosmtplib.SMTPException, OSError) as error:  # nothing handed over yet
            return SendResult(Outcome.RETRY, f"before DATA: {error!r}")
        try:
            await client.data(rendered.data)
        except aiosmtplib.SMTPResponseException as error:
            return _answer(error.code, error.message)
        except (aiosmtplib.SMTPException, OSError) as error:
            return SendResult(Outcome.UNCERTAIN, f"after DATA: {error!r}")
        return SendResult(Outcome.SENT, message_id=rendered.message_id)

    async def _bounced(self, address: Any, result: SendResult) -> SendResult:
        if self.engine is None or not isinstance(address, EmailAddress):
            return result

        def record() -> bool:
            with session_scope(self.engine) as session:
                return bounces.record(session, address.member_id, datetime.now(UTC),
                                      result.reason, bounces.HARD)

        try:
            disabled = await asyncio.to_thread(record)
        except Exception:  # the score is a courtesy; the answer is what it is
            log.exception("could not record the bounce of member %s", address.member_id)
            return result
        return SendResult(Outcome.BLOCKED, result.reason) if disabled else result

    async def aclose(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    # -- the runner's writes --

    def close(self, session: Session, member_id: int) -> None:
        session.execute(update(Member).where(Member.id == member_id).values(email_active=False))

    def move(self, session: Session, member_id: int, new_address: Any) -> None:
        """Email addresses do not move by themselves."""


def _item(action) -> int:
    return action.item or 0


def _answer(code: int, message: str) -> SendResult:
    reason = f"{code} {message}"
    if 400 <= code < 500:
        return SendResult(Outcome.RETRY, reason)
    return SendResult(Outcome.DEAD, reason)

