"""A scheduled announcement survives a SIGKILL: `centrale run` killed after the advisor scheduled
it; its time comes while the bot is down; the restarted bot's job releases it and the members
receive it once."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlmodel import Session

from store.alert_models import Delivery
from store.announcement_models import Announcement
from store.db import make_engine
from tests.e2e.test_alerts import member
from tests.e2e.test_announcements import compose
from tests.e2e.test_restart import start_bot
from tests.fakebot.client import VirtualUser


async def test_scheduled_announcement_survives_sigkill(fake_server, empty_db_url, tmp_path,
                                                       monkeypatch):
    token = fake_server.add_bot()
    boss = VirtualUser(fake_server, token, fake_server.new_user_id(), language_code="en",
                       timeout=60)
    monkeypatch.setenv("CENTRALE_ADVISORS", str(boss.user_id))
    log = tmp_path / "bot.log"
    process = start_bot(token, fake_server.base_url, empty_db_url, log)
    engine = make_engine(empty_db_url)
    try:
        await boss.send("/aide")  # the bot is up: migrations applied, advisors seeded
        boss.timeout = 15
        people = [VirtualUser(fake_server, token, fake_server.new_user_id(), language_code="en",
                              timeout=60) for _ in range(2)]
        for person in people:
            member(engine, person)
        when = (datetime.now(UTC) + timedelta(days=1)).strftime("%d/%m/%Y 09:00")
        replies = await compose(boss, text="Formation _DUME_ demain", when=when)
        assert "Recipients: 2" in replies.text
        replies = await boss.tap("✅ Schedule")
        assert "Scheduled for" in replies.text, log.read_text()[-2000:]

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        with Session(engine) as session:
            [announcement] = session.execute(select(Announcement)).scalars().all()
            assert announcement.status == "scheduled"
            assert session.execute(select(Delivery)).first() is None
            # Its time came while the bot was down.
            session.execute(update(Announcement).values(
                send_at=datetime.now(UTC) - timedelta(minutes=1)))
            session.commit()
        process = start_bot(token, fake_server.base_url, empty_db_url, log)
        for person in people:
            received = (await person.wait(count=1)).last
            assert "DUME" in received.text and "<i>DUME</i>" in received.html
        for _attempt in range(100):  # the worker records each send right after it
            with Session(engine) as session:
                statuses = session.execute(select(Delivery.status)).scalars().all()
            if statuses == ["sent", "sent"]:
                break
            await asyncio.sleep(0.1)
    finally:
        process.kill()
        process.wait(timeout=10)
    with Session(engine) as session:
        sent = session.execute(select(Delivery.member_id, Delivery.status)).all()
        assert session.execute(select(Announcement.status)).scalar_one() == "sent"
    engine.dispose()
    assert sorted(status for _m, status in sent) == ["sent", "sent"], log.read_text()[-3000:]
