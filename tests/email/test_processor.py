"""Receiving and processing apart: `centrale mail serve --store-only` stores and answers 250,
`centrale mail process` runners carry the mail out and answer it — once, however many run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in, as in the runners
from alerts.outbox import enqueue_for_match
from channels.email.processor import Processor
from store.alert_models import Interest
from store.mail_models import InboundMail
from tests.email.conftest import DOMAIN, FROM, SECRET, Harness, reply_address
from tests.workers.factory import ALWAYS, make_match, make_member, make_tender

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/Paris")


def _members(engine, count: int, now: datetime) -> list[str]:
    """`count` email members, each with an alert of its own tender queued; their addresses."""
    addresses = []
    with Session(engine) as session:
        for index in range(count):
            address = f"membre{index}@asso.test"
            structure, _member = make_member(session, chat_id=None, email=address,
                                             language="fr", rhythm="instant", channel="email",
                                             **ALWAYS)
            tender = make_tender(session, now=now - timedelta(hours=1), deadline_days=60,
                                 title=f"Entretien des espaces verts {index + 1}")
            enqueue_for_match(session, make_match(session, tender, structure, now=now, score=90),
                              tender, now, TZ)
            addresses.append(address)
        session.commit()
    return addresses


def _statuses(engine) -> list[str]:
    with Session(engine) as session:
        return list(session.execute(select(InboundMail.status).order_by(InboundMail.id))
                    .scalars())


def _interests(engine) -> list[tuple[int, str]]:
    with Session(engine) as session:
        return sorted(session.execute(select(Interest.member_id, Interest.signal)).all())


async def _reply_to_each_alert(harness: Harness, addresses: list[str]) -> None:
    await harness.deliver()
    for message in harness.sink.messages:
        assert (await harness.send(reply_address(message), "INTERESSE",
                                   sender=message["To"]))[0][0] == 250


async def test_store_only_then_two_processors_carry_each_reply_out_once(engine, sink, config):
    now = datetime.now(UTC)
    addresses = _members(engine, 6, now)
    async with Harness(engine, config, sink, now=lambda: now, process=False) as harness:
        await _reply_to_each_alert(harness, addresses)
        assert _statuses(engine) == ["received"] * 6 and _interests(engine) == []
        sink.clear()
        stop = asyncio.Event()
        processors = [Processor(harness.bridge, workers=3) for _ in range(2)]
        runs = [asyncio.create_task(p.run(stop, poll_s=0.05)) for p in processors]
        for _ in range(200):
            if "received" not in _statuses(engine):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*runs)
    assert _statuses(engine) == ["processed"] * 6
    assert len(_interests(engine)) == 6 and {s for _m, s in _interests(engine)} == {"interested"}
    assert sum(p.processed for p in processors) == 6  # a message claimed by one of them only
    assert sorted(m["To"] for m in sink.messages) == sorted(addresses)  # one answer each
    assert all("C'est noté : vous êtes intéressé" in m.get_body(("plain",)).get_content()
               for m in sink.messages)


async def test_centrale_mail_process_runs_until_sigterm(engine, sink, config, db_url):
    now = datetime.now(UTC)
    addresses = _members(engine, 2, now)
    async with Harness(engine, config, sink, now=lambda: now, process=False) as harness:
        await _reply_to_each_alert(harness, addresses)
    sink.clear()
    env = {**os.environ, "DATABASE_URL": db_url, "SMTP_URL": f"smtp://{sink.host}:{sink.port}",
           "MAIL_FROM": FROM, "MAIL_DOMAIN": DOMAIN, "REPLY_KEY_SECRET": SECRET,
           "LANG": "fr_FR.UTF-8", "LMTP_LISTEN": "", "TELEGRAM_BOT_TOKEN": ""}
    runner = subprocess.Popen([sys.executable, "-m", "bot.cli", "mail", "process", "--poll",
                               "0.1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(sink.messages) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        runner.send_signal(signal.SIGTERM)
        out, err = runner.communicate(timeout=30)
    assert runner.returncode == 0, err
    assert "Traitement des e-mails reçus." in out
    assert _statuses(engine) == ["processed"] * 2 and len(_interests(engine)) == 2
    assert sorted(m["To"] for m in sink.messages) == sorted(addresses)


def test_centrale_mail_process_refuses_without_the_mail_settings(cli, monkeypatch, capsys):
    from bot.settings import get_settings

    for name in ("MAIL_FROM", "MAIL_DOMAIN", "REPLY_KEY_SECRET", "SMTP_URL", "LMTP_LISTEN"):
        monkeypatch.delenv(name, raising=False)
    assert cli("mail", "process") == 2
    assert "REPLY_KEY_SECRET" in capsys.readouterr().err
    for name, value in (("MAIL_FROM", FROM), ("MAIL_DOMAIN", DOMAIN),
                        ("REPLY_KEY_SECRET", SECRET)):
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert cli("mail", "process") == 2
    assert "SMTP_URL is not set" in capsys.readouterr().err
    monkeypatch.setenv("SMTP_URL", "smtp://127.0.0.1:2525")
    get_settings.cache_clear()
    assert cli("mail", "process", "--poll", "0") == 2
    assert "--poll 0.5" in capsys.readouterr().err


async def test_a_runner_whose_writes_fail_waits_a_poll_between_tries(engine, sink, config):
    """A message that cannot be processed now (the database refuses the write) stays stored and
    is tried again at the next poll — not in a loop as fast as the database answers."""
    from sqlalchemy.exc import OperationalError

    now = datetime.now(UTC)
    addresses = _members(engine, 1, now)
    async with Harness(engine, config, sink, now=lambda: now, process=False) as harness:
        await _reply_to_each_alert(harness, addresses)
    tries = []

    class Refusing(type(harness.bridge)):
        def process(self, inbound_id):
            tries.append(inbound_id)
            raise OperationalError("UPDATE mail_inbound", {}, Exception("database is locked"))

    refusing = Refusing(engine, config, harness.channel, tz=TZ, now=lambda: now)
    stop = asyncio.Event()
    run = asyncio.create_task(Processor(refusing).run(stop, poll_s=0.2))
    await asyncio.sleep(0.5)
    stop.set()
    await run
    assert 1 <= len(tries) <= 4  # at 0, 0.2 and 0.4 s at most
    assert _statuses(engine) == ["received"]  # still there for a later try
