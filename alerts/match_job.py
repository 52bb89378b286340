"""The matching job: score new and changed tenders against every profile and store the matches.

One match row per (tender, structure): running the job again adds nothing. A tender matched again
after a rectificatif keeps its existing rows (their score and reasons are refreshed) and gains rows
for structures it now suits. Each *new* row is passed to `on_match` in the same transaction, so
that the alerts step can write its deliveries atomically with the match (an outbox).

On PostgreSQL several workers may run the job: tenders are claimed with FOR UPDATE SKIP LOCKED.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlmodel import Session

from alerts.outbox import enqueue_cancellations, enqueue_for_match, enqueue_updates
from alerts.profiles import load_profiles
from matching.index import ProfileIndex
from matching.profile import Profile
from matching.reasons import render_reasons
from store.tender_models import MatchRow, TenderRow, TenderStatus
from tenders.store import lots_by_tender, row_to_tender

CHUNK = 500


def on_match(session: Session, match_row: MatchRow, tz: ZoneInfo) -> None:
    """Called once for every new match row, after it is flushed (it has an id), inside the job's
    transaction: the alerts step writes the members' deliveries here (an outbox)."""
    enqueue_for_match(session, match_row, session.get(TenderRow, match_row.tender_id),
                      match_row.created_at, tz)


def on_scored(session: Session, rows: list[TenderRow], now: datetime, tz: ZoneInfo) -> None:
    """Called for every chunk of tenders scored, inside the job's transaction: those changed by
    a rectificatif send an update to the members already told about them."""
    enqueue_updates(session, [row for row in rows if row.status == TenderStatus.CHANGED], now,
                    tz)


def on_run_end(session: Session, now: datetime, tz: ZoneInfo) -> None:
    """Called at the end of every run, inside its transaction: tenders cancelled since (they are
    not matched again) tell the members who marked interest in them."""
    enqueue_cancellations(session, now, tz)


@dataclass(frozen=True, slots=True)
class StoredMatch:
    """A new match row with what a person needs to read it."""

    match_id: int
    tender_id: int
    tender_source: str
    tender_source_id: str
    tender_title: str
    structure_id: int
    structure_siret: str | None
    structure_name: str
    score: int
    reasons: tuple  # matching.reasons.Reason
    language: str = "fr"

    def to_dict(self, lang: str = "fr") -> dict:
        return {
            "tender": {"id": self.tender_id, "source": self.tender_source,
                       "source_id": self.tender_source_id, "title": self.tender_title},
            "structure": {"id": self.structure_id, "siret": self.structure_siret,
                          "name": self.structure_name},
            "score": self.score,
            "reasons": render_reasons(self.reasons, lang),
            "reasons_raw": [reason.to_dict() for reason in self.reasons],
        }


@dataclass
class MatchRun:
    tenders: int = 0  # tenders scored
    refreshed: int = 0  # existing pairs whose score or reasons changed
    stored: list[StoredMatch] = field(default_factory=list)  # new rows


def _claim(session: Session, after: int, *, everything: bool, now: datetime) -> list[TenderRow]:
    query = select(TenderRow).where(TenderRow.id > after).order_by(TenderRow.id).limit(CHUNK)
    if everything:
        query = query.where(
            TenderRow.status.in_((TenderStatus.OPEN, TenderStatus.CHANGED)),
            (TenderRow.deadline.is_(None)) | (TenderRow.deadline >= now),
        )
    else:
        query = query.where(TenderRow.needs_matching.is_(True))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def _chunks(session: Session, *, everything: bool, now: datetime) -> Iterator[list[TenderRow]]:
    after = 0
    while rows := _claim(session, after, everything=everything, now=now):
        yield rows
        after = rows[-1].id


def run_matching(
    session: Session,
    *,
    tz: ZoneInfo,
    now: datetime | None = None,
    everything: bool = False,
    profiles: list[Profile] | None = None,
) -> MatchRun:
    """Match the tenders flagged `needs_matching` (or, with `everything`, every open tender not
    past its deadline, e.g. after importing structures) and store new pairs; `tz` places the
    alerts' quiet hours and digest times. The caller commits."""
    now = now or datetime.now(UTC)
    profiles = load_profiles(session) if profiles is None else profiles
    by_id = {profile.structure_id: profile for profile in profiles}
    index = ProfileIndex(profiles)
    run = MatchRun()
    for rows in _chunks(session, everything=everything, now=now):
        lots = lots_by_tender(session, [row.id for row in rows])
        existing = {
            (m.tender_id, m.structure_id): m
            for m in session.execute(
                select(MatchRow).where(MatchRow.tender_id.in_([row.id for row in rows]))
            ).scalars()
        }
        new_rows: list[tuple[TenderRow, MatchRow, tuple]] = []
        for row in rows:
            run.tenders += 1
            for match in index.match(row_to_tender(row, lots[row.id]), now):
                reasons = match.reasons_json()
                known = existing.get((row.id, match.structure_id))
                if known is None:
                    match_row = MatchRow(tender_id=row.id, structure_id=match.structure_id,
                                         score=match.score, reasons=reasons, created_at=now,
                                         updated_at=now)
                    session.add(match_row)
                    new_rows.append((row, match_row, match.reasons))
                elif (known.score, known.reasons) != (match.score, reasons):
                    known.score, known.reasons, known.updated_at = match.score, reasons, now
                    run.refreshed += 1
        session.flush()
        on_scored(session, rows, now, tz)
        for row, match_row, reasons in new_rows:
            on_match(session, match_row, tz)
            profile = by_id[match_row.structure_id]
            run.stored.append(StoredMatch(
                match_id=match_row.id, tender_id=row.id, tender_source=row.source,
                tender_source_id=row.source_id, tender_title=row.title,
                structure_id=profile.structure_id, structure_siret=profile.siret,
                structure_name=profile.name, score=match_row.score, reasons=reasons,
                language=profile.language,
            ))
        session.execute(
            update(TenderRow).where(TenderRow.id.in_([row.id for row in rows]))
            .values(needs_matching=False)
        )
    on_run_end(session, now, tz)
    return run
