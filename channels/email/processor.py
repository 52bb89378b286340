"""The processing of stored inbound mail (channels.email.inbound.Bridge.process), then the mailing
of its answers — one job, wherever it runs:
- inside the LMTP server (channels.email.lmtp), each message right after it is stored, and what
  was left (a restart, a database outage) by a sweep every `sweep_s` seconds;
- alone, as `centrale mail process` (`run`): it polls the database for stored messages, while
  `centrale mail serve --store-only` only receives. Mailman's split: receiving stays light, and
  processing gets a core of its own (one Python process uses one). Several may run: a message
  is claimed by one transaction (Bridge.process), so it is carried out and answered once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from contextlib import suppress

from channels.email.inbound import Bridge

log = logging.getLogger(__name__)
WORKERS = 4  # messages processed at once (each in a worker thread: the database is blocking)
POLL_S = 0.5  # how often `run` looks for stored messages when there were none


class Processor:
    """Processes stored messages, `workers` at a time, and mails their answers."""

    def __init__(self, bridge: Bridge, *, workers: int = WORKERS):
        self.bridge = bridge
        self._slots = asyncio.Semaphore(workers)
        self._tasks: set[asyncio.Task] = set()
        self._queued: set[int] = set()
        self.processed = 0
        self.answers_failed = 0

    def schedule(self, ids: Iterable[int]) -> int:
        """Process these stored messages (those already on their way are skipped); how many
        were scheduled."""
        count = 0
        for inbound_id in ids:
            if inbound_id in self._queued:
                continue
            self._queued.add(inbound_id)
            task = asyncio.create_task(self._process(inbound_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            count += 1
        return count

    async def drain(self) -> None:
        """Wait until everything scheduled was processed (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _process(self, inbound_id: int) -> None:
        try:
            async with self._slots:
                try:
                    answers = await asyncio.to_thread(self.bridge.process, inbound_id)
                except Exception:
                    log.warning("inbound mail %s waits for the database", inbound_id,
                                exc_info=True)
                    return
                if answers is None:
                    return  # processed already, or by another runner
                self.processed += 1
                for answer in answers:
                    result = await self.bridge.channel.send(None, answer)
                    if result.outcome != "sent":
                        self.answers_failed += 1
                        log.warning("answer to %s not sent: %s", answer.recipient,
                                    result.reason)
        finally:
            self._queued.discard(inbound_id)

    async def sweep_once(self) -> int:
        """Schedule the stored messages not processed yet; how many were scheduled."""
        try:
            ids = await asyncio.to_thread(self.bridge.waiting)
        except Exception:
            log.warning("the sweep cannot read the database", exc_info=True)
            return 0
        return self.schedule(ids)

    async def run(self, stop: asyncio.Event, poll_s: float = POLL_S) -> None:
        """`centrale mail process`: process what is stored until `stop` is set, then finish
        what was started."""
        try:
            while not stop.is_set():
                done = self.processed
                if await self.sweep_once():
                    await self.drain()  # this batch first: the next sweep would see it again
                    if self.processed > done:
                        continue  # more may wait; a batch that all failed waits a poll
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll_s)
        finally:
            await self.drain()
