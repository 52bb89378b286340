"""The advisors' screens in French (tests/screens.py): the composers' questions, the
announcement as members read it, the answers to an event, reminders, the contact of an
opportunity, the refusal, /annonces and the bilan's summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.advisors import advisors_only_text
from alerts.announcement_messages import (
    announcement_message,
    registered_message,
    reminder_message,
)
from announcements.actions import listing
from announcements.audience import Filters
from announcements.sending import Draft, create
from channels.telegram import render
from conversations import announcement as composer
from conversations import opportunity
from conversations.flow import Flow
from handlers.render import question_html, question_keyboard
from store.announcement_models import Announcement
from store.db import session_scope
from tests.screens import french_screens

PARIS = ZoneInfo("Europe/Paris")
EVENT = Announcement(id=3, text="Atelier *marchés publics* : [programme](https://ess.example/p)",
                     event_at=datetime(2027, 3, 15, 13, 30, tzinfo=UTC),
                     event_place="Maison de l'ESS, Saint-Étienne", seats=20,
                     created_at=datetime(2027, 3, 1, tzinfo=UTC),
                     updated_at=datetime(2027, 3, 1, tzinfo=UTC))
ANSWERS = {"text": "Atelier", "event": "yes", "event_date": "2027-03-15", "buyer": "Mairie",
           "title": "Entretien des espaces verts"}
DATA = ("Atelier", "marchés publics", "programme", "Maison de l'ESS, Saint-Étienne",
        "Entretien des espaces verts")


def test_composers_questions_in_french():
    for questions in (composer.QUESTIONS, opportunity.QUESTIONS):
        flow = Flow(questions)
        with french_screens() as fr:
            shown = []
            for question in questions:
                screen = flow.screen(question.key, dict(ANSWERS), "fr")
                shown += [question_html(screen, "fr"), question_keyboard(screen, "fr", "dq")]
        fr.check(shown, allow=DATA)


def test_members_messages_in_french():
    with french_screens() as fr:
        shown = [render(announcement_message(EVENT, "fr", PARIS, registered=19)),
                 render(announcement_message(EVENT, "fr", PARIS, registered=20)),
                 render(registered_message(EVENT, "fr", PARIS)),
                 render(registered_message(EVENT, "fr", PARIS, promoted=True)),
                 render(reminder_message(EVENT, "day", "fr", PARIS)),
                 render(reminder_message(EVENT, "hour", "fr", PARIS)),
                 advisors_only_text("fr")]
    fr.check([(r.html, r.keyboard) if hasattr(r, "html") else r for r in shown], allow=DATA)
    assert "Je m'inscris" in fr.plain(shown[0].keyboard[0][0][0])
    assert "1 place restante sur 20" in fr.plain(shown[0].html)


def test_annonces_in_french(engine):
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        create(session, None, Draft("Réunion des adhérents", Filters(),
                                    send_at=now + timedelta(days=2),
                                    event_at=now + timedelta(days=3), event_place="Lyon",
                                    seats=10), now)
        create(session, None, Draft("Bulletin", Filters()), now)
        with french_screens() as fr:
            shown = render(listing(session, "fr", PARIS, now))
    fr.check((shown.html, shown.keyboard), allow=("Réunion des adhérents", "Bulletin", "Lyon"))
    assert "Envoyées 0" in fr.plain(shown.html)


def test_opportunity_summary_unknown_value_and_no_documents_in_french():
    # An answered "Unknown" / "No documents" is not a skipped question: the summary says so.
    answers = {**ANSWERS, "value": None, "documents": None}
    rows = dict((key, shown) for key, _label, shown in Flow(opportunity.QUESTIONS).summary(
        answers, "fr"))
    assert rows["value"] == "inconnu" and rows["documents"] == "aucun"
    english = dict((k, v) for k, _l, v in Flow(opportunity.QUESTIONS).summary(answers, "en"))
    assert english["value"] == "unknown" and english["documents"] == "none"
