"""What members do with alerts (signals, preferences, pause) and the J-7 / J-2 reminders, on the
database (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from alerts import actions
from alerts.policy import Schedule, is_quiet
from alerts.reminders import due_reminder, enqueue_reminders
from store import members
from store.alert_models import Delivery, DeliveryKind, Interest
from store.db import session_scope
from store.models import AlertPreference
from store.tender_models import MatchRow, TenderRow, TenderStatus

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Paris

ANSWERS = {
    "consent": "yes", "siret": "none", "name": "Net Insertion 06", "family": "siae_aci",
    "activities": "nettoyage de locaux, entretien", "cpv": ["90910000"],
    "area": {"all_france": False, "departements": ["06"]}, "rhythm": "instant",
    "channel": "telegram",
}


def make_member(engine, user_id: int, lang: str = "en", answers=ANSWERS) -> int:
    with session_scope(engine) as session:
        _structure, member = members.save_diagnostic(
            session, telegram_user_id=user_id, chat_id=user_id, language=lang, answers=answers)
        return member.id


def make_tender(engine, **fields) -> int:
    values = dict(source="boamp", source_id=f"26-{datetime.now().timestamp()}",
                  title="Nettoyage des locaux du CCAS", buyer="CCAS de Nice",
                  departements=["06"], deadline=NOW + timedelta(days=20), content_hash="h",
                  url="https://www.boamp.fr/pages/avis/?q=idweb:26-102345")
    values.update(fields)
    with session_scope(engine) as session:
        row = TenderRow(**values)
        session.add(row)
        session.flush()
        return row.id


def signals(engine, member_id: int) -> set[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(select(Interest).where(Interest.member_id == member_id)).scalars()
        return {(row.signal, row.reason) for row in rows}


def act(engine, user_id, tender_id, action, **kwargs):
    with session_scope(engine) as session:
        return actions.apply_signal(session, user_id, tender_id, action, now=NOW, **kwargs)


# --- signals ------------------------------------------------------------------------------------


def test_interested_then_not_for_us_with_reason_then_undo(engine):
    member_id = make_member(engine, 501)
    tender_id = make_tender(engine)
    result = act(engine, 501, tender_id, "interested")
    assert result.changed and result.choice.interested and result.lang == "en"
    assert "remind" in result.note
    assert signals(engine, member_id) == {("interested", None)}
    again = act(engine, 501, tender_id, "interested")
    assert not again.changed

    refused = act(engine, 501, tender_id, "not_for_us")
    assert refused.choice.picking_reason and refused.choice.not_for_us
    assert signals(engine, member_id) == {("not_for_us", None)}  # interest removed
    reason = act(engine, 501, tender_id, "reason", reason="far")
    assert reason.choice.reason == "far" and not reason.choice.picking_reason
    assert signals(engine, member_id) == {("not_for_us", "far")}
    forged = act(engine, 501, tender_id, "reason", reason="<script>")
    assert not forged.found and signals(engine, member_id) == {("not_for_us", "far")}

    undone = act(engine, 501, tender_id, "undo")
    assert undone.changed and undone.choice == actions.AlertChoice()
    assert signals(engine, member_id) == set()


def test_partners_and_help_are_recorded_once_and_say_what_happens(engine):
    member_id = make_member(engine, 502)
    tender_id = make_tender(engine)
    act(engine, 502, tender_id, "interested")
    partners = act(engine, 502, tender_id, "partners")
    assert partners.choice.partners and partners.choice.interested
    assert "partners" in partners.follow_up
    help_ = act(engine, 502, tender_id, "help")
    assert "advisor" in help_.follow_up and "Nettoyage" in help_.advisor_note
    assert act(engine, 502, tender_id, "help").follow_up is None  # already asked
    assert signals(engine, member_id) == {("interested", None), ("partners", None),
                                          ("help", None)}


def test_unknown_member_or_tender(engine):
    tender_id = make_tender(engine)
    assert not act(engine, 999_999, tender_id, "interested").found
    make_member(engine, 503)
    assert not act(engine, 503, 987_654, "interested").found


def test_alert_for_uses_the_members_match(engine):
    make_member(engine, 504)
    tender_id = make_tender(engine, title="Entretien & nettoyage")
    with session_scope(engine) as session:
        member = actions.member_by_telegram(session, 504)
        session.add(MatchRow(tender_id=tender_id, structure_id=member.structure_id, score=70,
                             reasons=[{"kind": "keyword", "keyword": "nettoyage"}]))
    act(engine, 504, tender_id, "interested")
    with Session(engine) as session:
        rendered = actions.alert_for(session, 504, tender_id, NOW, TZ)
    assert "Entretien &amp; nettoyage" in rendered.html and "nettoyage”" in rendered.html
    assert rendered.keyboard[0][0] == ("✅ Interested", f"a|i|{tender_id}")
    with Session(engine) as session:
        assert actions.alert_for(session, 504, tender_id + 1000, NOW, TZ) is None
        assert actions.alert_for(session, 123_456, tender_id, NOW, TZ) is None


# --- preferences ---------------------------------------------------------------------------------


def menu(engine, user_id, *parts):
    with session_scope(engine) as session:
        return actions.menu_action(session, user_id, list(parts), NOW, TZ)


def prefs_of(engine, member_id) -> AlertPreference:
    with Session(engine) as session:
        return session.execute(select(AlertPreference).where(
            AlertPreference.member_id == member_id)).scalars().one()


def test_menu_changes_rhythm_hour_day_quiet_hours_and_weekends(engine):
    member_id = make_member(engine, 505)
    with Session(engine) as session:
        opened = actions.open_menu(session, 505, NOW, TZ)
    assert "as soon as it is found" in opened.rendered.html
    assert opened.rendered.keyboard[0][0] == ("✅ Instant", "al|r|instant")

    result = menu(engine, 505, "r", "weekly")
    assert result.changed and "weekly digest on Monday at 08:00" in result.rendered.html
    assert not menu(engine, 505, "r", "weekly").changed
    assert menu(engine, 505, "h").rendered.keyboard[0][0] == ("06:00", "al|h|6")
    assert menu(engine, 505, "h", "18").changed
    assert menu(engine, 505, "d", "4").changed
    assert "Friday at 18:00" in menu(engine, 505, "m").rendered.html
    assert not menu(engine, 505, "h", "99").changed  # a forged button changes nothing
    assert menu(engine, 505, "q", "22", "7").changed
    assert menu(engine, 505, "w").changed
    prefs = prefs_of(engine, member_id)
    assert (prefs.rhythm, prefs.digest_hour, prefs.weekly_day) == ("weekly", 18, 4)
    assert (prefs.quiet_start, prefs.quiet_end, prefs.quiet_weekends) == (22, 7, False)
    assert "22:00 to 07:00." in menu(engine, 505, "m").rendered.html
    assert menu(engine, 505, "q", "0", "0").changed
    assert "No quiet hours: instant alerts arrive at any time." in \
        menu(engine, 505, "m").rendered.html
    closed = menu(engine, 505, "x")
    assert closed.closed and closed.rendered.keyboard is None


def test_quiet_hours_chosen_in_the_menu_are_those_the_policy_applies(engine):
    member_id = make_member(engine, 506)
    saturday_noon = datetime(2027, 1, 9, 11, 0, tzinfo=UTC)
    late_evening = datetime(2027, 1, 6, 20, 30, tzinfo=UTC)  # Wednesday 21:30 in Paris
    assert is_quiet(Schedule.of(prefs_of(engine, member_id)), saturday_noon, TZ)
    assert is_quiet(Schedule.of(prefs_of(engine, member_id)), late_evening, TZ)
    menu(engine, 506, "w")
    menu(engine, 506, "q", "22", "7")
    schedule = Schedule.of(prefs_of(engine, member_id))
    assert not is_quiet(schedule, saturday_noon, TZ)
    assert not is_quiet(schedule, late_evening, TZ)


@pytest.mark.parametrize("args, days", [([], 7), (["14"], 14), (["1"], 1), (["90"], 90),
                                        (["10j"], 10)])
def test_parse_pause_days(args, days):
    assert actions.parse_pause_days(args) == days


@pytest.mark.parametrize("args", [["0"], ["91"], ["-3"], ["deux"], ["1", "2"], ["1.5"]])
def test_parse_pause_days_refuses(args):
    with pytest.raises(ValueError):
        actions.parse_pause_days(args)


def test_pause_and_resume(engine):
    member_id = make_member(engine, 507)
    with session_scope(engine) as session:
        text = actions.pause_command(session, 507, ["abc"], NOW, TZ)
    assert "between 1 and 90" in text and "/pause 14" in text
    assert prefs_of(engine, member_id).paused_until is None
    with session_scope(engine) as session:
        text = actions.pause_command(session, 507, ["10"], NOW, TZ, "en")
    assert "January 14, 2027" in text
    prefs = prefs_of(engine, member_id)
    assert Schedule.of(prefs).paused_until == NOW + timedelta(days=10)
    assert "Paused until January 14, 2027" in menu(engine, 507, "m").rendered.html
    with session_scope(engine) as session:
        assert "resumed" in actions.resume_command(session, 507, NOW, TZ)
    assert prefs_of(engine, member_id).paused_until is None
    with session_scope(engine) as session:
        assert "not paused" in actions.resume_command(session, 507, NOW, TZ)


def test_pause_and_resume_move_what_is_waiting(engine):
    member_id = make_member(engine, 510)
    tender_id = make_tender(engine)
    with session_scope(engine) as session:
        session.add(Delivery(member_id=member_id, kind=DeliveryKind.ALERT, tender_id=tender_id,
                             idempotency_key="alert:test", next_attempt_at=NOW))

    def due() -> datetime:
        with Session(engine) as session:
            return session.execute(select(Delivery.next_attempt_at)).scalar_one()

    with session_scope(engine) as session:
        actions.pause_command(session, 510, ["3"], NOW, TZ)
    # Thursday 10:00 in Paris: the end of the pause, not a quiet moment.
    assert due() == NOW + timedelta(days=3)
    with session_scope(engine) as session:
        actions.resume_command(session, 510, NOW + timedelta(hours=1), TZ)
    assert due() == NOW + timedelta(hours=1)


def test_commands_without_a_profile(engine):
    with session_scope(engine) as session:
        assert "/start" in actions.pause_command(session, 4242, [], NOW, TZ, "en")
        assert "/start" in actions.resume_command(session, 4242, NOW, TZ, "en")
        assert actions.open_menu(session, 4242, NOW, TZ, "en").rendered is None


# --- reminders -----------------------------------------------------------------------------------


def test_due_reminder_rules():
    deadline = datetime(2027, 1, 20, 11, 0, tzinfo=UTC)
    marked = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    day = lambda d: datetime(2027, 1, d, 8, 0, tzinfo=UTC)  # noqa: E731
    assert due_reminder(deadline, marked, day(12), TZ) is None  # J-8
    assert due_reminder(deadline, marked, day(13), TZ) == 7
    assert due_reminder(deadline, marked, day(16), TZ) == 7  # J-4: late, still J-7's
    assert due_reminder(deadline, marked, day(17), TZ) is None  # J-3
    assert due_reminder(deadline, marked, day(18), TZ) == 2
    assert due_reminder(deadline, marked, day(20), TZ) == 2  # the day itself, before noon
    assert due_reminder(deadline, marked, datetime(2027, 1, 20, 12, 0, tzinfo=UTC), TZ) is None
    # Marked interesting 4 days before: no J-7, but J-2.
    late_mark = datetime(2027, 1, 16, 9, 0, tzinfo=UTC)
    assert due_reminder(deadline, late_mark, day(16), TZ) is None
    assert due_reminder(deadline, late_mark, day(18), TZ) == 2


def test_enqueue_reminders_is_idempotent_and_skips_what_must_not_be_reminded(engine):
    member_id = make_member(engine, 508)
    other_id = make_member(engine, 509)
    soon = make_tender(engine, source_id="a", deadline=NOW + timedelta(days=7, hours=2))
    later = make_tender(engine, source_id="b", deadline=NOW + timedelta(days=2, hours=2))
    cancelled = make_tender(engine, source_id="c", deadline=NOW + timedelta(days=7, hours=2),
                            status=TenderStatus.CANCELLED)
    refused = make_tender(engine, source_id="d", deadline=NOW + timedelta(days=7, hours=2))
    with session_scope(engine) as session:
        before = NOW - timedelta(days=10)
        for tender_id in (soon, later, cancelled):
            session.add(Interest(member_id=member_id, tender_id=tender_id, signal="interested",
                                 created_at=before))
        session.add(Interest(member_id=other_id, tender_id=refused, signal="not_for_us",
                             created_at=before))
    with session_scope(engine) as session:
        assert enqueue_reminders(session, NOW, TZ) == 2
    with session_scope(engine) as session:
        assert enqueue_reminders(session, NOW, TZ) == 0
        assert enqueue_reminders(session, NOW + timedelta(hours=5), TZ) == 0
    with Session(engine) as session:
        rows = session.execute(select(Delivery).order_by(Delivery.tender_id)).scalars().all()
    assert [(r.kind, r.tender_id, r.payload["days"], r.idempotency_key) for r in rows] == [
        (DeliveryKind.REMINDER, soon, 7, f"reminder:{member_id}:{soon}:7:telegram"),
        (DeliveryKind.REMINDER, later, 2, f"reminder:{member_id}:{later}:2:telegram"),
    ]
    assert all(r.channel == "telegram" and r.status == "pending" for r in rows)
    # Looking for partners counts as interest, once however many signals.
    with session_scope(engine) as session:
        session.add(Interest(member_id=other_id, tender_id=soon, signal="partners",
                             created_at=NOW - timedelta(days=9)))
        session.add(Interest(member_id=other_id, tender_id=soon, signal="interested",
                             created_at=NOW - timedelta(days=8)))
    with session_scope(engine) as session:
        assert enqueue_reminders(session, NOW, TZ) == 1
    # Five days later the first tender is at J-2: its second reminder, for both members.
    with session_scope(engine) as session:
        assert enqueue_reminders(session, NOW + timedelta(days=5), TZ) == 2
