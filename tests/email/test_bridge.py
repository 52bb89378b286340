"""The email bridge end to end: the email runner sends through a real aiosmtpd sink, replies
come back through the LMTP server (aiosmtplib on loopback) and are carried out by the same
functions as Telegram's buttons (alerts.actions)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in, as in the LMTP server
from alerts.outbox import enqueue_for_match
from alerts.preferences import is_stopped
from channels.email import keys
from channels.email.keys import Purpose, Thread
from store.alert_models import Delivery, DeliveryKind, Interest
from store.consortia_models import SupportRequest
from store.mail_models import InboundMail, MailRejection
from store.models import AlertPreference, Member
from support.requests import SUPPORT_REQUEST
from tests.email.conftest import DOMAIN, NOW, SECRET, Harness, reply_address, text_of
from tests.workers.factory import ALWAYS, make_match, make_member, make_tender

TZ = ZoneInfo("Europe/Paris")
MARIE = "marie@asso.test"


def queue(engine, email=MARIE, rhythm="instant", count=1, language="fr", advisor=False):
    with Session(engine) as session:
        structure, member = make_member(session, chat_id=None, email=email, language=language,
                                        rhythm=rhythm, channel="email", **ALWAYS)
        if advisor:
            session.add(Member(email="conseil@centrale.test", role="advisor", language="fr"))
        tenders = []
        for index in range(count):
            tender = make_tender(session, now=NOW - timedelta(hours=1),
                                 title=f"Entretien des espaces verts {index + 1}")
            match = make_match(session, tender, structure, now=NOW, score=90 - index)
            enqueue_for_match(session, match, tender, NOW, TZ)
            tenders.append(tender.id)
        session.commit()
        return member.id, tenders


def signals(engine, member_id):
    with Session(engine) as session:
        return sorted((i.tender_id, i.signal, i.reason) for i in session.execute(
            select(Interest).where(Interest.member_id == member_id)).scalars())


def statuses(engine):
    with Session(engine) as session:
        return [(m.status, m.note) for m in session.execute(
            select(InboundMail).order_by(InboundMail.id)).scalars()]


async def test_an_alert_by_email_has_its_headers_and_commands(engine, sink, config):
    member_id, (tender_id,) = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        stats = await bridge.deliver()
    assert stats.sent == 1
    (mail,) = sink.messages
    assert mail["To"] == MARIE and mail["From"].addresses[0].addr_spec == "alertes@centrale.test"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["List-Id"] == f"Centrale <alerts.{DOMAIN}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "mailto:unsubscribe+" in mail["List-Unsubscribe"]
    assert "https://centrale.test/unsubscribe/" in mail["List-Unsubscribe"]
    assert mail["In-Reply-To"] == f"<t{tender_id}.m{member_id}@{DOMAIN}>"
    assert sink.envelopes[0].mail_from.startswith("bounce+")
    assert reply_address(mail).startswith("reply+") and reply_address(mail).endswith(DOMAIN)
    status, key = keys.read_key(SECRET, Purpose.REPLY, reply_address(mail).split("+")[1]
                                .split("@")[0], NOW.date())
    assert status == keys.KeyStatus.VALID and key.member_id == member_id
    assert key.thread == Thread("t", tender_id)
    text, html = text_of(mail), mail.get_body(("html",)).get_content()
    assert "Entretien des espaces verts 1" in text and "Ville de Lyon" in text
    for word in ("INTERESSE", "NON", "PARTENAIRES", "AIDE"):
        assert word in text and f"<code style=\"font-size: 15px;\">{word}</code>" in html
    with Session(engine) as session:
        delivery = session.execute(select(Delivery)).scalar_one()
        assert delivery.status == "sent" and delivery.channel_message_id == mail["Message-ID"]


async def test_html_is_escaped(engine, sink, config):
    with Session(engine) as session:
        structure, member = make_member(session, chat_id=None, email=MARIE, **ALWAYS)
        tender = make_tender(session, now=NOW, title="<script>alert(1)</script> & co")
        enqueue_for_match(session, make_match(session, tender, structure, now=NOW), tender,
                          NOW, TZ)
        session.commit()
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
    html = sink.messages[0].get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


@pytest.mark.parametrize("reply, expected", [
    ("INTERESSE", [("interested", None)]),
    ("intéressé !", [("interested", None)]),
    ("Interested", [("interested", None)]),
    ("NON", [("not_for_us", None)]),
    ("non, trop loin pour nous", [("not_for_us", "far")]),
    ("NO not our trade", [("not_for_us", "trade")]),
    ("PARTENAIRES", [("partners", None)]),
    ("AIDE", [("help", None)]),
])
async def test_each_tender_command(engine, sink, config, reply, expected):
    member_id, (tender_id,) = queue(engine, advisor=True)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        answers = await bridge.send(reply_address(sink.messages[0]), reply + "\r\n")
    assert answers == [(250, "2.0.0 Stored")]
    assert signals(engine, member_id) == [(tender_id, s, r) for s, r in expected]
    answer = sink.to(MARIE)[-1]
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"].endswith("@asso.test>")
    if reply == "AIDE":  # a support request, to the advisor by email
        with Session(engine) as session:
            request = session.execute(select(SupportRequest)).scalar_one()
            delivery = session.execute(select(Delivery).where(
                Delivery.kind == SUPPORT_REQUEST)).scalar_one()
            assert request.tender_id == tender_id and delivery.channel == "email"


async def test_undo_and_show_and_help_with_a_question(engine, sink, config):
    member_id, (tender_id,) = queue(engine, advisor=True)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        address = reply_address(sink.messages[0])
        await bridge.send(address, "INTERESSE")
        await bridge.send(address, "ANNULER")
        assert signals(engine, member_id) == []
        await bridge.send(address, "VOIR")
        assert "Entretien des espaces verts 1" in text_of(sink.to(MARIE)[-1])
        await bridge.send(address, "PARTAGER EMAIL")  # a groupement's word, not an alert's
        assert "au sein d'un groupement : répondez PARTAGER" in text_of(sink.to(MARIE)[-1])
        await bridge.send(address, "AIDE comment remplir le DUME ?\r\n\r\nMarie")
    with Session(engine) as session:
        request = session.execute(select(SupportRequest)).scalar_one()
        assert request.text == "comment remplir le DUME ?"
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()  # the advisor's email
    advisor = sink.to("conseil@centrale.test")[-1]
    assert "comment remplir le DUME ?" in text_of(advisor)


async def test_free_text_goes_to_the_advisors(engine, sink, config):
    member_id, (tender_id,) = queue(engine, advisor=True)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        await bridge.send(reply_address(sink.messages[0]),
                          "Bonjour, nous ne savons pas si nous pouvons répondre seuls.")
        await bridge.deliver()
    advisor = sink.to("conseil@centrale.test")[-1]
    assert "nous ne savons pas si nous pouvons répondre seuls" in text_of(advisor)
    assert "conseiller" in text_of(sink.to(MARIE)[-1])


async def test_digest_items_are_numbered_and_answered_by_number(engine, sink, config):
    member_id, tenders = queue(engine, rhythm="daily", count=3)
    later = NOW.replace(hour=7, minute=5) + timedelta(days=1)  # 08:05 in Paris
    async with Harness(engine, config, sink, now=lambda: later) as bridge:
        stats = await bridge.deliver()
        assert stats.messages == 1 and stats.sent == 3
        digest = sink.messages[0]
        text = text_of(digest)
        assert "1. Entretien des espaces verts 1" in text
        assert "3. Entretien des espaces verts 3" in text
        assert "INTERESSE 2" in text and "Touchez un numéro" not in text  # Telegram's hint
        address = reply_address(digest)
        await bridge.send(address, "interesse 2")
        await bridge.send(address, "NON 3 loin")
        await bridge.send(address, "PARTENAIRES n°1")
        await bridge.send(address, "INTERESSE 7")
        assert "1 to 3" in text_of(sink.to(MARIE)[-1]) or "1 à 3" in text_of(sink.to(MARIE)[-1])
        await bridge.send(address, "INTERESSE")
        assert "2" in text_of(sink.to(MARIE)[-1])
    assert signals(engine, member_id) == sorted([(tenders[1], "interested", None),
                                                 (tenders[2], "not_for_us", "far"),
                                                 (tenders[0], "partners", None)])


async def test_pause_resume_and_stop_are_confirmed_once(engine, sink, config):
    member_id, _tenders = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        address = reply_address(sink.messages[0])
        await bridge.send(address, "PAUSE 14")
        with Session(engine) as session:
            prefs = session.execute(select(AlertPreference)).scalar_one()
            assert prefs.paused_until.date() == (NOW + timedelta(days=14)).date()
        await bridge.send(address, "pause quarante")
        assert "90" in text_of(sink.to(MARIE)[-1])
        await bridge.send(address, "REPRENDRE")
        await bridge.send(address, "STOP")
        before = len(sink.to(MARIE))
        await bridge.send(address, "stop\r\n\r\nmerci")  # a second STOP: no second mail
        assert len(sink.to(MARIE)) == before
        with Session(engine) as session:
            assert is_stopped(session.execute(select(AlertPreference)).scalar_one())
        await bridge.send(address, "/reprendre")
        with Session(engine) as session:
            assert not is_stopped(session.execute(select(AlertPreference)).scalar_one())


async def test_list_unsubscribe_mailto_stops_in_one_step(engine, sink, config):
    queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        mailto = sink.messages[0]["List-Unsubscribe"].split("<mailto:")[1].split("?")[0]
        await bridge.send(mailto, "", headers={"Subject": "unsubscribe"})
        await bridge.send(mailto, "unsubscribe")  # again: changes nothing, says nothing more
    with Session(engine) as session:
        assert is_stopped(session.execute(select(AlertPreference)).scalar_one())
    assert len(sink.to(MARIE)) == 2  # the alert and one confirmation


def _key_of(address: str) -> str:
    return address.split("+", 1)[1].split("@")[0]


async def test_forged_altered_expired_keys_and_other_senders_do_nothing(engine, sink, config):
    member_id, _tenders = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        good = reply_address(sink.messages[0])
        key = _key_of(good)
        altered = key[:10] + ("a" if key[10] != "a" else "b") + key[11:]
        forged = keys.make_key("another-secret-of-16-chars", Purpose.REPLY, member_id,
                               Thread("t", 1), NOW.date())
        expired = keys.make_key(SECRET, Purpose.REPLY, member_id, Thread("t", 1),
                                NOW.date() - timedelta(days=keys.REPLY_DAYS + 1))
        for bad in (f"reply+{altered}@{DOMAIN}", f"reply+{forged}@{DOMAIN}",
                    f"reply+{expired}@{DOMAIN}", f"reply+short@{DOMAIN}"):
            assert await bridge.send(bad, "INTERESSE") == [(250, "2.0.0 Stored")]
        await bridge.send(good, "INTERESSE", sender="pirate@evil.test")
        await bridge.send(good, "INTERESSE 2", sender="pirate@evil.test")
    assert signals(engine, member_id) == []
    assert [s for s, _note in statuses(engine)] == ["rejected"] * 6
    # One explanation a day per address: Marie got one (for her four bad keys), the other
    # sender one.
    assert len(sink.to(MARIE)) == 2 and len(sink.to("pirate@evil.test")) == 1
    assert "expired" in text_of(sink.to(MARIE)[-1]) or "invalide" in text_of(
        sink.to(MARIE)[-1]) or "n'est pas valide" in text_of(sink.to(MARIE)[-1])
    with Session(engine) as session:
        assert len(session.execute(select(MailRejection)).all()) == 2


async def test_a_colleague_in_cc_of_the_members_reply_may_answer_in_that_thread(engine, sink,
                                                                                  config):
    member_id, _tenders = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        address = reply_address(sink.messages[0])
        # Before Marie copies her colleague, the colleague's reply is another sender's.
        await bridge.send(address, "INTERESSE", sender="paul@asso.test")
        assert signals(engine, member_id) == []
        await bridge.send(address, "Je mets Paul en copie.",
                          headers={"Cc": "Paul <paul@asso.test>"})
        await bridge.send(address, "INTERESSE", sender="paul@asso.test",
                          headers={"Cc": MARIE})
        # Copied on one thread is not copied on another.
        await bridge.send(address.replace("reply+", "reply+x"), "NON", sender="paul@asso.test")
    assert [signal for _t, signal, _r in signals(engine, member_id)] == ["interested"]
    assert [s for s, _note in statuses(engine)] == ["rejected", "processed", "processed",
                                                   "rejected"]


async def test_unknown_addresses_get_550(engine, sink, config):
    async with Harness(engine, config, sink) as bridge:
        assert (await bridge.send(f"someone@{DOMAIN}", "hello"))[0][0] == 550
        assert (await bridge.send("x@elsewhere.test", "hello"))[0][0] == 550


AUTO_REPLIES = [
    {"Auto-Submitted": "auto-replied"},
    {"X-Autoreply": "yes"},
    {"Precedence": "bulk"},
    {"Precedence": "auto_reply"},
    {"X-Auto-Response-Suppress": "OOF"},
    {"Subject": "Réponse automatique : absence du bureau"},
    {"Subject": "Out of Office: Nettoyage des écoles"},
    {"Subject": "Absent jusqu'au 3 janvier"},
    {"Subject": "=?utf-8?q?R=C3=A9ponse_automatique=C2=A0:_cong=C3=A9s?="},  # encoded words
]


@pytest.mark.parametrize("headers", AUTO_REPLIES)
async def test_auto_replies_are_ignored_and_never_answered(engine, sink, config, headers):
    member_id, _ = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        await bridge.send(reply_address(sink.messages[0]), "INTERESSE", headers=headers)
    assert signals(engine, member_id) == []
    assert statuses(engine)[0][0] == "ignored"
    assert len(sink.to(MARIE)) == 1  # the alert only


async def test_machine_senders_and_empty_envelope_are_ignored(engine, sink, config):
    member_id, _ = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        address = reply_address(sink.messages[0])
        await bridge.send(address, "INTERESSE", envelope="")
        await bridge.send(address, "INTERESSE", sender="MAILER-DAEMON@asso.test")
        await bridge.send(address, "INTERESSE", sender="no-reply@asso.test")
    assert [s for s, _ in statuses(engine)] == ["ignored"] * 3
    assert len(sink.messages) == 1


DSN = (b"From: MAILER-DAEMON@mx.asso.test\r\nTo: {to}\r\nSubject: Undelivered Mail Returned "
       b"to Sender\r\nMessage-ID: <dsn{n}@mx.asso.test>\r\nMIME-Version: 1.0\r\n"
       b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n"
       b"--B\r\nContent-Type: text/plain\r\n\r\nINTERESSE\r\n--B\r\n"
       b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.asso.test\r\n\r\n"
       b"Final-Recipient: rfc822; marie@asso.test\r\nAction: {action}\r\nStatus: {status}\r\n"
       b"\r\n--B--\r\n")


def _dsn(to: str, n: int, action: bytes = b"failed", status: bytes = b"5.1.1") -> bytes:
    return DSN.replace(b"{to}", to.encode()).replace(b"{n}", str(n).encode()).replace(
        b"{action}", action).replace(b"{status}", status)


async def test_a_dsn_to_the_reply_address_is_ignored_without_answer(engine, sink, config):
    member_id, _ = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        address = reply_address(sink.messages[0])
        await bridge.send(address, "", envelope="", raw=_dsn(address, 1))
    assert signals(engine, member_id) == []
    assert statuses(engine)[0][0] == "ignored" and len(sink.messages) == 1


async def test_verp_bounces_stop_email_past_the_threshold(engine, sink, config):
    member_id, _ = queue(engine, advisor=True)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        verp = sink.envelopes[0].mail_from
        await bridge.send(verp, "", envelope="", raw=_dsn(verp, 1, b"delayed", b"4.4.1"))
        days = [NOW + timedelta(days=d) for d in range(3)]
        for n, day in enumerate(days):
            bridge.bridge.now = lambda day=day: day
            await bridge.send(verp, "", envelope="", raw=_dsn(verp, n + 2))
            await bridge.send(verp, "", envelope="", raw=_dsn(verp, n + 10))  # same day
        forged = f"bounce+{keys.make_key('x' * 20, Purpose.BOUNCE, member_id, Thread('b'), NOW.date())}@{DOMAIN}"
        await bridge.send(forged, "", envelope="", raw=_dsn(forged, 99))
    with Session(engine) as session:
        member = session.get(Member, member_id)
        assert member.email_active is False
        notice = session.execute(select(Delivery).where(
            Delivery.kind == DeliveryKind.EMAIL_BOUNCING)).scalar_one()
        assert notice.payload == {"member": member_id}
    assert len(sink.messages) == 1  # no bounce is ever answered


async def test_mail_from_our_own_addresses_is_dropped(engine, sink, config):
    member_id, _ = queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        address = reply_address(sink.messages[0])
        await bridge.send(address, "INTERESSE", sender="alertes@centrale.test")
        await bridge.send(address, "INTERESSE", sender=f"reply+x@{DOMAIN}")
    assert [s for s, _ in statuses(engine)] == ["ignored", "ignored"]
    assert len(sink.messages) == 1
