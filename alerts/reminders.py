"""Reminders J-7 and J-2 before the deadline of the tenders a member marked interesting.

`enqueue_reminders` runs once a day (bot/jobs.py) and writes `reminder` deliveries to the outbox
(on the member's channels, alerts.outbox.member_channels); the delivery worker sends them
(alerts.render.render_reminder), quiet hours and pause applying as for any message that is not a
digest. Their idempotency key `reminder:<member>:<tender>:<days>:<channel>` makes running it
twice, or on several processes, harmless.

"Marked interesting": the signals `interested` or `partners` (alerts.outbox.INTEREST_SIGNALS,
the same that get a cancellation notice), the earliest of the two counting.

Which reminder is due, in the configured time zone, with d = calendar days left:
- J-7 when 4 <= d <= 7 and J-2 when 0 <= d <= 2 — a range, not a single day, so that a bot that
  was down on the day still sends it the next day (saying the true number of days left);
- only when the member marked interest *before* that reminder's day (someone who says "interested"
  four days before the deadline does not need to be told the next day that seven days are left);
- never for a tender cancelled, awarded or past its deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts.outbox import INTEREST_SIGNALS, delivery_key, insert_deliveries, member_channels
from alerts.policy import Schedule, delivery_time
from store.alert_models import Delivery, DeliveryKind, Interest
from store.models import AlertPreference, Member
from store.tender_models import TenderRow, TenderStatus

# (reminder day, last day it may still be sent)
REMINDERS = ((7, 4), (2, 0))


def due_reminder(deadline: datetime, marked_at: datetime, now: datetime,
                 tz: ZoneInfo) -> int | None:
    """The reminder (7 or 2) due at `now` for a deadline, or None. Pure."""
    if deadline <= now:
        return None
    deadline_day = deadline.astimezone(tz).date()
    days_left = (deadline_day - now.astimezone(tz).date()).days
    marked_day = marked_at.astimezone(tz).date()
    for days, last in REMINDERS:
        if last <= days_left <= days:
            reminder_day = deadline_day - timedelta(days=days)
            return days if marked_day < reminder_day else None
    return None


def reminder_key(member_id: int, tender_id: int, days: int, channel: str) -> str:
    """"reminder:<member>:<tender>:<days>:<channel>" (the outbox's key convention)."""
    return delivery_key(DeliveryKind.REMINDER, member_id, tender_id, channel, str(days))


def enqueue_reminders(session: Session, now: datetime | None = None,
                      tz: ZoneInfo | None = None) -> int:
    """Write the reminder deliveries due at `now`; returns how many were new. The caller
    commits."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tz = tz or ZoneInfo("Europe/Paris")
    horizon = now + timedelta(days=8)  # J-7 of the latest deadline, with a day of margin
    rows = session.execute(
        select(Interest.member_id, Interest.tender_id, Interest.created_at, TenderRow.deadline,
               Member, AlertPreference)
        .join(TenderRow, TenderRow.id == Interest.tender_id)
        .join(Member, Member.id == Interest.member_id)
        .outerjoin(AlertPreference, AlertPreference.member_id == Member.id)
        .where(Interest.signal.in_(INTEREST_SIGNALS),
               TenderRow.status.not_in(tuple(TenderStatus.FINAL)),
               TenderRow.deadline.is_not(None), TenderRow.deadline > now,
               TenderRow.deadline <= horizon)
        .order_by(Interest.member_id, Interest.tender_id, Interest.created_at)
    ).all()
    values = []
    seen: set[tuple[int, int]] = set()
    for member_id, tender_id, marked_at, deadline, member, preference in rows:
        if (member_id, tender_id) in seen:  # interested *and* looking for partners: once
            continue
        seen.add((member_id, tender_id))
        days = due_reminder(deadline, marked_at, now, tz)
        if days is None:
            continue
        # Quiet hours and pause apply as to any message that is not a digest.
        due = delivery_time(Schedule.of(preference), now, tz, digest=False)
        for channel in member_channels(member, preference):
            values.append({
                "member_id": member_id, "channel": channel, "kind": DeliveryKind.REMINDER,
                "tender_id": tender_id, "payload": {"days": days},
                "idempotency_key": reminder_key(member_id, tender_id, days, channel),
                "next_attempt_at": due, "created_at": now,
            })
    if not values:
        return 0
    # Another run (or process) may have written some already: the key decides, silently. The
    # count is of keys absent just before (a driver's rowcount for INSERT … ON CONFLICT is not
    # reliable everywhere; it is only reported).
    keys = [row["idempotency_key"] for row in values]
    existing = set(session.execute(select(Delivery.idempotency_key).where(
        Delivery.idempotency_key.in_(keys))).scalars())
    insert_deliveries(session, values)
    return len(set(keys) - existing)
