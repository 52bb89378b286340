"""The email bridge's fixtures: a real aiosmtpd server as the outbound sink, the bridge's config,
members and tenders, and an LMTP client on aiosmtplib."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

import conversations.email_onboarding  # noqa: F401 - plugs INSCRIPTION in
from channels.email.config import MailConfig, SmtpServer

DOMAIN = "reply.centrale.test"
FROM = "Centrale <alertes@centrale.test>"
SECRET = "a-test-secret-of-some-length-0123456789"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, 11:00 in Paris


@dataclass
class Sink:
    """What the outbound SMTP server received."""

    host: str
    port: int
    envelopes: list = field(default_factory=list)
    # Codes to answer RCPT with, one per message, before accepting again ([] = accept).
    rcpt_codes: list[str] = field(default_factory=list)
    data_codes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        with self.lock:
            return [email.message_from_bytes(e.content, policy=email.policy.default)
                    for e in self.envelopes]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        with self.lock:
            self.envelopes.clear()


class _SinkHandler:
    def __init__(self, sink: Sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.sink.rcpt_codes:
            return self.sink.rcpt_codes.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.sink.data_codes:
            return self.sink.data_codes.pop(0)
        with self.sink.lock:
            self.sink.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_sink():
    holder = Sink("127.0.0.1", free_port())
    controller = Controller(_SinkHandler(holder), hostname="127.0.0.1", port=holder.port)
    controller.start()
    try:
        yield holder
    finally:
        controller.stop()


def mail_config(sink: Sink) -> MailConfig:
    return MailConfig(mail_from=FROM, domain=DOMAIN, secret=SECRET,
                      smtp=SmtpServer(sink.host, sink.port), public_url="https://centrale.test",
                      rate_per_minute=60_000)


@pytest.fixture
def sink():
    with running_sink() as holder:
        yield holder


@pytest.fixture
def config(sink) -> MailConfig:
    return mail_config(sink)


async def lmtp_send(host: str, port: int, mail_from: str, recipients: list[str],
                    data: bytes) -> list[tuple[int, str]]:
    """Deliver one message by LMTP with aiosmtplib (LHLO instead of EHLO); the answers to
    DATA, one per accepted recipient."""
    client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False, use_tls=False,
                             timeout=30)
    await client.connect()
    try:
        client.last_ehlo_response = await client.execute_command(b"LHLO", b"mta.test")
        await client.mail(mail_from)
        accepted, answers = [], []
        for rcpt in recipients:
            response = await client.execute_command(b"RCPT", b"TO:<" + rcpt.encode() + b">")
            if response.code == 250:
                accepted.append(rcpt)
            else:
                answers.append((response.code, response.message))
        if not accepted:
            return answers
        start = await client.execute_command(b"DATA")
        assert start.code == 354, start
        body = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        body = b"\r\n".join((b"." + line if line.startswith(b".") else line)
                            for line in body.split(b"\r\n"))
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        client.protocol.write(body + b".\r\n")
        for _ in accepted:
            response = await client.protocol.read_response(timeout=30)
            answers.append((response.code, response.message))
        return answers
    finally:
        client.close()


@pytest.fixture
def run():
    """Run a coroutine to its end on a fresh loop (tests here are plain functions)."""
    def runner(coroutine):
        return asyncio.run(coroutine)
    return runner


class Harness:
    """The bridge as `centrale deliver` and `centrale mail serve` run it, on the test database:
    the email runner, and the LMTP server on loopback (`process=False`: `--store-only`)."""

    def __init__(self, engine, config: MailConfig, sink: Sink, now=lambda: NOW, *,
                 process: bool = True):
        from zoneinfo import ZoneInfo

        from channels.email.channel import EmailChannel
        from channels.email.inbound import Bridge
        from channels.email.lmtp import LmtpServer
        from conversations.questions import Services

        self.engine = engine
        self.config = config
        self.sink = sink
        self.now = now
        self.tz = ZoneInfo("Europe/Paris")
        self.channel = EmailChannel(config, engine)
        self.services = Services()
        self.bridge = Bridge(engine, config, self.channel, tz=self.tz, now=now,
                             services=self.services)
        self.server = LmtpServer(self.bridge, "127.0.0.1", 0, sweep_s=3600, process=process)
        self.sent = 0

    async def __aenter__(self) -> Harness:
        await self.server.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.server.stop()
        await self.channel.aclose()

    async def deliver(self):
        from alerts.runner import DeliveryRunner, WorkerConfig

        runner = DeliveryRunner(self.engine, self.channel, tz=self.tz,
                                config=WorkerConfig(poll_s=0.05), now=self.now)
        try:
            return await runner.run(once=True)
        finally:
            runner.close()

    async def send(self, recipient: str, body: str | bytes, *, sender: str = "marie@asso.test",
                   envelope: str | None = None, headers: dict | None = None,
                   raw: bytes | None = None) -> list[tuple[int, str]]:
        """Mail `body` to `recipient` through the LMTP server, and wait for its processing."""
        if raw is None:
            self.sent += 1
            fields = {"From": sender, "To": recipient, "Subject": "Re: alerte",
                      "Message-ID": f"<m{self.sent}.{abs(hash(str(body)))}@asso.test>",
                      "MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8",
                      "Content-Transfer-Encoding": "8bit", **(headers or {})}
            lines = [f"{name}: {value}" for name, value in fields.items()]
            text = body.encode() if isinstance(body, str) else body
            raw = "\r\n".join(lines).encode() + b"\r\n\r\n" + text
        answers = await lmtp_send("127.0.0.1", self.server.port,
                                  sender if envelope is None else envelope, [recipient], raw)
        await self.server.drain()
        return answers


def reply_address(message) -> str:
    return message["Reply-To"].addresses[0].addr_spec


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()
