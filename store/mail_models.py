"""Tables of the email bridge (channels/email): inbound mail kept raw, onboarding conversations by
email, bounce scores, and the explanations sent to senders whose mail could not be used.

Stores; computes nothing: the rules (what a key is, when a score stops email) are in
channels/email.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from store.tender_models import UTCDateTime, utcnow


def _utc(nullable: bool = True, index: bool = False, default_now: bool = False) -> Any:
    column = Column(UTCDateTime(), nullable=nullable, index=index)
    return Field(default_factory=utcnow, sa_column=column) if default_now else Field(
        default=None, sa_column=column)


class InboundStatus:
    RECEIVED = "received"  # stored, not processed yet
    PROCESSED = "processed"  # acted on (or answered)
    IGNORED = "ignored"  # an auto-reply, a loop, malformed: nothing done, nothing answered
    REJECTED = "rejected"  # a bad key or sender: at most one explanation a day
    FAILED = "failed"  # processing raised: kept for an operator, never retried blindly


class InboundMail(SQLModel, table=True):
    """One message as the LMTP server accepted it, for one recipient: stored before it is
    processed (a crash loses nothing), processed once (the status changes in the transaction of
    what it does). `digest` (SHA-256 of the bytes) makes the MTA's re-delivery of the same
    message to the same recipient a no-op."""

    __tablename__ = "mail_inbound"
    __table_args__ = (UniqueConstraint("recipient", "digest"),)

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = _utc(nullable=False, default_now=True)
    envelope_from: str = Field(default="", max_length=320)
    recipient: str = Field(max_length=320)
    digest: str = Field(max_length=64)
    message_id: str | None = Field(default=None, max_length=250)
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default=InboundStatus.RECEIVED, max_length=12, index=True)
    member_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("members.id", ondelete="SET NULL"), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text))
    processed_at: datetime | None = _utc()


class MailConversation(SQLModel, table=True):
    """The diagnostic walked by email (INSCRIPTION): where the sender is and their answers, as
    PTB's user_data holds them for Telegram."""

    __tablename__ = "mail_conversations"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=254, unique=True)
    language: str = Field(default="fr", max_length=5)
    state: str | None = Field(default=None, max_length=40)
    answers: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _utc(nullable=False, default_now=True)


class MailBounce(SQLModel, table=True):
    """A member's bounce score (Mailman's way: at most one point a day; stale after a week)."""

    __tablename__ = "mail_bounces"

    member_id: int = Field(sa_column=Column(
        Integer, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True))
    score: float = Field(default=0.0, sa_column=Column(Float, nullable=False))
    last_bounce_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    last_reason: str | None = Field(default=None, sa_column=Column(Text))
    disabled_at: datetime | None = _utc()


class MailRejection(SQLModel, table=True):
    """An explanation sent to an address whose mail was refused: one a day at most."""

    __tablename__ = "mail_rejections"
    __table_args__ = (UniqueConstraint("address", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(max_length=320)
    day: date = Field(sa_column=Column(Date, nullable=False))
    reason: str = Field(default="", max_length=40)
