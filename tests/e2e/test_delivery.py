"""The delivery worker end to end through the fake Bot API: content and buttons, digests, the
policy re-checked before sending, 429/5xx/403/400/timeouts, a worker killed with SIGKILL during a
1,000-message fan-out, and parallel workers.

Calendar time is injected: the in-process worker's clock starts at BASE (a Tuesday, 10:00 in
Paris) and runs at real speed (retries and leases need time to pass). Subprocess workers use the
real clock, so their members accept messages at any hour (no quiet hours, no quiet weekends).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select, update
from sqlmodel import Session
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from alerts.channel import Outcome
from alerts.claims import requeue_uncertain
from alerts.match_job import run_matching
from alerts.outbox import enqueue_for_match
from alerts.runner import DeliveryRunner, WorkerConfig
from channels.telegram import TelegramChannel, classify, make_bot
from locales import gettext_for
from store.alert_models import Interest
from store.db import session_scope
from store.models import AlertPreference, Member
from store.tender_models import TenderRow
from tenders.ingest import ingest_files
from tests.workers.factory import (
    ALWAYS,
    deliveries,
    fan_out,
    make_match,
    make_member,
    make_tender,
)

ROOT = Path(__file__).resolve().parents[2]
BOAMP = ROOT / "tests" / "fixtures" / "boamp"
PARIS = ZoneInfo("Europe/Paris")
BASE = datetime(2026, 11, 3, 10, 0, tzinfo=PARIS).astimezone(UTC)  # a Tuesday
CHAT_IDS = itertools.count(800_000_001)


def _plain(text: str) -> str:
    """babel's French spaces (narrow no-break) as plain spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def _session(engine) -> Session:
    return Session(engine, expire_on_commit=False)


@pytest_asyncio.fixture(loop_scope="session")
async def sender(fake_server):
    """A fresh bot token on the fake server and a PTB Bot for it (short read timeout)."""
    token = fake_server.add_bot()
    bot = make_bot(token, fake_server.base_url, read_timeout_s=0.5, connect_timeout_s=2.0)
    await bot.initialize()
    yield token, bot
    await bot.shutdown()


def make_worker(engine, bot, *, start: datetime = BASE, **overrides) -> DeliveryRunner:
    settings = {"rate_per_s": 200.0, "chat_interval_s": 0.05, "backoff_base_s": 0.05,
                "read_timeout_s": 0.5, "once_linger_s": 20.0, "poll_s": 0.05, **overrides}
    began = time.monotonic()
    channel = TelegramChannel(bot, read_timeout_s=settings["read_timeout_s"])
    return DeliveryRunner(engine, channel, tz=PARIS, config=WorkerConfig(**settings),
                          now=lambda: start + timedelta(seconds=time.monotonic() - began))


async def deliver(engine, bot, **overrides):
    worker = make_worker(engine, bot, **overrides)
    try:
        return await worker.run(once=True)
    finally:
        worker.close()


def alerts_for(engine, count: int, *, now: datetime = BASE, **preferences) -> list[Member]:
    """`count` members (one structure each) with an alert due for one tender each."""
    with _session(engine) as session:
        members = []
        for _ in range(count):
            tender = make_tender(session, now=now)
            structure, member = make_member(session, chat_id=next(CHAT_IDS),
                                            **(preferences or ALWAYS))
            enqueue_for_match(session, make_match(session, tender, structure, now=now),
                              tender, now, PARIS)
            members.append(member)
        session.commit()
    return members


# --- content, digests, policy --------------------------------------------------------------------


async def test_ingested_tender_alert_update_and_cancellation(engine, fake_server, sender):
    """A fitting tender ingested from a file reaches the member once, with its content and
    buttons; its rectificatif sends a short update; a cancellation reaches those who marked
    interest."""
    token, bot = sender
    state = fake_server.bot(token)
    with _session(engine) as session:
        greens, gardener = make_member(session, chat_id=fake_server.new_user_id())
        greens.cpv_codes, greens.departements = ["77310000"], ["42"]
        cleaners, cleaner = make_member(session, chat_id=fake_server.new_user_id())
        cleaners.cpv_codes, cleaners.departements = [], ["06"]
        cleaners.keywords, cleaners.family = ["nettoyage"], "siae_aci"  # reserved to SIAE
        session.commit()
    ingest_files(engine, "boamp", BOAMP / "record_fnsimple.json")
    ingest_files(engine, "boamp", BOAMP / "record_mapa.json")
    with session_scope(engine) as session:
        run_matching(session, tz=PARIS, now=BASE)
    stats = await deliver(engine, bot)
    assert stats.messages == 2

    (alert,) = state.messages(gardener.telegram_chat_id)
    assert "Entretien des espaces verts" in alert.text
    text = _plain(alert.text)
    assert "4 décembre 2026" in text and "180 000 €" in text and "Saint-Chamond" in text
    assert "Lot 2 Fauchage des accotements" in text
    _ = gettext_for("fr")  # the render's labels, whether or not the catalogs are merged yet
    assert alert.labels()[:2] == [_("Interested"), _("Not for us")]
    assert all(len(b["callback_data"].encode()) <= 64 for b in alert.buttons()
               if "callback_data" in b)
    with _session(engine) as session:
        (row,) = deliveries(session, member_id=gardener.id)
    assert row.status == "sent" and row.channel_message_id == str(alert.message_id)
    assert row.payload["snapshot"]["deadline"].startswith("2026-12-04")

    # Nothing new: nothing sent again.
    assert (await deliver(engine, bot)).messages == 0

    # The rectificatif moves the deadline to 11 December.
    ingest_files(engine, "boamp", BOAMP / "record_rectificatif.json")
    with session_scope(engine) as session:
        run_matching(session, tz=PARIS, now=BASE + timedelta(hours=1))
    assert (await deliver(engine, bot, start=BASE + timedelta(hours=1))).messages == 1
    alert_again, update_message = state.messages(gardener.telegram_chat_id)
    assert alert_again.message_id == alert.message_id
    assert "11 décembre 2026" in update_message.text
    assert "4 décembre 2026" in update_message.text  # old → new
    assert _("Change to a tender you received") in update_message.text

    # The cleaners said "interested"; the CCAS cancels its tender.
    with _session(engine) as session:
        mapa = session.execute(select(TenderRow).where(
            TenderRow.source_id == "26-102345")).scalar_one()
        session.add(Interest(member_id=cleaner.id, tender_id=mapa.id, signal="interested"))
        session.commit()
    ingest_files(engine, "boamp", BOAMP / "record_annulation.json")
    with session_scope(engine) as session:
        run_matching(session, tz=PARIS, now=BASE + timedelta(hours=2))
    assert (await deliver(engine, bot, start=BASE + timedelta(hours=2))).messages == 1
    first, cancellation = state.messages(cleaner.telegram_chat_id)
    assert "Nettoyage des locaux du CCAS" in first.text
    assert _("Tender cancelled") in cancellation.text
    assert len(state.messages(gardener.telegram_chat_id)) == 2


async def test_digest_items_go_out_as_one_message_best_first(engine, fake_server, sender):
    token, bot = sender
    chat_id = fake_server.new_user_id()
    yesterday = BASE - timedelta(days=1)
    with _session(engine) as session:
        structure, member = make_member(session, chat_id=chat_id, rhythm="daily",
                                        digest_hour=8)
        for number in range(12):
            tender = make_tender(session, now=yesterday, number=number + 1,
                                 title=f"Marché numéro {number + 1}")
            enqueue_for_match(session, make_match(session, tender, structure, now=yesterday,
                                                  score=50 + number),
                              tender, yesterday, PARIS)
        # Queued after this morning's 08:00 digest: tomorrow's.
        late = make_tender(session, now=BASE, number=99, title="Marché du matin")
        enqueue_for_match(session, make_match(session, late, structure, now=BASE), late,
                          BASE - timedelta(hours=1), PARIS)
        session.commit()
    stats = await deliver(engine, bot)
    assert stats.messages == 1 and stats.sent == 12
    (digest,) = fake_server.bot(token).messages(chat_id)
    text = digest.text
    assert text.index("Marché numéro 12") < text.index("Marché numéro 11") < text.index(
        "Marché numéro 3")
    assert "2 de plus" in text or "2 autres" in text or "2 more" in text
    assert "Marché du matin" not in text
    with _session(engine) as session:
        rows = deliveries(session, member_id=member.id)
    sent = [d for d in rows if d.status == "sent"]
    assert len(sent) == 12 and {d.channel_message_id for d in sent} == {str(digest.message_id)}
    (waiting,) = [d for d in rows if d.status == "pending"]
    assert waiting.next_attempt_at == datetime(2026, 11, 4, 8, tzinfo=PARIS)


async def test_policy_is_checked_again_before_sending(engine, fake_server, sender):
    """Quiet hours, a pause taken after queuing, a passed deadline: nothing is sent; the
    deliveries wait (or die) with the reason."""
    token, bot = sender
    evening = datetime(2026, 11, 3, 20, 30, tzinfo=PARIS).astimezone(UTC)
    quiet, paused, late = alerts_for(engine, 3, now=evening - timedelta(hours=2),
                                     quiet_start=20, quiet_end=8)
    with _session(engine) as session:
        session.execute(update(AlertPreference).where(AlertPreference.member_id == paused.id)
                        .values(paused_until=datetime(2026, 11, 10, 9, tzinfo=UTC)))
        tender_id = deliveries(session, member_id=late.id)[0].tender_id
        session.execute(update(TenderRow).where(TenderRow.id == tender_id)
                        .values(deadline=evening - timedelta(minutes=1)))
        session.commit()
    stats = await deliver(engine, bot, start=evening)
    assert stats.messages == 0
    assert fake_server.bot(token).calls_to("sendMessage") == []
    with _session(engine) as session:
        by_member = {d.member_id: d for d in deliveries(session)}
    assert by_member[quiet.id].status == "pending"
    assert by_member[quiet.id].next_attempt_at == datetime(2026, 11, 4, 8, tzinfo=PARIS)
    assert by_member[paused.id].next_attempt_at == datetime(2026, 11, 10, 9, tzinfo=UTC)
    assert by_member[late.id].status == "dead"
    assert "deadline" in by_member[late.id].last_error


# --- failures ------------------------------------------------------------------------------------


def test_classify():
    def caused(error, cause):
        try:
            raise error from cause
        except Exception as raised:  # noqa: BLE001
            return raised

    assert classify(RetryAfter(3)).outcome == Outcome.RATE_LIMITED
    assert classify(RetryAfter(3)).retry_after == 3.0
    assert classify(Forbidden("Forbidden: bot was blocked by the user")).outcome == Outcome.BLOCKED
    assert classify(BadRequest("Bad Request: chat not found")).outcome == Outcome.DEAD
    assert classify(NetworkError("Internal Server Error (500)")).outcome == Outcome.RETRY
    request = httpx.Request("POST", "http://x")
    assert classify(caused(TimedOut(), httpx.ReadTimeout("r", request=request))).outcome \
        == Outcome.UNCERTAIN
    assert classify(caused(TimedOut(), httpx.ConnectTimeout("c", request=request))).outcome \
        == Outcome.RETRY
    assert classify(caused(TimedOut(), httpx.PoolTimeout("p", request=request))).outcome \
        == Outcome.RETRY
    assert classify(caused(NetworkError("x"), httpx.ConnectError("refused"))).outcome == Outcome.RETRY
    assert classify(caused(NetworkError("x"), httpx.RemoteProtocolError("gone"))).outcome \
        == Outcome.UNCERTAIN
    assert classify(RuntimeError("?")).outcome == Outcome.UNCERTAIN


async def test_429_storm_is_retried_after_retry_after(engine, fake_server, sender):
    token, bot = sender
    members = alerts_for(engine, 20)
    fake_server.fail_next(token, "sendMessage", 429, times=12, retry_after=1)
    worker = make_worker(engine, bot)
    try:
        stats = await worker.run(once=True)
    finally:
        worker.close()
    state = fake_server.bot(token)
    assert stats.rate_limited == 12
    for member in members:
        assert len(state.messages(member.telegram_chat_id)) == 1
    with _session(engine) as session:
        rows = deliveries(session)
    assert {d.status for d in rows} == {"sent"}
    assert all(d.failures == 0 for d in rows)  # 429s are not failures
    # Each chat refused was tried again only after retry_after.
    calls = state.calls_to("sendMessage")
    for refused in [c for c in calls if c.status == 429]:
        retry = next(c for c in calls if c.chat_id == refused.chat_id and c.at > refused.at)
        assert retry.at - refused.at >= 1.0
    # Three or more 429s within a second: every worker paused through the shared limiter.
    assert stats.pauses >= 1


async def test_5xx_and_connection_errors_are_retried_with_backoff(engine, fake_server, sender):
    token, bot = sender
    (member,) = alerts_for(engine, 1)
    fake_server.fail_next(token, "sendMessage", 500, times=2)
    fake_server.fail_next(token, "sendMessage", 502, times=1)
    stats = await deliver(engine, bot)
    assert stats.retried == 3 and stats.messages == 1
    assert len(fake_server.bot(token).messages(member.telegram_chat_id)) == 1
    with _session(engine) as session:
        (row,) = deliveries(session)
    assert (row.status, row.attempts, row.failures) == ("sent", 4, 3)

    # A server that does not answer at all (connection refused): failed, retried later.
    (other,) = alerts_for(engine, 1)
    dead_end = make_bot(token, "http://127.0.0.1:9/bot", connect_timeout_s=1.0)
    stats = await deliver(engine, dead_end, once_linger_s=0.0, max_failures=5)
    assert stats.retried == 1 and stats.messages == 0
    with _session(engine) as session:
        (row,) = deliveries(session, member_id=other.id)
    assert row.status == "failed" and row.failures == 1 and "ConnectError" in row.last_error
    assert row.next_attempt_at > BASE


async def test_403_closes_the_telegram_channel_and_email_takes_over(engine, fake_server,
                                                                     sender):
    token, bot = sender
    chat_id = fake_server.new_user_id()
    with _session(engine) as session:
        structure, member = make_member(session, chat_id=chat_id, email="regie@example.org",
                                        **ALWAYS)
        for number in (1, 2):
            tender = make_tender(session, now=BASE, number=number)
            enqueue_for_match(session, make_match(session, tender, structure, now=BASE),
                              tender, BASE, PARIS)
        session.commit()
    fake_server.block(token, chat_id)
    stats = await deliver(engine, bot, chat_interval_s=1.0)
    assert stats.blocked == 1 and stats.messages == 0
    # One refused call: the second delivery was not even tried once the chat was closed.
    assert len(fake_server.bot(token).calls_to("sendMessage")) == 1
    with _session(engine) as session:
        assert session.get(Member, member.id).telegram_active is False
        telegram = deliveries(session, channel="telegram")
        email = deliveries(session, channel="email")
    assert {d.status for d in telegram} == {"dead"}
    assert any("blocked" in (d.last_error or "") for d in telegram)
    assert len(email) == 2 and {d.status for d in email} == {"pending"}
    assert {d.kind for d in email} == {"alert"}


async def test_400_is_dead_with_its_reason(engine, fake_server, sender):
    token, bot = sender
    alerts_for(engine, 1)
    fake_server.fail_next(token, "sendMessage", 400, description="Bad Request: chat not found")
    stats = await deliver(engine, bot)
    assert stats.dead == 1
    with _session(engine) as session:
        (row,) = deliveries(session)
    assert row.status == "dead" and "chat not found" in row.last_error.lower()


async def test_timeouts_are_uncertain_and_not_sent_again(engine, fake_server, sender):
    token, bot = sender
    slow, dropped = alerts_for(engine, 2)
    state = fake_server.bot(token)
    # Telegram delivered the message but the answer comes after the read timeout.
    fake_server.delay_next(token, "sendMessage", seconds=2.0, chat_id=slow.telegram_chat_id)
    # The connection drops after the request was written (not applied: we cannot know).
    fake_server.drop_next(token, "sendMessage", chat_id=dropped.telegram_chat_id)
    stats = await deliver(engine, bot)
    assert stats.uncertain == 2 and stats.messages == 0
    assert len(state.messages(slow.telegram_chat_id)) == 1
    assert state.messages(dropped.telegram_chat_id) == []
    stats = await deliver(engine, bot)  # another run does not guess
    assert stats.messages == 0
    assert len(state.calls_to("sendMessage")) == 2
    with _session(engine) as session:
        rows = deliveries(session)
        assert {d.status for d in rows} == {"uncertain"}
        # The operator checked: the dropped one never arrived; send it again.
        dropped_id = next(d.id for d in rows if d.member_id == dropped.id)
        assert requeue_uncertain(session, [dropped_id], now=BASE) == 1
        session.commit()
    await deliver(engine, bot)
    assert len(state.messages(dropped.telegram_chat_id)) == 1
    assert len(state.messages(slow.telegram_chat_id)) == 1


# --- processes -----------------------------------------------------------------------------------


def _env(token: str, api_url: str, db_url: str) -> dict:
    return dict(os.environ, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=api_url,
                DATABASE_URL=db_url)


async def _start_worker(env: dict, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "deliver", "--json", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _finish(process: asyncio.subprocess.Process, timeout: float = 120) -> dict:
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, err.decode()[-3000:]
    return json.loads(out.decode().strip().splitlines()[-1])


def _fan_out(engine, count: int, first_chat_id: int) -> list[Member]:
    """A tender matching `count` structures, queued through the outbox at the real time
    (subprocess workers run on the real clock; these members have no quiet hours)."""
    now = datetime.now(UTC) - timedelta(minutes=1)
    with _session(engine) as session:
        tender = make_tender(session, now=now, deadline_days=30)
        fan_out(session, tender, count=count, first_chat_id=first_chat_id, now=now)
        session.commit()
        return list(session.execute(select(Member).order_by(Member.id)).scalars())


def _check_once_each(engine, state, members) -> Counter:
    """Every delivery sent exactly once — or uncertain, with at most one message."""
    with _session(engine) as session:
        rows = {d.member_id: d for d in deliveries(session)}
    statuses = Counter(d.status for d in rows.values())
    assert set(statuses) <= {"sent", "uncertain"}, statuses
    for member in members:
        delivery = rows[member.id]
        messages = state.messages(member.telegram_chat_id)
        if delivery.status == "sent":
            assert [str(m.message_id) for m in messages] == [delivery.channel_message_id]
        else:
            assert len(messages) <= 1
    return statuses


@pytest.mark.slow
async def test_sigkill_during_a_fan_out_loses_nothing(engine, db_url, fake_server):
    token = fake_server.add_bot()
    state = fake_server.bot(token)
    members = _fan_out(engine, 1000, 900_000_001)
    env = _env(token, fake_server.base_url, db_url)
    rate = 100
    worker = await _start_worker(env, "--rate", str(rate))
    try:
        for _ in range(6000):
            if state.counters["messages_sent"] >= 300:
                break
            await asyncio.sleep(0.01)
        assert state.counters["messages_sent"] >= 300, await worker.stderr.read(3000)
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    finally:
        if worker.returncode is None:
            worker.kill()
    with _session(engine) as session:
        caught = Counter(d.status for d in deliveries(session))
    assert caught["sending"] > 0  # claimed, mid-way: what the restart has to sort out
    assert caught["sent"] < 1000

    restarted = await _start_worker(env, "--once", "--takeover", "--rate", str(rate))
    stats = await _finish(restarted)
    requeued, uncertain_at_start = stats["recovered"]
    assert requeued > 0
    statuses = _check_once_each(engine, state, members)
    assert statuses["sent"] + statuses["uncertain"] == 1000
    # Only what was in flight at the kill can be uncertain, and the worker bounds that.
    assert statuses["uncertain"] == uncertain_at_start
    assert uncertain_at_start <= WorkerConfig(rate_per_s=rate).in_flight()
    assert sum(len(state.messages(m.telegram_chat_id)) for m in members) >= statuses["sent"]


@pytest.mark.slow
async def test_parallel_workers_never_send_twice(engine, db_url, is_postgres, fake_server):
    """Three workers on PostgreSQL (one on SQLite, which serves a single machine), sharing the
    bot's rate through the database: each message exactly once, the cap held."""
    token = fake_server.add_bot()
    state = fake_server.bot(token)
    members = _fan_out(engine, 1000, 910_000_001)
    rate = 150
    fake_server.configure(token, cap_per_s=rate * 1.2)
    env = _env(token, fake_server.base_url, db_url)
    count = 3 if is_postgres else 1
    workers = [await _start_worker(env, "--once", "--rate", str(rate)) for _ in range(count)]
    results = [await _finish(worker) for worker in workers]
    statuses = _check_once_each(engine, state, members)
    assert statuses == Counter({"sent": 1000})
    assert sum(result["messages"] for result in results) == 1000
    if is_postgres:
        assert sum(1 for result in results if result["messages"]) >= 2  # they shared it
    assert state.counters["messages_sent"] == 1000
    assert state.counters["rate_capped"] <= 50  # the shared limiter holds the cap


async def test_the_same_worker_as_a_job_of_the_bot(engine, db_url, fake_server):
    """`centrale run` schedules deliver_job (bot.cli_alerts.schedule_delivery); one tick sends
    what is due with the application's settings and engine."""
    from types import SimpleNamespace

    from telegram.ext import ApplicationBuilder

    from bot.cli_alerts import JOB_NAME, deliver_job, schedule_delivery, stop_delivery
    from bot.settings import load_settings

    token = fake_server.add_bot()
    (member,) = alerts_for(engine, 1, now=datetime.now(UTC) - timedelta(minutes=1))
    application = ApplicationBuilder().token(token).base_url(fake_server.base_url).build()
    application.bot_data["settings"] = load_settings(
        TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=fake_server.base_url, DATABASE_URL=db_url)
    application.bot_data["engine"] = engine
    job = schedule_delivery(application)
    try:
        assert [j.name for j in application.job_queue.jobs()] == [JOB_NAME] == [job.name]
        await deliver_job(SimpleNamespace(application=application))
        assert len(fake_server.bot(token).messages(member.telegram_chat_id)) == 1
        await deliver_job(SimpleNamespace(application=application))  # nothing more
        assert len(fake_server.bot(token).messages(member.telegram_chat_id)) == 1
    finally:
        job.schedule_removal()
        await stop_delivery(application)


async def _run_past_a_deadline(engine, fake_server, bot, monkeypatch):
    """A daily digest of two tenders, prepared; then the clock passes one tender's deadline
    before the send. Runs one `once` pass; returns its stats, the chat, the member and both
    tenders."""
    import alerts.runner as worker_module

    chat_id = fake_server.new_user_id()
    yesterday = BASE - timedelta(days=1)
    with _session(engine) as session:
        structure, member = make_member(session, chat_id=chat_id, rhythm="daily",
                                        quiet_weekends=False)
        soon = make_tender(session, now=yesterday, deadline_days=1.5, title="Marché bientôt clos")
        later = make_tender(session, now=yesterday, deadline_days=20, title="Marché tranquille")
        for tender in (soon, later):
            enqueue_for_match(session, make_match(session, tender, structure, now=yesterday),
                              tender, yesterday, PARIS)
        session.commit()
    clock = {"now": BASE}
    real_prepare = worker_module.prepare_jobs

    def prepare_then_jump(*args, **kwargs):
        prepared = real_prepare(*args, **kwargs)
        clock["now"] = BASE + timedelta(days=1)  # `soon` is now past its deadline
        return prepared

    monkeypatch.setattr(worker_module, "prepare_jobs", prepare_then_jump)
    worker = DeliveryRunner(engine, TelegramChannel(bot), tz=PARIS, now=lambda: clock["now"],
                            config=WorkerConfig(rate_per_s=200, chat_interval_s=0.05,
                                                poll_s=0.05))
    try:
        stats = await worker.run(once=True)
    finally:
        worker.close()
    return stats, chat_id, member, soon, later


def _check_only_that_item_dropped(engine, fake_server, token, stats, chat_id, member, soon,
                                  later) -> None:
    assert stats.released == 1 and stats.messages == 1
    (digest,) = fake_server.bot(token).messages(chat_id)
    assert "Marché tranquille" in digest.text and "bientôt clos" not in digest.text
    with _session(engine) as session:
        by_tender = {d.tender_id: d for d in deliveries(session, member_id=member.id)}
    assert by_tender[soon.id].status == "dead" and "deadline" in by_tender[soon.id].last_error
    assert by_tender[later.id].status == "sent"


async def test_a_deadline_passing_while_queued_drops_only_that_item(engine, fake_server, sender,
                                                                   monkeypatch):
    """Prepared, then the clock passes one tender's deadline before the send: the digest is
    prepared again without it (that delivery dies with its reason), the other item goes."""
    token, bot = sender
    result = await _run_past_a_deadline(engine, fake_server, bot, monkeypatch)
    _check_only_that_item_dropped(engine, fake_server, token, *result)


async def test_a_once_pass_claims_what_a_lane_released_during_its_last_claim(
        engine, fake_server, sender, monkeypatch):
    """The same, with the interleaving that timing only sometimes gives: the lane puts the digest
    back (due at once) just after the loop's next claim looked, and finishes before that claim
    returns empty. The pass must not end there: it claims again and sends the digest."""
    import threading

    import alerts.claims as claims_module

    token, bot = sender
    real_claim, real_release = claims_module.claim_due, claims_module.release
    claim_calls = itertools.count(1)
    looked, released = threading.Event(), threading.Event()

    def claim_due(session, **kwargs):
        ids = real_claim(session, **kwargs)
        if next(claim_calls) == 2:  # the claim right after the digest was dispatched
            assert ids == []  # the digest's rows are still `sending`
            session.commit()  # (SQLite: let the release write)
            looked.set()
            assert released.wait(30), "the lane never released the digest"
        return ids

    def release(session, ids, **kwargs):
        assert looked.wait(30), "the loop never claimed again"
        real_release(session, ids, **kwargs)
        session.commit()
        released.set()

    monkeypatch.setattr(claims_module, "claim_due", claim_due)
    monkeypatch.setattr(claims_module, "release", release)
    result = await _run_past_a_deadline(engine, fake_server, bot, monkeypatch)
    assert released.is_set()  # the interleaving happened
    _check_only_that_item_dropped(engine, fake_server, token, *result)
