"""Threads (alerts.relay): a post reaches the thread's other participants through the outbox,
on each one's channels; an outsider's post does nothing; a reply to a relayed message finds its
thread again; an erased author reads "a former member"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from alerts import relay
from alerts.compose import build_message
from channels.email import thread_replies  # noqa: F401 - thread posts by email
from channels.email.threads import thread_for
from store.alert_models import Delivery
from store.consortia_models import ThreadKind, ThreadPost
from store.db import session_scope
from store.members import delete_member
from store.models import AlertPreference, Member, Structure

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
PARIS = __import__("zoneinfo").ZoneInfo("Europe/Paris")


@pytest.fixture
def trio(engine):
    ids = []
    with session_scope(engine) as session:
        for n, (name, email, channel) in enumerate((
                ("Jardins <& Cie>", None, "telegram"), ("Bâtir Ensemble", "b@example.org",
                                                        "email"), ("Autre", None, "telegram"))):
            structure = Structure(name=name)
            session.add(structure)
            session.flush()
            member = Member(structure_id=structure.id, telegram_user_id=500 + n,
                            telegram_chat_id=500 + n if channel == "telegram" else None,
                            email=email, language="fr")
            session.add(member)
            session.flush()
            session.add(AlertPreference(member_id=member.id, channel=channel))
            ids.append(member.id)
    participants = tuple(ids[:2])
    relay.register_thread(ThreadKind.GROUPEMENT, lambda session, thread_id, lang: (
        relay.ThreadInfo("Groupement test", participants) if thread_id == 7 else None))
    yield ids
    relay._RESOLVERS.pop(ThreadKind.GROUPEMENT, None)


def test_a_post_reaches_the_others_on_their_channels(engine, trio):
    first, second, outsider = trio
    with session_scope(engine) as session:
        assert relay.post(session, ThreadKind.GROUPEMENT, 7, first, "Bonjour à tous", NOW)
        assert relay.post(session, ThreadKind.GROUPEMENT, 7, outsider, "Je m'invite", NOW) is None
        assert relay.post(session, ThreadKind.GROUPEMENT, 8, first, "Ailleurs", NOW) is None
        assert relay.post(session, ThreadKind.GROUPEMENT, 7, first, "   ", NOW) is None
        rows = session.execute(select(Delivery)).scalars().all()
        assert [(d.member_id, d.channel, d.kind) for d in rows] == [
            (second, "email", relay.THREAD_POST)]
        assert thread_for(rows).kind == "c" and thread_for(rows).id == 7
        message = build_message(session, rows[0], session.get(Member, second), NOW, PARIS)
        assert "Jardins <& Cie>" in message.text() and "Bonjour à tous" in message.text()
        assert "b@example.org" not in message.text()


def test_a_reply_to_a_relayed_message_finds_its_thread(engine, trio):
    first, second, _outsider = trio
    with session_scope(engine) as session:
        relay.post(session, ThreadKind.GROUPEMENT, 7, second, "Salut", NOW)
        delivery = session.execute(select(Delivery)).scalars().one()
        delivery.channel_message_id = "42"
        session.flush()
        assert relay.thread_of_reply(session, first, "telegram", "42") == (
            ThreadKind.GROUPEMENT, 7)
        assert relay.thread_of_reply(session, second, "telegram", "42") is None  # not theirs
        assert relay.thread_of_reply(session, first, "telegram", "43") is None


def test_an_erased_author_is_a_former_member(engine, trio):
    first, second, _outsider = trio
    with session_scope(engine) as session:
        row = relay.post(session, ThreadKind.GROUPEMENT, 7, first, "Au revoir", NOW)
        delete_member(session, session.get(Member, first))
        session.flush()
        session.expire_all()
        row = session.get(ThreadPost, row.id)
        assert row.author_id is None
        text = relay.post_message(session, row, "fr").text()
        assert "un ancien membre" in text
