"""From claimed deliveries to messages: group them, check them again, render them.

A claim's deliveries are prepared together in one session with bulk reads (members, preferences,
tenders, lots, matches: one query each), so a 1,000-member fan-out of one tender reads the tender
once and renders its snapshot once.

Checked again just before sending, with the data as it is now:
- the member still exists and their Telegram chat is open (else `dead`, and the same content is
  queued on email when they have an address);
- the tender exists, its deadline has not passed, it is not cancelled or awarded (a cancellation
  is sent about a cancelled tender, of course) — else `dead` with the reason;
- alerts.policy.due_time with the member's current preferences (pause, rhythm, quiet hours) —
  else back to `pending` until then, without counting an attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from alerts import claims
from alerts.outbox import (
    TELEGRAM,
    diff_snapshots,
    enqueue_email_copy,
    last_shown,
    snapshot_hash,
    tender_snapshot,
    usable,
)
from alerts.policy import Schedule, due_time
from store.alert_models import Delivery, DeliveryKind
from store.models import AlertPreference, Member
from store.tender_models import LotRow, MatchRow, TenderRow, TenderStatus

log = logging.getLogger(__name__)
K = DeliveryKind
BROKEN_RETRY = timedelta(minutes=10)  # a message that cannot be rendered: try later…
BROKEN_TRIES = 3  # …then give up
SHOWN = (K.ALERT, K.DIGEST_ITEM, K.UPDATE)  # kinds whose snapshot is kept for later updates


@dataclass
class Job:
    """One message to send: a digest group, or one delivery."""

    claim_id: str
    member_id: int
    deliveries: list[Delivery]

    @property
    def ids(self) -> list[int]:
        return [delivery.id for delivery in self.deliveries]


@dataclass
class Prepared:
    job: Job
    deliveries: list[Delivery]  # those that go in the message
    chat_id: int
    html: str
    keyboard: list[list[tuple[str, str]]] | None
    snapshots: dict[int, tuple[dict, str]] = field(default_factory=dict)
    deadline: datetime | None = None  # the earliest deadline in the message

    @property
    def ids(self) -> list[int]:
        return [delivery.id for delivery in self.deliveries]


class NothingToSend(Exception):
    """The delivery has nothing left to say (e.g. an update whose changes were undone)."""


def group_jobs(claim_id: str, deliveries: Sequence[Delivery]) -> list[Job]:
    """Digest items of one member and channel make one job; anything else one job each. Jobs
    keep the order of their first delivery."""
    jobs: list[Job] = []
    digests: dict[tuple[int, str], Job] = {}
    for delivery in sorted(deliveries, key=lambda d: (d.created_at, d.id)):
        if delivery.kind == K.DIGEST_ITEM:
            key = (delivery.member_id, delivery.channel)
            if key in digests:
                digests[key].deliveries.append(delivery)
                continue
            digests[key] = job = Job(claim_id, delivery.member_id, [delivery])
        else:
            job = Job(claim_id, delivery.member_id, [delivery])
        jobs.append(job)
    return jobs


class Loader:
    """What messages need, read in bulk once and kept for the session's use."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.members: dict[int, Member] = {}
        self.preferences: dict[int, AlertPreference | None] = {}
        self.tenders: dict[int, TenderRow | None] = {}
        self.lots: dict[int, list[LotRow]] = {}
        self.matches: dict[tuple[int, int], MatchRow] = {}
        self._snapshots: dict[int, tuple[dict, str]] = {}

    def load(self, deliveries: Iterable[Delivery]) -> Loader:
        deliveries = list(deliveries)
        self._load_members({d.member_id for d in deliveries})
        self._load_tenders({d.tender_id for d in deliveries if d.tender_id})
        return self

    def _load_members(self, ids: set[int]) -> None:
        ids = ids - set(self.members)
        if not ids:
            return
        session = self.session
        for member in session.execute(select(Member).where(Member.id.in_(ids))).scalars():
            self.members[member.id] = member
        found = {p.member_id: p for p in session.execute(
            select(AlertPreference).where(AlertPreference.member_id.in_(ids))).scalars()}
        for member_id in ids:
            self.members.setdefault(member_id, None)
            self.preferences[member_id] = found.get(member_id)

    def _load_tenders(self, ids: set[int]) -> None:
        ids = ids - set(self.tenders)
        if not ids:
            return
        session = self.session
        for tender in session.execute(select(TenderRow).where(TenderRow.id.in_(ids))).scalars():
            self.tenders[tender.id] = tender
        for tender_id in ids:
            self.tenders.setdefault(tender_id, None)
            self.lots[tender_id] = []
        for lot in session.execute(select(LotRow).where(LotRow.tender_id.in_(ids))
                                   .order_by(LotRow.id)).scalars():
            self.lots[lot.tender_id].append(lot)
        structures = {m.structure_id for m in self.members.values() if m and m.structure_id}
        if structures:
            for match in session.execute(select(MatchRow).where(
                    MatchRow.tender_id.in_(ids), MatchRow.structure_id.in_(structures))).scalars():
                self.matches[(match.tender_id, match.structure_id)] = match

    def member(self, member_id: int) -> Member | None:
        self._load_members({member_id})
        return self.members[member_id]

    def tender(self, tender_id: int | None) -> TenderRow | None:
        if tender_id is None:
            return None
        self._load_tenders({tender_id})
        return self.tenders[tender_id]

    def reasons(self, delivery: Delivery, member: Member) -> tuple[list[dict], int]:
        """The match's current reasons and score (a rectificatif refreshes them), else those
        queued with the delivery."""
        match = self.matches.get((delivery.tender_id, member.structure_id))
        if match is None and member.structure_id is not None:
            match = self.session.execute(select(MatchRow).where(
                MatchRow.tender_id == delivery.tender_id,
                MatchRow.structure_id == member.structure_id)).scalar()
        if match is not None:
            return list(match.reasons or []), match.score
        payload = delivery.payload or {}
        return list(payload.get("reasons") or []), int(payload.get("score") or 0)

    def snapshot(self, tender: TenderRow) -> tuple[dict, str]:
        if tender.id not in self._snapshots:
            snapshot = tender_snapshot(tender, self.lots.get(tender.id, []))
            self._snapshots[tender.id] = (snapshot, snapshot_hash(snapshot))
        return self._snapshots[tender.id]


def _days_left(deadline: datetime, now: datetime, tz: ZoneInfo) -> int:
    return (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days


def update_changes(session: Session, delivery: Delivery, tender: TenderRow,
                   loader: Loader | None = None) -> list[dict]:
    """What changed since the member was last shown the tender on this channel."""
    loader = loader or Loader(session)
    shown = last_shown(session, [tender.id], member_id=delivery.member_id)
    before = shown.get((delivery.member_id, tender.id, delivery.channel))
    if before is None:
        return []
    current, _digest = loader.snapshot(tender)
    return diff_snapshots((before.payload or {}).get("snapshot"), current)


def build_message(session: Session, delivery_or_group: Delivery | Sequence[Delivery],
                  member: Member, now: datetime, tz: ZoneInfo, *, loader: Loader | None = None):
    """The message (alerts.render.Rendered) for one delivery or a digest group, in the member's
    language. Raises NothingToSend when there is nothing left to say."""
    from alerts import render

    group = ([delivery_or_group] if isinstance(delivery_or_group, Delivery)
             else list(delivery_or_group))
    loader = loader or Loader(session).load(group)
    lang = member.language or "fr"
    first = group[0]
    if first.kind == K.DIGEST_ITEM:
        items = []
        for delivery in group:
            tender = loader.tender(delivery.tender_id)
            reasons, score = loader.reasons(delivery, member)
            items.append((tender, loader.lots[tender.id], reasons, score))
        items.sort(key=lambda item: (-item[3], item[0].deadline or now, item[0].id))
        preference = loader.preferences.get(member.id)
        # A member who went back to instant still gets the leftover items as one digest.
        rhythm = "weekly" if preference is not None and preference.rhythm == "weekly" else "daily"
        return render.render_digest(items, lang, now, tz, rhythm)
    tender = loader.tender(first.tender_id)
    if first.kind == K.ALERT:
        reasons, score = loader.reasons(first, member)
        return render.render_alert(tender, loader.lots[tender.id], reasons, score, lang, now, tz)
    if first.kind == K.UPDATE:
        changes = update_changes(session, first, tender, loader)
        if not changes:
            raise NothingToSend("nothing the member was shown has changed any more")
        return render.render_update(tender, changes, lang, now, tz)
    if first.kind == K.CANCELLATION:
        return render.render_cancellation(tender, lang)
    if first.kind == K.REMINDER:
        return render.render_reminder(tender, _days_left(tender.deadline, now, tz), lang, now,
                                      tz)
    raise NothingToSend(f"unknown delivery kind {first.kind!r}")


def tender_problem(tender: TenderRow | None, kind: str, now: datetime) -> str | None:
    if tender is None:
        return "the tender was removed"
    if tender.deadline is not None and tender.deadline <= now:
        return "the tender's deadline has passed"
    if tender.status in TenderStatus.FINAL and kind != K.CANCELLATION:
        return f"the tender is {tender.status}"
    return None


def _prepare_one(session: Session, loader: Loader, job: Job, now: datetime,
                 tz: ZoneInfo) -> Prepared | None:
    member = loader.member(job.member_id)
    if member is None:
        claims.finish_dead(session, job.ids, claim_id=job.claim_id, reason="the member is gone")
        return None
    if job.deliveries[0].channel == TELEGRAM and not usable(member, TELEGRAM):
        claims.finish_dead(session, job.ids, claim_id=job.claim_id,
                           reason="the member's Telegram chat is closed")
        enqueue_email_copy(session, job.deliveries, member, now)
        return None
    schedule = Schedule.of(loader.preferences.get(member.id))
    keep: list[Delivery] = []
    for delivery in job.deliveries:
        problem = tender_problem(loader.tender(delivery.tender_id), delivery.kind, now)
        if problem:
            claims.finish_dead(session, [delivery.id], claim_id=job.claim_id, reason=problem)
            continue
        due = due_time(schedule, digest=delivery.kind == K.DIGEST_ITEM,
                       queued_at=delivery.created_at, now=now, tz=tz)
        if due > now:
            claims.release(session, [delivery.id], claim_id=job.claim_id, next_at=due)
            continue
        keep.append(delivery)
    if not keep:
        return None
    try:
        rendered = build_message(session, keep, member, now, tz, loader=loader)
    except NothingToSend as reason:
        claims.finish_dead(session, [d.id for d in keep], claim_id=job.claim_id,
                           reason=str(reason))
        return None
    tenders = [loader.tender(d.tender_id) for d in keep]
    deadlines = [t.deadline for t in tenders if t is not None and t.deadline is not None]
    snapshots = {d.id: loader.snapshot(tender) for d, tender in zip(keep, tenders, strict=True)
                 if d.kind in SHOWN}
    return Prepared(job, keep, member.telegram_chat_id, rendered.html, rendered.keyboard,
                    snapshots, min(deadlines) if deadlines else None)


def prepare_jobs(session: Session, jobs: Sequence[Job], now: datetime,
                 tz: ZoneInfo) -> list[Prepared]:
    """Check and render claimed jobs (see the module docstring); what must not be sent is
    settled in the same transaction. Returns the messages to send, in the jobs' order."""
    loader = Loader(session).load(d for job in jobs for d in job.deliveries)
    prepared = []
    for job in jobs:
        try:
            ready = _prepare_one(session, loader, job, now, tz)
        except SQLAlchemyError:
            raise  # the session is unusable: the worker gives the whole claim back
        except Exception as error:  # a rendering bug: this job only, retried, then dead
            log.exception("could not prepare deliveries %s", job.ids)
            claims.finish_failed(session, job.ids, claim_id=job.claim_id,
                                 next_at=now + BROKEN_RETRY, error=f"{type(error).__name__}: "
                                 f"{error}", count_failure=True, max_failures=BROKEN_TRIES)
            continue
        if ready is not None:
            prepared.append(ready)
    return prepared


def prepare(session: Session, job: Job, now: datetime, tz: ZoneInfo) -> Prepared | None:
    """One job (see prepare_jobs)."""
    ready = prepare_jobs(session, [job], now, tz)
    return ready[0] if ready else None
