"""The scheduled jobs of `centrale run`, on PTB's JobQueue (APScheduler).

- **ingestion** every 30 minutes: BOAMP then TED (tenders.ingest.ingest_fetch, from each source's
  cursor), then **matching** right after (alerts.match_job.run_matching, which writes the alerts'
  deliveries, updates and cancellations in its transaction). The whole run is blocking work (HTTP
  pages then database writes): it runs in a worker thread, with its own event loop for the
  fetch, so the bot keeps answering meanwhile.
- **reminders** every day at 09:00 in the configured time zone (alerts.reminders).
- **announcements** every 30 seconds: scheduled announcements whose time has come are released
  to the outbox (announcements.sending.release_due; the schedule is in the database, so one due
  while the bot was down leaves at the first run), and event reminders are queued (the day
  before, one hour before: announcements.events).
- **delivery**: the outbox worker as a repeating job (alerts.worker; scheduled by the delivery
  side's own function, see `_schedule_delivery`). Digests need no job of their own: a digest item
  is a delivery due at the member's hour, which the worker groups into one message.

Schedules are derived from the database, so a restart re-creates them without losing a beat: the
time of each job's last run is stored (`bot_state`, kind "job"); ingestion starts again 30
minutes after the last run (at once when that is past), and a reminder run missed while the bot
was down (09:00 passed since the last run) is made up at start.

`centrale ingest`, `centrale match` and `centrale deliver` do the same work as separate
processes; these jobs only chain them inside the bot.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import Engine
from telegram.ext import Application, ContextTypes

from store.db import session_scope
from store.models import BotState

log = logging.getLogger(__name__)

INGEST_SOURCES = ("boamp", "ted")
INGEST_INTERVAL = timedelta(minutes=30)
REMINDER_TIME = time(9, 0)
JOB_KIND = "job"
INGEST_JOB, REMINDER_JOB = "ingest", "reminders"
ANNOUNCEMENTS_JOB = "announcements"
ANNOUNCEMENTS_INTERVAL = timedelta(seconds=30)
START_DELAY = timedelta(seconds=10)  # let the bot answer its first updates before heavy work

Fetch = Callable[..., Awaitable[object]]


# --- last runs, in the database ------------------------------------------------------------------


def last_run(engine: Engine, job: str) -> datetime | None:
    with session_scope(engine) as session:
        state = session.execute(select(BotState).where(
            BotState.kind == JOB_KIND, BotState.key == job)).scalars().first()
    if state is None or not isinstance(state.value, dict) or not state.value.get("last_run"):
        return None
    try:
        moment = datetime.fromisoformat(state.value["last_run"])
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def record_run(engine: Engine, job: str, when: datetime, summary: dict | None = None) -> None:
    with session_scope(engine) as session:
        state = session.execute(select(BotState).where(
            BotState.kind == JOB_KIND, BotState.key == job)).scalars().first()
        state = state or BotState(kind=JOB_KIND, key=job)
        state.value = {"last_run": when.astimezone(UTC).isoformat(), "summary": summary or {}}
        state.updated_at = when
        session.add(state)


# --- when (pure) ---------------------------------------------------------------------------------


def next_ingest_at(last: datetime | None, now: datetime,
                   interval: timedelta = INGEST_INTERVAL) -> datetime:
    """The first ingestion after a start: one interval after the last run, at once if past."""
    if last is None:
        return now
    return max(now, last + interval)


def reminders_missed(last: datetime | None, now: datetime, tz: ZoneInfo,
                     at: time = REMINDER_TIME) -> bool:
    """True when the latest daily reminder time before `now` passed without a run."""
    local = now.astimezone(tz)
    latest = datetime.combine(local.date(), at, tzinfo=tz)
    if latest > local:
        latest -= timedelta(days=1)
    return last is None or last < latest


# --- the work (blocking, run in a thread) -------------------------------------------------------


@dataclass
class IngestRun:
    reports: dict[str, dict]
    errors: dict[str, str]
    tenders_scored: int
    new_matches: int

    def to_dict(self) -> dict:
        return {"reports": self.reports, "errors": self.errors,
                "tenders_scored": self.tenders_scored, "new_matches": self.new_matches}


def ingest_and_match(engine: Engine, settings, now: datetime | None = None, *,
                     sources: tuple[str, ...] = INGEST_SOURCES,
                     fetch: Fetch | None = None) -> IngestRun:
    """Fetch every source (one failing does not stop the others), then match what is new or
    changed. Blocking: call it in a thread."""
    from alerts.match_job import run_matching
    from tenders.ingest import IngestError, ingest_fetch

    fetch = fetch or ingest_fetch
    reports: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for source in sources:
        try:
            report = asyncio.run(fetch(engine, settings.tender_api_url(source), source,
                                       territory=settings.territory))
            reports[source] = report.to_dict() if hasattr(report, "to_dict") else {}
        except IngestError as exc:
            log.warning("ingestion of %s failed: %s", source, exc)
            errors[source] = str(exc)
        except Exception as exc:  # a bug in one source must not stop the other, nor matching
            log.exception("ingestion of %s failed", source)
            errors[source] = f"{type(exc).__name__}: {exc}"
    now = now or datetime.now(UTC)
    # Matching runs even when a fetch failed: a rectificatif stored by the other still counts.
    with session_scope(engine) as session:
        run = run_matching(session, now=now, tz=settings.timezone)
    result = IngestRun(reports, errors, run.tenders, len(run.stored))
    record_run(engine, INGEST_JOB, now, result.to_dict())
    return result


def enqueue_reminders_now(engine: Engine, now: datetime, tz: ZoneInfo) -> int:
    from alerts.reminders import enqueue_reminders

    with session_scope(engine) as session:
        count = enqueue_reminders(session, now, tz)
    record_run(engine, REMINDER_JOB, now, {"queued": count})
    return count


def follow_ups_now(engine: Engine, now: datetime, tz: ZoneInfo) -> int:
    from consortia.followup import enqueue_follow_ups

    with session_scope(engine) as session:
        return enqueue_follow_ups(session, now, tz)


def announcements_now(engine: Engine, now: datetime, tz: ZoneInfo) -> dict:
    from announcements.events import enqueue_event_reminders
    from announcements.sending import release_due

    with session_scope(engine) as session:
        released = release_due(session, now)
    with session_scope(engine) as session:
        reminders = enqueue_event_reminders(session, now, tz)
    return {"released": released, "reminders": reminders}


# --- PTB job callbacks ---------------------------------------------------------------------------


class _Once:
    """Skips a run while the previous one is still going (an ingestion longer than its
    interval); APScheduler's max_instances would only log a warning for it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()


async def ingest_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    data = context.application.bot_data
    guard: _Once = data.setdefault("_ingest_guard", _Once())
    if guard.lock.locked():
        log.info("previous ingestion still running: this run is skipped")
        return
    async with guard.lock:
        run = await asyncio.to_thread(ingest_and_match, data["engine"], data["settings"],
                                      None, sources=data.get("ingest_sources", INGEST_SOURCES))
    log.info("ingestion: %s", run.to_dict())


async def reminders_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    data = context.application.bot_data
    count = await asyncio.to_thread(enqueue_reminders_now, data["engine"], datetime.now(UTC),
                                    data["settings"].timezone)
    log.info("reminders queued: %s", count)
    asked = await asyncio.to_thread(follow_ups_now, data["engine"], datetime.now(UTC),
                                    data["settings"].timezone)
    log.info("follow-ups queued: %s", asked)


async def announcements_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    data = context.application.bot_data
    done = await asyncio.to_thread(announcements_now, data["engine"], datetime.now(UTC),
                                   data["settings"].timezone)
    if done["released"] or done["reminders"]:
        log.info("announcements: %s", done)


# --- scheduling ----------------------------------------------------------------------------------


def _schedule_delivery(application: Application) -> object | None:
    """The delivery worker's repeating job, from the delivery side (bot/cli_alerts.py)."""
    try:
        from bot.cli_alerts import schedule_delivery, stop_delivery
    except ImportError:
        log.warning("the delivery worker is not available: alerts will not be sent by this "
                    "process (run `centrale deliver`)")
        return None
    job = schedule_delivery(application)
    previous = application.post_shutdown

    async def post_shutdown(app: Application) -> None:
        await stop_delivery(app)  # the worker's own Bot and threads
        if previous is not None:
            await previous(app)

    application.post_shutdown = post_shutdown
    return job


def schedule_jobs(application: Application, now: datetime | None = None, *,
                  ingest_interval: timedelta = INGEST_INTERVAL,
                  delivery: bool = True) -> dict[str, object]:
    """Add the jobs to the Application's JobQueue (call before it starts). Returns them by name,
    for tests and logs."""
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    engine = application.bot_data["engine"]
    tz = application.bot_data["settings"].timezone
    now = now or datetime.now(UTC)
    jobs: dict[str, object] = {}
    once = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 600}

    first = max(next_ingest_at(last_run(engine, INGEST_JOB), now, ingest_interval),
                now + START_DELAY)
    jobs[INGEST_JOB] = job_queue.run_repeating(ingest_job, interval=ingest_interval,
                                               first=first, name=INGEST_JOB, job_kwargs=once)
    jobs[REMINDER_JOB] = job_queue.run_daily(reminders_job, REMINDER_TIME.replace(tzinfo=tz),
                                             name=REMINDER_JOB, job_kwargs=once)
    if reminders_missed(last_run(engine, REMINDER_JOB), now, tz):
        jobs["reminders-catch-up"] = job_queue.run_once(reminders_job, now + START_DELAY,
                                                        name="reminders-catch-up")
    jobs[ANNOUNCEMENTS_JOB] = job_queue.run_repeating(
        announcements_job, interval=ANNOUNCEMENTS_INTERVAL, first=START_DELAY / 2,
        name=ANNOUNCEMENTS_JOB, job_kwargs=once)
    if delivery and (job := _schedule_delivery(application)) is not None:
        jobs["delivery"] = job
    log.info("jobs scheduled: ingestion from %s every %s, reminders daily at %s",
             first.isoformat(), ingest_interval, REMINDER_TIME)
    return jobs
