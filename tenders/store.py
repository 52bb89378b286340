"""Storing normalised tenders: upsert by notice, deduplication across sources, state changes.

Rules (issue 3, point 4):
- Every notice is recorded by (source, source id) with a hash of its content. A notice seen again
  with the same hash changes nothing, so ingesting the same data twice is a no-op.
- A notice seen again with another hash (republished), or a rectificatif (its `refers_to` names the
  notice it corrects), updates the tender: its non-empty fields replace the stored ones, the status
  becomes `changed` and the tender is matched again.
- A cancellation marks the tender `cancelled`; an award `closed`. These two states are final: a
  later rectificatif updates the text but does not reopen the tender.
- The same call published on BOAMP and on TED is stored once, with both references. It is found by
  the TED reference (carried by BOAMP data for JOUE notices, the publication number for TED
  notices), otherwise by buyer + normalised title + deadline date (only across sources for calls:
  two calls of one source with the same title are kept apart). The second publication only fills
  what the first lacked (and adds CPV codes and départements), it does not mark the tender changed.
- A rectificatif, cancellation or award whose tender is unknown creates it in the matching state;
  the notice it refers to is recorded as a placeholder so that the original, when it arrives
  later, joins that tender instead of creating another one.

Work is done in chunks with the existing keys pre-loaded (one query per kind of key per chunk, not
one per notice), and written with executemany statements.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from json.encoder import encode_basestring_ascii
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, DateTime, TypeDecorator, bindparam, delete, insert, select, update
from sqlalchemy.types import TypeEngine
from sqlmodel import Session

from reference.text import fold
from store.tender_models import IngestCursor, LotRow, TenderNotice, TenderRow, TenderStatus
from tenders.model import Lot, NoticeKind, Reserved, Tender
from tenders.ted_ref import canonical_ted_ref

PARIS = ZoneInfo("Europe/Paris")
CHUNK = 1000

TENDERS = TenderRow.__table__
NOTICES = TenderNotice.__table__
LOTS = LotRow.__table__

# Order inside a batch: the original before what corrects or ends it.
_KIND_RANK = {
    NoticeKind.CALL: 0,
    NoticeKind.OTHER: 0,
    NoticeKind.RECTIFICATION: 1,
    NoticeKind.AWARD: 2,
    NoticeKind.CANCELLATION: 2,
}
_ENDING = {NoticeKind.CANCELLATION: TenderStatus.CANCELLED, NoticeKind.AWARD: TenderStatus.CLOSED}

# The stored hash of a notice hashed under older parsing rules (a migration writes it, e.g. when
# `procedure` became a code): at its next sight the notice gets its new hash, and its tender
# changes only if the notice says something new.
REHASH = "rehash"


@dataclass
class Summary:
    """What an upsert did, notice by notice. `changes` is what a re-ingest must leave at 0."""

    new: int = 0  # tenders created
    updated: int = 0  # tenders changed by a rectificatif, republication, cancellation or award
    merged: int = 0  # new notices joined to an existing tender (other source, late original)
    unchanged: int = 0  # notices already stored with the same content
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source id, reason)

    @property
    def changes(self) -> int:
        return self.new + self.updated + self.merged

    def add(self, other: Summary) -> None:
        self.new += other.new
        self.updated += other.updated
        self.merged += other.merged
        self.unchanged += other.unchanged
        self.skipped.extend(other.skipped)

    def to_dict(self) -> dict:
        return {
            "new": self.new,
            "updated": self.updated,
            "merged": self.merged,
            "unchanged": self.unchanged,
            "skipped": [{"id": ident, "reason": reason} for ident, reason in self.skipped],
        }


# --- keys ----------------------------------------------------------------------------------------



def dedupe_key(tender: Tender) -> str | None:
    """buyer + normalised title + deadline date (in Paris); None when one of them is missing,
    since a buyer's recurring title alone would join different tenders."""
    buyer, title = fold(tender.buyer), fold(tender.title)
    if not (buyer and title and tender.deadline):
        return None
    day = _aware(tender.deadline).astimezone(PARIS).date().isoformat()
    return f"{buyer[:150]}|{title[:220]}|{day}"


def _refs_of(tender: Tender) -> tuple[str | None, str | None]:
    """(ted_ref, boamp_ref) that this notice brings."""
    ted = canonical_ted_ref(tender.source_id if tender.source == "ted" else tender.ted_ref)
    if tender.source == "ted" and ted is None:
        ted = canonical_ted_ref(tender.ted_ref)
    boamp = tender.source_id if tender.source == "boamp" else None
    return ted, boamp


# --- hashing -------------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    # The model promises aware deadlines; a naive one is read as Paris time, like BOAMP's.
    return value if value.tzinfo is not None else value.replace(tzinfo=PARIS)


_SEP = "\x1e"  # record separator: never in the text of a notice


def content_hash(tender: Tender) -> str:
    """Hash of a tender's content (lists as sets; the deadline as a UTC instant)."""
    deadline = _aware(tender.deadline).astimezone(UTC).isoformat() if tender.deadline else ""
    parts = [
        tender.title, tender.buyer, tender.description,
        ",".join(sorted(tender.cpv_codes)), ",".join(sorted(tender.departements)),
        tender.published.isoformat() if tender.published else "", deadline,
        repr(tender.estimated_value), tender.procedure, str(tender.reserved),
        "1" if tender.social_clause else "0", tender.url, str(len(tender.lots)),
    ]
    for lot in tender.lots:
        parts += [lot.number, lot.title, ",".join(sorted(lot.cpv_codes)),
                  repr(lot.estimated_value), lot.description]
    return hashlib.sha256(_SEP.join(parts).encode()).hexdigest()


def notice_hash(tender: Tender, content_digest: str | None = None) -> str:
    """Hash of everything a notice says (its content, kind and references)."""
    content_digest = content_digest or content_hash(tender)
    extra = f"{content_digest}|{tender.kind}|{tender.ted_ref or ''}|{tender.refers_to or ''}"
    return hashlib.sha256(extra.encode()).hexdigest()


# --- row <-> domain ------------------------------------------------------------------------------


def row_to_tender(row, lots: Sequence = ()) -> Tender:
    """A stored tender (TenderRow or a mapping of its columns) back to the domain type."""
    get = _getter(row)
    lot_get = [_getter(lot) for lot in lots]
    status = get("status")
    kind = NoticeKind(get("kind"))
    # Matching reads the kind to skip cancelled tenders: the status is the truth for that.
    if status == TenderStatus.CANCELLED:
        kind = NoticeKind.CANCELLATION
    elif status == TenderStatus.CLOSED:
        kind = NoticeKind.AWARD
    return Tender(
        source=get("source"),
        source_id=get("source_id"),
        title=get("title"),
        buyer=get("buyer"),
        description=get("description"),
        kind=kind,
        cpv_codes=list(get("cpv_codes") or []),
        departements=list(get("departements") or []),
        published=get("published"),
        deadline=get("deadline"),
        estimated_value=get("estimated_value"),
        procedure=get("procedure"),
        lots=[
            Lot(number=g("number"), title=g("title"), cpv_codes=list(g("cpv_codes") or []),
                estimated_value=g("estimated_value"), description=g("description"))
            for g in lot_get
        ],
        reserved=Reserved(get("reserved")),
        social_clause=get("social_clause"),
        url=get("url"),
        ted_ref=get("ted_ref"),
    )


def _getter(obj):
    if isinstance(obj, dict):
        return obj.get
    return lambda name: getattr(obj, name)


def _lot_rows(tender_id: int, lots: Iterable[Lot]) -> list[tuple]:
    """Rows of the lots table, in the order of `_LOT_COLUMNS`."""
    return [
        (tender_id, lot.number[:40], lot.title, lot.description, lot.cpv_codes,
         _finite(lot.estimated_value))
        for lot in lots
    ]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


# --- in-memory state of one upsert ---------------------------------------------------------------


@dataclass(eq=False)
class _Work:
    """A tender being upserted: its column values and domain content."""

    id: int | None
    row: dict
    tender: Tender  # current merged content (kind is that of the last notice applied)
    new: bool = False
    dirty: bool = False
    lots_dirty: bool = False
    owned: bool = True  # False while `tender` is the caller's object


@dataclass(eq=False)
class _NoticeState:
    work: _Work | None  # None until its tender is loaded (known notice not yet needed)
    tender_id: int | None
    content_hash: str  # "" for a placeholder: a notice named by a rectificatif, not yet seen
    kind: str = "call"
    published: date | None = None
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class _Incoming:
    """A notice to store, with its keys computed once."""

    tender: Tender
    content: str
    digest: str
    dedupe: str | None
    ted_ref: str | None
    boamp_ref: str | None

    @classmethod
    def of(cls, tender: Tender, content: str | None = None,
           digest: str | None = None) -> _Incoming:
        content = content or content_hash(tender)
        ted_ref, boamp_ref = _refs_of(tender)
        return cls(tender, content, digest or notice_hash(tender, content), dedupe_key(tender),
                   ted_ref, boamp_ref)


_MISSING = object()


class _Upsert:
    def __init__(self, session: Session, now: datetime):
        self.session = session
        self.now = now
        self.summary = Summary()
        self.notices: dict[tuple[str, str], _NoticeState | object] = {}
        self.works: dict[int, _Work] = {}  # by tender id
        self.pending: list[_Work] = []  # created in this chunk, not inserted yet
        self.by_ted: dict[str, _Work | object] = {}
        self.by_dedupe: dict[str, list[_Work]] = {}
        self.dedupe_loaded: set[str] = set()
        self.touched: list[tuple[tuple[str, str], _NoticeState]] = []  # to write at the flush

    # -- loading --

    def _load_notices(self, keys: set[tuple[str, str]]) -> None:
        keys = {k for k in keys if k not in self.notices}
        for source, ids in _group(keys).items():
            rows = self.session.execute(
                select(NOTICES.c.source_id, NOTICES.c.tender_id, NOTICES.c.content_hash,
                       NOTICES.c.kind)
                .where(NOTICES.c.source == source, NOTICES.c.source_id.in_(ids))
            )
            for source_id, tender_id, digest, kind in rows:
                self.notices[(source, source_id)] = _NoticeState(
                    work=self.works.get(tender_id), tender_id=tender_id, content_hash=digest,
                    kind=kind,
                )
        for key in keys:
            self.notices.setdefault(key, _MISSING)

    def _load_tenders(self, *, ids=(), ted_refs=(), dedupe_keys=()) -> None:
        ids = {i for i in ids if i not in self.works}
        ted_refs = {r for r in ted_refs if r not in self.by_ted}
        dedupe_keys = {k for k in dedupe_keys if k not in self.dedupe_loaded}
        clauses = []
        if ids:
            clauses.append(TENDERS.c.id.in_(ids))
        if ted_refs:
            clauses.append(TENDERS.c.ted_ref.in_(ted_refs))
        if dedupe_keys:
            clauses.append(TENDERS.c.dedupe_key.in_(dedupe_keys))
        loaded: list[dict] = []
        for clause in clauses:
            for row in self.session.execute(select(TENDERS).where(clause)).mappings():
                if row["id"] not in self.works:
                    loaded.append(dict(row))
                    self.works[row["id"]] = None  # placeholder until lots are read
        lots: dict[int, list] = {row["id"]: [] for row in loaded}
        if loaded:
            for lot in self.session.execute(
                select(LOTS).where(LOTS.c.tender_id.in_(list(lots))).order_by(LOTS.c.id)
            ).mappings():
                lots[lot["tender_id"]].append(dict(lot))
        for row in loaded:
            work = _Work(id=row["id"], row=row, tender=row_to_tender(row, lots[row["id"]]))
            # The domain kind is that of the last notice, not derived from the status.
            work.tender.kind = NoticeKind(row["kind"])
            self._index(work)
        for ref in ted_refs:
            self.by_ted.setdefault(ref, _MISSING)
        self.dedupe_loaded |= dedupe_keys
        for state in self.notices.values():
            if isinstance(state, _NoticeState) and state.work is None:
                state.work = self.works.get(state.tender_id)

    def _index(self, work: _Work) -> None:
        if work.id is not None:
            self.works[work.id] = work
        if work.row["ted_ref"] and not isinstance(self.by_ted.get(work.row["ted_ref"]), _Work):
            self.by_ted[work.row["ted_ref"]] = work
        if key := work.row["dedupe_key"]:
            bucket = self.by_dedupe.setdefault(key, [])
            if work not in bucket:
                bucket.append(work)

    # -- one chunk --

    def chunk(self, tenders: list[Tender]) -> None:
        keys = {(t.source, t.source_id) for t in tenders}
        keys |= {(t.source, t.refers_to) for t in tenders if t.refers_to}
        keys |= {(t.source, alias) for t in tenders for alias in _aliases(t)}
        self._load_notices(keys)
        active: list[_Incoming] = []
        for tender in tenders:
            # Only the hash is needed to know a notice is already stored as it is (the whole
            # work of a re-ingest); its other keys are for the notices that change something.
            content = content_hash(tender)
            digest = notice_hash(tender, content)
            state = self.notices.get((tender.source, tender.source_id))
            if isinstance(state, _NoticeState) and state.content_hash == digest:
                self.summary.unchanged += 1
            else:
                active.append(_Incoming.of(tender, content, digest))
        if not active:
            return
        ids = set()
        for item in active:
            tender = item.tender
            for key in ((tender.source, tender.source_id), (tender.source, tender.refers_to)):
                state = self.notices.get(key)
                if isinstance(state, _NoticeState):
                    ids.add(state.tender_id)
        self._load_tenders(
            ids=ids,
            ted_refs={item.ted_ref for item in active if item.ted_ref},
            dedupe_keys={item.dedupe for item in active if item.dedupe},
        )
        for item in active:
            self._apply(item)
        self._flush()

    def _apply(self, item: _Incoming) -> None:
        tender, digest = item.tender, item.digest
        key = (tender.source, tender.source_id)
        state = self.notices.get(key)
        if isinstance(state, _NoticeState):
            if state.content_hash == digest:  # the same notice twice in one batch
                self.summary.unchanged += 1
                return
            placeholder = state.content_hash == ""
            rehash = state.content_hash == REHASH and state.kind == str(tender.kind)
            state.content_hash, state.dirty = digest, True
            state.kind, state.published = str(tender.kind), tender.published
            self.touched.append((key, state))
            if placeholder:  # the original of a rectificatif that arrived first
                self._fill(state.work, tender)
                self.summary.merged += 1
            elif rehash and not self._would_change(state.work, tender):
                # Hashed under older parsing rules: the new hash is stored, nothing else moves.
                self._sync_row(state.work)
                state.work.dirty = True
                self.summary.unchanged += 1
            else:  # republished with other content
                self._change(state.work, tender)
                self.summary.updated += 1
            return

        work = self._find(item)
        if work is None:
            work = self._create(item)
            self.summary.new += 1
        elif tender.kind in (NoticeKind.CALL, NoticeKind.OTHER):
            self._fill(work, tender)
            self.summary.merged += 1
        else:
            self._change(work, tender)
            self.summary.updated += 1
        self._register(key, _NoticeState(
            work=work, tender_id=work.id, content_hash=digest, kind=str(tender.kind),
            published=tender.published, new=True,
        ))
        # Ids under which later notices may name this tender: the original a rectificatif
        # corrects (not seen yet), and the notice's other ids (an eForms change notice names the
        # notice it changes by its UUID, not by its publication number).
        for other in (tender.refers_to, *_aliases(tender)):
            known = self.notices.get((tender.source, other))
            if other and other != tender.source_id and not isinstance(known, _NoticeState):
                self._register((tender.source, other), _NoticeState(
                    work=work, tender_id=work.id, content_hash="", new=True,
                    kind="alias" if other != tender.refers_to else "call"))

    def _register(self, key: tuple[str, str], state: _NoticeState) -> None:
        self.notices[key] = state
        self.touched.append((key, state))

    def _find(self, item: _Incoming) -> _Work | None:
        tender = item.tender
        if tender.refers_to and tender.kind not in (NoticeKind.CALL, NoticeKind.OTHER):
            state = self.notices.get((tender.source, tender.refers_to))
            if isinstance(state, _NoticeState) and state.work is not None:
                return state.work
        if item.ted_ref and isinstance(found := self.by_ted.get(item.ted_ref), _Work):
            return found
        if key := item.dedupe:
            for work in self.by_dedupe.get(key, ()):
                if tender.kind not in (NoticeKind.CALL, NoticeKind.OTHER):
                    return work
                # Calls join only a tender not yet seen on their source.
                if work.row["source"] != tender.source and not _has_ref(work, tender.source):
                    return work
        return None

    # -- state changes --

    def _create(self, item: _Incoming) -> _Work:
        tender = item.tender
        status = _ENDING.get(tender.kind, TenderStatus.OPEN)
        if tender.kind == NoticeKind.RECTIFICATION:
            status = TenderStatus.CHANGED
        row = {
            "id": None,
            "source": tender.source,
            "source_id": tender.source_id,
            "ted_ref": item.ted_ref,
            "boamp_ref": item.boamp_ref,
            "status": status,
            "needs_matching": status not in TenderStatus.FINAL,
            "first_seen": self.now,
        }
        # The caller's tender is shared until a later notice changes it (see `_own`).
        work = _Work(id=None, row=row, tender=tender, new=True, dirty=True, lots_dirty=True,
                     owned=False)
        self._sync_row(work, item.content, item.dedupe)
        self.pending.append(work)
        self._index(work)
        return work

    def _change(self, work: _Work, tender: Tender) -> None:
        """A rectificatif, republication, cancellation or award of a known tender."""
        if tender.kind in _ENDING:
            self._merge(work, tender, override=False)
            work.row["status"] = _ENDING[tender.kind]
            work.row["needs_matching"] = False
        else:
            self._merge(work, tender, override=True)
            if work.row["status"] not in TenderStatus.FINAL:
                work.row["status"] = TenderStatus.CHANGED
                work.row["needs_matching"] = True
        self._own(work).kind = tender.kind
        self._set_refs(work, tender)
        self._sync_row(work)
        work.dirty = True

    def _would_change(self, work: _Work, tender: Tender) -> bool:
        """Whether `_change` would change the content of the tender (tried on a copy)."""
        trial = _Work(id=work.id, row=work.row, tender=_shallow_copy(work.tender))
        before = content_hash(trial.tender)
        self._merge(trial, tender, override=tender.kind not in _ENDING)
        return content_hash(trial.tender) != before

    def _fill(self, work: _Work, tender: Tender) -> None:
        """The same tender from another publication: complete it, keep its state."""
        before = work.row["content_hash"]
        self._merge(work, tender, override=False)
        self._set_refs(work, tender)
        self._sync_row(work)
        if work.row["content_hash"] != before and work.row["status"] not in TenderStatus.FINAL:
            work.row["needs_matching"] = True
        work.dirty = True

    def _set_refs(self, work: _Work, tender: Tender) -> None:
        ted_ref, boamp_ref = _refs_of(tender)
        if ted_ref and not work.row["ted_ref"]:
            work.row["ted_ref"] = ted_ref
            self._index(work)
        if boamp_ref and not work.row["boamp_ref"]:
            work.row["boamp_ref"] = boamp_ref

    @staticmethod
    def _own(work: _Work) -> Tender:
        """The work's tender, copied first if it is still the caller's object. A shallow copy is
        enough: merges replace attributes and lists, they never mutate them in place."""
        if not work.owned:
            work.tender, work.owned = _shallow_copy(work.tender), True
        return work.tender

    def _merge(self, work: _Work, incoming: Tender, *, override: bool) -> None:
        current = self._own(work)
        for name in ("title", "buyer", "description", "published", "deadline",
                     "estimated_value", "procedure", "url"):
            new_value = getattr(incoming, name)
            if new_value in (None, "") or (not override and getattr(current, name) not in (None, "")):
                continue
            setattr(current, name, new_value)
        if override and incoming.cpv_codes:
            current.cpv_codes = list(incoming.cpv_codes)
        else:
            current.cpv_codes = _union(current.cpv_codes, incoming.cpv_codes)
        if override and incoming.departements:
            current.departements = list(incoming.departements)
        else:
            current.departements = _union(current.departements, incoming.departements)
        if incoming.reserved != Reserved.NONE and (override or current.reserved == Reserved.NONE):
            current.reserved = incoming.reserved
        current.social_clause = current.social_clause or incoming.social_clause
        if incoming.lots and (override or not current.lots):
            current.lots = list(incoming.lots)
            work.lots_dirty = True

    def _sync_row(self, work: _Work, digest: str | None = None, key: str | None = None) -> None:
        """Copy the merged content into the row; `digest` and `key` when already computed."""
        tender = work.tender
        work.row.update(
            title=tender.title,
            buyer=tender.buyer,
            description=tender.description,
            kind=str(tender.kind),
            cpv_codes=list(tender.cpv_codes),
            departements=list(tender.departements),
            published=tender.published,
            deadline=_aware(tender.deadline) if tender.deadline else None,
            estimated_value=_finite(tender.estimated_value),
            procedure=tender.procedure[:200],
            reserved=str(tender.reserved),
            social_clause=tender.social_clause,
            url=tender.url[:1000],
            content_hash=digest or content_hash(tender),
            dedupe_key=key if digest else dedupe_key(tender),
            updated_at=self.now,
        )
        self._index(work)

    # -- writing --

    def _flush(self) -> None:
        session = self.session
        inserted: set[int] = set()
        if self.pending:
            # Plain executemany, then one select for the ids: RETURNING with a guaranteed order
            # makes SQLite insert row by row.
            columns = [k for k in self.pending[0].row if k != "id"]
            _bulk_insert(session, TENDERS, [w.row for w in self.pending], columns)
            by_key = {(w.row["source"], w.row["source_id"]): w for w in self.pending}
            for source, ids in _group(by_key).items():
                query = select(TENDERS.c.id, TENDERS.c.source_id).where(
                    TENDERS.c.source == source, TENDERS.c.source_id.in_(ids))
                for tender_id, source_id in session.execute(query):
                    work = by_key[(source, source_id)]
                    work.id = work.row["id"] = tender_id
                    work.new = False
                    self.works[tender_id] = work
                    inserted.add(tender_id)
        self.pending = []

        dirty = [w for w in self.works.values() if w is not None and w.dirty]
        updates = [
            {**{k: v for k, v in w.row.items() if k not in ("id", "first_seen")}, "b_id": w.id}
            for w in dirty if w.id not in inserted
        ]
        if updates:
            columns = [k for k in updates[0] if k != "b_id"]
            session.execute(
                update(TENDERS).where(TENDERS.c.id == bindparam("b_id"))
                .values({c: bindparam(c) for c in columns}),
                updates,
            )
        relot = [w for w in dirty if w.lots_dirty]
        if replaced := [w.id for w in relot if w.id not in inserted]:
            session.execute(delete(LOTS).where(LOTS.c.tender_id.in_(replaced)))
        if lot_rows := [row for w in relot for row in _lot_rows(w.id, w.tender.lots)]:
            _bulk_insert(session, LOTS, lot_rows, _LOT_COLUMNS)
        for work in dirty:
            work.dirty = work.lots_dirty = False

        new_notices, changed_notices = [], []
        for (source, source_id), state in self.touched:
            state.tender_id = state.work.id if state.work is not None else state.tender_id
            if state.new:
                new_notices.append({
                    "tender_id": state.tender_id, "source": source, "source_id": source_id,
                    "kind": state.kind, "content_hash": state.content_hash,
                    "published": state.published, "seen_at": self.now,
                })
            elif state.dirty:
                changed_notices.append({
                    "b_source": source, "b_source_id": source_id,
                    "content_hash": state.content_hash, "kind": state.kind,
                    "published": state.published,
                })
            state.new = state.dirty = False
        self.touched = []
        if new_notices:
            _bulk_insert(session, NOTICES, new_notices)
        if changed_notices:
            session.execute(
                update(NOTICES)
                .where(NOTICES.c.source == bindparam("b_source"),
                       NOTICES.c.source_id == bindparam("b_source_id"))
                .values(content_hash=bindparam("content_hash"), kind=bindparam("kind"),
                        published=bindparam("published")),
                changed_notices,
            )


_LOT_COLUMNS = ("tender_id", "number", "title", "description", "cpv_codes", "estimated_value")


def _bulk_insert(session: Session, table, rows: list, columns: Sequence[str] | None = None) -> None:
    """executemany of `rows` (dicts, or tuples in the order of `columns`; of dicts only the
    `columns` are inserted when they are given).

    On SQLite the rows go straight to the driver, each value converted by its column type's own
    bind processor (JSON, UTC datetimes made naive UTC, booleans). The generic type's processor,
    not the SQLite dialect's (it formats in Python); dates are then written by the driver, and
    datetimes as the text SQLAlchemy stores, microseconds always included: SQLite compares them
    as text, and "12:00:00" would sort before "12:00:00.000000".
    SQLAlchemy's per-row parameter handling otherwise costs more than SQLite's insert itself, and
    an ingest inserts tens of thousands of rows (tenders, notices and their lots)."""
    if not rows:
        return
    connection = session.connection()
    columns = list(columns or rows[0])
    as_dicts = isinstance(rows[0], dict)
    if connection.dialect.name != "sqlite":
        if as_dicts:
            data = [{name: row[name] for name in columns} for row in rows]
        else:
            data = [dict(zip(columns, row, strict=True)) for row in rows]
        session.execute(insert(table), data)
        return
    processors = [_sqlite_processor(table.c[name].type, connection.dialect) for name in columns]
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    values = []
    for row in rows:
        value = [row[name] for name in columns] if as_dicts else list(row)
        for i, process in converting:
            value[i] = process(value[i])
        values.append(tuple(value))
    connection.exec_driver_sql(
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
        f"({', '.join('?' for _ in columns)})",
        values,
    )


def _sqlite_processor(column_type: TypeEngine, dialect) -> Callable | None:
    """What turns a value into what `_bulk_insert` hands to the SQLite driver."""
    if isinstance(column_type, JSON):
        return _json_list
    process = column_type.bind_processor(dialect)
    base = column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type
    if not isinstance(base, DateTime):
        return process

    def as_text(value):  # SQLAlchemy's SQLite text: "YYYY-MM-DD HH:MM:SS.ffffff"
        if process is not None:
            value = process(value)
        return None if value is None else value.isoformat(" ", "microseconds")

    return as_text


def _json_list(value) -> str:
    """json.dumps for the lists of codes of the JSON columns, without its per-call layers (the
    same text: `["77310000", "77311000"]`); anything else goes through json.dumps."""
    if type(value) is list:
        if not value:
            return "[]"
        try:
            joined = "".join(value)
        except TypeError:  # not only strings
            return json.dumps(value)
        if joined.isascii() and joined.isalnum():  # codes: nothing to escape
            return '["' + '", "'.join(value) + '"]'
        if all(type(item) is str for item in value):
            return "[" + ", ".join(map(encode_basestring_ascii, value)) + "]"
    return json.dumps(value)  # as SQLAlchemy's JSON type (None is the JSON null)


def _group(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for source, source_id in keys:
        grouped.setdefault(source, []).append(source_id)
    return grouped


def _aliases(tender: Tender) -> tuple[str, ...]:
    # `aliases` is not (yet) a field of Tender: read it when a source's type has it.
    if "aliases" not in getattr(type(tender), "__dataclass_fields__", ()):
        return ()
    return tuple(alias for alias in tender.aliases or () if alias)


def _shallow_copy(tender: Tender) -> Tender:
    names = type(tender).__dataclass_fields__
    return type(tender)(**{name: getattr(tender, name) for name in names})


def _has_ref(work: _Work, source: str) -> bool:
    column = {"boamp": "boamp_ref", "ted": "ted_ref"}.get(source)
    return bool(column and work.row[column])


def _union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _refusal(tender: Tender) -> str | None:
    if not tender.source or len(tender.source) > 20:
        return "no valid source"
    if not tender.source_id or len(tender.source_id) > 100:
        return "no valid source id"
    if not (tender.title or "").strip():
        return "no title"
    return None


def _order(tender: Tender) -> tuple:
    return (tender.published or date.min, _KIND_RANK.get(tender.kind, 0))


def upsert_tenders(
    session: Session, tenders: Iterable[Tender], *, now: datetime | None = None,
    chunk_size: int = CHUNK,
) -> Summary:
    """Store normalised tenders (see the module docstring for the rules) and say what changed.

    The caller owns the transaction (commit or roll back the session).
    """
    now = now or datetime.now(UTC)
    job = _Upsert(session, now)
    accepted: list[Tender] = []
    for tender in tenders:
        if reason := _refusal(tender):
            job.summary.skipped.append((tender.source_id or "?", reason))
        else:
            accepted.append(tender)
    accepted.sort(key=_order)  # stable: same-day notices keep their order
    for start in range(0, len(accepted), chunk_size):
        part = accepted[start:start + chunk_size]
        job.chunk(part)
    return job.summary


# --- queries used by the commands ----------------------------------------------------------------


def list_tenders(session: Session, *, status: str | None = None,
                 limit: int | None = None) -> list[TenderRow]:
    # NULLS LAST on both databases (PostgreSQL puts NULLs first in a descending order).
    query = select(TenderRow).order_by(TenderRow.published.desc().nulls_last(),
                                       TenderRow.id.desc())
    if status:
        query = query.where(TenderRow.status == status)
    if limit:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def lots_by_tender(session: Session, tender_ids: Iterable[int]) -> dict[int, list[LotRow]]:
    ids = list(tender_ids)
    result: dict[int, list[LotRow]] = {i: [] for i in ids}
    for start in range(0, len(ids), CHUNK):
        query = (select(LotRow).where(LotRow.tender_id.in_(ids[start:start + CHUNK]))
                 .order_by(LotRow.id))
        for lot in session.execute(query).scalars():
            result[lot.tender_id].append(lot)
    return result


def notices_of(session: Session, tender_id: int) -> list[TenderNotice]:
    query = select(TenderNotice).where(TenderNotice.tender_id == tender_id).order_by(
        TenderNotice.id)
    return list(session.execute(query).scalars())


def get_cursor(session: Session, source: str) -> date | None:
    cursor = session.get(IngestCursor, source)
    return cursor.last_published if cursor else None


def set_cursor(session: Session, source: str, last_published: date,
               now: datetime | None = None) -> None:
    """Move the cursor forward only: a partial or older fetch never makes the next one miss days."""
    cursor = session.get(IngestCursor, source)
    if cursor is None:
        session.add(IngestCursor(source=source, last_published=last_published,
                                 updated_at=now or datetime.now(UTC)))
    elif last_published > cursor.last_published:
        cursor.last_published = last_published
        cursor.updated_at = now or datetime.now(UTC)
