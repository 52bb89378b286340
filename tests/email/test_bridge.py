"""The email bridge end to end: the runner sends through a real aiosmtpd sink, replies come back
through the LMTP server with aiosmtplib, and are carried out by alerts.actions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts.outbox import enqueue_for_match
from alerts.runner import DeliveryRunner, WorkerConfig
from channels.email.channel import EmailChannel
from channels.email.inbound import Bridge
from channels.email.lmtp import LmtpServer
from store.alert_models import Interest
from store.mail_models import InboundMail
from tests.email.conftest import NOW, lmtp_send
from tests.workers.factory import ALWAYS, make_match, make_member, make_tender

TZ = ZoneInfo("Europe/Paris")


def queue_alert(engine, email="marie@asso.test", rhythm="instant", count=1, language="fr"):
    with Session(engine) as session:
        structure, member = make_member(session, chat_id=None, email=email, language=language,
                                        rhythm=rhythm, channel="email", **ALWAYS)
        tenders = []
        for _ in range(count):
            tender = make_tender(session, now=NOW - timedelta(hours=1))
            match = make_match(session, tender, structure, now=NOW)
            enqueue_for_match(session, match, tender, NOW, TZ)
            tenders.append(tender.id)
        session.commit()
        return member.id, tenders


async def deliver(engine, config):
    channel = EmailChannel(config, engine)
    runner = DeliveryRunner(engine, channel, tz=TZ, config=WorkerConfig(poll_s=0.05),
                            now=lambda: NOW)
    try:
        stats = await runner.run(once=True)
    finally:
        runner.close()
        await channel.aclose()
    return stats


def test_alert_by_email_and_interested_by_reply(engine, sink, config):
    member_id, (tender_id,) = queue_alert(engine)

    async def scenario():
        await deliver(engine, config)
        assert len(sink.messages) == 1
        alert = sink.messages[0]
        reply_to = alert["Reply-To"].addresses[0].addr_spec
        channel = EmailChannel(config, engine)
        bridge = Bridge(engine, config, channel, tz=TZ, now=lambda: NOW)
        server = LmtpServer(bridge, "127.0.0.1", 0)
        await server.start()
        try:
            reply = (b"From: marie@asso.test\r\nTo: " + reply_to.encode() +
                     b"\r\nSubject: Re: x\r\nMessage-ID: <r1@asso.test>\r\n\r\n"
                     b"Interesse !\r\n\r\nLe mar. 24 nov. 2026, Centrale a ecrit :\r\n> ...\r\n")
            answers = await lmtp_send("127.0.0.1", server.port, "marie@asso.test", [reply_to],
                                      reply)
            await server.drain()
        finally:
            await server.stop()
            await channel.aclose()
        return alert, answers

    alert, answers = asyncio.run(scenario())
    assert answers == [(250, "2.0.0 Stored")]
    print(alert.get_body(("plain",)).get_content())
    with Session(engine) as session:
        signals = session.execute(select(Interest.signal).where(
            Interest.member_id == member_id)).scalars().all()
        assert signals == ["interested"]
        assert session.execute(select(InboundMail.status)).scalar() == "processed"
    assert len(sink.messages) == 2
    print(sink.messages[1].get_body(("plain",)).get_content())
