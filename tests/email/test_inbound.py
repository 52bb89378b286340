"""Inbound mail the hard way: odd encodings and sizes, malformed MIME, HTML only, the database
down during LMTP; the diagnostic by email from INSCRIPTION to the first alert; what SMTP
answers mean when sending."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import httpx
import respx
from sqlalchemy import select
from sqlmodel import Session, create_engine

from alerts.channel import Outcome
from alerts.match_job import run_matching
from channels.email.channel import EmailChannel
from conversations.company_lookup import CompanyLookup
from store.alert_models import Delivery
from store.db import all_metadata
from store.mail_models import InboundMail, MailConversation
from store.models import AlertPreference, Member, Structure
from tests.email.conftest import DOMAIN, NOW, Harness, reply_address, text_of
from tests.email.test_bridge import MARIE, TZ, queue, signals, statuses
from tests.workers.factory import make_tender

BOT = "alertes@centrale.test"


async def _alert(engine, sink, config):
    member_id, (tender_id,) = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
    return member_id, tender_id, reply_address(sink.messages[0])


def _raw(to: str, headers: str, body: bytes) -> bytes:
    return (f"From: {MARIE}\r\nTo: {to}\r\nSubject: Re: x\r\nMessage-ID: <{abs(hash(body))}"
            f"@asso.test>\r\n{headers}\r\n\r\n").encode() + body


async def test_non_utf8_reply(engine, sink, config):
    member_id, tender_id, address = await _alert(engine, sink, config)
    raw = _raw(address, "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
               "Content-Transfer-Encoding: 8bit", "Intéressé\r\n\r\nLe 24 nov., Centrale a "
               "écrit :\r\n> é".encode("latin-1"))
    async with Harness(engine, config, sink) as bridge:
        assert await bridge.send(address, "", raw=raw) == [(250, "2.0.0 Stored")]
    assert signals(engine, member_id) == [(tender_id, "interested", None)]


async def test_a_lying_charset_and_8bit_headers(engine, sink, config):
    member_id, tender_id, address = await _alert(engine, sink, config)
    raw = _raw(address, "Content-Type: text/plain; charset=x-nonsense\r\nX-Junk: \xe9t\xe9"
               .encode("latin-1").decode("latin-1"), b"INTERESSE\r\n\xff\xfe")
    async with Harness(engine, config, sink) as bridge:
        await bridge.send(address, "", raw=raw)
    assert signals(engine, member_id) == [(tender_id, "interested", None)]


async def test_a_10_mb_message(engine, sink, config):
    member_id, tender_id, address = await _alert(engine, sink, config)
    attachment = (b"QUJD" * 19) + b"\r\n"
    body = (b"--Z\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPARTENAIRES\r\n--Z\r\n"
            b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf"
            b"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + attachment * (10_500_000 // 78)
            + b"--Z--\r\n")
    raw = _raw(address, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=Z", body)
    assert len(raw) > 10_000_000
    async with Harness(engine, config, sink) as bridge:
        assert await bridge.send(address, "", raw=raw) == [(250, "2.0.0 Stored")]
    assert signals(engine, member_id) == [(tender_id, "partners", None)]


async def test_malformed_mime_changes_nothing_and_is_explained_once(engine, sink, config):
    member_id, _tender_id, address = await _alert(engine, sink, config)
    broken = [
        _raw(address, "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=Q",
             b"no boundary ever\r\n"),
        _raw(address, "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64",
             b"@@@not base64 at all@@@"),
        b"\x00\x01\x02 not a message at all",
        _raw(address, "Content-Type: multipart/alternative", b"--\r\n--\r\n"),
    ]
    async with Harness(engine, config, sink) as bridge:
        for raw in broken:
            assert await bridge.send(address, "", raw=raw) == [(250, "2.0.0 Stored")]
    assert signals(engine, member_id) == []
    assert all(status in ("rejected", "processed", "ignored") for status, _ in
               statuses(engine)), statuses(engine)
    assert len(sink.to(MARIE)) <= 3  # the alert, at most one explanation, one answer


async def test_html_only_reply(engine, sink, config):
    member_id, tender_id, address = await _alert(engine, sink, config)
    html = ("<html><body><div dir='ltr'>Int&eacute;ress&eacute;<br></div><div "
            "class='gmail_quote'><div>Le mar. 24 nov. a écrit :</div><blockquote>INTERESSE "
            "3 NON</blockquote></div></body></html>").encode()
    raw = _raw(address, "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8", html)
    async with Harness(engine, config, sink) as bridge:
        await bridge.send(address, "", raw=raw)
    assert signals(engine, member_id) == [(tender_id, "interested", None)]


async def test_database_down_during_lmtp_then_accepted_and_processed_once(
        engine, sink, config, tmp_path):
    """A SQLite file locked by another process stands for a database that cannot write now:
    the LMTP answer is 451 (the MTA keeps the mail); on the MTA's retry it is stored, processed
    once; the same bytes delivered again are not processed twice."""
    path = tmp_path / "down.db"
    down = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    all_metadata().create_all(down)
    with Session(down) as session:
        session.add(Member(email=MARIE, language="fr"))
        session.commit()
    harness = Harness(down, config, sink)
    locker = sqlite3.connect(path)
    async with harness as bridge:
        address = f"centrale@{DOMAIN}"
        locker.execute("BEGIN EXCLUSIVE")
        assert await bridge.send(address, "INSCRIPTION", sender=MARIE) == [
            (451, "4.3.0 Cannot store the message now, try again later")]
        locker.rollback()
        raw = (f"From: {MARIE}\r\nTo: {address}\r\nSubject: inscription\r\nMessage-ID: "
               f"<same@asso.test>\r\n\r\nINSCRIPTION\r\n").encode()
        assert await bridge.send(address, "", raw=raw) == [(250, "2.0.0 Stored")]
        assert await bridge.send(address, "", raw=raw) == [(250, "2.0.0 Stored")]  # again
    locker.close()
    with Session(down) as session:
        rows = session.execute(select(InboundMail)).scalars().all()
        assert [row.status for row in rows] == ["processed"]
        assert session.execute(select(MailConversation.state)).scalar() == "consent"
    assert len(sink.to(MARIE)) == 1  # the first question, once
    down.dispose()


async def test_processing_waits_when_the_database_goes_away_after_storing(engine, sink,
                                                                          config, tmp_path):
    path = tmp_path / "later.db"
    later = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0.2})
    all_metadata().create_all(later)
    harness = Harness(later, config, sink)
    ids = harness.bridge.store(MARIE, [f"centrale@{DOMAIN}"],
                               b"From: marie@asso.test\r\nSubject: x\r\n\r\nINSCRIPTION\r\n")
    locker = sqlite3.connect(path)
    locker.execute("BEGIN EXCLUSIVE")
    async with harness:
        harness.server.schedule(ids)
        await harness.server.drain()
        locker.rollback()
        await harness.server.sweep_once()
        await harness.server.drain()
    locker.close()
    with Session(later) as session:
        assert session.execute(select(InboundMail.status)).scalars().all() == ["processed"]
    assert len(sink.to(MARIE)) == 1
    later.dispose()


# --- the diagnostic by email ---------------------------------------------------------------------

SIRET = "80032984900023"


def _answer_for(state: str, session: Session) -> str:
    conversation = session.execute(select(MailConversation)).scalar_one()
    answers = conversation.answers
    return {
        "consent": "1", "siret": "800 329 849 00023", "company_ok": "1",
        "family": "1", "ess_principles": "1",
        "activities": "entretien d'espaces verts, nettoyage de locaux",
        "cpv": "1, 2", "area": "Rhône, 42", "headcount": "2", "turnover": "PASSER",
        "capacity": "3", "experience": "1", "readiness": "1, 2, 5", "consortium": "2",
        "rhythm": "1",
    }.get(state, "?") if answers is not None else "?"


async def test_onboarding_by_email_from_inscription_to_the_first_alert(engine, sink, config,
                                                                       shared_data):
    answer = json.loads((shared_data / "recherche_entreprises" /
                         "search_response_q_800329849.json").read_text())
    answer = answer.get("result", answer)
    with respx.mock(assert_all_called=False) as mock:
        mock.get("http://company.test/search").mock(return_value=httpx.Response(200,
                                                                                json=answer))
        async with Harness(engine, config, sink) as bridge:
            bridge.services.company_lookup = CompanyLookup("http://company.test/search")
            await bridge.send(BOT, "Inscription\r\n\r\n--\r\nJean, Théâtre", sender=MARIE)
            first = sink.to(MARIE)[-1]
            assert "Question 1/" in first["Subject"] or "question 1/" in text_of(first)
            assert first["Auto-Submitted"] == "auto-replied"
            seen = []
            for _step in range(30):
                with Session(engine) as session:
                    conversation = session.execute(select(MailConversation)).scalars().first()
                    if conversation is None:
                        break
                    state = conversation.state
                    reply = "CONFIRMER" if state == "SUMMARY" else _answer_for(state, session)
                seen.append(state)
                if state == "area":
                    await bridge.send(BOT, "Rhône, Loir", sender=MARIE)  # a wrong name first
                    assert "Loir" in text_of(sink.to(MARIE)[-1])
                if state == "readiness":
                    await bridge.send(BOT, "1, 99", sender=MARIE)
                    assert "1" in text_of(sink.to(MARIE)[-1])
                await bridge.send(BOT, reply, sender=MARIE)
    assert "company_ok" in seen and "name" not in seen  # prefilled from the register
    assert "channel" not in seen and "email" not in seen  # answered for the member
    assert seen[-1] == "SUMMARY"
    assert "Readiness" in text_of(sink.to(MARIE)[-1]) or "Score" in text_of(sink.to(MARIE)[-1])
    with Session(engine) as session:
        member = session.execute(select(Member)).scalar_one()
        member_id = member.id
        structure = session.get(Structure, member.structure_id)
        prefs = session.execute(select(AlertPreference)).scalar_one()
        assert member.email == MARIE and member.telegram_user_id is None
        assert structure.siret == SIRET and structure.name == "THEATRE STEPHANE GILDAS"
        assert sorted(structure.departements) == ["42", "69"] and prefs.channel == "email"
        prefs.quiet_start = prefs.quiet_end = 0
        prefs.quiet_weekends = False
        tender = make_tender(session, now=NOW - timedelta(hours=1),
                             title="Entretien d'espaces verts des parcs")
        tender.needs_matching = True
        session.add_all([prefs, tender])
        session.commit()
        tender_id = tender.id
        run_matching(session, now=NOW, tz=TZ)
        session.commit()
    sink.clear()
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        (alert,) = sink.to(MARIE)
        assert "Entretien d'espaces verts des parcs" in text_of(alert)
        await bridge.send(reply_address(alert), "INTERESSE")
    assert signals(engine, member_id) == [(tender_id, "interested", None)]


async def test_a_stranger_gets_one_explanation_a_day(engine, sink, config):
    async with Harness(engine, config, sink) as bridge:
        await bridge.send(BOT, "Bonjour, qui êtes-vous ?", sender="paul@ailleurs.test")
        await bridge.send(BOT, "Encore moi", sender="paul@ailleurs.test")
    (answer,) = sink.to("paul@ailleurs.test")
    assert "INSCRIPTION" in text_of(answer)
    assert sink.envelopes[0].mail_from == "<>"  # automatic answers have a null return path


# --- what SMTP answers mean ----------------------------------------------------------------------

async def test_4xx_is_retried_and_5xx_counts_as_a_bounce(engine, sink, config):
    member_id, _ = queue(engine, advisor=True)
    sink.rcpt_codes = ["451 4.7.1 Try again later"]
    async with Harness(engine, config, sink) as bridge:
        stats = await bridge.deliver()
    assert stats.retried == 1 and not sink.messages
    with Session(engine) as session:
        delivery = session.execute(select(Delivery).where(Delivery.member_id == member_id)
                                   ).scalar_one()
        assert delivery.status == "failed" and delivery.last_error.startswith("451")
    channel = EmailChannel(config, engine)
    from channels.email.channel import EmailAddress
    from channels.email.keys import Thread

    with Session(engine) as session:
        member = session.get(Member, member_id)
        outgoing = channel.compose(member, [], Thread("g"))
    address = EmailAddress(member_id, MARIE, "fr")
    results = []
    for _day in range(3):
        sink.rcpt_codes = ["550 5.1.1 No such user"]
        results.append(await channel.send(address, outgoing))
        with Session(engine) as session:  # one point a day: move the last bounce back
            from store.mail_models import MailBounce

            score = session.get(MailBounce, member_id)
            score.last_bounce_on = score.last_bounce_on - timedelta(days=1)
            session.add(score)
            session.commit()
    sink.data_codes = ["554 5.7.1 Refused"]
    results.append(await channel.send(address, outgoing))
    await channel.aclose()
    assert [r.outcome for r in results] == [Outcome.DEAD, Outcome.DEAD, Outcome.BLOCKED,
                                            Outcome.DEAD]
    with Session(engine) as session:
        assert session.get(Member, member_id).email_active is False


async def test_connection_refused_is_retried(engine, config):
    from dataclasses import replace

    from channels.email.channel import EmailAddress
    from channels.email.config import SmtpServer
    from channels.email.keys import Thread
    from tests.email.conftest import free_port

    channel = EmailChannel(replace(config, smtp=SmtpServer("127.0.0.1", free_port())), engine)
    with Session(engine):
        member = Member(id=1, email=MARIE)
        outgoing = channel.compose(member, [], Thread("g"))
    result = await channel.send(EmailAddress(1, MARIE, "fr"), outgoing)
    assert result.outcome == Outcome.RETRY
    await channel.aclose()

