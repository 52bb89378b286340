"""Tables of the alerts side: the outbox of deliveries, and members' signals on tenders.

A delivery is written in the same transaction as the match (or the event) that causes it, so a
crash can never lose one; its unique idempotency key means the same thing is never queued twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from store.tender_models import UTCDateTime, utcnow


class DeliveryStatus:
    PENDING = "pending"  # waiting for its time (next_attempt_at)
    SENDING = "sending"  # claimed by a worker
    SENT = "sent"
    FAILED = "failed"  # a try failed; retried at next_attempt_at
    UNCERTAIN = "uncertain"  # the request may have reached Telegram: not re-sent blindly
    DEAD = "dead"  # will never be sent (400, member gone, deadline passed…)

    OPEN = (PENDING, FAILED)


class DeliveryKind:
    ALERT = "alert"  # one tender, sent alone (instant rhythm)
    DIGEST_ITEM = "digest_item"  # one tender, sent grouped with others at the digest time
    UPDATE = "update"  # a rectificatif of a tender the member was alerted to
    CANCELLATION = "cancellation"  # a tender the member marked interest in was cancelled
    REMINDER = "reminder"  # J-7 / J-2 before the deadline of a tender marked interesting
    HELP_REQUEST = "help_request"  # to an advisor: a member asked for help (on a tender)
    EMAIL_BOUNCING = "email_bouncing"  # to an advisor: email to a member stopped (bounces)
    ANNOUNCEMENT = "announcement"  # an advisor's announcement (deliveries.announcement_id)
    EVENT_REMINDER = "event_reminder"  # the day before / one hour before an event registered to
    EVENT_PROMOTED = "event_promoted"  # a seat freed up: off the waiting list, registered

    # Kinds about a tender that tell members about it: sent only while the tender is open.
    TENDER_NEWS = (ALERT, DIGEST_ITEM, UPDATE, REMINDER)


def _utc(nullable: bool = True, index: bool = False, default_now: bool = False) -> Any:
    column = Column(UTCDateTime(), nullable=nullable, index=index)
    return Field(default_factory=utcnow, sa_column=column) if default_now else Field(
        default=None, sa_column=column)


class Delivery(SQLModel, table=True):
    __tablename__ = "deliveries"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=Column(
        Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True))
    channel: str = Field(default="telegram", max_length=10)  # telegram | email
    kind: str = Field(max_length=20)  # DeliveryKind
    tender_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("tenders.id", ondelete="CASCADE"), nullable=True, index=True))
    # What an announcement's deliveries belong to (its counts on /annonces, its cancellation).
    announcement_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("announcements.id", ondelete="CASCADE"), nullable=True, index=True))
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    idempotency_key: str = Field(max_length=200, unique=True)
    status: str = Field(default=DeliveryStatus.PENDING, max_length=12, index=True)
    attempts: int = 0
    next_attempt_at: datetime = _utc(nullable=False, index=True, default_now=True)
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = _utc()
    sent_at: datetime | None = _utc()
    # The channel's id of what was sent (Telegram's message id, an email's Message-ID).
    channel_message_id: str | None = Field(default=None, max_length=250)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = _utc(nullable=False, default_now=True)
    # Set (and committed) right before the HTTP request of an attempt, cleared by each claim: a
    # stale `sending` row without it was never tried and goes back to pending; with it the
    # message may have left, so it becomes `uncertain` (see alerts.worker).
    attempt_started_at: datetime | None = _utc()
    failures: int = 0  # failed tries that count towards giving up (429s do not)
    # Hash of the tender fields the member was shown (payload["snapshot"]): a rectificatif that
    # changes them sends an `update` (see alerts.outbox).
    snapshot_hash: str | None = Field(default=None, max_length=64)


class Interest(SQLModel, table=True):
    """A member's signal on a tender: interested, looking for partners, needs help, not for us."""

    __tablename__ = "interests"
    __table_args__ = (UniqueConstraint("member_id", "tender_id", "signal"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(sa_column=Column(
        Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True))
    tender_id: int = Field(sa_column=Column(
        Integer, ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True))
    signal: str = Field(max_length=20)  # interested | partners | help | not_for_us
    reason: str | None = Field(default=None, max_length=30)  # for not_for_us
    created_at: datetime = _utc(nullable=False, default_now=True)


class SendSlot(SQLModel, table=True):
    """A rate limit shared by every delivery worker (alerts.limiter): the next free send time of
    one bot, in seconds since the epoch. Each worker reserves its slots with one atomic UPDATE."""

    __tablename__ = "send_slots"

    key: str = Field(primary_key=True, max_length=40)
    next_at: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
