"""Every screen of the alerts side, shown to a French member: alerts with lots and reasons, daily
and weekly digests, updates of each field, cancellations, reminders, the /alertes screens, the
answers to each button and the advisors' notifications — no message id left untranslated, no
English word outside the data (tests/screens.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alerts import actions
from alerts import render as neutral
from alerts.advisors import advisors_only_text, help_request_message
from alerts.message import Intent, Request
from alerts.preferences import SCREENS, pause_error
from channels import telegram
from conversations.profile_fields import save_diagnostic
from store.db import session_scope
from store.models import Member, Structure
from tests.test_alert_actions import ANSWERS, make_tender
from tests.test_alert_render import NOW, REASONS, TZ, lot, tender

CHANGES = [
    {"field": "deadline", "old": "2027-01-15T11:00:00+00:00", "new": "2027-01-22T11:00:00+00:00"},
    {"field": "estimated_value", "old": 100000, "new": 150000},
    {"field": "title", "old": "Nettoyage", "new": "Nettoyage des locaux"},
    {"field": "buyer", "old": "CCAS", "new": "CCAS de Nice"},
    {"field": "lots", "old": [{"number": "1", "title": "Bureaux"}], "new": []},
    {"field": "departements", "old": ["06"], "new": ["06", "83", "13", "84", "04", "05"]},
    {"field": "reserved", "old": "none", "new": "siae"},
    {"field": "social_clause", "old": False, "new": True},
    {"field": "url", "old": None, "new": "https://www.boamp.fr/x"},
    {"field": "description", "old": "a", "new": "b"},
]


def both(message):
    """The neutral message and what Telegram shows of it."""
    return message, telegram.render(message)


def test_alerts_digests_updates_cancellations_reminders(french):
    lots = [lot(str(i), f"Secteur {i}", 1000.0 * i) for i in range(1, 15)]
    for choice in (None, neutral.AlertChoice(interested=True, partners=True, help=True),
                   neutral.AlertChoice(picking_reason=True),
                   neutral.AlertChoice(not_for_us=True, reason="far")):
        french.check(*both(neutral.render_alert(tender(), lots, REASONS, 80, "fr", NOW, TZ,
                                                choice)))
    soon = tender(deadline=NOW + timedelta(hours=30), departements=["06", "83", "13", "84", "04"])
    french.check(*both(neutral.render_alert(soon, [], REASONS, 80, "fr", NOW, TZ)))
    items = [(tender(id=100 + i, title=f"Marché {i}"), [], REASONS, i) for i in range(60)]
    for rhythm in ("daily", "weekly"):
        french.check(*both(neutral.render_digest(items, "fr", NOW, TZ, rhythm)))
        french.check(*both(neutral.render_digest(items[:1], "fr", NOW, TZ, rhythm)))
    french.check(*both(neutral.render_update(tender(), CHANGES, "fr", NOW, TZ)))
    french.check(*both(neutral.render_update(tender(), [], "fr", NOW, TZ)))
    french.check(*both(neutral.render_cancellation(tender(), "fr")))
    for days in (7, 2, 1, 0):
        french.check(*both(neutral.render_reminder(
            tender(deadline=NOW + timedelta(days=days, hours=1)), days, "fr", NOW, TZ)))
    text = french.plain(telegram.render(neutral.render_alert(tender(), lots, REASONS, 80, "fr",
                                                             NOW, TZ)).html)
    assert "Pourquoi ce marché" in text and "Lots (14) :" in text


def test_preferences_screens_and_every_answer(engine, french):
    with session_scope(engine) as session:
        _structure, member = save_diagnostic(
            session, telegram_user_id=601, chat_id=601, language="fr",
            answers={**ANSWERS, "rhythm": "weekly"})
        member_id = member.id
    tender_id = make_tender(engine, matched=[member_id])

    def ask(intent, target=None, arg=None):
        with session_scope(engine) as session:
            reply = actions.handle(session, member_id, Request(intent, target, arg), NOW, TZ)
        french.check(reply, *(telegram.render(m) for m in (reply.screen, *reply.messages)
                              if m is not None))
        return reply

    for which in SCREENS:
        ask(Intent.MENU, arg=which)
    for intent, arg in ((Intent.RHYTHM, "daily"), (Intent.DIGEST_HOUR, "9"),
                        (Intent.WEEKLY_DAY, "3"), (Intent.QUIET_HOURS, "22-7"),
                        (Intent.WEEKENDS, None), (Intent.QUIET_HOURS, "0-0"),
                        (Intent.WEEKENDS, None), (Intent.PAUSE, "5"), (Intent.MENU, "main"),
                        (Intent.RESUME, None), (Intent.RESUME, None), (Intent.STOP, None),
                        (Intent.MENU, "main"), (Intent.RESUME, None), (Intent.PAUSE, "x"),
                        (Intent.DONE, None)):
        ask(intent, arg=arg)
    for intent, arg in ((Intent.INTERESTED, None), (Intent.NOT_FOR_US, None),
                        (Intent.NOT_FOR_US, "big"), (Intent.UNDO, None), (Intent.PARTNERS, None),
                        (Intent.PARTNERS, None), (Intent.HELP, None), (Intent.OPEN, None),
                        (Intent.NOT_FOR_US, "??")):
        ask(intent, tender_id, arg)
    ask(Intent.INTERESTED, 987_654)  # unknown
    closed = make_tender(engine, matched=[member_id], deadline=NOW - timedelta(days=1))
    ask(Intent.INTERESTED, closed)
    with session_scope(engine) as session:
        french.check(actions.handle(session, None, Request(Intent.MENU), NOW, TZ, "fr"))
    french.check(pause_error("fr"), advisors_only_text("fr"))


@pytest.mark.parametrize("who", ["structure", "member", "gone"])
def test_advisors_notification(engine, french, who):
    tender_id = make_tender(engine)
    with session_scope(engine) as session:
        structure = Structure(name="Régie Nord")
        session.add(structure)
        session.flush()
        requester = Member(structure_id=structure.id if who == "structure" else None)
        session.add(requester)
        session.flush()
        tender_row = session.get(type(tender()), tender_id)
        message = help_request_message(session, None if who == "gone" else requester,
                                       tender_row if who != "gone" else None, "fr")
    french.check(*both(message))
