"""The outbox's state transitions, each one short committed transaction (see alerts.worker).

    pending/failed ──claim──► sending ──start_attempt──► (HTTP) ──► sent | failed | uncertain | dead
                                 │                                       ▲
                                 └── lease expired, never started ───────┘ back to pending

A claim gives the rows a *claim id* (`claimed_by`, "<worker id>/<n>"). Every later transition
checks that id, so a worker that lost its claim (its lease expired and another worker took the
rows) can neither send nor record anything for them.

Claims are per member: on PostgreSQL the members' rows are locked with
`FOR NO KEY UPDATE SKIP LOCKED` (no key share lock conflicts with the foreign keys of new
deliveries), then every due delivery of those members is taken in the same transaction. So one
worker holds all of a member's due deliveries — a digest is never split between two workers, and
the one-message-per-second-per-chat pace is kept by that worker. On SQLite one UPDATE … RETURNING
does the same atomically (SQLite runs one writer at a time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlmodel import Session

from store.alert_models import Delivery, DeliveryStatus
from store.models import Member

D = Delivery.__table__
S = DeliveryStatus


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _due(now: datetime, channel: str):
    return and_(D.c.status.in_(S.OPEN), D.c.next_attempt_at <= now, D.c.channel == channel)


def claim_due(session: Session, *, claim_id: str, now: datetime, max_members: int,
              channel: str = "telegram") -> list[int]:
    """Claim every due delivery of up to `max_members` members: first those with a retry due
    (a try failed or was rate-limited, and its back-off is over), then the earliest due. A retry
    is due later than the rows queued with it, so by due time alone it would wait behind the
    whole rest of a fan-out, and its own retries would all fall at the end of the run; first, it
    costs its back-off and not its place. Returns the claimed ids; the caller commits."""
    due = _due(now, channel)
    order = (func.min(case((D.c.status == S.FAILED, 0), else_=1)).label("retry_last"),
             func.min(D.c.next_attempt_at).label("first_due"))
    if _is_postgres(session):
        # The members' rows are locked in that order, skipping those other workers hold.
        candidates = (select(D.c.member_id, *order).where(due).group_by(D.c.member_id)
                      .subquery())
        locked = list(session.execute(
            select(Member.id).join(candidates, candidates.c.member_id == Member.id)
            .order_by(candidates.c.retry_last, candidates.c.first_due, Member.id)
            .limit(max_members)
            .with_for_update(skip_locked=True, key_share=True, of=Member)
        ).scalars())
        if not locked:
            return []
        members = D.c.member_id.in_(locked)
    else:
        first = (select(D.c.member_id).where(due).group_by(D.c.member_id)
                 .order_by(*order, D.c.member_id).limit(max_members))
        members = D.c.member_id.in_(first.scalar_subquery())
    claimed = session.execute(
        update(D).where(due, members)
        .values(status=S.SENDING, claimed_by=claim_id, claimed_at=now, attempt_started_at=None)
        .returning(D.c.id)
    ).scalars()
    return sorted(claimed)


def load(session: Session, ids: Iterable[int]) -> list[Delivery]:
    ids = list(ids)
    if not ids:
        return []
    rows = session.execute(select(Delivery).where(Delivery.id.in_(ids))
                           .order_by(Delivery.created_at, Delivery.id))
    return list(rows.scalars())


def recover_stale(session: Session, *, now: datetime, lease_s: float) -> tuple[int, int]:
    """Claims older than the lease (their worker died or hangs): rows whose attempt never
    started go back to pending; rows whose HTTP request may have left become `uncertain`.
    Returns (requeued, uncertain)."""
    cutoff = now - timedelta(seconds=lease_s)
    stale = and_(D.c.status == S.SENDING, D.c.claimed_at <= cutoff)
    requeued = session.execute(
        update(D).where(stale, D.c.attempt_started_at.is_(None))
        .values(status=S.PENDING, claimed_by=None, claimed_at=None)
    ).rowcount
    uncertain = session.execute(
        update(D).where(stale, D.c.attempt_started_at.is_not(None))
        .values(status=S.UNCERTAIN,
                last_error="the worker stopped while the message was being sent")
    ).rowcount
    return requeued, uncertain


def heartbeat(session: Session, *, worker_id: str, now: datetime) -> int:
    """Renew the lease of this worker's claims (every claim id starts with "<worker id>/")."""
    return session.execute(
        update(D).where(D.c.status == S.SENDING,
                        D.c.claimed_by.startswith(f"{worker_id}/", autoescape=True))
        .values(claimed_at=now)
    ).rowcount


# The two writes of every send, built once: building and caching a statement costs more than
# running it (see benchmarks/email_bridge.py).
_START_ONE = (update(D).where(D.c.id == bindparam("b_id"), D.c.claimed_by == bindparam("b_claim"),
                              D.c.status == S.SENDING, D.c.attempt_started_at.is_(None))
              .values(attempt_started_at=bindparam("b_now", type_=D.c.attempt_started_at.type),
                      attempts=D.c.attempts + 1))
_SENT_WHERE = (D.c.id == bindparam("b_id"), D.c.claimed_by == bindparam("b_claim"),
               or_(D.c.status == S.SENDING, D.c.status == S.UNCERTAIN))
_SENT_VALUES = {"status": S.SENT, "sent_at": bindparam("b_now", type_=D.c.sent_at.type),
                "channel_message_id": bindparam("b_message"), "last_error": None}
_SENT = update(D).where(*_SENT_WHERE).values(**_SENT_VALUES)
_SENT_SHOWN = update(D).where(*_SENT_WHERE).values(
    **_SENT_VALUES, payload=bindparam("b_payload", type_=D.c.payload.type),
    snapshot_hash=bindparam("b_hash"))


def start_attempt(session: Session, ids: Sequence[int], *, claim_id: str,
                  now: datetime) -> bool:
    """Record, before the HTTP request, that an attempt starts. False (and nothing changed)
    when the claim was lost for any of the rows: then the message must not be sent."""
    if len(ids) == 1:
        return session.execute(_START_ONE, {"b_id": ids[0], "b_claim": claim_id,
                                            "b_now": now}).rowcount == 1
    changed = session.execute(
        update(D).where(_ids(ids), D.c.claimed_by == claim_id,
                        D.c.status == S.SENDING, D.c.attempt_started_at.is_(None))
        .values(attempt_started_at=now, attempts=D.c.attempts + 1)
    ).rowcount
    if changed != len(ids):
        session.rollback()
        return False
    return True


def _ids(ids: Sequence[int]):
    # One message is mostly one row: "id = ?" is cached as is, an IN list is expanded each time.
    return D.c.id == ids[0] if len(ids) == 1 else D.c.id.in_(ids)


def _mine(ids: Sequence[int], claim_id: str, *statuses: str):
    statuses = statuses or (S.SENDING,)
    return and_(_ids(ids), D.c.claimed_by == claim_id,
                D.c.status == statuses[0] if len(statuses) == 1 else D.c.status.in_(statuses))


def finish_sent(session: Session, deliveries: Sequence[Delivery], *, claim_id: str,
                now: datetime, message_id: str | None,
                snapshots: dict[int, tuple[dict, str]] | None = None) -> None:
    """The message left: sent, with the channel's id for it. `snapshots` (id -> (snapshot,
    hash)) records what the member was shown, for later updates. A row a stale-lease recovery
    marked `uncertain` meanwhile is corrected: the answer came, it is sent."""
    snapshots = snapshots or {}
    for delivery in deliveries:
        values: dict = {"b_id": delivery.id, "b_claim": claim_id, "b_now": now,
                        "b_message": message_id}
        if delivery.id in snapshots:
            snapshot, digest = snapshots[delivery.id]
            values["b_payload"] = {**(delivery.payload or {}), "snapshot": snapshot}
            values["b_hash"] = digest
            session.execute(_SENT_SHOWN, values)
        else:
            session.execute(_SENT, values)


def finish_failed(session: Session, ids: Sequence[int], *, claim_id: str, next_at: datetime,
                  error: str, count_failure: bool, max_failures: int) -> bool:
    """A try failed and may be retried at `next_at`; after `max_failures` counted failures the
    rows are dead. Returns True when they were given up."""
    rows = list(session.execute(select(D.c.id, D.c.failures).where(_mine(ids, claim_id))))
    given_up = False
    for row_id, failures in rows:
        failures = failures + (1 if count_failure else 0)
        dead = failures >= max_failures
        given_up = given_up or dead
        session.execute(update(D).where(D.c.id == row_id).values(
            status=S.DEAD if dead else S.FAILED, failures=failures, next_attempt_at=next_at,
            claimed_by=None, claimed_at=None, attempt_started_at=None,
            last_error=(f"gave up after {failures} failures: {error}" if dead else error)[:2000],
        ))
    return given_up


def finish_uncertain(session: Session, ids: Sequence[int], *, claim_id: str,
                     error: str) -> None:
    session.execute(update(D).where(_mine(ids, claim_id))
                    .values(status=S.UNCERTAIN, last_error=error[:2000]))


def finish_dead(session: Session, ids: Sequence[int], *, claim_id: str, reason: str) -> None:
    session.execute(update(D).where(_mine(ids, claim_id))
                    .values(status=S.DEAD, last_error=reason[:2000], claimed_by=None,
                            claimed_at=None))


def release(session: Session, ids: Sequence[int], *, claim_id: str, next_at: datetime,
            note: str | None = None) -> None:
    """Not to be sent now (the member paused, quiet hours…): back to pending until `next_at`,
    without counting an attempt."""
    values: dict = {"status": S.PENDING, "next_attempt_at": next_at, "claimed_by": None,
                    "claimed_at": None, "attempt_started_at": None}
    if note is not None:
        values["last_error"] = note
    session.execute(update(D).where(_mine(ids, claim_id)).values(**values))


def requeue_uncertain(session: Session, ids: Sequence[int] | None, *, now: datetime) -> int:
    """An operator's decision to send `uncertain` deliveries again (all when `ids` is None)."""
    query = update(D).where(D.c.status == S.UNCERTAIN)
    if ids is not None:
        query = query.where(D.c.id.in_(list(ids)))
    return session.execute(query.values(
        status=S.PENDING, next_attempt_at=now, claimed_by=None, claimed_at=None,
        attempt_started_at=None, last_error="re-queued by an operator after being uncertain",
    )).rowcount
