"""Scheduled jobs: derived from the database (a restart re-creates them), ingestion then matching
then deliveries, reminders; with `now` injected."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot import jobs
from bot.app import build_application
from bot.settings import load_settings
from conversations.profile_fields import save_diagnostic
from store.alert_models import Delivery, DeliveryKind, Interest
from store.db import session_scope
from store.tender_models import MatchRow, TenderRow
from tenders.ingest import IngestError, ingest_files

TZ = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 9, 9, 0, tzinfo=UTC)  # Monday 10:00 in Paris
FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "boamp"

ANSWERS = {
    "consent": "yes", "siret": "none", "name": "Net Insertion 06", "family": "siae_aci",
    "activities": "nettoyage de locaux", "cpv": ["90910000"],
    "area": {"all_france": False, "departements": ["06"]}, "rhythm": "instant",
    "channel": "telegram",
}


@pytest.fixture
def settings(db_url):
    return load_settings(TELEGRAM_BOT_TOKEN="123:TEST", DATABASE_URL=db_url,
                         CENTRALE_TIMEZONE="Europe/Paris")


@pytest.fixture
def application(settings, engine):
    return build_application(settings, engine)


# --- pure rules ----------------------------------------------------------------------------------


def test_next_ingest_follows_the_last_run():
    assert jobs.next_ingest_at(None, NOW) == NOW
    assert jobs.next_ingest_at(NOW - timedelta(minutes=10), NOW) == NOW + timedelta(minutes=20)
    assert jobs.next_ingest_at(NOW - timedelta(hours=5), NOW) == NOW


def test_reminders_missed():
    # 10:00 in Paris: today's 09:00 run is due unless it ran after 09:00 (08:00 UTC).
    assert jobs.reminders_missed(None, NOW, TZ)
    assert jobs.reminders_missed(datetime(2026, 11, 8, 8, 0, tzinfo=UTC), NOW, TZ)
    assert not jobs.reminders_missed(datetime(2026, 11, 9, 8, 0, 5, tzinfo=UTC), NOW, TZ)
    early = datetime(2026, 11, 9, 6, 0, tzinfo=UTC)  # 07:00 in Paris: yesterday's counts
    assert not jobs.reminders_missed(datetime(2026, 11, 8, 8, 1, tzinfo=UTC), early, TZ)
    assert jobs.reminders_missed(datetime(2026, 11, 8, 7, 0, tzinfo=UTC), early, TZ)


# --- scheduling ----------------------------------------------------------------------------------


def test_schedules_are_derived_from_the_database(application, engine):
    jobs.record_run(engine, jobs.INGEST_JOB, NOW - timedelta(minutes=10))
    jobs.record_run(engine, jobs.REMINDER_JOB, NOW - timedelta(hours=1))  # 09:00 today: done
    scheduled = jobs.schedule_jobs(application, now=NOW)
    ingest = scheduled[jobs.INGEST_JOB].job
    assert ingest.trigger.interval == timedelta(minutes=30)
    assert ingest.trigger.start_date == NOW + timedelta(minutes=20)
    reminders = scheduled[jobs.REMINDER_JOB].job.trigger
    fields = {field.name: str(field) for field in reminders.fields}
    assert (fields["hour"], fields["minute"]) == ("9", "0")
    assert str(reminders.timezone) == "Europe/Paris"
    assert "reminders-catch-up" not in scheduled
    # The delivery worker of the delivery side, every few seconds.
    delivery = scheduled["delivery"].job
    assert delivery.trigger.interval <= timedelta(seconds=10)
    names = {job.name for job in application.job_queue.jobs()}
    assert {jobs.INGEST_JOB, jobs.REMINDER_JOB, "deliver"} <= names


def test_a_restart_after_downtime_catches_up(application, engine):
    jobs.record_run(engine, jobs.INGEST_JOB, NOW - timedelta(hours=3))
    jobs.record_run(engine, jobs.REMINDER_JOB, NOW - timedelta(days=2))
    scheduled = jobs.schedule_jobs(application, now=NOW, delivery=False)
    # At once (after a short delay for the bot to start), not 30 minutes later.
    assert scheduled[jobs.INGEST_JOB].job.trigger.start_date == NOW + jobs.START_DELAY
    assert scheduled["reminders-catch-up"].job.trigger.run_date == NOW + jobs.START_DELAY
    assert "delivery" not in scheduled


def test_last_run_survives_in_the_database(engine):
    assert jobs.last_run(engine, jobs.INGEST_JOB) is None
    jobs.record_run(engine, jobs.INGEST_JOB, NOW, {"x": 1})
    jobs.record_run(engine, jobs.INGEST_JOB, NOW + timedelta(minutes=30))
    assert jobs.last_run(engine, jobs.INGEST_JOB) == NOW + timedelta(minutes=30)


# --- the work ------------------------------------------------------------------------------------


def make_member(engine, user_id: int) -> int:
    with session_scope(engine) as session:
        _structure, member = save_diagnostic(
            session, telegram_user_id=user_id, chat_id=user_id, language="fr", answers=ANSWERS)
        return member.id


def fake_fetch(files: dict[str, object]):
    """An ingest_fetch that reads saved answers instead of the network; a source mapped to an
    exception fails with it."""
    async def fetch(engine, api_url, source, **_options):
        found = files[source]
        if isinstance(found, Exception):
            raise found
        return ingest_files(engine, source, found)

    return fetch


def test_ingestion_then_matching_then_deliveries(engine, settings, tmp_path):
    member_id = make_member(engine, 7001)
    shutil.copy(FIXTURES / "record_mapa.json", tmp_path / "mapa.json")
    fetch = fake_fetch({"boamp": tmp_path / "mapa.json",
                        "ted": IngestError("TED API: ConnectError")})
    run = jobs.ingest_and_match(engine, settings, NOW, fetch=fetch)
    assert run.reports["boamp"]["new"] == 1
    assert run.errors == {"ted": "TED API: ConnectError"}  # one source down: the other counts
    assert run.new_matches == 1
    with Session(engine) as session:
        tender = session.execute(select(TenderRow)).scalars().one()
        assert session.execute(select(MatchRow)).scalars().one().tender_id == tender.id
        delivery = session.execute(select(Delivery)).scalars().one()
    assert (delivery.member_id, delivery.kind, delivery.tender_id) == (
        member_id, DeliveryKind.ALERT, tender.id)
    assert jobs.last_run(engine, jobs.INGEST_JOB) == NOW
    # The next run finds nothing new and queues nothing twice.
    again = jobs.ingest_and_match(engine, settings, NOW + timedelta(minutes=30), fetch=fetch)
    assert again.new_matches == 0
    with Session(engine) as session:
        assert len(session.execute(select(Delivery)).scalars().all()) == 1


def mapa_record(path, deadline: datetime) -> None:
    """The saved MAPA record with its dates moved (the job uses the real clock)."""
    import json

    record = json.loads((FIXTURES / "record_mapa.json").read_text())
    record["dateparution"] = (deadline - timedelta(days=20)).date().isoformat()
    record["datelimitereponse"] = deadline.isoformat()
    path.write_text(json.dumps(record))


async def test_ingest_job_runs_in_a_thread_and_skips_overlaps(engine, settings, tmp_path,
                                                              monkeypatch):
    import threading

    import tenders.ingest

    make_member(engine, 7002)
    mapa_record(tmp_path / "mapa.json", datetime.now(UTC) + timedelta(days=20))
    threads = []
    inner = fake_fetch({"boamp": tmp_path / "mapa.json", "ted": tmp_path / "mapa.json"})

    async def fetch(engine, api_url, source, **_options):
        threads.append(threading.current_thread())
        return await inner(engine, api_url, "boamp")

    monkeypatch.setattr(tenders.ingest, "ingest_fetch", fetch)
    context = SimpleNamespace(application=SimpleNamespace(bot_data={
        "engine": engine, "settings": settings}))
    await jobs.ingest_job(context)
    assert threads and all(t is not threading.main_thread() for t in threads)
    with Session(engine) as session:
        assert len(session.execute(select(Delivery)).scalars().all()) == 1
    # While one run holds the guard, the next is skipped.
    guard = context.application.bot_data["_ingest_guard"]
    async with guard.lock:
        threads.clear()
        await jobs.ingest_job(context)
    assert threads == []


async def test_reminders_job(engine, settings):
    member_id = make_member(engine, 7003)
    now = datetime.now(UTC)
    # The job reads the wall clock: noon (Paris) the day after tomorrow is two calendar days
    # away whatever the hour the test runs at.
    deadline = datetime.combine(now.astimezone(TZ).date() + timedelta(days=2), time(12),
                                tzinfo=TZ)
    with session_scope(engine) as session:
        tender = TenderRow(source="boamp", source_id="x", title="Nettoyage", content_hash="h",
                           deadline=deadline)
        session.add(tender)
        session.flush()
        session.add(Interest(member_id=member_id, tender_id=tender.id, signal="interested",
                             created_at=now - timedelta(days=10)))
    context = SimpleNamespace(application=SimpleNamespace(bot_data={
        "engine": engine, "settings": settings}))
    await jobs.reminders_job(context)
    with Session(engine) as session:
        reminder = session.execute(select(Delivery)).scalars().one()
    assert reminder.kind == DeliveryKind.REMINDER and reminder.payload["days"] == 2
    assert jobs.last_run(engine, jobs.REMINDER_JOB) is not None
