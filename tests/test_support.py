"""Support requests (support/requests.py) through `alerts.actions.handle`, as every channel
reaches them: a request reaches every advisor with *Je prends*; two advisors race and one wins;
the thread goes both ways; only an advisor lists or takes; nobody else closes; forged targets
change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import bot.flows  # noqa: F401 - every flow plugged in
from alerts import actions, relay
from alerts.compose import build_message
from alerts.message import Intent, Request
from store.alert_models import Delivery
from store.consortia_models import SupportRequest, ThreadKind
from store.db import session_scope
from store.members import delete_member
from store.models import AlertPreference, Member, Role, Structure
from store.tender_models import TenderRow, TenderStatus
from support.requests import SUPPORT_NEWS, SUPPORT_REQUEST

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def people(engine):
    """A member (Jardins), another member, two advisors."""
    ids = {}
    with session_scope(engine) as session:
        for key, name, role in (("member", "Jardins <& Cie>", Role.MEMBER),
                                ("other", "Autre", Role.MEMBER),
                                ("anne", None, Role.ADVISOR), ("bruno", None, Role.ADVISOR)):
            structure = Structure(name=name) if name else None
            if structure:
                session.add(structure)
                session.flush()
            n = len(ids)
            member = Member(structure_id=structure.id if structure else None,
                            telegram_user_id=700 + n, telegram_chat_id=700 + n, language="fr",
                            role=role, email=f"{key}@example.org" if role == Role.ADVISOR
                            else None)
            session.add(member)
            session.flush()
            session.add(AlertPreference(member_id=member.id, channel="telegram"))
            ids[key] = member.id
    return ids


def ask(engine, member_id, intent, target=None, arg=None, now=NOW):
    with session_scope(engine) as session:
        return actions.handle(session, member_id, Request(intent, target, arg), now, PARIS)


def deliveries(engine, kind):
    with session_scope(engine) as session:
        return [(d.member_id, (d.payload or {}).get("event")) for d in session.execute(
            select(Delivery).where(Delivery.kind == kind).order_by(Delivery.id)).scalars()]


def the_request(engine) -> SupportRequest:
    with session_scope(engine) as session:
        row = session.execute(select(SupportRequest)).scalar_one()
        session.expunge(row)
        return row


def test_a_request_reaches_every_advisor_and_the_first_to_take_it_holds_it(engine, people):
    reply = ask(engine, people["member"], Intent.SUPPORT_ASK, arg="Comment répondre à un lot ?")
    assert reply.changed and "conseillers" in reply.note
    assert deliveries(engine, SUPPORT_REQUEST) == [(people["anne"], None),
                                                   (people["bruno"], None)]
    request_id = the_request(engine).id
    with session_scope(engine) as session:  # what an advisor reads: the text and Je prends
        delivery = session.execute(select(Delivery).where(
            Delivery.kind == SUPPORT_REQUEST)).scalars().first()
        message = build_message(session, delivery, session.get(Member, people["anne"]), NOW,
                                PARIS)
        assert "Jardins <& Cie>" in message.text() and "Comment répondre" in message.text()
        assert [a.intent for row in message.actions for a in row] == [
            Intent.SUPPORT_TAKE, Intent.SUPPORT_CLOSE]

    first = ask(engine, people["anne"], Intent.SUPPORT_TAKE, request_id)
    second = ask(engine, people["bruno"], Intent.SUPPORT_TAKE, request_id)
    assert first.changed and not first.refused
    assert second.refused and "anne" in second.note  # who took it
    row = the_request(engine)
    assert (row.status, row.advisor_id) == ("assigned", people["anne"])
    # The member and the other advisor are told.
    assert deliveries(engine, SUPPORT_NEWS) == [(people["member"], "taken"),
                                                (people["bruno"], "taken")]


def test_the_thread_goes_both_ways_then_closes(engine, people):
    ask(engine, people["member"], Intent.SUPPORT_ASK, arg="Aide")
    request_id = the_request(engine).id
    with session_scope(engine) as session:  # before anyone takes it, there is no thread
        assert relay.post(session, ThreadKind.SUPPORT, request_id, people["member"], "?",
                          NOW) is None
    ask(engine, people["anne"], Intent.SUPPORT_TAKE, request_id)
    with session_scope(engine) as session:
        assert relay.post(session, ThreadKind.SUPPORT, request_id, people["anne"],
                          "Bonjour, je regarde.", NOW)
        assert relay.post(session, ThreadKind.SUPPORT, request_id, people["member"], "Merci",
                          NOW + timedelta(hours=1))
        assert relay.post(session, ThreadKind.SUPPORT, request_id, people["anne"], "Voici",
                          NOW + timedelta(hours=1))
        assert relay.post(session, ThreadKind.SUPPORT, request_id, people["bruno"], "Moi ?",
                          NOW) is None
    assert deliveries(engine, relay.THREAD_POST) == [(people["member"], None),
                                                     (people["anne"], None),
                                                     (people["member"], None)]
    assert the_request(engine).first_answer_at == NOW  # the advisor's first message
    assert ask(engine, people["other"], Intent.SUPPORT_CLOSE, request_id).refused
    closed = ask(engine, people["member"], Intent.SUPPORT_CLOSE, request_id,
                 now=NOW + timedelta(hours=2))
    assert closed.changed
    row = the_request(engine)
    assert (row.status, row.closed_by) == ("closed", people["member"])
    assert deliveries(engine, SUPPORT_NEWS)[-1] == (people["anne"], "closed")
    with session_scope(engine) as session:  # closed: the thread is over
        assert relay.post(session, ThreadKind.SUPPORT, request_id, people["anne"], "Encore",
                          NOW) is None


def test_advisor_only_and_forged_targets(engine, people):
    assert ask(engine, people["member"], Intent.SUPPORT_LIST).refused
    ask(engine, people["member"], Intent.SUPPORT_ASK, arg="Aide")
    request_id = the_request(engine).id
    for forged in (Request(Intent.SUPPORT_TAKE, request_id),
                   Request(Intent.SUPPORT_TAKE, 999_999)):
        assert ask(engine, people["other"], forged.intent, forged.target).refused
    assert ask(engine, people["anne"], Intent.SUPPORT_TAKE, 999_999).refused
    assert ask(engine, people["other"], Intent.SUPPORT_CLOSE, request_id).refused
    assert the_request(engine).status == "open"
    listing = ask(engine, people["anne"], Intent.SUPPORT_LIST)
    assert len(listing.messages) == 1 and "Aide" in listing.messages[0].text()
    empty = ask(engine, people["member"], Intent.SUPPORT_ASK, arg="   ")
    assert not empty.changed and "/accompagnement" in empty.note


def test_help_on_an_alert_opens_a_request_and_an_erased_member_is_a_former_member(engine,
                                                                                 people):
    with session_scope(engine) as session:
        tender = TenderRow(source="boamp", source_id="t1", title="Espaces verts", content_hash="h",
                           status=TenderStatus.OPEN, deadline=NOW + timedelta(days=20))
        session.add(tender)
        session.flush()
        tender_id = tender.id
        from store.tender_models import MatchRow

        session.add(MatchRow(tender_id=tender_id, structure_id=session.get(
            Member, people["member"]).structure_id, score=1.0))
    assert ask(engine, people["member"], Intent.HELP, tender_id).changed
    row = the_request(engine)
    assert row.tender_id == tender_id
    with session_scope(engine) as session:
        delete_member(session, session.get(Member, people["member"]))
    listing = ask(engine, people["anne"], Intent.SUPPORT_LIST)
    text = listing.messages[0].text()
    assert "ancien membre" in text and "Espaces verts" in text
