"""Buttons with no reply command of their own (an event's *Je m'inscris*) are numbered choices
by email: a reply "1" does what the Telegram button does, through the same flow."""

from __future__ import annotations

import email
from datetime import timedelta
from email import policy

from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in, as in the LMTP server
from announcements.audience import Filters
from announcements.sending import Draft, create
from channels.email import commands as C
from store.announcement_models import EventRegistration
from tests.email.conftest import NOW, Harness, reply_address, text_of
from tests.workers.factory import ALWAYS, make_member

MARIE = "marie@asso.test"


def _registrations(engine):
    with Session(engine) as session:
        return [(r.member_id, r.status) for r in session.execute(select(EventRegistration))
                .scalars()]


def test_a_bare_number_or_choix_is_a_choice():
    assert C.parse("2") == C.Command(C.CHOICE, 2)
    assert C.parse(" 1. ") == C.Command(C.CHOICE, 1)
    assert C.parse("Choix 3") == C.Command(C.CHOICE, 3, "")
    assert C.parse("2 places svp") is None  # a sentence is not a choice
    assert C.parse("123") is None  # nor a long number


async def test_an_email_member_registers_for_an_event_by_replying_1(engine, sink, config):
    with Session(engine) as session:
        _structure, member = make_member(session, chat_id=None, email=MARIE, language="fr",
                                          channel="email", **ALWAYS)
        member_id = member.id
        create(session, None, Draft("Atelier *marchés publics*", Filters(),
                                    event_at=NOW + timedelta(days=10), event_place="Brioude",
                                    seats=10), NOW)
        session.commit()
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        invitation = sink.to(MARIE)[0]
        body = text_of(invitation)
        assert "Atelier" in body and "  1 — " in body and "  2 — " in body
        address = reply_address(invitation)
        await bridge.send(address, "CHOIX 7")
        assert _registrations(engine) == []
        assert "de 1 à 2" in text_of(sink.to(MARIE)[-1])
        await bridge.send(address, "1\n\nLe 5 déc. 2026, Centrale a écrit :\n> Atelier")
    assert _registrations(engine) == [(member_id, "registered")]
    answer = email.message_from_bytes(sink.envelopes[-1].content, policy=policy.default)
    files = [part.get_filename() for part in answer.iter_attachments()]
    assert any(name.endswith(".ics") for name in files)  # the invitation, attached
