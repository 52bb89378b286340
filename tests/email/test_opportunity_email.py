"""An advisor's opportunity reaches an email member like any tender: the alert by email, the
contact in the answer to INTERESSE, then the update and the cancellation in the same thread."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in, as in the LMTP server
from announcements import opportunities
from announcements.opportunities import Posting
from store.tender_models import TenderRow
from tests.email.conftest import NOW, Harness, reply_address, text_of
from tests.workers.factory import ALWAYS, make_member

MARIE = "marie@asso.test"
TZ = ZoneInfo("Europe/Paris")
CONTACT = "Mme Roux, 04 77 00 00 00"


def _posting(**changes) -> Posting:
    fields = dict(buyer_kind="private", buyer="Clinique du Parc",
                  title="Nettoyage des locaux de la clinique", departements=("69",),
                  deadline=NOW + timedelta(days=20), contact=CONTACT, cpv_codes=("90910000",))
    return Posting(**{**fields, **changes})


async def test_an_opportunity_alerted_edited_and_cancelled_by_email(engine, sink, config):
    with Session(engine) as session:
        make_member(session, chat_id=None, email=MARIE, language="fr", channel="email",
                    **ALWAYS)
        tender_id = opportunities.post(session, None, _posting(), NOW, TZ).id
        session.commit()
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        [alert] = sink.to(MARIE)
        body = text_of(alert)
        assert "Nettoyage des locaux de la clinique" in body and CONTACT not in body
        await bridge.send(reply_address(alert), "INTERESSE")
        assert CONTACT in text_of(sink.to(MARIE)[-1])  # shown once interest is marked

        with Session(engine) as session:
            tender = session.get(TenderRow, tender_id)
            opportunities.edit(session, tender, _posting(deadline=NOW + timedelta(days=27)),
                               NOW, TZ)
            session.commit()
        await bridge.deliver()
        update = sink.to(MARIE)[-1]
        assert "Nettoyage des locaux de la clinique" in text_of(update)
        assert update["References"] == alert["References"]  # the tender's thread

        with Session(engine) as session:
            assert opportunities.cancel(session, session.get(TenderRow, tender_id), NOW, TZ) == 1
            session.commit()
        await bridge.deliver()
        cancelled = sink.to(MARIE)[-1]
        assert cancelled is not update and "annul" in text_of(cancelled).lower()
        assert cancelled["References"] == alert["References"]
