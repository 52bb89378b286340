"""Threads across channels, end to end: the real bot on the fake Bot API on one side, the email
bridge (aiosmtpd sink out, LMTP in) on the other. A groupement whose lead is on Telegram and whose
partner is by email — the proposal accepted by email, messages both ways; and a support request
of an email member taken by an advisor on Telegram, whose answer arrives by email in the
request's thread (and the member's reply comes back to the advisor on Telegram)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in
from alerts import actions
from alerts.message import Intent, Request
from channels.email import keys
from channels.email.keys import Purpose, Thread
from store.consortia_models import SupportRequest
from store.db import session_scope
from tests.consortia_world import make_world, propose_to_etti
from tests.e2e.test_alerts import PARIS, deliver
from tests.email.conftest import (
    SECRET,
    Harness,
    mail_config,
    reply_address,
    running_sink,
    text_of,
)

WORKER_AT = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)  # a Wednesday, before the deadline
ETTI = "contact@interim43.test"


@pytest.fixture
def sink():
    with running_sink() as holder:
        yield holder


@pytest.fixture
def config(sink):
    return mail_config(sink)


@pytest_asyncio.fixture(loop_scope="session")
async def centrale(centrale_bot, engine):
    return centrale_bot


def handle(engine, member_id, intent, target=None, arg=None):
    with session_scope(engine) as session:
        reply = actions.handle(session, member_id, Request(intent, target, arg),
                               datetime.now(UTC), PARIS)
    assert not reply.refused, reply.note
    return reply


def thread_of(mail) -> Thread:
    status, key = keys.read_key(SECRET, Purpose.REPLY, reply_address(mail).split("+")[1]
                                .split("@")[0], WORKER_AT.date())
    assert status == keys.KeyStatus.VALID
    return key.thread


async def test_a_groupement_with_one_member_on_telegram_and_one_by_email(centrale, fake_server,
                                                                        engine, sink, config):
    requester = centrale.user(language_code="fr")
    world = make_world(engine, emails={"etti": ETTI},
                       telegram={"requester": requester.user_id})
    propose_to_etti(engine, world, handle)

    async with Harness(engine, config, sink, now=lambda: WORKER_AT) as bridge:
        await bridge.deliver()
        [proposal] = sink.to(ETTI)
        assert "Jardins du Puy <&> Cie" in text_of(proposal) and "ACCEPTER" in text_of(proposal)
        assert thread_of(proposal).kind == "p"
        await bridge.send(reply_address(proposal), "Accepter\r\n\r\nLe jeu. 11 mars, Centrale "
                          "a écrit :\r\n> Proposition", sender=ETTI)
        assert "groupement" in text_of(sink.to(ETTI)[-1]).lower()

        await deliver(centrale, fake_server, engine, WORKER_AT)  # Telegram: the news
        joined = (await requester.wait(count=1)).last
        assert "Intérim Solidaire 43 a accepté et rejoint" in joined.text
        replies = await requester.send("Bonjour ! Visite du site jeudi ?", reply_to=joined)
        assert "Envoyé aux autres" in replies.text

        await bridge.deliver()  # email: the post, in the groupement's thread
        post = sink.to(ETTI)[-1]
        assert "Visite du site jeudi ?" in text_of(post)
        assert "Jardins du Puy <&> Cie" in text_of(post)
        assert thread_of(post).kind == "c"
        await bridge.send(reply_address(post), "Oui, 14 h devant la mairie.\r\n\r\n"
                          "De : Centrale\r\nEnvoyé : mercredi\r\nObjet : Groupement", sender=ETTI)
    await deliver(centrale, fake_server, engine, WORKER_AT)
    answer = (await requester.wait(count=1)).last
    assert "Oui, 14 h devant la mairie." in answer.text and "Envoyé :" not in answer.text
    assert "Intérim Solidaire 43" in answer.text and ETTI not in answer.text


async def test_an_advisors_telegram_answer_arrives_by_email_in_the_thread(centrale, fake_server,
                                                                         engine, sink, config):
    advisor = centrale.user(language_code="fr", first_name="Anne")
    world = make_world(engine, emails={"etti": ETTI}, telegram={"anne": advisor.user_id})
    handle(engine, world["etti"], Intent.SUPPORT_ASK, arg="Comment remplir le DUME ?")
    await deliver(centrale, fake_server, engine, WORKER_AT)
    request = next(m for m in (await advisor.wait(count=1)) if "Je prends" in m.labels())
    await advisor.tap("Je prends", message=request)
    with Session(engine) as session:
        row = session.execute(select(SupportRequest)).scalar_one()
        assert row.advisor_id == world["anne"]

    async with Harness(engine, config, sink, now=lambda: WORKER_AT) as bridge:
        await bridge.deliver()
        taken = sink.to(ETTI)[-1]
        assert thread_of(taken) == Thread("s", row.id)
        replies = await advisor.send("Bonjour, je vous appelle demain à 10 h.", reply_to=request)
        assert "Envoyé aux autres" in replies.text
        await bridge.deliver()
        answer = sink.to(ETTI)[-1]
        assert "je vous appelle demain à 10 h" in text_of(answer)
        assert thread_of(answer) == Thread("s", row.id)
        assert answer["In-Reply-To"] == taken["In-Reply-To"]  # the same email thread
        await bridge.send(reply_address(answer), "Merci, à demain !", sender=ETTI)
    await deliver(centrale, fake_server, engine, WORKER_AT)
    back = (await advisor.wait(count=1)).last
    assert "Merci, à demain !" in back.text
    with Session(engine) as session:
        assert session.get(SupportRequest, row.id).first_answer_at is not None
