"""The bilan's figures of groupements, support and bids, by month, from their tables
(store.consortia_models):

- `partners_proposed`: proposals sent to a candidate (a structure asked to bid together);
- `groupements_formed`: groupements created (both sides accepted), by creation month;
- `groupements_won`: groupements the lead marked won, by the month it did;
- `support_opened` / `support_closed`: support requests, by the month of each;
- `support_first_answer_h`: the mean hours from a request to an advisor's first message, for the
  requests opened that month that got one;
- `bids_submitted` / `contracts_won`: the follow-up answers ("did you answer?", "did you win?")
  by the month they were given.

A month with nothing counts 0; a mean over nothing is no number (an empty cell in the CSV).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from store.consortia_models import (
    FollowUp,
    Groupement,
    GroupementStatus,
    Proposal,
    SupportRequest,
)

MonthOf = Callable[[datetime], str]
MEANS = frozenset({"support_first_answer_h"})


def _count(session: Session, column, low: datetime, high: datetime, month_of: MonthOf,
           *where) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for moment, in session.execute(select(column).where(column >= low, column < high, *where)):
        counts[month_of(moment)] += 1
    return dict(counts)


def _hours(start: datetime, end: datetime) -> float:
    start, end = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)
                  for moment in (start, end))
    return (end - start).total_seconds() / 3600


def consortia_figures(session: Session, low: datetime, high: datetime,
                      month_of: MonthOf) -> dict[str, dict[str, float]]:
    """{figure name: {"YYYY-MM": value}} for moments in [low, high)."""
    figures = {
        "partners_proposed": _count(session, Proposal.created_at, low, high, month_of),
        "groupements_formed": _count(session, Groupement.created_at, low, high, month_of),
        "groupements_won": _count(session, Groupement.closed_at, low, high, month_of,
                                  Groupement.status == GroupementStatus.WON),
        "support_opened": _count(session, SupportRequest.created_at, low, high, month_of),
        "support_closed": _count(session, SupportRequest.closed_at, low, high, month_of),
        "bids_submitted": _count(session, FollowUp.answered_at, low, high, month_of,
                                 FollowUp.answered.is_(True)),
        "contracts_won": _count(session, FollowUp.answered_at, low, high, month_of,
                                FollowUp.result == "won"),
    }
    waits: dict[str, list[float]] = defaultdict(list)
    for created, answered in session.execute(
            select(SupportRequest.created_at, SupportRequest.first_answer_at).where(
                SupportRequest.created_at >= low, SupportRequest.created_at < high,
                SupportRequest.first_answer_at.is_not(None))):
        waits[month_of(created)].append(_hours(created, answered))
    figures["support_first_answer_h"] = {
        month: round(sum(hours) / len(hours), 1) for month, hours in waits.items()}
    return figures

