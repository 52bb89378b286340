"""The delivery runner: claims due deliveries of one channel and sends them through it.

Generic over alerts.channel.Channel, as Mailman 3's runners are over their queues: this module
holds claims, leases, the shared rate limit, per-address pacing, what an uncertain send becomes and
the fallback to the member's other channel; the channel (channels/telegram.py) renders, sends and
says what an answer means. Run as `centrale deliver [--once]` (several processes may run on
PostgreSQL) or as a repeating job inside `centrale run` (bot.cli_alerts.schedule_delivery). It
claims only its channel's deliveries: those of a channel that has no runner wait and block nothing.

One message per delivery (alert, update, cancellation, reminder, help request), except digest
items: those due for one member and channel go out together as ONE message. Right after the claim,
a few seconds at most before sending, each delivery is checked again (alerts.compose): a tender
past its deadline, cancelled or awarded is never sent (`dead`, with the reason; the deadline is
checked once more just before the send); a member who paused, changed rhythm or is in quiet hours
gets it later (back to `pending` until alerts.policy says).

Pace. The channel's cap for the whole service (Telegram: about 30 messages a second per bot) is
held by alerts.limiter.SharedRateLimiter, through the database, so it holds across every runner
(`--rate`). The per-address pace (Telegram: about one a second per chat) is held by the runner
itself (one "lane" per member, `address_interval_s` apart): claims are per member
(alerts.claims), so all of a member's due deliveries are in one runner. A lane that must wait —
a back-off, a `retry_after` — gives its rows back to the database with their due time instead of
sleeping, so it never holds other sends back; a claim takes them again when they are due.

Outcomes (alerts.channel.Outcome):
- SENT: `sent`, with the channel's message id, the time, and the snapshot of the tender shown
  (what a later rectificatif is compared with).
- RATE_LIMITED: retried after `retry_after` (not counted as a failure); when they come in a burst
  (`storm_threshold` within a second) every runner pauses for `retry_after` through the shared
  limiter.
- RETRY: `failed`, retried at `next_attempt_at` with jittered exponential back-off (bounded by
  `backoff_cap_s`); `dead` after `max_failures`.
- BLOCKED: the channel is closed for the member (Channel.close), the delivery is `dead`, and the
  same content is queued on the member's other channel when they have one (their other
  deliveries on this channel follow, without another call).
- DEAD: `dead`, with the reason. MOVED: the new address is recorded and the message sent again.
- UNCERTAIN: `uncertain`, left alone.

Why `uncertain` and not a retry. Telegram's Bot API has no idempotency key: when the request was
written but no answer came, the message may have been delivered or not, and nothing in the API
lets us ask. Re-sending could show the member the same alert twice — the one thing the outbox
promises never to do — while not re-sending could lose it. We do not guess: the delivery is
marked `uncertain` with the error and left alone. An operator lists them with
`centrale deliver --uncertain`, checks (the channel's status at that time, the logs, or the
member), and re-queues those worth it with `centrale deliver --requeue ID …` (or `--requeue-all`).

A runner killed at any point (SIGKILL) loses nothing. Every step is a committed transaction:
    claim (status `sending`, claim id, claimed_at = the lease) + prepare (render; settle what
    must not be sent) → start_attempt (attempt_started_at, committed right before the send) →
    send → finish (sent / failed / uncertain / dead).
Live runners renew their lease (heartbeat every lease/3). Any runner, at start and every lease/2,
recovers claims older than the lease (60 s): a row whose attempt had not started was certainly
not sent and goes back to `pending` (sent later, once); a row whose attempt had started may have
left and becomes `uncertain`. So only messages *in flight* at the kill can end up uncertain, and
the runner bounds them: at most `in_flight()` messages (8, or a quarter second of sending at high
rates) are between start_attempt and their recorded answer at any time. `--takeover` recovers at
once at start, for the restart of the only runner. A runner whose claim was taken over cannot
send: start_attempt checks the claim id. Several runners never send a delivery twice: a claim is
an atomic state change under row locks (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and every later
write checks the claim id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from alerts import claims
from alerts.channel import Channel, Outcome, SendResult
from alerts.compose import Job, Prepared, group_jobs, prepare_jobs
from alerts.limiter import SharedRateLimiter
from alerts.outbox import enqueue_fallback
from store.alert_models import Delivery, DeliveryStatus
from store.db import session_scope
from store.models import Member

log = logging.getLogger(__name__)
HOT_THREADS_PG = 4  # concurrent hot-path writes on PostgreSQL (see DeliveryRunner.__init__)


@dataclass
class WorkerConfig:
    rate_per_s: float = 0.0  # for the whole service, shared by all runners (0: the channel's)
    chat_interval_s: float = 0.0  # between two messages to one address (0: the channel's)
    lease_s: float = 60.0
    read_timeout_s: float = 10.0
    connect_timeout_s: float = 5.0
    backoff_base_s: float = 1.0  # the first retry's back-off (see `_backoff`)
    backoff_cap_s: float = 3600.0
    max_failures: int = 13  # the last try about 70 minutes after the first
    poll_s: float = 1.0
    once_linger_s: float = 0.0  # with once: also wait for retries due within this many seconds
    storm_threshold: int = 5  # 429s within one second that make every worker pause
    ahead_s: float = 0.03  # start_attempt is written this long before the rate slot
    members_per_claim: int = 0  # 0: about three seconds of sending
    max_in_flight: int = 0  # 0: max(8, a quarter second of sending); see `in_flight`

    def claim_size(self) -> int:
        return self.members_per_claim or max(10, int(self.rate_per_s * 3))

    def low_water(self) -> int:
        return max(4, int(self.rate_per_s * 2))

    def in_flight(self) -> int:
        """Messages between start_attempt and their recorded answer, at most: also the most a
        SIGKILL can leave `uncertain`."""
        return self.max_in_flight or max(8, int(self.rate_per_s / 4))


@dataclass
class Stats:
    messages: int = 0  # messages Telegram accepted
    sent: int = 0  # deliveries marked sent (a digest is several)
    rate_limited: int = 0  # 429 answers
    pauses: int = 0  # 429 storms that paused every worker
    retried: int = 0  # other failures to retry
    uncertain: int = 0
    dead: int = 0
    blocked: int = 0
    released: int = 0  # not due after all (pause, quiet hours…)
    lost_claims: int = 0
    dropped_slots: int = 0  # rate slots not used in time (the process was busy)
    recovered: tuple[int, int] = (0, 0)  # (re-queued, uncertain) at the last recovery

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


# --- the runner ----------------------------------------------------------------------------------


def default_worker_id() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryRunner:
    def __init__(self, engine: Engine, channel: Channel, *, tz: ZoneInfo,
                 config: WorkerConfig | None = None,
                 now: Callable[[], datetime] | None = None, worker_id: str | None = None,
                 limiter: SharedRateLimiter | None = None) -> None:
        self.engine = engine
        self.channel = channel
        self.tz = tz
        self.config = config or WorkerConfig()
        self.config.rate_per_s = self.config.rate_per_s or channel.rate_per_s
        self.config.chat_interval_s = self.config.chat_interval_s or channel.address_interval_s
        self.now = now or (lambda: datetime.now(UTC))
        self.worker_id = worker_id or default_worker_id()
        # Hot path (start_attempt, finish): on SQLite one thread, so these short writes never
        # wait for each other on its one writer lock; on PostgreSQL, where each commit waits
        # for its WAL flush, several, whose commits the server flushes together. Cold path
        # (claims, rendering) beside it.
        hot = 1 if engine.dialect.name == "sqlite" else HOT_THREADS_PG
        self._hot_pool = ThreadPoolExecutor(hot, thread_name_prefix="deliver-hot")
        self._cold_pool = ThreadPoolExecutor(2, thread_name_prefix="deliver-cold")
        self.limiter = limiter or SharedRateLimiter(engine, rate_per_s=self.config.rate_per_s,
                                                    executor=self._hot_pool, key=channel.name)
        self.stats = Stats()
        self._claims = 0
        self._lanes: dict[int, deque[Job]] = {}
        self._lane_tasks: set[asyncio.Task] = set()
        self._backlog = 0
        self._wake = asyncio.Event()
        self._chat_free_at: dict[int, float] = defaultdict(float)  # monotonic
        self._recent_429: deque[float] = deque()
        self._paused_until = 0.0
        self._stopping = False
        self._closed_chats: set[int] = set()
        self._in_flight = asyncio.Semaphore(self.config.in_flight())

    # -- plumbing --

    async def _db(self, pool, function, *args, **kwargs):
        def call():
            with session_scope(self.engine) as session:
                return function(session, *args, **kwargs)

        return await asyncio.get_running_loop().run_in_executor(pool, call)

    async def _hot(self, function, *args, **kwargs):
        return await self._db(self._hot_pool, function, *args, **kwargs)

    async def _hot_core(self, function, *args, **kwargs):
        """The two writes of every send (claims.start_attempt, finish_sent) are plain Core
        statements: a Connection, not an ORM Session, halves their overhead."""
        def call():
            with self.engine.connect() as connection:
                result = function(connection, *args, **kwargs)
                connection.commit()
                return result

        return await asyncio.get_running_loop().run_in_executor(self._hot_pool, call)

    async def _cold(self, function, *args, **kwargs):
        return await self._db(self._cold_pool, function, *args, **kwargs)

    def close(self) -> None:
        self._hot_pool.shutdown(wait=False)
        self._cold_pool.shutdown(wait=False)

    # -- the loop --

    async def recover(self, lease_s: float | None = None) -> tuple[int, int]:
        lease = self.config.lease_s if lease_s is None else lease_s
        result = await self._cold(lambda s: claims.recover_stale(s, now=self.now(),
                                                                 lease_s=lease))
        self.stats.recovered = result
        if any(result):
            log.warning("recovered stale claims: %s back to pending, %s uncertain", *result)
        return result

    async def _claim(self) -> int:
        """Claim due deliveries and prepare their messages; returns how many were claimed."""
        self._claims += 1
        claim_id = f"{self.worker_id}/{self._claims}"
        now = self.now()

        def claim(session: Session) -> tuple[int, list[Prepared]]:
            ids = claims.claim_due(session, claim_id=claim_id, now=now,
                                   max_members=self.config.claim_size(),
                                   channel=self.channel.name)
            session.commit()
            jobs = group_jobs(claim_id, claims.load(session, ids))
            return len(ids), prepare_jobs(session, jobs, now, self.tz, self.channel)

        count, prepared = await self._cold(claim)
        for message in prepared:
            self._dispatch(message)
        return count

    def _dispatch(self, prepared: Prepared) -> None:
        self._backlog += 1
        # Prepared from the database, where the channel is open (again): forget an old refusal.
        self._closed_chats.discard(prepared.address)
        member_id = prepared.job.member_id
        lane = self._lanes.get(member_id)
        if lane is not None:
            lane.append(prepared)
            return
        self._lanes[member_id] = deque([prepared])
        task = asyncio.create_task(self._run_lane(member_id))
        self._lane_tasks.add(task)
        task.add_done_callback(self._lane_tasks.discard)

    async def _next_due_in(self, within_s: float) -> float | None:
        """Seconds until the channel's next open delivery is due (0 when one is), or None when
        none is due within `within_s`."""
        now = self.now()
        limit = now + timedelta(seconds=within_s)

        def check(session: Session) -> datetime | None:
            return session.execute(select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status.in_(DeliveryStatus.OPEN), Delivery.channel == self.channel.name,
                Delivery.next_attempt_at <= limit)).scalar()

        due = await self._cold(check)
        return None if due is None else max(0.0, (due - now).total_seconds())

    async def run(self, *, once: bool = False, stop: asyncio.Event | None = None,
                  recover_lease_s: float | None = None) -> Stats:
        """Send until `stop` is set — or, with `once`, until nothing is due (then return).
        `recover_lease_s` overrides the lease for the recovery at start (0 when the caller
        knows the previous worker is dead)."""
        config = self.config
        clock = time.monotonic
        await self.recover(recover_lease_s)
        next_recovery = clock() + config.lease_s / 2
        next_heartbeat = clock() + config.lease_s / 3
        try:
            while not (stop is not None and stop.is_set()) and not self._stopping:
                if clock() >= next_heartbeat:
                    await self._cold(lambda s: claims.heartbeat(s, worker_id=self.worker_id,
                                                                now=self.now()))
                    next_heartbeat = clock() + config.lease_s / 3
                if clock() >= next_recovery:
                    await self.recover()
                    next_recovery = clock() + config.lease_s / 2
                claimed = 0
                lanes_idle = False
                wait = config.poll_s
                if self._backlog < config.low_water():
                    lanes_idle = self._backlog == 0  # then no lane writes during this claim
                    claimed = await self._claim()
                if not claimed and self._backlog == 0:
                    if once and not lanes_idle:
                        # A lane finished while the claim ran: what it put back due at once (a
                        # deadline passed before the send, a moved chat) may have been committed
                        # after the claim looked. Only an empty claim made with every lane done
                        # ends the pass.
                        continue
                    # Idle: claim again when the next retry is due, not a poll later (with
                    # `once`, only one due within the linger keeps the pass going).
                    horizon = config.once_linger_s if once else config.poll_s
                    due_in = await self._next_due_in(horizon) if horizon else None
                    if once and due_in is None:
                        break
                    if due_in is not None:
                        # (not 0: a due row another runner is claiming right now stays due
                        # until its claim commits)
                        wait = min(wait, max(due_in, 0.01))
                if claimed and self._backlog < config.low_water():
                    continue
                self._wake.clear()
                waits = [asyncio.ensure_future(self._wake.wait())]
                if stop is not None:
                    waits.append(asyncio.ensure_future(stop.wait()))
                done, pending = await asyncio.wait(waits, timeout=wait,
                                                   return_when=asyncio.FIRST_COMPLETED)
                for waiter in pending:
                    waiter.cancel()
        finally:
            self._stopping = True
            if self._lane_tasks:
                await asyncio.gather(*self._lane_tasks, return_exceptions=True)
            self._stopping = False
            self.stats.dropped_slots = self.limiter.dropped
        return self.stats

    async def _run_lane(self, member_id: int) -> None:
        lane = self._lanes[member_id]
        try:
            while lane:
                prepared = lane.popleft()
                try:
                    if self._stopping:
                        await self._hot(claims.release, prepared.ids,
                                        claim_id=prepared.job.claim_id, next_at=self.now())
                    else:
                        await self._process(prepared)
                except Exception as error:  # a bug must not stop the other lanes
                    log.exception("delivery of %s failed", prepared.ids)
                    await self._give_back(prepared, error)
                finally:
                    self._backlog -= 1
                    self._wake.set()
        finally:
            del self._lanes[member_id]

    async def _give_back(self, prepared: Prepared, error: Exception) -> None:
        try:
            await self._hot(claims.finish_failed, prepared.ids, claim_id=prepared.job.claim_id,
                            next_at=self._backoff(prepared), count_failure=True,
                            error=f"{type(error).__name__}: {error}",
                            max_failures=self.config.max_failures)
        except Exception:
            log.exception("could not record the failure of %s (the lease will)", prepared.ids)

    def _backoff(self, prepared: Prepared) -> datetime:
        """When to try again after the failure of a try: `backoff_base_s` × 2^(failures before
        it), ±50 % jitter, at most `backoff_cap_s` — and never sooner than the address's
        interval (the pace per address holds across runners). Short at first (1, 2, 4 s…): a
        lone 5xx is a blip, and the retry of the last sends of a fan-out is what the whole
        fan-out waits for; the doubling still spreads an outage's retries over an hour."""
        failures = max(d.failures or 0 for d in prepared.deliveries)
        base = min(self.config.backoff_cap_s, self.config.backoff_base_s * 2 ** failures)
        delay = max(self.config.chat_interval_s, base * random.uniform(0.5, 1.5))
        return self.now() + timedelta(seconds=delay)

    async def _process(self, prepared: Prepared) -> None:
        address = prepared.address
        claim_id = prepared.job.claim_id
        wait = self._chat_free_at[address] - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if address in self._closed_chats:
            # The channel refused this address a moment ago: do not try again.
            await self._hot(self._blocked, prepared,
                            f"the member's {self.channel.name} channel is closed", self.now())
            self.stats.dead += 1
            return
        if prepared.deadline is not None and prepared.deadline <= self.now():
            # A deadline passed while it waited its turn: prepare it again (that tender's
            # delivery dies there, with its reason; the rest of a digest still goes).
            await self._hot(claims.release, prepared.ids, claim_id=claim_id,
                            next_at=self.now())
            self.stats.released += 1
            return
        async with self._in_flight:
            await self._send(prepared)

    async def _send(self, prepared: Prepared) -> None:
        address = prepared.address
        claim_id = prepared.job.claim_id
        slot = await self.limiter.acquire(ahead_s=self.config.ahead_s)
        started = await self._hot_core(claims.start_attempt, prepared.ids, claim_id=claim_id,
                                  now=self.now())
        if not started:
            self.stats.lost_claims += 1
            log.warning("claim %s lost before sending %s: not sent", claim_id, prepared.ids)
            return
        await self.limiter.wait_until(slot)
        result = await self.channel.send(address, prepared.rendered)
        self._chat_free_at[address] = time.monotonic() + self.config.chat_interval_s
        if result.outcome != Outcome.SENT:
            await self._failed(prepared, result)
            return
        self.stats.messages += 1
        self.stats.sent += len(prepared.ids)
        await self._hot_core(claims.finish_sent, prepared.deliveries, claim_id=claim_id,
                        now=self.now(), message_id=result.message_id,
                        snapshots=prepared.snapshots)

    async def _failed(self, prepared: Prepared, failure: SendResult) -> None:
        job = prepared.job
        ids = prepared.ids
        now = self.now()
        outcome = failure.outcome
        if outcome == Outcome.RATE_LIMITED:
            self.stats.rate_limited += 1
            retry_after = failure.retry_after or 1.0
            self._chat_free_at[prepared.address] = time.monotonic() + retry_after
            await self._hot(claims.finish_failed, ids, claim_id=job.claim_id,
                            next_at=now + timedelta(seconds=retry_after), error=failure.reason,
                            count_failure=False, max_failures=self.config.max_failures)
            await self._maybe_pause(retry_after)
        elif outcome in (Outcome.RETRY, Outcome.STOP):
            self.stats.retried += 1
            given_up = await self._hot(
                claims.finish_failed, ids, claim_id=job.claim_id, next_at=self._backoff(prepared),
                error=failure.reason, count_failure=outcome == Outcome.RETRY,
                max_failures=self.config.max_failures)
            if given_up:
                self.stats.dead += 1
            if outcome == Outcome.STOP:
                log.error("the %s channel cannot send (%s): the runner stops", self.channel.name,
                          failure.reason)
                self._stopping = True
        elif outcome == Outcome.UNCERTAIN:
            self.stats.uncertain += 1
            log.warning("deliveries %s uncertain: %s", ids, failure.reason)
            await self._hot(claims.finish_uncertain, ids, claim_id=job.claim_id,
                            error=failure.reason)
        elif outcome == Outcome.BLOCKED:
            self._closed_chats.add(prepared.address)
            self.stats.blocked += 1
            self.stats.dead += 1
            await self._hot(self._blocked, prepared, failure.reason, now)
        elif outcome == Outcome.MOVED:
            await self._hot(self._moved, prepared, failure.new_address, now)
        else:
            self.stats.dead += 1
            await self._hot(claims.finish_dead, ids, claim_id=job.claim_id,
                            reason=failure.reason)

    async def _maybe_pause(self, retry_after: float) -> None:
        now = time.monotonic()
        self._recent_429.append(now)
        while self._recent_429 and self._recent_429[0] < now - 1.0:
            self._recent_429.popleft()
        if len(self._recent_429) >= self.config.storm_threshold and now >= self._paused_until:
            self._paused_until = now + retry_after
            self.stats.pauses += 1
            log.warning("429 storm: every worker pauses %.1f s", retry_after)
            await self.limiter.pause(retry_after)

    def _blocked(self, session: Session, prepared: Prepared, reason: str, now: datetime) -> None:
        job = prepared.job
        claims.finish_dead(session, prepared.ids, claim_id=job.claim_id, reason=reason)
        self.channel.close(session, job.member_id)
        session.flush()
        member = session.get(Member, job.member_id)
        if member is not None:
            enqueue_fallback(session, prepared.deliveries, member, now, self.channel.name)

    def _moved(self, session: Session, prepared: Prepared, new_address: Any,
               now: datetime) -> None:
        self.channel.move(session, prepared.job.member_id, new_address)
        claims.release(session, prepared.ids, claim_id=prepared.job.claim_id, next_at=now,
                       note="the address moved; sent again to the new one")
