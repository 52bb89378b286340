"""A groupement by email: its news arrive in the groupement's email thread with the member's
actions as numbered choices; the lead replies "1" and the status changes; anything else is a
message to the others."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in
from alerts import actions, relay
from alerts.message import Intent, Request
from channels.email import commands as C
from consortia.groupements import groupement_message
from store.alert_models import Delivery
from store.consortia_models import Groupement, GroupementMember
from store.db import session_scope
from store.models import Member
from tests.consortia_world import make_world, propose_to_etti
from tests.email.conftest import Harness, reply_address, text_of

PARIS = ZoneInfo("Europe/Paris")
AT = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)
LEAD = "lead@jardins.test"


def handle(engine, member_id, intent, target=None, arg=None):
    with session_scope(engine) as session:
        reply = actions.handle(session, member_id, Request(intent, target, arg), AT, PARIS)
    assert not reply.refused, reply.note
    return reply


async def test_the_lead_changes_the_status_by_replying_a_number(engine, sink, config):
    world = make_world(engine, emails={"requester": LEAD})
    handle(engine, world["etti"], Intent.PROPOSAL_ACCEPT, propose_to_etti(engine, world, handle))
    with Session(engine) as session:  # only the email side is under test here
        session.execute(Delivery.__table__.update().where(Delivery.channel == "telegram")
                        .values(status="sent"))
        session.commit()
    async with Harness(engine, config, sink, now=lambda: AT) as bridge:
        await bridge.deliver()
        news = sink.to(LEAD)[-1]
        text = text_of(news)
        assert "Intérim Solidaire 43 a accepté et rejoint" in text
        assert "1" in text and "Équipe complète" in text and "Quitter" in text
        await bridge.send(reply_address(news), "1", sender=LEAD)
        with Session(engine) as session:
            assert session.execute(select(Groupement.status)).scalar_one() == "formed"
        await bridge.send(reply_address(news), "9", sender=LEAD)
        assert "pas de choix 9" in text_of(sink.to(LEAD)[-1])
        await bridge.send(reply_address(news), "Rendez-vous lundi à 9 h.", sender=LEAD)
    with Session(engine) as session:
        posts = session.execute(select(Delivery).where(
            Delivery.kind == relay.THREAD_POST, Delivery.member_id == world["etti"])).all()
    assert len(posts) == 1


async def test_contact_details_shared_field_by_field_by_email(engine, sink, config):
    world = make_world(engine, emails={"requester": LEAD})
    handle(engine, world["etti"], Intent.PROPOSAL_ACCEPT, propose_to_etti(engine, world, handle))
    with Session(engine) as session:
        session.execute(Delivery.__table__.update().where(Delivery.channel == "telegram")
                        .values(status="sent"))
        session.commit()
        groupement = session.execute(select(Groupement.id)).scalar_one()

    def shared() -> dict:
        with Session(engine) as session:
            row = session.execute(select(GroupementMember).where(
                GroupementMember.member_id == world["requester"])).scalar_one()
            return dict(row.shared or {})

    async with Harness(engine, config, sink, now=lambda: AT) as bridge:
        await bridge.deliver()
        news = sink.to(LEAD)[-1]
        assert "PARTAGER" in text_of(news)  # a command of its own, not a number
        address = reply_address(news)
        await bridge.send(address, "Partager", sender=LEAD)
        screen = text_of(sink.to(LEAD)[-1])
        assert "PARTAGER EMAIL" in screen and LEAD in screen and shared() == {}
        assert "Pas encore connu : Nom, Téléphone" in screen and "/telephone" not in screen
        await bridge.send(address, "partager e-mail", sender=LEAD)
        assert shared() == {"email": LEAD}
        assert "Partagé avec le groupement" in text_of(sink.to(LEAD)[-1])
        # The other member reads it in the groupement, as a Telegram button would have shared it.
        with session_scope(engine) as session:
            other = session.get(Member, world["etti"])
            shown = groupement_message(session, session.get(Groupement, groupement), other, "fr")
        assert LEAD in " ".join(span.text for block in shown.blocks for line in block
                                for span in line.spans)
        await bridge.send(address, "PARTAGER EMAIL", sender=LEAD)
        assert shared() == {}  # a second time stops sharing it
        # A sentence that starts with the word is a message to the others, not a command.
        await bridge.send(address, "Partager le lot 2 avec vous ?", sender=LEAD)
        assert shared() == {}
    with Session(engine) as session:
        posts = session.execute(select(Delivery.payload).where(
            Delivery.kind == relay.THREAD_POST, Delivery.member_id == world["etti"])).all()
    assert len(posts) == 1


def test_share_words():
    assert C.parse("Partager Téléphone") == C.Command(C.SHARE, None, "Téléphone")
    assert [C.field(w) for w in ("Téléphone", "e-mail", "NOM", "telegram", "lot 2")] == [
        "phone", "email", "name", "telegram", None]
