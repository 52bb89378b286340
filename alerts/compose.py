"""From claimed deliveries to messages: group them, check them again, build their Message and
render it for the channel that sends it.

A claim's deliveries are prepared together in one session with bulk reads (members, preferences,
tenders, lots, matches: one query each), so a 1,000-member fan-out of one tender reads the tender
once and renders its snapshot once.

Checked again just before sending, with the data as it is now:
- the member still exists and the channel is open for them (else `dead`, and the same content is
  queued on their other channel when they have one);
- for the news about a tender (alerts, digests, updates, reminders), the tender exists, its
  deadline has not passed, it is not cancelled or awarded — else `dead` with the reason;
- alerts.policy.due_time with the member's current preferences (pause, rhythm, quiet hours) —
  else back to `pending` until then, without counting an attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from alerts import claims, render
from alerts.advisors import help_request_message
from alerts.channel import Channel
from alerts.message import Message
from alerts.outbox import (
    diff_snapshots,
    enqueue_fallback,
    last_shown,
    snapshot_hash,
    tender_snapshot,
)
from alerts.policy import DAILY, WEEKLY, Schedule, due_time
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
    address: Any  # the member's address on the channel
    rendered: Any  # the message in the channel's format
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
        ids = {i for i in ids if i not in self.members}  # (not `- set(…)`: called per message)
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
        ids = {i for i in ids if i not in self.tenders}
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


def _digest(session: Session, loader: Loader, group: list[Delivery], member: Member,
            now: datetime, tz: ZoneInfo) -> Message:
    items = []
    for delivery in group:
        tender = loader.tender(delivery.tender_id)
        reasons, score = loader.reasons(delivery, member)
        items.append((tender, loader.lots[tender.id], reasons, score))
    preference = loader.preferences.get(member.id)
    # A member who went back to instant still gets the leftover items as one digest.
    rhythm = WEEKLY if preference is not None and preference.rhythm == WEEKLY else DAILY
    return render.render_digest(items, _lang(member), now, tz, rhythm)


def _alert(session: Session, loader: Loader, group: list[Delivery], member: Member,
           now: datetime, tz: ZoneInfo) -> Message:
    tender = loader.tender(group[0].tender_id)
    reasons, score = loader.reasons(group[0], member)
    return render.render_alert(tender, loader.lots[tender.id], reasons, score, _lang(member),
                               now, tz)


def _update(session: Session, loader: Loader, group: list[Delivery], member: Member,
            now: datetime, tz: ZoneInfo) -> Message:
    tender = loader.tender(group[0].tender_id)
    changes = update_changes(session, group[0], tender, loader)
    if not changes:
        raise NothingToSend("nothing the member was shown has changed any more")
    return render.render_update(tender, changes, _lang(member), now, tz)


def _cancellation(session: Session, loader: Loader, group: list[Delivery], member: Member,
                  now: datetime, tz: ZoneInfo) -> Message:
    return render.render_cancellation(loader.tender(group[0].tender_id), _lang(member))


def _reminder(session: Session, loader: Loader, group: list[Delivery], member: Member,
              now: datetime, tz: ZoneInfo) -> Message:
    tender = loader.tender(group[0].tender_id)
    return render.render_reminder(tender, _days_left(tender.deadline, now, tz), _lang(member),
                                  now, tz)


def _help_request(session: Session, loader: Loader, group: list[Delivery], member: Member,
                  now: datetime, tz: ZoneInfo) -> Message:
    payload = group[0].payload or {}
    requester = loader.member(int(payload.get("requester") or 0)) if payload.get(
        "requester") else None
    return help_request_message(session, requester, loader.tender(group[0].tender_id),
                                _lang(member), text=payload.get("text"))


def _email_bouncing(session: Session, loader: Loader, group: list[Delivery], member: Member,
                    now: datetime, tz: ZoneInfo) -> Message:
    from alerts.advisors import email_bouncing_message

    payload = group[0].payload or {}
    return email_bouncing_message(session, loader.member(int(payload.get("member") or 0)),
                                  _lang(member))


def _announcement_of(session: Session, delivery: Delivery, now: datetime):
    """The announcement a delivery belongs to; NothingToSend once it is cancelled or gone."""
    from store.announcement_models import Announcement, AnnouncementStatus

    announcement = (session.get(Announcement, delivery.announcement_id)
                    if delivery.announcement_id else None)
    if announcement is None or announcement.status == AnnouncementStatus.CANCELLED:
        raise NothingToSend("the announcement was cancelled")
    if announcement.event_at is not None and announcement.event_at <= now:
        raise NothingToSend("the event is over")
    return announcement


def _announcement(session: Session, loader: Loader, group: list[Delivery], member: Member,
                  now: datetime, tz: ZoneInfo) -> Message:
    from alerts.announcement_messages import announcement_message
    from store.announcements import registered_count, registration

    announcement = _announcement_of(session, group[0], now)
    mine = registration(session, announcement.id, member.id)
    return announcement_message(announcement, _lang(member), tz,
                                registered=registered_count(session, announcement.id),
                                status=mine.status if mine else None)


def _event_reminder(session: Session, loader: Loader, group: list[Delivery], member: Member,
                    now: datetime, tz: ZoneInfo) -> Message:
    from alerts.announcement_messages import reminder_message
    from store.announcement_models import RegistrationStatus
    from store.announcements import registration

    announcement = _announcement_of(session, group[0], now)
    mine = registration(session, announcement.id, member.id)
    if mine is None or mine.status != RegistrationStatus.REGISTERED:
        raise NothingToSend("the member is no longer registered")
    return reminder_message(announcement, (group[0].payload or {}).get("when", "day"),
                            _lang(member), tz)


def _event_promoted(session: Session, loader: Loader, group: list[Delivery], member: Member,
                    now: datetime, tz: ZoneInfo) -> Message:
    from alerts.announcement_messages import registered_message
    from store.announcement_models import RegistrationStatus
    from store.announcements import registration

    announcement = _announcement_of(session, group[0], now)
    mine = registration(session, announcement.id, member.id)
    if mine is None or mine.status != RegistrationStatus.REGISTERED:
        raise NothingToSend("the member is no longer registered")
    return registered_message(announcement, _lang(member), tz, promoted=True)


def _lang(member: Member) -> str:
    return member.language or "fr"


Builder = Callable[[Session, Loader, list[Delivery], Member, datetime, ZoneInfo], Message]
# What each kind of delivery says; later flows (groupements, support…) add theirs.
BUILDERS: dict[str, Builder] = {
    K.DIGEST_ITEM: _digest, K.ALERT: _alert, K.UPDATE: _update, K.CANCELLATION: _cancellation,
    K.REMINDER: _reminder, K.HELP_REQUEST: _help_request, K.EMAIL_BOUNCING: _email_bouncing,
    K.ANNOUNCEMENT: _announcement, K.EVENT_REMINDER: _event_reminder,
    K.EVENT_PROMOTED: _event_promoted,
}


def register_builder(kind: str, builder: Builder) -> None:
    """What deliveries of `kind` say: the later flows (consortia, support) register theirs from
    their own package (bot/ imports them)."""
    BUILDERS[kind] = builder


def build_message(session: Session, delivery_or_group: Delivery | Sequence[Delivery],
                  member: Member, now: datetime, tz: ZoneInfo, *,
                  loader: Loader | None = None) -> Message:
    """The Message for one delivery or a digest group, in the member's language. Raises
    NothingToSend when there is nothing left to say."""
    group = ([delivery_or_group] if isinstance(delivery_or_group, Delivery)
             else list(delivery_or_group))
    loader = loader or Loader(session).load(group)
    builder = BUILDERS.get(group[0].kind)
    if builder is None:
        raise NothingToSend(f"unknown delivery kind {group[0].kind!r}")
    return builder(session, loader, group, member, now, tz)


def tender_problem(tender: TenderRow | None, kind: str, now: datetime) -> str | None:
    if kind not in K.TENDER_NEWS and kind != K.CANCELLATION:
        return None  # e.g. a help request: it stays worth reading after the deadline
    if tender is None:
        return "the tender was removed"
    if tender.deadline is not None and tender.deadline <= now:
        return "the tender's deadline has passed"
    if tender.status in TenderStatus.FINAL and kind != K.CANCELLATION:
        return f"the tender is {tender.status}"
    return None


def render_for(channel: Channel, message: Message, member: Member,
               deliveries: Sequence[Delivery]) -> Any:
    """The channel's rendering of `message`. A channel whose format depends on the recipient
    and on what the deliveries are about has `render_to(message, member, deliveries)` — email:
    the language of its fixed texts, the signed reply address (member + thread), the threading
    headers, the digest's items in the Message-ID; the others only `render(message)`."""
    render_to = getattr(channel, "render_to", None)
    if render_to is not None:
        return render_to(message, member, deliveries)
    return channel.render(message)


def _prepare_one(session: Session, loader: Loader, job: Job, now: datetime, tz: ZoneInfo,
                 channel: Channel) -> Prepared | None:
    member = loader.member(job.member_id)
    if member is None:
        claims.finish_dead(session, job.ids, claim_id=job.claim_id, reason="the member is gone")
        return None
    address = channel.address(member)
    if address is None:
        claims.finish_dead(session, job.ids, claim_id=job.claim_id,
                           reason=f"the member's {channel.name} channel is closed")
        enqueue_fallback(session, job.deliveries, member, now, channel.name)
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
        if due > now and delivery.kind in K.TENDER_NEWS + (K.CANCELLATION,):
            claims.release(session, [delivery.id], claim_id=job.claim_id, next_at=due)
            continue
        keep.append(delivery)
    if not keep:
        return None
    try:
        rendered = render_for(channel, build_message(session, keep, member, now, tz,
                                                     loader=loader), member, keep)
    except NothingToSend as reason:
        claims.finish_dead(session, [d.id for d in keep], claim_id=job.claim_id,
                           reason=str(reason))
        return None
    tenders = [loader.tender(d.tender_id) for d in keep]
    deadlines = [t.deadline for t in tenders if t is not None and t.deadline is not None]
    snapshots = {d.id: loader.snapshot(tender) for d, tender in zip(keep, tenders, strict=True)
                 if d.kind in SHOWN}
    return Prepared(job, keep, address, rendered, snapshots,
                    min(deadlines) if deadlines else None)


def prepare_jobs(session: Session, jobs: Sequence[Job], now: datetime, tz: ZoneInfo,
                 channel: Channel) -> list[Prepared]:
    """Check and render claimed jobs (see the module docstring); what must not be sent is
    settled in the same transaction. Returns the messages to send, in the jobs' order."""
    loader = Loader(session).load(d for job in jobs for d in job.deliveries)
    prepared = []
    for job in jobs:
        try:
            ready = _prepare_one(session, loader, job, now, tz, channel)
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


def prepare(session: Session, job: Job, now: datetime, tz: ZoneInfo,
            channel: Channel) -> Prepared | None:
    """One job (see prepare_jobs)."""
    ready = prepare_jobs(session, [job], now, tz, channel)
    return ready[0] if ready else None
