"""Small factories for the alerts tests and the delivery benchmark: tenders, structures with
members, matches. Rows are written with plain INSERTs in bulk when many are needed."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select
from sqlmodel import Session

from store.alert_models import Delivery
from store.models import AlertPreference, Member, Structure
from store.tender_models import LotRow, MatchRow, TenderRow

REASONS = [{"kind": "keyword", "keyword": "nettoyage"},
           {"kind": "area", "scope": "departement", "departement": "69"}]

# Members that accept messages at any time: tests that do not test the policy use these.
ALWAYS = {"quiet_start": 0, "quiet_end": 0, "quiet_weekends": False}

_numbers = itertools.count(1000)


def make_tender(session: Session, *, now: datetime, number: int | None = None,
                deadline_days: float = 20,
                title: str | None = None, status: str = "open", value: float | None = 150_000,
                lots: int = 0, url: str = "https://www.boamp.fr/avis/detail/27-1") -> TenderRow:
    number = next(_numbers) if number is None else number
    tender = TenderRow(
        source="boamp", source_id=f"27-{number}", title=title or f"Nettoyage des écoles {number}",
        buyer="Ville de Lyon", description="Entretien des locaux scolaires.",
        cpv_codes=["90910000"], departements=["69"], deadline=now + timedelta(days=deadline_days),
        estimated_value=value, procedure="adapted", url=url, status=status,
        content_hash=f"h{number}", needs_matching=False, first_seen=now, updated_at=now)
    session.add(tender)
    session.flush()
    for index in range(lots):
        session.add(LotRow(tender_id=tender.id, number=str(index + 1),
                           title=f"Lot {index + 1} secteur", estimated_value=50_000))
    session.flush()
    return tender


def make_member(session: Session, *, chat_id: int | None, email: str | None = None,
                language: str = "fr", name: str = "Régie de quartier",
                **preferences) -> tuple[Structure, Member]:
    structure = Structure(name=name, departements=["69"], cpv_codes=["90910000"])
    session.add(structure)
    session.flush()
    member = Member(structure_id=structure.id, telegram_user_id=chat_id,
                    telegram_chat_id=chat_id, email=email, language=language)
    session.add(member)
    session.flush()
    session.add(AlertPreference(member_id=member.id, **preferences))
    session.flush()
    return structure, member


def make_match(session: Session, tender: TenderRow, structure: Structure, *, now: datetime,
               score: int = 80, reasons: list | None = None) -> MatchRow:
    match = MatchRow(tender_id=tender.id, structure_id=structure.id, score=score,
                     reasons=REASONS if reasons is None else reasons, created_at=now,
                     updated_at=now)
    session.add(match)
    session.flush()
    return match


def fan_out(session: Session, tender: TenderRow, *, count: int, first_chat_id: int,
            now: datetime, preferences: dict | None = None,
            tz: ZoneInfo = ZoneInfo("Europe/Paris")) -> list[int]:
    """`count` structures with one member each (chat ids from first_chat_id) all matching
    `tender`, through the real outbox path (alerts.outbox.enqueue_for_match). Returns the
    member ids."""
    from alerts.outbox import enqueue_for_match

    prefs = dict(ALWAYS if preferences is None else preferences)
    structures = [{"name": f"Structure {i}", "departements": ["69"], "cpv_codes": ["90910000"],
                   "keywords": [], "excluded_keywords": [], "readiness": [],
                   "consortium_roles": [], "all_france": False, "is_ess": True,
                   "is_siae": False, "created_at": now, "updated_at": now}
                  for i in range(count)]
    session.execute(insert(Structure), structures)
    structure_ids = list(session.execute(select(Structure.id).order_by(Structure.id.desc())
                                         .limit(count)).scalars())[::-1]
    members = [{"structure_id": sid, "telegram_user_id": first_chat_id + i,
                "telegram_chat_id": first_chat_id + i, "telegram_active": True,
                "email_active": True, "role": "member", "language": "fr", "created_at": now}
               for i, sid in enumerate(structure_ids)]
    session.execute(insert(Member), members)
    member_ids = list(session.execute(select(Member.id).where(
        Member.structure_id.in_(structure_ids)).order_by(Member.id)).scalars())
    session.execute(insert(AlertPreference), [{"member_id": mid, "rhythm": "instant",
                                               "channel": "telegram", "digest_hour": 8,
                                               "weekly_day": 0, **prefs}
                                              for mid in member_ids])
    matches = [MatchRow(tender_id=tender.id, structure_id=sid, score=70, reasons=REASONS,
                        created_at=now, updated_at=now) for sid in structure_ids]
    session.add_all(matches)
    session.flush()
    for match in matches:
        enqueue_for_match(session, match, tender, now, tz)
    return member_ids


def deliveries(session: Session, **where) -> list[Delivery]:
    query = select(Delivery).order_by(Delivery.id)
    for name, value in where.items():
        query = query.where(getattr(Delivery, name) == value)
    return list(session.execute(query).scalars())
