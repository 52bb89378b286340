"""Announcements end to end: an advisor composes with /diffuser (the preview's count is checked
against the database), members receive it through the outbox, register to its event past its
capacity, and the waiting list moves up when someone cancels; /annonces shows the counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest_asyncio
from sqlalchemy import select
from sqlmodel import Session

from store import members
from store.alert_models import Delivery
from store.announcement_models import Announcement, EventRegistration
from store.db import session_scope
from tests.e2e.test_alerts import deliver, member


@pytest_asyncio.fixture(loop_scope="session")
async def centrale(centrale_bot, engine):
    return centrale_bot


def advisor(engine, user) -> int:
    with session_scope(engine) as session:
        members.seed_advisors(session, [user.user_id], [])
        row = members.member_by_telegram(session, user.user_id)
        row.language = "en"
        return row.id


async def compose(advisor_user, *, text: str, event: bool = False, seats: str = "2",
                  area: str = "All of France", families=(), when: str = "Now"):
    replies = await advisor_user.send("/diffuser")
    assert "Write the announcement" in replies.text
    await advisor_user.send(text)
    if event:
        await advisor_user.tap("Yes")
        day = (datetime.now(UTC) + timedelta(days=10)).strftime("%d/%m/%Y")
        await advisor_user.send(day)
        await advisor_user.send("14h30")
        await advisor_user.send("Maison de l'ESS, 12 rue Neuve, Saint-Étienne")
        if seats == "No limit":
            await advisor_user.tap("No limit")
        else:
            await advisor_user.send(seats)
    else:
        await advisor_user.tap("No")
    if area == "All of France":
        await advisor_user.tap("All of France")
    else:
        await advisor_user.send(area)
    for family in families:
        await advisor_user.tap(family)
    await advisor_user.tap("Done")
    await advisor_user.tap("All trades")
    await advisor_user.tap("Any readiness")
    await advisor_user.tap("Every channel")
    await advisor_user.tap("All structures")
    if when == "Now":
        return await advisor_user.tap("Now")
    return await advisor_user.send(when)


async def test_compose_preview_send_and_rsvp_past_capacity(centrale, fake_server, engine):
    boss = centrale.user(language_code="en", first_name="Advisor")
    advisor(engine, boss)
    people = [centrale.user(language_code="en") for _ in range(4)]
    for person in people:
        member(engine, person)
    elsewhere = centrale.user(language_code="en")
    member(engine, elsewhere, area={"all_france": False, "departements": ["13"]})

    replies = await compose(boss, text="Atelier *marchés publics* : [programme](https://ess.example/p)",
                            event=True, seats="2", area="42")
    assert "Preview" in replies.text
    assert "Recipients: 4" in replies.text and "4 on Telegram, 0 by email" in replies.text
    assert "marchés publics" in replies.text
    replies = await boss.tap("✅ Send")
    assert "4 messages are on their way" in replies.text

    now = datetime.now(UTC)
    stats = await deliver(centrale, fake_server, engine, now)
    assert stats.sent == 4 and elsewhere.messages == []
    first = (await people[0].wait(count=1)).last
    assert "<b>marchés publics</b>" in first.html and 'href="https://ess.example/p"' in first.html
    assert first.labels() == ["Register", "Not available"]
    assert "2 seats left of 2" in first.text

    replies = await people[0].tap("Register", message=first)
    assert replies.answer.text == "You are registered."
    [document] = [m for m in replies if m.kind == "document"]
    assert document.document.filename.endswith(".ics")
    assert b"BEGIN:VEVENT" in document.document.data and b"Maison de l" in document.document.data
    assert current_labels(people[0], first) == ["✅ Register", "Not available"]
    for person in people[1:3]:
        message = (await person.wait(count=1)).last
        replies = await person.tap("Register", message=message)
    assert "waiting list" in replies.answer.text
    assert "number 1 on the waiting list" in replies.text
    waiting = people[2]
    with Session(engine) as session:
        statuses = session.execute(select(EventRegistration.status).order_by(
            EventRegistration.id)).scalars().all()
    assert statuses == ["registered", "registered", "waiting"]

    # The first cancels: the waiting member takes the seat and is told through the outbox.
    replies = await people[0].tap("Not available", message=first)
    assert "your seat goes to someone else" in replies.answer.text
    await deliver(centrale, fake_server, engine, datetime.now(UTC))
    told = (await waiting.wait(count=1)).last
    assert "A seat freed up: you are registered" in (told.text or "")
    assert told.kind == "document" and told.document.filename.endswith(".ics")
    with Session(engine) as session:
        statuses = session.execute(select(EventRegistration.status).order_by(
            EventRegistration.id)).scalars().all()
    assert statuses == ["declined", "registered", "registered"]

    replies = await boss.send("/annonces")
    assert "Sent 4 · failed 0 · blocked 0 · waiting 0" in replies.text
    assert "2 registered of 2 seats" in replies.text
    replies = await boss.tap("Registrants")
    [csv_file] = [m for m in replies if m.kind == "document"]
    rows = csv_file.document.data.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("status,position,structure")
    assert [row.split(",")[0] for row in rows[1:]] == ["registered", "registered", "declined"]

    # The bilan: the chart as a photo (with the summary as its caption) and the CSV.
    replies = await boss.send("/stats")
    [chart] = [m for m in replies if m.kind == "photo"]
    [table] = [m for m in replies if m.kind == "document"]
    assert "structures diagnosed" in chart.text and chart.document.data[:4] == b"\x89PNG"
    lines = table.document.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("month,structures_diagnosed") and len(lines) == 13
    assert lines[-1].split(",")[1] == "5"  # the five members of this test, made this month


def current_labels(user, message):
    return next(m for m in user.messages if m.message_id == message.message_id).labels()


async def forged_tap(user, message, data: str):
    """A button the bot never sent this user (a forged or replayed callback)."""
    chat = user.state.chat(user.user_id)
    start, calls = len(chat.outputs), len(user.state.calls)
    sent_at = asyncio.get_running_loop().time()
    update = user.state.push_callback(user.user_id, message.message_id, data)
    return await user._collect(f"forged {data!r}", update["update_id"], start, calls, sent_at,
                               None, None, True, False)


async def test_non_advisors_are_refused_everywhere(centrale, engine):
    user = centrale.user(language_code="en")
    member(engine, user)
    refusal = "reserved for the Centrale's advisors"
    for command in ("/diffuser", "/annonces", "/opportunite", "/opportunites", "/stats"):
        replies = await user.send(command)
        assert refusal in replies.text, command
    with session_scope(engine) as session:
        announcement = Announcement(text="x", status="scheduled", seats=1,
                                    send_at=datetime.now(UTC) + timedelta(days=1),
                                    event_at=datetime.now(UTC) + timedelta(days=3))
        session.add(announcement)
        session.flush()
        aid = announcement.id
    anchor = user.messages[-1]
    for data in (f"adv|x|{aid}", f"adv|r|{aid}", "adv|l", "adv|s", f"adv|ox|{aid}",
                 f"adv|oe|{aid}"):
        replies = await forged_tap(user, anchor, data)
        assert refusal in (replies.answer.text or "") + replies.text, data
        assert not [m for m in replies if m.kind == "document"]
    # Nor can a member answer an event they were never sent.
    replies = await forged_tap(user, anchor, f"ev|y|{aid}")
    assert "no longer available" in replies.answer.text
    with Session(engine) as session:
        assert session.get(Announcement, aid).status == "scheduled"
        assert session.execute(select(EventRegistration)).first() is None
        assert session.execute(select(Delivery)).first() is None
