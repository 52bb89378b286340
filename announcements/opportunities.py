"""Opportunities no bulletin carries, posted by advisors: each becomes a tender of source
`advisor` through the tender store's upsert (tenders.store.upsert_tenders), so that it is matched,
alerted, followed, grouped and reminded exactly like BOAMP and TED ones:

- `post`: a new tender (source id `adv-<random>`), its `opportunities` row (buyer kind, the
  contact), then matching at once (alerts.match_job.run_matching, which queues the alerts in
  the same transaction);
- `edit`: the same source id with new content — the store marks the tender changed, matching
  runs again, and those alerted get an update (alerts.outbox.enqueue_updates, as a rectificatif);
- `cancel`: a cancellation notice referring to it — the tender is cancelled and those who marked
  interest are told (alerts.outbox.enqueue_cancellations);
- `import_rows`: many at once from a CSV (`centrale opportunities import FILE.csv`).

The contact is never in the alert: alerts.advisors.opportunity_contact gives it to a member who
marks interest.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts.actions import Reply
from alerts.message import Request
from alerts.outbox import enqueue_cancellations
from alerts.render import safe_url
from locales import N_, gettext_for
from reference import cpv as cpv_ref
from reference import cpv_search, geography
from store.announcement_models import Opportunity
from store.announcements import opportunity_of
from store.models import Member
from store.tender_models import TenderRow, TenderStatus
from tenders.model import NoticeKind, Tender
from tenders.store import upsert_tenders

SOURCE = "advisor"
BUYER_KINDS = ("public", "private")


@dataclass(frozen=True)
class Posting:
    buyer_kind: str
    buyer: str
    title: str
    departements: tuple[str, ...]
    deadline: datetime
    contact: str
    cpv_codes: tuple[str, ...] = ()
    description: str = ""
    estimated_value: float | None = None
    documents_url: str | None = None


def _tender(posting: Posting, source_id: str, published: date) -> Tender:
    return Tender(source=SOURCE, source_id=source_id, title=posting.title, buyer=posting.buyer,
                  description=posting.description, kind=NoticeKind.CALL,
                  cpv_codes=list(posting.cpv_codes), departements=list(posting.departements),
                  published=published, deadline=posting.deadline,
                  estimated_value=posting.estimated_value,
                  procedure="private" if posting.buyer_kind == "private" else "",
                  url=safe_url(posting.documents_url) or "")


def _match(session: Session, now: datetime, tz: ZoneInfo) -> None:
    from alerts.match_job import run_matching

    run_matching(session, tz=tz, now=now)


def post(session: Session, author_id: int | None, posting: Posting, now: datetime,
         tz: ZoneInfo, *, match: bool = True) -> TenderRow:
    source_id = f"adv-{uuid.uuid4().hex[:12]}"
    upsert_tenders(session, [_tender(posting, source_id, now.astimezone(tz).date())], now=now)
    tender = session.execute(select(TenderRow).where(
        TenderRow.source == SOURCE, TenderRow.source_id == source_id)).scalar_one()
    session.add(Opportunity(tender_id=tender.id, author_id=author_id,
                            buyer_kind=posting.buyer_kind, contact=posting.contact,
                            created_at=now, updated_at=now))
    session.flush()
    if match:
        _match(session, now, tz)
    return tender


def editable(session: Session, tender_id: int | None) -> TenderRow | None:
    """An advisor's opportunity that can still change (not cancelled, not closed)."""
    tender = session.get(TenderRow, tender_id) if tender_id else None
    if tender is None or tender.source != SOURCE or tender.status in TenderStatus.FINAL:
        return None
    return tender


def edit(session: Session, tender: TenderRow, posting: Posting, now: datetime,
         tz: ZoneInfo) -> TenderRow:
    upsert_tenders(session, [_tender(posting, tender.source_id, tender.published or
                                     now.astimezone(tz).date())], now=now)
    opportunity = opportunity_of(session, tender.id)
    if opportunity is not None:
        opportunity.buyer_kind, opportunity.contact = posting.buyer_kind, posting.contact
        opportunity.updated_at = now
        session.add(opportunity)
    session.flush()
    session.refresh(tender)
    # The store keeps a stored field that a republished notice leaves empty (bulletins omit what
    # did not change); an advisor's edit is the whole opportunity, so an emptied field is emptied.
    tender.estimated_value = posting.estimated_value
    tender.url = safe_url(posting.documents_url) or ""
    tender.cpv_codes = list(posting.cpv_codes)
    session.add(tender)
    session.flush()
    _match(session, now, tz)
    return tender


def cancel(session: Session, tender: TenderRow, now: datetime, tz: ZoneInfo) -> int:
    """Cancel it; returns how many cancellation deliveries were queued."""
    notice = Tender(source=SOURCE, source_id=f"{tender.source_id}-cancelled",
                    title=tender.title, buyer=tender.buyer, kind=NoticeKind.CANCELLATION,
                    refers_to=tender.source_id, published=now.astimezone(tz).date())
    upsert_tenders(session, [notice], now=now)
    session.flush()
    return enqueue_cancellations(session, now, tz, [tender.id])


def cancel_request(session: Session, member: Member, request: Request, now: datetime,
                   tz: ZoneInfo, lang: str) -> Reply:
    """The advisor's ❌ under an opportunity (the role is checked by the caller)."""
    _ = gettext_for(lang)
    tender = editable(session, request.target)
    if tender is None:
        return Reply(lang, note=_("This opportunity is already cancelled or closed."),
                     refused=True)
    told = cancel(session, tender, now, tz)
    return Reply(lang, note=_("Opportunity cancelled; {count} interested members are told.")
                 .format(count=told), changed=True)


def posting_of(session: Session, tender: TenderRow) -> dict:
    """A stored opportunity as the composer's answers (to edit it)."""
    opportunity = opportunity_of(session, tender.id)
    return {
        "buyer_kind": opportunity.buyer_kind if opportunity else "public",
        "buyer": tender.buyer, "title": tender.title, "cpv": list(tender.cpv_codes),
        "departements": {"all_france": False, "departements": list(tender.departements)},
        "deadline": tender.deadline.isoformat() if tender.deadline else None,
        "value": tender.estimated_value, "contact": opportunity.contact if opportunity else "",
        "documents": tender.url or None,
    }


def open_opportunities(session: Session, now: datetime) -> list[TenderRow]:
    return list(session.execute(select(TenderRow).where(
        TenderRow.source == SOURCE, TenderRow.status.not_in(tuple(TenderStatus.FINAL)),
        TenderRow.deadline > now).order_by(TenderRow.deadline)).scalars())


# --- CSV import ----------------------------------------------------------------------------------

CSV_COLUMNS = ("buyer_kind", "buyer", "title", "cpv_codes", "departements", "deadline",
               "estimated_value", "contact", "documents_url", "description")
REQUIRED = ("buyer", "title", "departements", "deadline", "contact")


@dataclass
class ImportReport:
    created: list[int] = field(default_factory=list)  # tender ids
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line, msgid)


def _row(cells: dict[str, str], now: datetime, tz: ZoneInfo) -> Posting:
    from conversations.dates import parse_moment

    for name in REQUIRED:
        if not (cells.get(name) or "").strip():
            raise ValueError(N_("a required column is empty (buyer, title, departements, "
                                "deadline, contact)"))
    kind = (cells.get("buyer_kind") or "public").strip().lower()
    if kind not in BUYER_KINDS:
        raise ValueError(N_("buyer_kind must be public or private"))
    area = geography.parse_area(cells["departements"])
    if area.unknown or not area.departements:
        raise ValueError(N_("unknown départements"))
    text = cells["deadline"].strip()
    deadline = parse_moment(text if " " in text else text + " 12h00", now, tz)
    if deadline is None or deadline <= now:
        raise ValueError(N_("the deadline is not a date to come (DD/MM/YYYY HH:MM)"))
    codes = []
    for code in filter(None, (c.strip() for c in (cells.get("cpv_codes") or "").replace(
            ",", ";").split(";"))):
        found = cpv_ref.cpv_get(code)
        if found is None:
            raise ValueError(N_("unknown CPV code"))
        codes.append(found.code)
    if not codes:
        codes = [c.code for c in cpv_search.cpv_search(cells["title"], limit=1)]
    value = (cells.get("estimated_value") or "").replace(" ", "").replace("€", "").replace(
        ",", ".")
    try:
        amount = float(value) if value else None
    except ValueError:
        raise ValueError(N_("estimated_value is not an amount in euros")) from None
    documents = (cells.get("documents_url") or "").strip() or None
    if documents and safe_url(documents) is None:
        raise ValueError(N_("documents_url is not an http(s) link"))
    return Posting(buyer_kind=kind, buyer=cells["buyer"].strip()[:200],
                   title=cells["title"].strip()[:400], departements=tuple(area.departements),
                   deadline=deadline, contact=cells["contact"].strip()[:500],
                   cpv_codes=tuple(codes), description=(cells.get("description") or "").strip(),
                   estimated_value=amount, documents_url=documents)


def import_rows(session: Session, text: str, author_id: int | None, now: datetime,
                tz: ZoneInfo) -> ImportReport:
    """Create an opportunity per valid row (UTF-8, a header row, commas or semicolons), then
    match them all at once. A bad row is reported with its line and changes nothing."""
    text = text.lstrip("\ufeff")
    dialect = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") \
        else ","
    report = ImportReport()
    for number, cells in enumerate(csv.DictReader(io.StringIO(text), delimiter=dialect),
                                   start=2):
        cells = {(k or "").strip().lower(): (v or "") for k, v in cells.items()}
        try:
            posting = _row(cells, now, tz)
        except ValueError as error:
            report.rejected.append((number, str(error)))
            continue
        report.created.append(post(session, author_id, posting, now, tz, match=False).id)
    if report.created:
        _match(session, now, tz)
    return report
