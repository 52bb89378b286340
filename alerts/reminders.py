"""Reminders J-7 and J-2 before the deadline of the tenders a member marked interesting.

`enqueue_reminders` runs once a day (bot/jobs.py) and writes `reminder` deliveries to the outbox;
the delivery worker sends them (alerts.render.render_reminder), quiet hours applying as for any
message that is not a digest. Its idempotency key
`reminder:<member>:<tender>:<days>` makes running it twice, or on several processes, harmless.

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
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from store.alert_models import Delivery, DeliveryKind, DeliveryStatus, Interest
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


def reminder_key(member_id: int, tender_id: int, days: int) -> str:
    return f"reminder:{member_id}:{tender_id}:{days}"


def _channel(member: Member, preference: str | None) -> str | None:
    """Where a reminder goes: the member's channel, Telegram when it is both."""
    wants_email = preference == "email" or (preference == "both" and not member.telegram_active)
    if wants_email and member.email and member.email_active:
        return "email"
    if member.telegram_chat_id is not None and member.telegram_active:
        return "telegram"
    if member.email and member.email_active:
        return "email"
    return None


def enqueue_reminders(session: Session, now: datetime | None = None,
                      tz: ZoneInfo | None = None) -> int:
    """Write the reminder deliveries due at `now`; returns how many were new. The caller
    commits."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    tz = tz or ZoneInfo("Europe/Paris")
    horizon = now + timedelta(days=8)  # J-7 of the latest deadline, with a day of margin
    rows = session.execute(
        select(Interest.member_id, Interest.tender_id, Interest.created_at, TenderRow.deadline,
               Member, AlertPreference.channel)
        .join(TenderRow, TenderRow.id == Interest.tender_id)
        .join(Member, Member.id == Interest.member_id)
        .outerjoin(AlertPreference, AlertPreference.member_id == Member.id)
        .where(Interest.signal == "interested",
               TenderRow.status.not_in(tuple(TenderStatus.FINAL)),
               TenderRow.deadline.is_not(None), TenderRow.deadline > now,
               TenderRow.deadline <= horizon)
    ).all()
    values = []
    for member_id, tender_id, marked_at, deadline, member, preference in rows:
        days = due_reminder(deadline, marked_at, now, tz)
        channel = _channel(member, preference) if days else None
        if days is None or channel is None:
            continue
        delivery = Delivery(
            member_id=member_id, channel=channel, kind=DeliveryKind.REMINDER,
            tender_id=tender_id, payload={"days": days},
            idempotency_key=reminder_key(member_id, tender_id, days),
            status=DeliveryStatus.PENDING, next_attempt_at=now, created_at=now)
        # Every column with the model's defaults (columns added later included).
        values.append({column.name: getattr(delivery, column.name)
                       for column in Delivery.__table__.columns if column.name != "id"})
    if not values:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert
    # Another run (or process) may have written some already: the key decides, silently.
    statement = insert(Delivery.__table__).on_conflict_do_nothing(
        index_elements=["idempotency_key"]).returning(Delivery.__table__.c.id)
    inserted = 0
    for row in values:
        inserted += len(session.execute(statement.values(**row)).all())
    return inserted
