"""Tables of the advisors' tools: announcements (with an optional event), registrations to
events, and the opportunities advisors post (each one is also a tender of source `advisor`).

An announcement's audience is stored as the filters the advisor chose (JSON); the recipients are
its deliveries (`deliveries.announcement_id`), written when it leaves: at once, or by the job that
releases scheduled announcements (the schedule is `send_at`, so a restart loses nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from store.tender_models import UTCDateTime, utcnow


def _utc(nullable: bool = True, index: bool = False, default_now: bool = False) -> Any:
    column = Column(UTCDateTime(), nullable=nullable, index=index)
    return Field(default_factory=utcnow, sa_column=column) if default_now else Field(
        default=None, sa_column=column)


class AnnouncementStatus:
    SCHEDULED = "scheduled"  # waits for send_at
    SENT = "sent"  # its deliveries are queued (the outbox sends them at the channels' rates)
    CANCELLED = "cancelled"

    ALL = (SCHEDULED, SENT, CANCELLED)


class Announcement(SQLModel, table=True):
    __tablename__ = "announcements"

    id: int | None = Field(default=None, primary_key=True)
    author_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("members.id", ondelete="SET NULL"), nullable=True, index=True))
    # As the advisor typed it: *bold*, _italic_, [label](https://…) and bare links are kept as
    # such; everything else is plain text (announcements.markup).
    text: str = Field(sa_column=Column(Text, nullable=False))
    audience: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=AnnouncementStatus.SCHEDULED, max_length=12, index=True)
    send_at: datetime = _utc(nullable=False, index=True, default_now=True)
    sent_at: datetime | None = _utc()  # when its deliveries were queued
    recipients: int = 0  # deliveries queued
    # The optional event.
    event_at: datetime | None = _utc(index=True)
    event_place: str | None = Field(default=None, max_length=300)
    event_link: str | None = Field(default=None, max_length=600)
    seats: int | None = None  # None: no limit
    created_at: datetime = _utc(nullable=False, default_now=True)
    updated_at: datetime = _utc(nullable=False, default_now=True)


class RegistrationStatus:
    REGISTERED = "registered"
    WAITING = "waiting"  # the event is full: in line, by `created_at`
    DECLINED = "declined"  # "Pas disponible", or cancelled a registration


class EventRegistration(SQLModel, table=True):
    __tablename__ = "event_registrations"
    __table_args__ = (UniqueConstraint("announcement_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    announcement_id: int = Field(sa_column=Column(
        Integer, ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False, index=True))
    member_id: int = Field(sa_column=Column(
        Integer, ForeignKey("members.id", ondelete="CASCADE"), nullable=False, index=True))
    status: str = Field(max_length=12)
    created_at: datetime = _utc(nullable=False, default_now=True)  # the place in line
    updated_at: datetime = _utc(nullable=False, default_now=True)


class Opportunity(SQLModel, table=True):
    """What an advisor posted beyond the tender row: who posted it, the kind of buyer, and the
    contact that only members who mark interest are shown."""

    __tablename__ = "opportunities"

    id: int | None = Field(default=None, primary_key=True)
    tender_id: int = Field(sa_column=Column(
        Integer, ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, unique=True))
    author_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("members.id", ondelete="SET NULL"), nullable=True, index=True))
    buyer_kind: str = Field(default="public", max_length=10)  # public | private
    contact: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = _utc(nullable=False, default_now=True)
    updated_at: datetime = _utc(nullable=False, default_now=True)
