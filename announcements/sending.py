"""An announcement from the advisor's confirmation to the outbox: created now or scheduled,
released by a job when its time comes (the schedule is the `send_at` column, so a restart loses
nothing), cancellable until it leaves.

Releasing computes the audience (announcements.audience, the query the preview counted) and
queues one `announcement` delivery per recipient and channel, in one transaction with the
status change: a crash leaves it either scheduled with nothing queued, or sent with everything
queued. Idempotency keys `announcement:<member>:-:a<id>:<channel>` make a second release queue
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from alerts.outbox import delivery_key, insert_deliveries
from announcements.audience import Audience, Filters, audience
from store.alert_models import Delivery, DeliveryKind, DeliveryStatus
from store.announcement_models import Announcement, AnnouncementStatus

S = AnnouncementStatus
CHUNK = 1000  # rows per INSERT (SQLite's bound on parameters)


@dataclass(frozen=True)
class Draft:
    """What the composer gathered (conversations/announcement.py)."""

    text: str
    filters: Filters
    send_at: datetime | None = None  # None: now
    event_at: datetime | None = None
    event_place: str | None = None
    event_link: str | None = None
    seats: int | None = None


def create(session: Session, author_id: int, draft: Draft, now: datetime) -> Announcement:
    """Store the announcement; released at once when it is not for later."""
    announcement = Announcement(
        author_id=author_id, text=draft.text, audience=draft.filters.to_dict(),
        status=S.SCHEDULED, send_at=draft.send_at or now, event_at=draft.event_at,
        event_place=draft.event_place, event_link=draft.event_link, seats=draft.seats,
        created_at=now, updated_at=now)
    session.add(announcement)
    session.flush()
    if announcement.send_at <= now:
        release(session, announcement, now)
    return announcement


def enqueue(session: Session, announcement: Announcement, recipients: Audience,
            now: datetime) -> int:
    rows = [{"member_id": member_id, "channel": channel, "kind": DeliveryKind.ANNOUNCEMENT,
             "tender_id": None, "announcement_id": announcement.id, "payload": {},
             "idempotency_key": delivery_key(DeliveryKind.ANNOUNCEMENT, member_id, None,
                                             channel, f"a{announcement.id}"),
             "next_attempt_at": now, "created_at": now}
            for channel, ids in recipients.by_channel.items() for member_id in ids]
    return sum(insert_deliveries(session, rows[start:start + CHUNK])
               for start in range(0, len(rows), CHUNK))


def release(session: Session, announcement: Announcement, now: datetime) -> int:
    """Queue the deliveries of a scheduled announcement; returns how many were queued."""
    if announcement.status != S.SCHEDULED:
        return 0
    queued = enqueue(session, announcement, audience(session, Filters.of(announcement.audience)),
                     now)
    announcement.status, announcement.sent_at = S.SENT, now
    announcement.recipients, announcement.updated_at = queued, now
    session.add(announcement)
    session.flush()
    return queued


def release_due(session: Session, now: datetime) -> list[int]:
    """The job: release every scheduled announcement whose time has come. Returns their ids.
    Several processes may run it: rows are claimed with SKIP LOCKED on PostgreSQL."""
    query = (select(Announcement).where(Announcement.status == S.SCHEDULED,
                                        Announcement.send_at <= now)
             .order_by(Announcement.send_at, Announcement.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    released = []
    for announcement in session.execute(query).scalars().all():
        release(session, announcement, now)
        released.append(announcement.id)
    return released


def cancel(session: Session, announcement: Announcement, now: datetime) -> int:
    """Cancel a scheduled announcement, or what of a sent one has not left yet. Returns the
    deliveries withdrawn (those already sent stay sent)."""
    withdrawn = session.execute(
        update(Delivery).where(Delivery.announcement_id == announcement.id,
                               Delivery.status.in_(DeliveryStatus.OPEN))
        .values(status=DeliveryStatus.DEAD, last_error="the announcement was cancelled")
    ).rowcount or 0
    announcement.status, announcement.updated_at = S.CANCELLED, now
    session.add(announcement)
    session.flush()
    return withdrawn
