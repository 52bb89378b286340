"""The outbox: deliveries written with the match, updates, cancellations, channels, rescheduling;
the claim state machine (alerts.claims) and the shared rate limiter (alerts.limiter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from alerts import claims
from alerts.limiter import SharedRateLimiter
from alerts.match_job import run_matching
from alerts.outbox import (
    diff_snapshots,
    enqueue_cancellations,
    enqueue_fallback,
    enqueue_for_match,
    enqueue_updates,
    reschedule_member,
    snapshot_hash,
    tender_snapshot,
)
from store.alert_models import Delivery, Interest
from store.db import session_scope
from store.models import AlertPreference, Member
from store.tender_models import LotRow, MatchRow, TenderRow
from tests.workers.factory import ALWAYS, deliveries, make_match, make_member, make_tender

PARIS = ZoneInfo("Europe/Paris")
TUESDAY_10 = datetime(2027, 3, 2, 10, 0, tzinfo=PARIS).astimezone(UTC)


def _sent(session: Session, delivery: Delivery, tender: TenderRow, when: datetime) -> None:
    """Mark a delivery sent with the snapshot of what the member was shown, as the worker
    does."""
    lots = list(session.execute(select(LotRow).where(LotRow.tender_id == tender.id)).scalars())
    snapshot = tender_snapshot(tender, lots)
    session.execute(update(Delivery).where(Delivery.id == delivery.id).values(
        status="sent", sent_at=when, channel_message_id="1",
        payload={**delivery.payload, "snapshot": snapshot},
        snapshot_hash=snapshot_hash(snapshot)))
    session.expire_all()


# --- enqueue_for_match ---------------------------------------------------------------------------


def test_match_queues_an_alert_per_member_and_channel(engine):
    with Session(engine, expire_on_commit=False) as session:
        tender = make_tender(session, now=TUESDAY_10)
        structure, member = make_member(session, chat_id=501)
        colleague = Member(structure_id=structure.id, telegram_chat_id=502, email="b@ex.fr")
        session.add(colleague)
        session.flush()
        session.add(AlertPreference(member_id=colleague.id, channel="both"))
        match = make_match(session, tender, structure, now=TUESDAY_10, score=77)
        assert enqueue_for_match(session, match, tender, TUESDAY_10, PARIS) == 3
        # Idempotent: the same match again queues nothing more.
        assert enqueue_for_match(session, match, tender, TUESDAY_10, PARIS) == 0
        session.commit()
        rows = deliveries(session)
    assert sorted((d.member_id, d.channel, d.kind) for d in rows) == [
        (member.id, "telegram", "alert"), (colleague.id, "email", "alert"),
        (colleague.id, "telegram", "alert")]
    first = next(d for d in rows if d.member_id == member.id)
    assert first.idempotency_key == f"alert:{member.id}:{tender.id}:telegram"
    assert first.status == "pending" and first.next_attempt_at == TUESDAY_10
    assert first.payload == {"match_id": match.id, "score": 77, "reasons": match.reasons}


def test_rhythm_and_quiet_hours_set_the_due_time(engine):
    evening = datetime(2027, 3, 2, 21, 30, tzinfo=PARIS).astimezone(UTC)
    with Session(engine, expire_on_commit=False) as session:
        tender = make_tender(session, now=evening)
        instant, m1 = make_member(session, chat_id=511)
        daily, m2 = make_member(session, chat_id=512, rhythm="daily", digest_hour=7)
        weekly, m3 = make_member(session, chat_id=513, rhythm="weekly", weekly_day=4,
                                 digest_hour=9)
        for structure in (instant, daily, weekly):
            enqueue_for_match(session, make_match(session, tender, structure, now=evening),
                              tender, evening, PARIS)
        session.commit()
        by_member = {d.member_id: d for d in deliveries(session)}
    assert by_member[m1.id].kind == "alert"
    assert by_member[m1.id].next_attempt_at == datetime(2027, 3, 3, 8, tzinfo=PARIS)
    assert by_member[m2.id].kind == "digest_item"
    assert by_member[m2.id].next_attempt_at == datetime(2027, 3, 3, 7, tzinfo=PARIS)
    assert by_member[m3.id].kind == "digest_item"
    assert by_member[m3.id].next_attempt_at == datetime(2027, 3, 5, 9, tzinfo=PARIS)


def test_channel_fallbacks_and_closed_tenders(engine):
    with Session(engine, expire_on_commit=False) as session:
        tender = make_tender(session, now=TUESDAY_10)
        blocked, m1 = make_member(session, chat_id=521, email="a@ex.fr")
        m1.telegram_active = False
        no_way, m2 = make_member(session, chat_id=None)
        email_only, m3 = make_member(session, chat_id=None, email="c@ex.fr", channel="email")
        email_wanted_but_none, m4 = make_member(session, chat_id=524, channel="email")
        session.flush()
        for structure in (blocked, no_way, email_only, email_wanted_but_none):
            enqueue_for_match(session, make_match(session, tender, structure, now=TUESDAY_10),
                              tender, TUESDAY_10, PARIS)
        late = make_tender(session, now=TUESDAY_10 - timedelta(days=30), number=2,
                           deadline_days=29)  # deadline yesterday
        cancelled = make_tender(session, now=TUESDAY_10, number=3, status="cancelled")
        for other in (late, cancelled):
            assert enqueue_for_match(session, make_match(session, other, blocked,
                                                         now=TUESDAY_10),
                                     other, TUESDAY_10, PARIS) == 0
        session.commit()
        got = sorted((d.member_id, d.channel) for d in deliveries(session))
    assert got == [(m1.id, "email"), (m3.id, "email"), (m4.id, "telegram")]


def test_the_match_job_writes_deliveries_in_its_transaction(engine):
    with Session(engine, expire_on_commit=False) as session:
        tender = make_tender(session, now=TUESDAY_10)
        tender.needs_matching = True
        structure, member = make_member(session, chat_id=531)
        structure.keywords = ["nettoyage"]
        session.commit()
    with Session(engine, expire_on_commit=False) as session:
        run = run_matching(session, tz=PARIS, now=TUESDAY_10)
        assert [s.structure_id for s in run.stored] == [structure.id]
        assert len(deliveries(session)) == 1
        session.rollback()  # the job failed after matching: no match, no delivery
    with Session(engine, expire_on_commit=False) as session:
        assert session.execute(select(MatchRow)).first() is None
        assert deliveries(session) == []
        run_matching(session, tz=PARIS, now=TUESDAY_10)
        session.commit()
        (delivery,) = deliveries(session)
        match = session.execute(select(MatchRow)).scalar_one()
    assert (delivery.member_id, delivery.kind, delivery.payload["match_id"]) == (
        member.id, "alert", match.id)


# --- updates and cancellations -------------------------------------------------------------------


def test_diff_snapshots_says_what_changed():
    before = {"title": "A", "deadline": "2027-03-20T11:00:00+00:00", "estimated_value": 10.0,
              "departements": ["69", "01"], "lots": [], "reserved": "none",
              "social_clause": False, "buyer": "B", "url": "u"}
    after = {**before, "deadline": "2027-03-27T11:00:00+00:00", "departements": ["01", "69"],
             "social_clause": True}
    changes = diff_snapshots(before, after)
    assert [c["field"] for c in changes] == ["deadline", "social_clause"]
    assert changes[0]["old"] == datetime(2027, 3, 20, 11, tzinfo=UTC)
    assert changes[0]["new"] == datetime(2027, 3, 27, 11, tzinfo=UTC)
    assert diff_snapshots(before, before) == []


def test_a_rectificatif_sends_one_update_per_version_to_those_told(engine):
    with Session(engine, expire_on_commit=False) as session:
        tender = make_tender(session, now=TUESDAY_10, lots=2)
        told, m1 = make_member(session, chat_id=541)
        not_yet, m2 = make_member(session, chat_id=542, rhythm="daily")
        for structure in (told, not_yet):
            enqueue_for_match(session, make_match(session, tender, structure, now=TUESDAY_10),
                              tender, TUESDAY_10, PARIS)
        alert = deliveries(session, member_id=m1.id)[0]
        _sent(session, alert, tender, TUESDAY_10)
        # Nothing changed: nothing to say.
        assert enqueue_updates(session, [tender], TUESDAY_10, PARIS) == 0
        # Only the description changed: the member was not shown it.
        tender.description = "Autre texte"
        tender.status = "changed"
        session.flush()
        assert enqueue_updates(session, [tender], TUESDAY_10, PARIS) == 0
        # The deadline moved: one update, to the member who was sent the alert.
        tender.deadline = tender.deadline + timedelta(days=7)
        session.flush()
        assert enqueue_updates(session, [tender], TUESDAY_10, PARIS) == 1
        assert enqueue_updates(session, [tender], TUESDAY_10, PARIS) == 0  # same version
        # Another change later: another update.
        tender.estimated_value = 90_000
        session.flush()
        assert enqueue_updates(session, [tender], TUESDAY_10, PARIS) == 1
        session.commit()
        updates = deliveries(session, kind="update")
    assert [u.member_id for u in updates] == [m1.id, m1.id]
    assert updates[0].payload["fields"] == ["deadline"]
    assert updates[1].payload["fields"] == ["deadline", "estimated_value"]
    assert len({u.idempotency_key for u in updates}) == 2


def test_the_match_job_sends_updates_and_cancellations(engine):
    with Session(engine, expire_on_commit=False) as session:
        tender = make_tender(session, now=TUESDAY_10)
        structure, member = make_member(session, chat_id=551)
        interested, m2 = make_member(session, chat_id=552)
        indifferent, m3 = make_member(session, chat_id=553)
        match = make_match(session, tender, structure, now=TUESDAY_10)
        enqueue_for_match(session, match, tender, TUESDAY_10, PARIS)
        member_id, m2_id, m3_id, tender_id = member.id, m2.id, m3.id, tender.id
        _sent(session, deliveries(session)[0], tender, TUESDAY_10)
        session.add_all([Interest(member_id=m2_id, tender_id=tender_id, signal="interested"),
                         Interest(member_id=m2_id, tender_id=tender_id, signal="partners"),
                         Interest(member_id=m3_id, tender_id=tender_id, signal="not_for_us")])
        # A rectificatif (tenders.store marks it changed and to be matched again).
        tender.title = "Nettoyage des écoles et crèches"
        tender.status, tender.needs_matching = "changed", True
        session.commit()
    with session_scope(engine) as session:
        run_matching(session, tz=PARIS, now=TUESDAY_10 + timedelta(hours=1))
    with Session(engine, expire_on_commit=False) as session:
        (update_row,) = deliveries(session, kind="update")
        assert update_row.member_id == member_id
        assert update_row.payload["fields"] == ["title"]
        assert deliveries(session, kind="cancellation") == []
        tender = session.get(TenderRow, tender_id)
        tender.status = "cancelled"
        session.commit()
    for _ in range(2):  # twice: still one cancellation
        with session_scope(engine) as session:
            run_matching(session, tz=PARIS, now=TUESDAY_10 + timedelta(hours=2))
    with Session(engine, expire_on_commit=False) as session:
        cancellations = deliveries(session, kind="cancellation")
    assert [(c.member_id, c.channel) for c in cancellations] == [(m2_id, "telegram")]
    assert enqueue_cancellations  # also callable directly (bot jobs)


def test_email_copy_and_reschedule(engine):
    with Session(engine, expire_on_commit=False) as session:
        tender = make_tender(session, now=TUESDAY_10)
        structure, member = make_member(session, chat_id=561, email="m@ex.fr",
                                        paused_until=TUESDAY_10 + timedelta(days=3))
        enqueue_for_match(session, make_match(session, tender, structure, now=TUESDAY_10),
                          tender, TUESDAY_10, PARIS)
        (alert,) = deliveries(session)
        assert alert.next_attempt_at == TUESDAY_10 + timedelta(days=3)  # paused
        member_id, tender_id = member.id, tender.id
        # /reprendre: the member's waiting deliveries are due now.
        session.execute(update(AlertPreference).values(paused_until=None))
        assert reschedule_member(session, member.id, TUESDAY_10 + timedelta(hours=1),
                                 PARIS) == 1
        session.expire_all()
        assert deliveries(session)[0].next_attempt_at == TUESDAY_10 + timedelta(hours=1)
        assert enqueue_fallback(session, [alert], member, TUESDAY_10, "telegram") == 1
        assert enqueue_fallback(session, [alert], member, TUESDAY_10, "telegram") == 0
        session.commit()
        email = deliveries(session, channel="email")[0]
    assert email.idempotency_key == f"alert:{member_id}:{tender_id}:email"
    assert email.kind == "alert" and email.status == "pending"


# --- claims --------------------------------------------------------------------------------------


def _queue(engine, count: int, *, per_member: int = 1, kind: str = "alert") -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        tenders = [make_tender(session, now=TUESDAY_10, number=n) for n in range(per_member)]
        member_ids = []
        for index in range(count):
            structure, member = make_member(session, chat_id=600 + index, **ALWAYS)
            member_ids.append(member.id)
            for tender in tenders:
                session.add(Delivery(member_id=member.id, kind=kind, tender_id=tender.id,
                                     idempotency_key=f"{kind}:{member.id}:{tender.id}:telegram",
                                     next_attempt_at=TUESDAY_10, created_at=TUESDAY_10))
        session.commit()
    return member_ids


def test_claims_take_every_due_delivery_of_a_member(engine):
    members = _queue(engine, 3, per_member=3, kind="digest_item")
    with session_scope(engine) as session:
        ids = claims.claim_due(session, claim_id="w1/1", now=TUESDAY_10, max_members=2)
    with session_scope(engine) as session:
        rows = claims.load(session, ids)
        again = claims.claim_due(session, claim_id="w2/1", now=TUESDAY_10, max_members=5)
        rest = claims.load(session, again)
    assert len(rows) == 6 and {d.member_id for d in rows} == set(members[:2])
    assert {d.member_id for d in rest} == {members[2]} and len(rest) == 3
    assert {d.status for d in rows} == {"sending"} and {d.claimed_by for d in rows} == {"w1/1"}
    with session_scope(engine) as session:  # nothing is due before its time
        assert claims.claim_due(session, claim_id="w3/1", now=TUESDAY_10,
                                max_members=5) == []


def test_a_lost_claim_cannot_send_and_stale_claims_are_recovered(engine):
    _queue(engine, 3)
    with session_scope(engine) as session:
        ids = claims.claim_due(session, claim_id="old/1", now=TUESDAY_10, max_members=3)
    started, never_started, in_flight = ids
    with session_scope(engine) as session:
        assert claims.start_attempt(session, [in_flight], claim_id="old/1", now=TUESDAY_10)
    later = TUESDAY_10 + timedelta(seconds=61)
    with session_scope(engine) as session:
        claims.heartbeat(session, worker_id="old", now=TUESDAY_10 + timedelta(seconds=30))
        # 61 s after the claim but only 31 s after the heartbeat: the lease holds.
        assert claims.recover_stale(session, now=later, lease_s=60) == (0, 0)
        assert claims.recover_stale(session, now=later + timedelta(seconds=30),
                                    lease_s=60) == (2, 1)
    with Session(engine, expire_on_commit=False) as session:
        status = {d.id: d.status for d in deliveries(session)}
    assert status == {started: "pending", never_started: "pending", in_flight: "uncertain"}
    with session_scope(engine) as session:
        # The old worker wakes up: it may not start what it no longer owns.
        assert not claims.start_attempt(session, [started], claim_id="old/1", now=later)
        new = claims.claim_due(session, claim_id="new/1", now=later, max_members=5)
    assert sorted(new) == sorted([started, never_started])
    with session_scope(engine) as session:
        assert claims.requeue_uncertain(session, [in_flight], now=later) == 1


# --- shared limiter ------------------------------------------------------------------------------


def test_the_shared_limiter_spaces_slots_across_workers(engine):
    """Two limiters (two workers) on one database: together their slots are 1/rate apart."""
    first = SharedRateLimiter(engine, rate_per_s=10, lead_s=0.0)
    second = SharedRateLimiter(engine, rate_per_s=10, lead_s=0.0)
    slots = first.reserve(3, now=1000.0) + second.reserve(2, now=1000.05)
    slots += first.reserve(1, now=1000.1)
    assert slots == pytest.approx([1000.0, 1000.1, 1000.2, 1000.3, 1000.4, 1000.5])
    # An idle bucket starts from now, never from the past.
    assert second.reserve(1, now=2000.0) == pytest.approx([2000.0])
    first.push_back(3000.0)
    assert second.reserve(1, now=2000.5) == pytest.approx([3000.0])
