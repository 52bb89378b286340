"""Tables of groupements and support: partner searches, proposals, groupements and their
members, the messages of threads, support requests and the follow-up after a tender's deadline.

Consent is data here: a search's `consent_at` (the requester lets suggested partners see it for
this tender; cleared when withdrawn), a proposal's `status` (nothing about a candidate reaches the
requester before it is `accepted`), a groupement member's `shared` (the contact fields it chose
to show the others, field by field, with the value shown).

A member erased with /supprimer: the rows it owns as requester or candidate go with it
(CASCADE); where the others must still read the history — a groupement's members, a thread's
messages, a support request an advisor took — its id becomes NULL and they read "a former
member" (SET NULL).
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


def _fk(table: str, ondelete: str, nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(
        Integer, ForeignKey(f"{table}.id", ondelete=ondelete), nullable=nullable, index=True))


def _json(default: Any = list) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class PartnerRole:
    """The role wanted for a partner, or held in a groupement (conversations.choices.CONSORTIUM
    without "no")."""

    LEAD = "lead"  # mandataire
    COCONTRACTOR = "cocontractor"  # cotraitant
    SUBCONTRACTOR = "subcontractor"  # sous-traitant

    ALL = (LEAD, COCONTRACTOR, SUBCONTRACTOR)


class SearchStatus:
    DRAFT = "draft"  # the member is still choosing the role, lots, what it lacks
    ACTIVE = "active"  # suggestions can be shown and proposals made
    CLOSED = "closed"  # the tender is over, cancelled, or the member withdrew it

    ALL = (DRAFT, ACTIVE, CLOSED)


class PartnerSearch(SQLModel, table=True):
    """A member looking for partners on one tender."""

    __tablename__ = "partner_searches"
    __table_args__ = (UniqueConstraint("member_id", "tender_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = _fk("members", "CASCADE", nullable=False)
    tender_id: int = _fk("tenders", "CASCADE", nullable=False)
    role: str | None = Field(default=None, max_length=20)  # PartnerRole wanted for the partner
    lots: list[str] = _json()  # lot numbers concerned (empty: the whole tender)
    lacks: list[str] = _json()  # trade | lot | area | capacity
    lack_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default=SearchStatus.DRAFT, max_length=10, index=True)
    # Shown to the partners suggested for this tender: set by an explicit consent, cleared when
    # withdrawn (which hides it from every pending suggestion).
    consent_at: datetime | None = _utc()
    created_at: datetime = _utc(nullable=False, default_now=True)
    updated_at: datetime = _utc(nullable=False, default_now=True)


class ProposalStatus:
    PENDING = "pending"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    EXPIRED = "expired"  # the tender's deadline passed
    CANCELLED = "cancelled"  # the tender was cancelled, or the requester withdrew

    OPEN = (PENDING,)
    ALL = (PENDING, ACCEPTED, REFUSED, EXPIRED, CANCELLED)


class Proposal(SQLModel, table=True):
    """A requester proposes a candidate (a member of a suggested structure) to work together."""

    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("search_id", "to_member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    search_id: int = _fk("partner_searches", "CASCADE", nullable=False)
    tender_id: int = _fk("tenders", "CASCADE", nullable=False)
    from_member_id: int = _fk("members", "CASCADE", nullable=False)
    to_member_id: int = _fk("members", "CASCADE", nullable=False)
    to_structure_id: int | None = _fk("structures", "CASCADE")
    role: str = Field(max_length=20)  # PartnerRole proposed to the candidate
    lots: list[str] = _json()
    status: str = Field(default=ProposalStatus.PENDING, max_length=10, index=True)
    reason: str | None = Field(default=None, max_length=30)  # a refusal's reason code, if given
    reason_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expires_at: datetime | None = _utc(index=True)  # the tender's deadline
    groupement_id: int | None = _fk("groupements", "SET NULL")
    created_at: datetime = _utc(nullable=False, default_now=True)
    answered_at: datetime | None = _utc()


class GroupementStatus:
    FORMING = "forming"  # a first partner accepted; others may still join
    FORMED = "formed"  # the lead says the team is complete
    SUBMITTED = "submitted"  # the bid was sent
    WON = "won"
    LOST = "lost"
    ABANDONED = "abandoned"  # given up, or the tender was cancelled

    ACTIVE = (FORMING, FORMED, SUBMITTED)
    FINAL = (WON, LOST, ABANDONED)
    ALL = (FORMING, FORMED, SUBMITTED, WON, LOST, ABANDONED)


class Groupement(SQLModel, table=True):
    __tablename__ = "groupements"

    id: int | None = Field(default=None, primary_key=True)
    tender_id: int = _fk("tenders", "CASCADE", nullable=False)
    status: str = Field(default=GroupementStatus.FORMING, max_length=10, index=True)
    closed_reason: str | None = Field(default=None, max_length=30)  # e.g. tender_cancelled
    created_at: datetime = _utc(nullable=False, default_now=True)
    formed_at: datetime | None = _utc()
    submitted_at: datetime | None = _utc()
    closed_at: datetime | None = _utc()  # won, lost or abandoned


class GroupementMember(SQLModel, table=True):
    """A structure's member in a groupement (or an advisor who joined its thread)."""

    __tablename__ = "groupement_members"
    __table_args__ = (UniqueConstraint("groupement_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    groupement_id: int = _fk("groupements", "CASCADE", nullable=False)
    member_id: int | None = _fk("members", "SET NULL")  # NULL: a former member
    structure_id: int | None = _fk("structures", "SET NULL")
    role: str = Field(max_length=20)  # PartnerRole, or "advisor"
    lots: list[str] = _json()
    # The contact fields shown to the other members, field by field: {"email": "…", …}.
    shared: dict = _json(dict)
    joined_at: datetime = _utc(nullable=False, default_now=True)
    left_at: datetime | None = _utc()


class ThreadKind:
    GROUPEMENT = "groupement"
    SUPPORT = "support"


class ThreadPost(SQLModel, table=True):
    """A message written in a groupement's or a support request's thread; relayed through the
    outbox to the thread's other members on their channels."""

    __tablename__ = "thread_posts"

    id: int | None = Field(default=None, primary_key=True)
    thread_kind: str = Field(max_length=12)  # ThreadKind
    thread_id: int = Field(index=True)  # the groupement's or the support request's id
    author_id: int | None = _fk("members", "SET NULL")  # NULL: a former member
    text: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(default="telegram", max_length=10)  # where it was written
    created_at: datetime = _utc(nullable=False, default_now=True)


class SupportStatus:
    OPEN = "open"  # waiting for an advisor
    ASSIGNED = "assigned"  # an advisor took it
    CLOSED = "closed"

    ALL = (OPEN, ASSIGNED, CLOSED)


class SupportRequest(SQLModel, table=True):
    __tablename__ = "support_requests"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int | None = _fk("members", "SET NULL")  # NULL: a former member
    tender_id: int | None = _fk("tenders", "SET NULL")
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default=SupportStatus.OPEN, max_length=10, index=True)
    advisor_id: int | None = _fk("members", "SET NULL")
    created_at: datetime = _utc(nullable=False, default_now=True)
    assigned_at: datetime | None = _utc()
    first_answer_at: datetime | None = _utc()  # an advisor's first message in the thread
    closed_at: datetime | None = _utc()
    closed_by: int | None = _fk("members", "SET NULL")


class FollowUp(SQLModel, table=True):
    """Seven days after a tender's deadline: did the member answer it, did it win? Stored for
    the advisors' statistics."""

    __tablename__ = "follow_ups"
    __table_args__ = (UniqueConstraint("member_id", "tender_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = _fk("members", "CASCADE", nullable=False)
    tender_id: int = _fk("tenders", "CASCADE", nullable=False)
    groupement_id: int | None = _fk("groupements", "SET NULL")
    asked_at: datetime = _utc(nullable=False, default_now=True)
    answered: bool | None = None  # submitted a bid
    result: str | None = Field(default=None, max_length=10)  # won | lost | pending
    answered_at: datetime | None = _utc()
