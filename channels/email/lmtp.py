"""The inbound LMTP server (aiosmtpd) on LMTP_LISTEN: the MTA (Postfix) hands it the mail of
MAIL_DOMAIN (and MAIL_FROM), and it answers for each recipient, as LMTP wants:
- RCPT: 550 5.1.1 for an address that is not ours (not MAIL_FROM, not reply+/bounce+/
  unsubscribe+ at MAIL_DOMAIN): the MTA bounces it to its sender;
- after DATA, one line per accepted recipient: 250 once the message is stored
  (channels.email.inbound.Bridge.store), 451 4.3.0 when the database cannot store it now — the
  MTA keeps the message and tries again later, so nothing is lost.
Stored messages are processed right after (channels.email.processor), in worker threads, and
their answers mailed; a message that could not be processed (the database went away meanwhile)
is taken again by the sweep every `sweep_s` seconds, and at start. With `process=False`
(`centrale mail serve --store-only`) it only stores: `centrale mail process` runners process.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from aiosmtpd.lmtp import LMTP

from channels.email.inbound import Bridge
from channels.email.processor import WORKERS, Processor

log = logging.getLogger(__name__)
MAX_SIZE = 25 * 1024 * 1024  # bigger messages are refused with 552 (the MTA tells the sender)
SWEEP_S = 30.0


class Handler:
    """aiosmtpd's handler: routes recipients, stores messages, starts their processing."""

    def __init__(self, server: LmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.server.bridge.route(address) is None:
            return "550 5.1.1 No such address here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        recipients = list(envelope.rcpt_tos)
        raw = envelope.original_content or b""
        try:
            ids = await asyncio.to_thread(self.server.bridge.store, envelope.mail_from or "",
                                          recipients, raw)
        except Exception:
            log.warning("could not store a message for %s: 451", recipients, exc_info=True)
            return "\r\n".join("451 4.3.0 Cannot store the message now, try again later"
                               for _ in recipients)
        self.server.schedule(ids)
        return "\r\n".join("250 2.0.0 Stored" for _ in recipients)


class LmtpServer:
    """The LMTP listener, and the processing of what it stores (unless `process` is False:
    `centrale mail serve --store-only`, `centrale mail process` runners do it)."""

    def __init__(self, bridge: Bridge, host: str, port: int, *, workers: int = WORKERS,
                 sweep_s: float = SWEEP_S, max_size: int = MAX_SIZE, process: bool = True):
        self.bridge = bridge
        self.host = host
        self.port = port
        self.max_size = max_size
        self.sweep_s = sweep_s
        self.processor = Processor(bridge, workers=workers) if process else None
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.Task | None = None

    @property
    def processed(self) -> int:
        return self.processor.processed if self.processor else 0

    def _protocol(self) -> LMTP:
        return LMTP(Handler(self), data_size_limit=self.max_size, enable_SMTPUTF8=True,
                    decode_data=False, hostname=self.bridge.config.domain,
                    ident="Centrale LMTP")

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host=self.host, port=self.port)
        if not self.port:
            self.port = self._server.sockets[0].getsockname()[1]
        if self.processor is not None:
            self._sweeper = asyncio.create_task(self._sweep())
        log.info("LMTP listening on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._sweeper is not None:
            self._sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await self._sweeper
        await self.drain()

    async def drain(self) -> None:
        """Wait until everything scheduled was processed (tests, shutdown)."""
        if self.processor is not None:
            await self.processor.drain()

    def schedule(self, ids) -> None:
        if self.processor is not None:
            self.processor.schedule(ids)

    async def sweep_once(self) -> None:
        if self.processor is not None:
            await self.processor.sweep_once()

    async def _sweep(self) -> None:
        while True:
            await self.sweep_once()
            await asyncio.sleep(self.sweep_s)

    async def serve_forever(self, stop: asyncio.Event) -> None:
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
