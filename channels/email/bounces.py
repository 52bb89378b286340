"""Bounce scores, Mailman's way: a member's bad days add up, good weeks forget them.

A hard bounce (a 5xx answer at sending, or a delivery-status notification saying "failed" on the
VERP address) adds HARD points, at most once a day: a digest refused five times in one day is one
bad day. A score untouched for STALE_DAYS starts again from zero. Past THRESHOLD, email to the
member stops (`email_active` off), the advisors are told (alerts.advisors), and their other
channel, if they have one, takes over — their waiting email deliveries die at their next claim
and are queued there (alerts.compose). "Delayed" notifications (4.x.x) count for nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session

from alerts.advisors import enqueue_email_bouncing
from store.mail_models import MailBounce
from store.models import Member

HARD = 1.0
THRESHOLD = 3.0
STALE_DAYS = 7


def record(session: Session, member_id: int, now: datetime, reason: str,
           points: float = HARD) -> bool:
    """Count one bounce of the member's address. True when email has just stopped for them."""
    member = session.get(Member, member_id)
    if member is None:
        return False
    today = now.date()
    score = session.get(MailBounce, member_id) or MailBounce(member_id=member_id)
    if score.last_bounce_on is not None and score.last_bounce_on == today:
        return False
    if score.last_bounce_on is not None and (today - score.last_bounce_on) > timedelta(
            days=STALE_DAYS):
        score.score = 0.0
    score.score = (score.score or 0.0) + points
    score.last_bounce_on = today
    score.last_reason = (reason or "")[:500]
    stopped = score.score >= THRESHOLD and member.email_active
    if stopped:
        score.disabled_at = now
        session.execute(update(Member).where(Member.id == member_id)
                        .values(email_active=False))
        session.flush()
        session.refresh(member)
        enqueue_email_bouncing(session, member, now)
    session.add(score)
    session.flush()
    return stopped


def reset(session: Session, member_id: int) -> None:
    """The member's address works again (they wrote to us from it, and asked to resume)."""
    score = session.get(MailBounce, member_id)
    if score is not None:
        score.score = 0.0
        score.disabled_at = None
        session.add(score)
