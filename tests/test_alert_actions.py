"""What members do with alerts (signals, preferences, pause), by member id and Intent, and the
J-7 / J-2 reminders, on the database (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in, as in production
from alerts import actions
from alerts.message import Intent, Request
from alerts.policy import Schedule, is_quiet
from alerts.preferences import parse_pause_days
from alerts.reminders import due_reminder, enqueue_reminders
from channels import telegram
from conversations.profile_fields import save_diagnostic
from store import members
from store.alert_models import Delivery, DeliveryKind, Interest
from store.consortia_models import SupportRequest
from store.db import session_scope
from store.models import AlertPreference, Member, Role
from store.tender_models import MatchRow, TenderRow, TenderStatus
from support.requests import SUPPORT_REQUEST

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
        _structure, member = save_diagnostic(
            session, telegram_user_id=user_id, chat_id=user_id, language=lang, answers=answers)
        return member.id


def make_tender(engine, *, matched: list[int] = (), **fields) -> int:
    """A tender; the members in `matched` had it matched to their structure."""
    values = dict(source="boamp", source_id=f"26-{datetime.now().timestamp()}",
                  title="Nettoyage des locaux du CCAS", buyer="CCAS de Nice",
                  departements=["06"], deadline=NOW + timedelta(days=20), content_hash="h",
                  url="https://www.boamp.fr/pages/avis/?q=idweb:26-102345")
    values.update(fields)
    with session_scope(engine) as session:
        row = TenderRow(**values)
        session.add(row)
        session.flush()
        for member_id in matched:
            structure_id = session.get(Member, member_id).structure_id
            session.add(MatchRow(tender_id=row.id, structure_id=structure_id, score=70,
                                 reasons=[{"kind": "keyword", "keyword": "nettoyage"}]))
        return row.id


def signals(engine, member_id: int) -> set[tuple[str, str | None]]:
    with Session(engine) as session:
        rows = session.execute(select(Interest).where(Interest.member_id == member_id)).scalars()
        return {(row.signal, row.reason) for row in rows}


def ask(engine, member_id, intent, target=None, arg=None, now=NOW, lang="fr") -> actions.Reply:
    with session_scope(engine) as session:
        return actions.handle(session, member_id, Request(intent, target, arg), now, TZ, lang)


def html(message) -> str:
    return telegram.render(message).html


def buttons(message) -> list[tuple[str, str]]:
    return [pair for row in telegram.render(message).keyboard or [] for pair in row]


# --- signals ------------------------------------------------------------------------------------


def test_interested_then_not_for_us_with_reason_then_undo(engine):
    member_id = make_member(engine, 501)
    tender_id = make_tender(engine, matched=[member_id])
    result = ask(engine, member_id, Intent.INTERESTED, tender_id)
    assert result.changed and result.choice.interested and result.lang == "en"
    assert "remind" in result.note
    assert signals(engine, member_id) == {("interested", None)}
    assert not ask(engine, member_id, Intent.INTERESTED, tender_id).changed

    refused = ask(engine, member_id, Intent.NOT_FOR_US, tender_id)
    assert refused.choice.picking_reason and refused.choice.not_for_us
    assert signals(engine, member_id) == {("not_for_us", None)}  # interest removed
    reason = ask(engine, member_id, Intent.NOT_FOR_US, tender_id, "far")
    assert reason.choice.reason == "far" and not reason.choice.picking_reason
    assert signals(engine, member_id) == {("not_for_us", "far")}
    assert not ask(engine, member_id, Intent.NOT_FOR_US, tender_id, "far").changed
    assert ask(engine, member_id, Intent.NOT_FOR_US, tender_id, "big").changed  # a new reason
    assert signals(engine, member_id) == {("not_for_us", "big")}
    assert ask(engine, member_id, Intent.NOT_FOR_US, tender_id).choice.reason == "big"  # kept
    forged = ask(engine, member_id, Intent.NOT_FOR_US, tender_id, "<script>")
    assert forged.refused and signals(engine, member_id) == {("not_for_us", "big")}

    undone = ask(engine, member_id, Intent.UNDO, tender_id)
    assert undone.changed and undone.choice == actions.AlertChoice()
    assert signals(engine, member_id) == set()


def test_partners_and_help_are_recorded_once_and_help_reaches_the_advisors(engine):
    member_id = make_member(engine, 502)
    tender_id = make_tender(engine, matched=[member_id])
    with session_scope(engine) as session:
        members.seed_advisors(session, [90_001], ["conseil@centrale.example"])
    ask(engine, member_id, Intent.INTERESTED, tender_id)
    partners = ask(engine, member_id, Intent.PARTNERS, tender_id)
    assert partners.choice.partners and partners.choice.interested
    assert "partners" in partners.messages[0].text()
    help_ = ask(engine, member_id, Intent.HELP, tender_id)
    assert "advisor" in help_.messages[0].text()
    assert ask(engine, member_id, Intent.HELP, tender_id).messages == ()  # already asked
    assert signals(engine, member_id) == {("interested", None), ("partners", None),
                                          ("help", None)}
    with Session(engine) as session:  # one support request (support/requests.py)
        [request] = session.execute(select(SupportRequest)).scalars().all()
        queued = session.execute(select(Delivery).where(
            Delivery.kind == SUPPORT_REQUEST)).scalars().all()
        advisors = {m.id: m for m in members.advisors(session)}
    assert (request.member_id, request.tender_id, request.status) == (member_id, tender_id,
                                                                      "open")
    # One delivery per advisor, on the advisor's channel: the one listed by email waits for the
    # email channel in the outbox.
    assert sorted((d.channel, advisors[d.member_id].telegram_user_id or 0) for d in queued) == [
        ("email", 0), ("telegram", 90_001)]
    assert all(d.payload["request"] == request.id for d in queued)


def test_advisors_are_seeded_once_and_keep_their_role(engine):
    member_id = make_member(engine, 511)
    with session_scope(engine) as session:
        assert members.seed_advisors(session, [511, 90_002], ["A@Example.org "]) == 3
        assert members.seed_advisors(session, [511, 90_002], ["a@example.org"]) == 0
        roles = {m.id: m.role for m in session.execute(select(Member)).scalars()}
    assert roles[member_id] == Role.ADVISOR
    assert list(roles.values()).count(Role.ADVISOR) == 3


def test_unknown_member_tender_or_one_never_sent_changes_nothing(engine):
    member_id = make_member(engine, 503)
    other_id = make_member(engine, 512)
    tender_id = make_tender(engine, matched=[other_id])
    assert ask(engine, None, Intent.INTERESTED, tender_id).refused
    assert ask(engine, member_id, Intent.INTERESTED, 987_654).refused
    # Another member's tender: never sent to this one nor matched to its structure.
    stranger = ask(engine, member_id, Intent.INTERESTED, tender_id)
    assert stranger.refused and "no longer available" in stranger.note
    assert ask(engine, member_id, Intent.HELP, tender_id).refused
    assert ask(engine, member_id, Intent.OPEN, tender_id).refused
    assert signals(engine, member_id) == set()
    # Sent to the member (a delivery exists): allowed.
    with session_scope(engine) as session:
        session.add(Delivery(member_id=member_id, kind=DeliveryKind.ALERT, tender_id=tender_id,
                             idempotency_key=f"alert:{member_id}:{tender_id}:telegram"))
    assert ask(engine, member_id, Intent.INTERESTED, tender_id).changed


def test_a_closed_tender_takes_no_signal(engine):
    member_id = make_member(engine, 513)
    cancelled = make_tender(engine, matched=[member_id], status=TenderStatus.CANCELLED)
    past = make_tender(engine, matched=[member_id], deadline=NOW - timedelta(hours=1))
    for tender_id in (cancelled, past):
        reply = ask(engine, member_id, Intent.INTERESTED, tender_id)
        assert reply.refused and "closed" in reply.note
    assert signals(engine, member_id) == set()


@pytest.mark.parametrize("data", [
    "a|i|", "a|i|abc", "a|zz|12", "a|i|12|extra", "a|nr|12|<b>", "a|nr|12|" + "x" * 60,
    "al|q|1", "al|zz", "al|r|../", "b|i|12", "", "\x00\xff", "a|i|-3",
    "a|i|" + "9" * 30, "a|o|1" + "0" * 80, "al|p|1|2", "a|i|１２",
    "g|nonsense|1|", "g|interested|1|", "g|stats||", "g|undo|x|", "g|undo|1|<b>", "g|undo|1",
])
def test_malformed_callback_data_decodes_to_nothing(data):
    assert telegram.decode(data) is None


def test_callback_data_round_trip_and_stay_short():
    from alerts.render import alert_actions, reminder_actions

    for actions_ in (alert_actions(2**62, "fr"), reminder_actions(7, "en"),
                     alert_actions(7, "en", actions.AlertChoice(picking_reason=True))):
        for action in (a for row in actions_ for a in row):
            data = telegram.encode(action)
            assert len(data.encode()) <= 64
            assert telegram.decode(data) == action.request


def test_intents_without_a_code_of_their_own_round_trip_generically():
    # The later flows' intents travel as "g|intent|target|arg" (never for those with a code).
    coded = {Intent.INTERESTED, Intent.STATS, Intent.MENU}
    for intent in set(Intent) - coded:
        for request in (Request(intent, 2**63 - 1, "a_reason_code_of_20"), Request(intent)):
            if telegram.encode(request).startswith("g|"):
                assert telegram.decode(telegram.encode(request)) == request
    for intent in coded:
        assert not telegram.encode(Request(intent, 1, "main")).startswith("g|")


def test_open_shows_the_members_match_and_choice(engine):
    member_id = make_member(engine, 504)
    tender_id = make_tender(engine, title="Entretien & nettoyage", matched=[member_id])
    ask(engine, member_id, Intent.INTERESTED, tender_id)
    opened = ask(engine, member_id, Intent.OPEN, tender_id)
    text = html(opened.messages[0])
    assert "Entretien &amp; nettoyage" in text and "nettoyage”" in text
    assert buttons(opened.messages[0])[0] == ("✅ Interested", f"a|i|{tender_id}")


# --- preferences ---------------------------------------------------------------------------------


def menu(engine, member_id, intent=Intent.MENU, arg=None):
    return ask(engine, member_id, intent, arg=arg)


def prefs_of(engine, member_id) -> AlertPreference:
    with Session(engine) as session:
        return session.execute(select(AlertPreference).where(
            AlertPreference.member_id == member_id)).scalars().one()


def test_menu_changes_rhythm_hour_day_quiet_hours_and_weekends(engine):
    member_id = make_member(engine, 505)
    opened = menu(engine, member_id, arg="main")
    assert "as soon as it is found" in html(opened.screen)
    assert buttons(opened.screen)[0] == ("✅ Instant", "al|r|instant")

    result = menu(engine, member_id, Intent.RHYTHM, "weekly")
    assert result.changed and "weekly digest on Monday at 08:00" in html(result.screen)
    assert not menu(engine, member_id, Intent.RHYTHM, "weekly").changed
    assert buttons(menu(engine, member_id, arg="hours").screen)[0] == ("06:00", "al|h|6")
    assert menu(engine, member_id, Intent.DIGEST_HOUR, "18").changed
    assert menu(engine, member_id, Intent.WEEKLY_DAY, "4").changed
    assert "Friday at 18:00" in html(menu(engine, member_id).screen)
    assert not menu(engine, member_id, Intent.DIGEST_HOUR, "99").changed  # forged: nothing
    assert not menu(engine, member_id, Intent.QUIET_HOURS, "3-4").changed  # not a preset
    assert menu(engine, member_id, Intent.QUIET_HOURS, "22-7").changed
    assert menu(engine, member_id, Intent.WEEKENDS).changed
    prefs = prefs_of(engine, member_id)
    assert (prefs.rhythm, prefs.digest_hour, prefs.weekly_day) == ("weekly", 18, 4)
    assert (prefs.quiet_start, prefs.quiet_end, prefs.quiet_weekends) == (22, 7, False)
    assert "22:00 to 07:00." in html(menu(engine, member_id).screen)
    assert menu(engine, member_id, Intent.QUIET_HOURS, "0-0").changed
    assert "No quiet hours: instant alerts arrive at any time." in \
        html(menu(engine, member_id).screen)
    closed = menu(engine, member_id, Intent.DONE)
    assert closed.closed and telegram.render(closed.screen).keyboard is None


def test_quiet_hours_chosen_in_the_menu_are_those_the_policy_applies(engine):
    member_id = make_member(engine, 506)
    saturday_noon = datetime(2027, 1, 9, 11, 0, tzinfo=UTC)
    late_evening = datetime(2027, 1, 6, 20, 30, tzinfo=UTC)  # Wednesday 21:30 in Paris
    assert is_quiet(Schedule.of(prefs_of(engine, member_id)), saturday_noon, TZ)
    assert is_quiet(Schedule.of(prefs_of(engine, member_id)), late_evening, TZ)
    menu(engine, member_id, Intent.WEEKENDS)
    menu(engine, member_id, Intent.QUIET_HOURS, "22-7")
    schedule = Schedule.of(prefs_of(engine, member_id))
    assert not is_quiet(schedule, saturday_noon, TZ)
    assert not is_quiet(schedule, late_evening, TZ)


@pytest.mark.parametrize("args, days", [([], 7), (["14"], 14), (["1"], 1), (["90"], 90),
                                        (["10j"], 10)])
def test_parse_pause_days(args, days):
    assert parse_pause_days(args) == days


@pytest.mark.parametrize("args", [["0"], ["91"], ["-3"], ["deux"], ["1", "2"], ["1.5"]])
def test_parse_pause_days_refuses(args):
    with pytest.raises(ValueError):
        parse_pause_days(args)


def test_pause_resume_and_stop(engine):
    member_id = make_member(engine, 507)
    refused = menu(engine, member_id, Intent.PAUSE, "abc")
    assert refused.refused and "between 1 and 90" in refused.note and "/pause 14" in refused.note
    assert prefs_of(engine, member_id).paused_until is None
    paused = menu(engine, member_id, Intent.PAUSE, "10")
    assert "January 14, 2027" in paused.note
    prefs = prefs_of(engine, member_id)
    assert Schedule.of(prefs).paused_until == NOW + timedelta(days=10)
    assert "Paused until January 14, 2027" in html(menu(engine, member_id).screen)
    assert "resumed" in menu(engine, member_id, Intent.RESUME).note
    assert prefs_of(engine, member_id).paused_until is None
    assert "not paused" in menu(engine, member_id, Intent.RESUME).note
    stopped = menu(engine, member_id, Intent.STOP)
    assert "no more tenders" in stopped.note and "/reprendre" in stopped.note
    assert "Stopped until you resume them" in html(menu(engine, member_id).screen)
    assert "resumed" in menu(engine, member_id, Intent.RESUME).note


def test_pause_and_resume_move_what_is_waiting(engine):
    member_id = make_member(engine, 510)
    tender_id = make_tender(engine)
    with session_scope(engine) as session:
        session.add(Delivery(member_id=member_id, kind=DeliveryKind.ALERT, tender_id=tender_id,
                             idempotency_key="alert:test", next_attempt_at=NOW))

    def due() -> datetime:
        with Session(engine) as session:
            return session.execute(select(Delivery.next_attempt_at)).scalar_one()

    menu(engine, member_id, Intent.PAUSE, "3")
    # Thursday 10:00 in Paris: the end of the pause, not a quiet moment.
    assert due() == NOW + timedelta(days=3)
    ask(engine, member_id, Intent.RESUME, now=NOW + timedelta(hours=1))
    assert due() == NOW + timedelta(hours=1)


def test_requests_without_a_profile(engine):
    for intent in (Intent.PAUSE, Intent.RESUME, Intent.MENU, Intent.STOP):
        reply = ask(engine, None, intent, arg="7", lang="en")
        assert reply.refused and "/start" in reply.note and reply.screen is None


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
