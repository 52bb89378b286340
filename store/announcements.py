"""Queries of the advisors' tables (store/announcement_models.py): computes nothing."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlmodel import Session

from store.announcement_models import EventRegistration, Opportunity, RegistrationStatus

R = RegistrationStatus


def registration(session: Session, announcement_id: int,
                 member_id: int) -> EventRegistration | None:
    return session.execute(select(EventRegistration).where(
        EventRegistration.announcement_id == announcement_id,
        EventRegistration.member_id == member_id)).scalars().first()


def registered_count(session: Session, announcement_id: int) -> int:
    return session.execute(select(func.count()).where(
        EventRegistration.announcement_id == announcement_id,
        EventRegistration.status == R.REGISTERED)).scalar_one()


def registered_counts(session: Session, ids: Iterable[int]) -> dict[int, int]:
    ids = list(ids)
    if not ids:
        return {}
    rows = session.execute(select(EventRegistration.announcement_id, func.count())
                           .where(EventRegistration.announcement_id.in_(ids),
                                  EventRegistration.status == R.REGISTERED)
                           .group_by(EventRegistration.announcement_id)).all()
    return {announcement_id: count for announcement_id, count in rows}


def waiting_line(session: Session, announcement_id: int) -> list[EventRegistration]:
    """Those waiting for a seat, first come first."""
    return list(session.execute(select(EventRegistration).where(
        EventRegistration.announcement_id == announcement_id,
        EventRegistration.status == R.WAITING)
        .order_by(EventRegistration.created_at, EventRegistration.id)).scalars())


def registrations(session: Session, announcement_id: int) -> list[EventRegistration]:
    return list(session.execute(select(EventRegistration).where(
        EventRegistration.announcement_id == announcement_id)
        .order_by(EventRegistration.created_at, EventRegistration.id)).scalars())


def opportunity_of(session: Session, tender_id: int) -> Opportunity | None:
    return session.execute(select(Opportunity).where(
        Opportunity.tender_id == tender_id)).scalars().first()
