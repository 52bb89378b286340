"""`centrale deliver --once` against the fake Bot API (in its own process): what it sends, and what
it says about the deliveries of a channel that has no runner yet (an advisor listed by email)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - every flow plugged in, as in `centrale deliver`
from alerts.advisors import enqueue_help_request
from store import members
from store.alert_models import Delivery
from store.db import session_scope
from store.models import Member
from support.requests import SUPPORT_REQUEST
from tests.workers.factory import make_member, make_tender

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "515151:DELIVER-CLI"


@pytest.fixture
def bot_api():
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakebot.server", "--port", "0", "--token", TOKEN],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline().strip()
    assert "listening on" in line, line
    yield line.rsplit(" ", 1)[-1]
    process.terminate()
    process.wait()


def test_deliver_sends_telegram_and_says_what_waits_for_email(engine, cli, bot_api, monkeypatch,
                                                               capsys):
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        members.seed_advisors(session, [770_001], ["conseil@centrale.example"])
        tender = make_tender(session, now=now)
        _structure, requester = make_member(session, chat_id=770_002)
        assert enqueue_help_request(session, requester, tender, now) == 2
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", bot_api)
    assert cli("deliver", "--once", "--linger", "0") == 0
    out = capsys.readouterr().out
    assert "1 messages sent" in out
    assert "1 deliveries wait for the email channel" in out
    with Session(engine) as session:
        rows = session.execute(select(Delivery.channel, Delivery.status, Member.email).join(
            Member, Member.id == Delivery.member_id).where(
            Delivery.kind == SUPPORT_REQUEST).order_by(Delivery.channel)).all()
    assert rows == [("email", "pending", "conseil@centrale.example"),
                    ("telegram", "sent", None)]
