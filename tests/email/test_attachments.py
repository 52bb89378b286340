"""Files attached to a message (an event's .ics, the bilan's chart and CSV) travel by email too:
a multipart/mixed around the text and HTML, each file base64 with its name."""

from __future__ import annotations

import email
from email import policy

from alerts.message import Attachment, Message, block, line
from channels.email.channel import EmailChannel
from channels.email.keys import Thread
from store.models import Member
from tests.email.conftest import NOW

ICS = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nBEGIN:VEVENT\r\n"
       b"SUMMARY:Atelier march\xc3\xa9s publics\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


async def test_attachments_are_sent_with_their_names_and_types(engine, sink, config):
    channel = EmailChannel(config, engine)
    member = Member(id=7, email="marie@asso.test", language="fr")
    message = Message("Atelier", (block(line("Vous êtes inscrite.")),), attachments=(
        Attachment("centrale-event-3.ics", ICS, "text/calendar"),
        Attachment("bilan été.csv", b"mois;structures\n2027-01;2\n", "text/csv"),
        Attachment("x.bin", bytes(range(256)), "not a type")))
    try:
        outgoing = channel.compose(member, [message], Thread("g", 0), now=NOW)
        result = await channel.send(None, outgoing)
    finally:
        await channel.aclose()
    assert result.outcome == "sent"
    mail = email.message_from_bytes(sink.envelopes[0].content, policy=policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    body = mail.get_body(("plain",))
    assert "Vous êtes inscrite." in body.get_content()
    files = {part.get_filename(): part for part in mail.iter_attachments()}
    assert set(files) == {"centrale-event-3.ics", "bilan été.csv", "x.bin"}
    ics = files["centrale-event-3.ics"]
    assert ics.get_content_type() == "text/calendar" and ics.get_param("method") == "PUBLISH"
    assert ics.get_payload(decode=True) == ICS
    assert files["bilan été.csv"].get_payload(decode=True).startswith(b"mois;")
    assert files["x.bin"].get_content_type() == "application/octet-stream"
    assert files["x.bin"].get_payload(decode=True) == bytes(range(256))


async def test_a_message_without_files_stays_multipart_alternative(engine, sink, config):
    channel = EmailChannel(config, engine)
    try:
        outgoing = channel.compose(Member(id=8, email="paul@asso.test", language="en"),
                                   [Message("Hello", (block(line("Text")),))],
                                   Thread("g", 0), now=NOW)
    finally:
        await channel.aclose()
    mail = email.message_from_bytes(outgoing.data, policy=policy.default)
    assert mail.get_content_type() == "multipart/alternative"
