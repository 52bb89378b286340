"""Writing deliveries (the outbox), always inside the transaction of what causes them.

- `enqueue_for_match`: a new match → one delivery per member of the structure and per channel:
  kind `alert` (instant rhythm) or `digest_item` (daily/weekly), due when alerts.policy says.
  Called from alerts.match_job.on_match, in the matching transaction.
- `enqueue_updates`: tenders matched again after a rectificatif → an `update` to every member
  who was *sent* an alert, digest or update about it, when a field they were shown changed
  (title, buyer, deadline, value, lots, place, reserved, social clause, link). One update per
  version of those fields: the idempotency key carries the hash of the new snapshot.
- `enqueue_cancellations`: cancelled tenders → a `cancellation` to members who marked interest
  (signal `interested` or `partners`).
- `enqueue_fallback`: the same content on the member's other channel when one is closed (a 403
  on Telegram, later a hard bounce on email).
- `reschedule_member`: recompute the due time of a member's waiting deliveries after they change
  their preferences (/alertes, /pause, /reprendre): without it a resumed member would wait for
  the end of the old pause.

Idempotency keys are "<kind>:<member id>:<tender id>[:<version>]:<channel>" and unique: inserting
an existing one does nothing (ON CONFLICT DO NOTHING), so the same tender is never queued twice
to a member for the same kind and channel, whatever runs again.

Channels: a member's preference (`telegram`, `email`, `both`) keeps the channels that can be used
(Telegram needs a chat id and an active chat; email an address still active); when none of the
chosen ones can, the other one is used. Email deliveries stay pending until the email sender
exists (a later issue): the Telegram worker only claims its own channel, so they block nothing.

Snapshots (`tender_snapshot`) are what an update compares; `diff_snapshots` gives the changes
passed to alerts.render.render_update:
    [{"field": "deadline", "old": datetime | None, "new": datetime | None},
     {"field": "estimated_value", "old": float | None, "new": float | None},
     {"field": "title" | "buyer" | "url" | "reserved", "old": str, "new": str},
     {"field": "departements", "old": [str], "new": [str]},
     {"field": "social_clause", "old": bool, "new": bool},
     {"field": "lots", "old": [{"number", "title", "estimated_value"}], "new": [...]}]
in that order (deadline first: it is what matters most).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, select, update
from sqlmodel import Session

from alerts.policy import Schedule, delivery_time, due_time
from store.alert_models import Delivery, DeliveryKind, DeliveryStatus, Interest
from store.db import insert_for
from store.models import AlertPreference, Member
from store.tender_models import LotRow, MatchRow, TenderRow, TenderStatus

D = Delivery.__table__
K = DeliveryKind
TELEGRAM, EMAIL = "telegram", "email"
CHANNELS = (TELEGRAM, EMAIL)
INTEREST_SIGNALS = ("interested", "partners")
# Kinds that told the member about a tender: a later rectificatif is worth an update.
SHOWN_KINDS = (K.ALERT, K.DIGEST_ITEM, K.UPDATE)
CHANGE_FIELDS = ("deadline", "estimated_value", "title", "lots", "departements", "reserved",
                 "social_clause", "buyer", "url")


# --- channels ------------------------------------------------------------------------------------


def usable(member: Member, channel: str) -> bool:
    if channel == TELEGRAM:
        return member.telegram_chat_id is not None and bool(member.telegram_active)
    return bool(member.email) and bool(member.email_active)


def member_channels(member: Member, preference: AlertPreference | None) -> list[str]:
    """The channels to deliver on (see the module docstring); empty when none can be used."""
    chosen = preference.channel if preference is not None else TELEGRAM
    wanted = list(CHANNELS) if chosen == "both" else [chosen if chosen in CHANNELS else TELEGRAM]
    channels = [channel for channel in wanted if usable(member, channel)]
    if not channels:
        channels = [channel for channel in CHANNELS if channel not in wanted
                    and usable(member, channel)]
    return channels


# --- low level -----------------------------------------------------------------------------------


def delivery_key(kind: str, member_id: int, tender_id: int | None, channel: str,
                 version: str | None = None) -> str:
    parts = [kind, str(member_id), str(tender_id if tender_id is not None else "-")]
    if version:
        parts.append(version)
    parts.append(channel)
    return ":".join(parts)


def insert_deliveries(session: Session, rows: Sequence[dict]) -> int:
    """Insert delivery rows, skipping those whose idempotency key exists. Returns how many
    were inserted. Each row needs member_id, channel, kind, tender_id, payload,
    idempotency_key, next_attempt_at and created_at."""
    if not rows:
        return 0
    insert = insert_for(session.get_bind().dialect.name)
    full = [{"status": DeliveryStatus.PENDING, "attempts": 0, "failures": 0, **row}
            for row in rows]
    statement = (insert(D).values(full)
                 .on_conflict_do_nothing(index_elements=["idempotency_key"])
                 .returning(D.c.id))
    return len(session.execute(statement).all())


def enqueue_to_members(session: Session, member_ids: Iterable[int], kind: str, payload: dict,
                       now: datetime, *, version: str, tender_id: int | None = None,
                       extra: dict | None = None) -> int:
    """One delivery of `kind` to each member on each of its channels (alerts.outbox.
    member_channels), in the caller's transaction. `version` names what is said (a proposal,
    a thread post…) so that running the same thing again queues nothing twice. Returns rows
    inserted."""
    rows = []
    for member_id, (member, preference) in sorted(_members(session, member_ids).items()):
        for channel in member_channels(member, preference):
            rows.append({"member_id": member_id, "channel": channel, "kind": kind,
                         "tender_id": tender_id, "payload": payload,
                         "idempotency_key": delivery_key(kind, member_id, tender_id, channel,
                                                         version=version),
                         "next_attempt_at": now, "created_at": now, **(extra or {})})
    return insert_deliveries(session, rows)


def _members_of_structure(session: Session, structure_id: int):
    return session.execute(
        select(Member, AlertPreference)
        .outerjoin(AlertPreference, AlertPreference.member_id == Member.id)
        .where(Member.structure_id == structure_id).order_by(Member.id)
    ).all()


def _members(session: Session, member_ids: Iterable[int]) -> dict[int, tuple]:
    ids = sorted(set(member_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Member, AlertPreference)
        .outerjoin(AlertPreference, AlertPreference.member_id == Member.id)
        .where(Member.id.in_(ids))
    ).all()
    return {member.id: (member, preference) for member, preference in rows}


def _open_tender(tender: TenderRow, now: datetime) -> bool:
    if tender.status in TenderStatus.FINAL:
        return False
    return tender.deadline is None or tender.deadline > now


# --- matches -------------------------------------------------------------------------------------


def enqueue_for_match(session: Session, match_row: MatchRow, tender_row: TenderRow,
                      now: datetime, tz: ZoneInfo) -> int:
    """Queue the deliveries of one new match for every member of its structure. Nothing for a
    tender already past its deadline or cancelled. Returns the number of rows inserted."""
    if not _open_tender(tender_row, now):
        return 0
    rows = []
    for member, preference in _members_of_structure(session, match_row.structure_id):
        schedule = Schedule.of(preference)
        kind = K.DIGEST_ITEM if schedule.digest else K.ALERT
        due = delivery_time(schedule, now, tz, digest=kind == K.DIGEST_ITEM)
        for channel in member_channels(member, preference):
            rows.append({
                "member_id": member.id, "channel": channel, "kind": kind,
                "tender_id": tender_row.id,
                "payload": {"match_id": match_row.id, "score": match_row.score,
                            "reasons": list(match_row.reasons or [])},
                "idempotency_key": delivery_key(kind, member.id, tender_row.id, channel),
                "next_attempt_at": due, "created_at": now,
            })
    return insert_deliveries(session, rows)


# --- snapshots and updates -----------------------------------------------------------------------


def tender_snapshot(tender: TenderRow, lots: Sequence[LotRow]) -> dict:
    """The fields of a tender a member is shown, JSON-ready."""
    return {
        "title": tender.title,
        "buyer": tender.buyer,
        "deadline": tender.deadline.isoformat() if tender.deadline else None,
        "estimated_value": tender.estimated_value,
        "departements": list(tender.departements or []),
        "lots": [{"number": lot.number, "title": lot.title,
                  "estimated_value": lot.estimated_value} for lot in lots],
        "reserved": tender.reserved,
        "social_clause": bool(tender.social_clause),
        "url": tender.url,
    }


def snapshot_hash(snapshot: dict) -> str:
    blob = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _value(field: str, value: Any) -> Any:
    if field == "deadline" and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


def diff_snapshots(before: dict | None, after: dict) -> list[dict]:
    """The fields that differ, in CHANGE_FIELDS order (see the module docstring)."""
    before = before or {}
    changes = []
    for field in CHANGE_FIELDS:
        old, new = before.get(field), after.get(field)
        if field == "departements":
            if sorted(old or []) == sorted(new or []):
                continue
        elif old == new:
            continue
        changes.append({"field": field, "old": _value(field, old), "new": _value(field, new)})
    return changes


def last_shown(session: Session, tender_ids: Iterable[int],
               member_id: int | None = None) -> dict[tuple[int, int, str], Delivery]:
    """For each (member, tender, channel): the latest delivery that showed the tender and was
    sent (with its snapshot)."""
    ids = list(tender_ids)
    if not ids:
        return {}
    query = (select(Delivery).where(
        Delivery.tender_id.in_(ids), Delivery.kind.in_(SHOWN_KINDS),
        Delivery.status == DeliveryStatus.SENT, Delivery.snapshot_hash.is_not(None))
        .order_by(Delivery.sent_at, Delivery.id))
    if member_id is not None:
        query = query.where(Delivery.member_id == member_id)
    latest: dict[tuple[int, int, str], Delivery] = {}
    for delivery in session.execute(query).scalars():
        latest[(delivery.member_id, delivery.tender_id, delivery.channel)] = delivery
    return latest


def enqueue_updates(session: Session, tenders: Sequence[TenderRow], now: datetime,
                    tz: ZoneInfo) -> int:
    """Updates for tenders that changed (see the module docstring). Returns rows inserted."""
    from tenders.store import lots_by_tender

    live = [tender for tender in tenders if _open_tender(tender, now)]
    if not live:
        return 0
    lots = lots_by_tender(session, [tender.id for tender in live])
    by_id = {tender.id: tender for tender in live}
    shown = last_shown(session, by_id)
    members = _members(session, {member_id for member_id, _, _ in shown})
    rows = []
    for (member_id, tender_id, channel), delivery in shown.items():
        current = tender_snapshot(by_id[tender_id], lots[tender_id])
        digest = snapshot_hash(current)
        if digest == delivery.snapshot_hash or member_id not in members:
            continue
        changes = diff_snapshots((delivery.payload or {}).get("snapshot"), current)
        if not changes:
            continue
        schedule = Schedule.of(members[member_id][1])
        rows.append({
            "member_id": member_id, "channel": channel, "kind": K.UPDATE,
            "tender_id": tender_id,
            "payload": {"fields": [change["field"] for change in changes],
                        "snapshot_hash_queued": digest},
            "idempotency_key": delivery_key(K.UPDATE, member_id, tender_id, channel,
                                            digest[:16]),
            "next_attempt_at": delivery_time(schedule, now, tz, digest=False),
            "created_at": now,
        })
    return insert_deliveries(session, rows)


# Later flows end what they hold on a cancelled or expired tender (consortia: groupements,
# proposals) each time cancellations are looked for: (session, now, tender_ids or None).
CancelHook = Callable[[Session, datetime, list[int] | None], None]
_ON_CANCELLED: list[CancelHook] = []


def register_on_cancelled(hook: CancelHook) -> None:
    _ON_CANCELLED.append(hook)


def enqueue_cancellations(session: Session, now: datetime, tz: ZoneInfo,
                          tender_ids: Iterable[int] | None = None) -> int:
    """A cancellation to each member who marked interest in a cancelled tender and was not
    told yet. Cheap: it starts from the (few) interests. Returns rows inserted."""
    tender_ids = list(tender_ids) if tender_ids is not None else None
    for hook in _ON_CANCELLED:
        hook(session, now, tender_ids)
    told = exists().where(and_(D.c.member_id == Interest.member_id,
                               D.c.tender_id == Interest.tender_id,
                               D.c.kind == K.CANCELLATION))
    query = (select(Interest.member_id, Interest.tender_id)
             .join(TenderRow, TenderRow.id == Interest.tender_id)
             .where(TenderRow.status == TenderStatus.CANCELLED,
                    Interest.signal.in_(INTEREST_SIGNALS), ~told)
             .distinct())
    if tender_ids is not None:
        query = query.where(Interest.tender_id.in_(list(tender_ids)))
    pairs = session.execute(query).all()
    members = _members(session, (member_id for member_id, _ in pairs))
    rows = []
    for member_id, tender_id in pairs:
        member, preference = members[member_id]
        due = delivery_time(Schedule.of(preference), now, tz, digest=False)
        for channel in member_channels(member, preference):
            rows.append({
                "member_id": member_id, "channel": channel, "kind": K.CANCELLATION,
                "tender_id": tender_id, "payload": {},
                "idempotency_key": delivery_key(K.CANCELLATION, member_id, tender_id, channel),
                "next_attempt_at": due, "created_at": now,
            })
    return insert_deliveries(session, rows)


# --- channel fallback and preference changes -----------------------------------------------------


def enqueue_fallback(session: Session, deliveries: Sequence[Delivery], member: Member,
                     now: datetime, closed: str) -> int:
    """The same deliveries on the member's other usable channel, `closed` having refused them
    for good (the member blocked the bot, the address bounces). Nothing when there is none.
    Returns rows inserted."""
    others = [channel for channel in CHANNELS if channel != closed and usable(member, channel)]
    if not others:
        return 0
    channel = others[0]
    rows = []
    for delivery in deliveries:
        key = delivery.idempotency_key.removesuffix(f":{delivery.channel}") + f":{channel}"
        payload = {k: v for k, v in (delivery.payload or {}).items() if k != "snapshot"}
        rows.append({
            "member_id": delivery.member_id, "channel": channel, "kind": delivery.kind,
            "tender_id": delivery.tender_id, "payload": payload, "idempotency_key": key,
            "next_attempt_at": now, "created_at": delivery.created_at or now,
        })
    return insert_deliveries(session, rows)


def reschedule_member(session: Session, member_id: int, now: datetime,
                      tz: ZoneInfo) -> int:
    """Recompute when each waiting delivery of a member is due, after a change of rhythm, quiet
    hours, pause or resume. Returns the number of rows whose due time changed."""
    preference = session.execute(
        select(AlertPreference).where(AlertPreference.member_id == member_id)).scalar()
    schedule = Schedule.of(preference)
    changed = 0
    rows = session.execute(select(D.c.id, D.c.kind, D.c.status, D.c.created_at,
                                  D.c.next_attempt_at)
                           .where(D.c.member_id == member_id,
                                  D.c.status.in_(DeliveryStatus.OPEN))).all()
    for row_id, kind, status, created_at, next_at in rows:
        due = max(due_time(schedule, digest=kind == K.DIGEST_ITEM, queued_at=created_at,
                           now=now, tz=tz), now)
        if status == DeliveryStatus.FAILED:
            due = max(due, next_at)  # keep a retry's back-off
        if due != next_at:
            session.execute(update(D).where(D.c.id == row_id).values(next_attempt_at=due))
            changed += 1
    return changed
