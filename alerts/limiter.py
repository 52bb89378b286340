"""Telegram's ~30 messages per second, held across every delivery worker through the database.

Telegram counts messages per bot, not per process, so a per-process limiter (PTB's
AIORateLimiter) would let three workers send 90 a second. Instead the workers share one row of
`send_slots`: its `next_at` is the earliest time the next message may leave. A worker reserves n
consecutive slots with a single atomic statement

    UPDATE send_slots SET next_at = max(next_at, :now + lead) + n * interval WHERE key = :key
    RETURNING next_at

(row-locked on PostgreSQL, serialised on SQLite), then sends each message at its slot. Slots are
`interval = 1 / rate` apart whoever holds them, so the union of all workers' sends is paced at
`rate`. A worker reserves only for the sends it has waiting (at most `max_batch`, a fraction of a
second ahead), so an idle or dead worker wastes at most that. A slot the worker could not use in
time (more than `tolerance_s` late, e.g. the event loop was busy) is dropped rather than used late,
because late sends bunch up with the next worker's on-time ones.

The default rate is 29 per second, not 30: Telegram (and the fake Bot API in the tests) counts
over sliding one-second windows, and the margin absorbs the network's jitter. The clock is the
wall clock (`time.time`) since several processes compare it; they must run on hosts with
synchronised clocks (NTP), as they do on one machine.

`pause(seconds)` pushes `next_at` forward for everybody: the worker calls it when Telegram answers
429 repeatedly (a flood wait applies to the whole bot).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from store.alert_models import SendSlot
from store.db import insert_for

T = SendSlot.__table__
DEFAULT_RATE = 29.0


class SharedRateLimiter:
    def __init__(self, engine: Engine, *, rate_per_s: float = DEFAULT_RATE,
                 key: str = "telegram", clock: Callable[[], float] = time.time,
                 executor: Executor | None = None, max_batch: int = 8,
                 lead_s: float = 0.02, tolerance_s: float = 0.015) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.engine = engine
        self.interval = 1.0 / rate_per_s
        self.key = key
        self.clock = clock
        self.executor = executor
        self.max_batch = max(1, max_batch)
        self.lead_s = lead_s
        self.tolerance_s = tolerance_s
        self._slots: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._waiting = 0
        self.dropped = 0  # slots reserved but not used in time

    # -- database (synchronous) --

    def reserve(self, count: int, now: float) -> list[float]:
        """Reserve `count` consecutive slots; returns their times (seconds since the epoch)."""
        span = count * self.interval
        start = now + self.lead_s
        with self.engine.begin() as connection:
            greatest = (func.greatest if connection.dialect.name == "postgresql" else func.max)
            statement = (update(T).where(T.c.key == self.key)
                         .values(next_at=greatest(T.c.next_at, start) + span)
                         .returning(T.c.next_at))
            end = connection.execute(statement).scalar()
            if end is None:
                self._create_row(connection)
                end = connection.execute(statement).scalar()
        first = end - span
        return [first + index * self.interval for index in range(count)]

    def _create_row(self, connection) -> None:
        exists = connection.execute(select(T.c.key).where(T.c.key == self.key)).first()
        if exists is None:
            insert = insert_for(connection.dialect.name)
            connection.execute(insert(T).values(key=self.key, next_at=0.0)
                               .on_conflict_do_nothing(index_elements=["key"]))

    def push_back(self, until: float) -> None:
        with self.engine.begin() as connection:
            greatest = (func.greatest if connection.dialect.name == "postgresql" else func.max)
            connection.execute(update(T).where(T.c.key == self.key)
                               .values(next_at=greatest(T.c.next_at, until)))

    # -- asyncio --

    async def _run(self, function, *args):
        return await asyncio.get_running_loop().run_in_executor(self.executor, function, *args)

    async def acquire(self, ahead_s: float = 0.0) -> float:
        """Wait for a slot and return its time. The call returns `ahead_s` seconds before the
        slot, so the caller can do its bookkeeping meanwhile and sleep the rest (`wait_until`);
        slots are handed out in the order callers asked."""
        self._waiting += 1
        try:
            async with self._lock:
                while True:
                    if not self._slots:
                        count = min(self.max_batch, self._waiting)
                        self._slots.extend(await self._run(self.reserve, count, self.clock()))
                    slot = self._slots.popleft()
                    now = self.clock()
                    if slot < now - self.tolerance_s:
                        self.dropped += 1
                        continue
                    if slot - ahead_s > now:
                        await asyncio.sleep(slot - ahead_s - now)
                    return slot
        finally:
            self._waiting -= 1

    async def wait_until(self, slot: float) -> None:
        delay = slot - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)

    async def pause(self, seconds: float) -> None:
        """Nobody (no worker) sends for `seconds` from now."""
        until = self.clock() + seconds
        await self._run(self.push_back, until)
        while self._slots and self._slots[0] < until:
            self._slots.popleft()
