"""Tables of the tender side: tenders, their lots and notices, matches, and ingestion cursors.

A *tender* is one procurement opportunity. It may be published several times: a call for tenders,
then rectificatifs, a cancellation or an award, and the same call on BOAMP and on TED. Each
publication is a *notice* (`tender_notices`): that table is what makes re-ingesting the same data a
no-op (a notice already seen with the same content hash changes nothing) and lets a rectificatif
find its tender by the id of the notice it corrects.

Dates with a time are stored in UTC. PostgreSQL keeps the offset (`timestamptz`); SQLite has no
such type, so `UTCDateTime` converts to UTC on the way in and puts the UTC zone back on the way out:
both databases return aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """An aware datetime stored as UTC; naive values are refused (they are always a bug here)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: tender dates must be timezone-aware")
        value = value.astimezone(UTC)
        # SQLite stores text: without the offset every row compares the same way.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _utc_field(*, nullable: bool, index: bool = False, default_now: bool = False) -> Any:
    column = Column(UTCDateTime(), nullable=nullable, index=index)
    if default_now:
        return Field(default_factory=utcnow, sa_column=column)
    return Field(default=None, sa_column=column)


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class TenderStatus:
    OPEN = "open"
    CHANGED = "changed"  # a rectificatif or a republication changed it since it was first seen
    CANCELLED = "cancelled"
    CLOSED = "closed"  # awarded

    ALL = (OPEN, CHANGED, CANCELLED, CLOSED)
    FINAL = frozenset({CANCELLED, CLOSED})


class TenderRow(SQLModel, table=True):
    """One tender, whatever the number of notices and sources that published it."""

    __tablename__ = "tenders"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_tenders_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    # The notice that created the row; other notices of the same tender are in tender_notices.
    source: str = Field(max_length=20)
    source_id: str = Field(max_length=100)
    # Both references when the tender was seen on both sources. ted_ref is canonical
    # ("89000-2015", see tenders.ted_ref.canonical_ted_ref) so that every spelling compares equal.
    ted_ref: str | None = Field(default=None, max_length=40, index=True)
    boamp_ref: str | None = Field(default=None, max_length=40, index=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    buyer: str = Field(default="", sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    kind: str = Field(default="call", max_length=20)  # NoticeKind of the last notice applied
    cpv_codes: list[str] = _json_list()
    departements: list[str] = _json_list()
    published: date | None = Field(default=None, index=True)
    deadline: datetime | None = _utc_field(nullable=True)
    estimated_value: float | None = None
    procedure: str = Field(default="", max_length=200)
    reserved: str = Field(default="none", max_length=20)  # tenders.model.Reserved
    social_clause: bool = False
    url: str = Field(default="", max_length=1000)
    status: str = Field(default=TenderStatus.OPEN, max_length=20, index=True)
    content_hash: str = Field(max_length=64)
    # buyer + normalised title + deadline date: finds the same tender on the other source when
    # no TED reference links them.
    dedupe_key: str | None = Field(default=None, max_length=400, index=True)
    needs_matching: bool = Field(default=True, index=True)
    first_seen: datetime = _utc_field(nullable=False, default_now=True)
    updated_at: datetime = _utc_field(nullable=False, default_now=True)


class TenderNotice(SQLModel, table=True):
    """One publication (source, source id) and the tender it belongs to."""

    __tablename__ = "tender_notices"
    __table_args__ = (UniqueConstraint("source", "source_id", name="uq_tender_notices_source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tender_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    source: str = Field(max_length=20)
    source_id: str = Field(max_length=100)
    kind: str = Field(default="call", max_length=20)
    # Empty when the notice is only known by reference (a rectificatif named it before it arrived).
    content_hash: str = Field(default="", max_length=64)
    published: date | None = None
    seen_at: datetime = _utc_field(nullable=False, default_now=True)


class LotRow(SQLModel, table=True):
    __tablename__ = "lots"

    id: int | None = Field(default=None, primary_key=True)
    tender_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    number: str = Field(max_length=40)
    title: str = Field(default="", sa_column=Column(Text, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    cpv_codes: list[str] = _json_list()
    estimated_value: float | None = None


class MatchRow(SQLModel, table=True):
    """A structure a tender is relevant for, with the score and reasons matching gave."""

    __tablename__ = "matches"
    __table_args__ = (UniqueConstraint("tender_id", "structure_id", name="uq_matches_pair"),)

    id: int | None = Field(default=None, primary_key=True)
    tender_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("tenders.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    # Deleting a structure (GDPR erasure, an advisor's clean-up) removes its matches.
    structure_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("structures.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    score: int
    reasons: list[dict] = _json_list()  # matching Reason.to_dict() values
    created_at: datetime = _utc_field(nullable=False, default_now=True)
    updated_at: datetime = _utc_field(nullable=False, default_now=True)


class IngestCursor(SQLModel, table=True):
    """Where the last fetch of a source stopped: the latest publication date it stored."""

    __tablename__ = "ingest_cursors"

    source: str = Field(primary_key=True, max_length=20)
    last_published: date
    updated_at: datetime = _utc_field(nullable=False, default_now=True)
