"""The end of what a tender holds: a cancelled tender closes its groupements (their members are
told) and cancels its proposals; a deadline passed expires the proposals still waiting and
closes the searches. Runs each time cancellations are looked for (every ingest, an advisor's
cancelled opportunity), in that transaction: cheap, it starts from the few open rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from alerts.outbox import register_on_cancelled
from consortia.groupements import close
from store.consortia_models import (
    Groupement,
    GroupementStatus,
    PartnerSearch,
    Proposal,
    SearchStatus,
)
from store.consortia_models import ProposalStatus as P
from store.tender_models import TenderRow, TenderStatus

CANCELLED = "tender_cancelled"


def end_tenders(session: Session, now: datetime, tender_ids: list[int] | None = None) -> int:
    """Returns how many groupements were closed."""
    cancelled = select(TenderRow.id).where(TenderRow.status == TenderStatus.CANCELLED)
    if tender_ids is not None:
        cancelled = cancelled.where(TenderRow.id.in_(tender_ids))
    groupements = session.execute(select(Groupement).where(
        Groupement.status.in_(GroupementStatus.ACTIVE),
        Groupement.tender_id.in_(cancelled))).scalars().all()
    for groupement in groupements:
        close(session, groupement, CANCELLED, now)
    session.execute(update(Proposal).where(
        Proposal.status == P.PENDING, Proposal.tender_id.in_(cancelled))
        .values(status=P.CANCELLED, answered_at=now))
    session.execute(update(Proposal).where(
        Proposal.status == P.PENDING, Proposal.expires_at.is_not(None),
        Proposal.expires_at <= now).values(status=P.EXPIRED, answered_at=now))
    over = select(TenderRow.id).where(
        (TenderRow.status.in_(list(TenderStatus.FINAL))) | (TenderRow.deadline <= now))
    session.execute(update(PartnerSearch).where(
        PartnerSearch.status != SearchStatus.CLOSED, PartnerSearch.tender_id.in_(over))
        .values(status=SearchStatus.CLOSED, updated_at=now))
    return len(groupements)


register_on_cancelled(end_tenders)
