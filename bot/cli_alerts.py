"""`centrale deliver`: the delivery runner (alerts.runner) over the Telegram channel — and, beside
it, over the email channel when SMTP_URL is set — and the same runners as jobs of `centrale run`.

centrale deliver [--once] [--rate N] [--takeover] [--json]
centrale deliver --uncertain [--json]           list deliveries left `uncertain`
centrale deliver --requeue ID [ID …]            send those again (an operator's decision)
centrale deliver --requeue-all

Without --once the worker runs until SIGINT/SIGTERM (it then finishes the messages in flight and
puts back what it had claimed but not started). Several may run against PostgreSQL; the rate is
shared through the database, so `--rate` is the bot's total, whatever the number of workers.

Inside `centrale run`: `schedule_delivery(application)` adds the repeating job `deliver_job`,
which sends what is due and returns (a job never runs twice at once), and `email_deliver_job`
for email when SMTP_URL is set. `--rate` applies to Telegram; email keeps MAIL_RATE_PER_MINUTE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from datetime import UTC, datetime

import bot.flows  # noqa: F401 - every delivery kind can be rendered here
from locales import gettext_for

log = logging.getLogger(__name__)

JOB_NAME = "deliver"
EMAIL_JOB_NAME = "deliver-email"
JOB_INTERVAL_S = 5.0
ONCE_LINGER_S = 10.0  # `deliver --once` also waits for retries due within this (--linger)


def _language() -> str:
    from bot.cli_tenders import cli_language

    return cli_language()


def _config(args: argparse.Namespace):
    from alerts.runner import WorkerConfig

    config = WorkerConfig()
    if args.rate:
        config.rate_per_s = args.rate
    if args.once:
        config.once_linger_s = args.linger
    return config


async def _deliver(args: argparse.Namespace, settings, engine) -> dict:
    from alerts.runner import DeliveryRunner, WorkerConfig
    from bot.cli_mail import email_channel
    from channels.telegram import TelegramChannel, make_bot

    config = _config(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass
    recover = 0.0 if args.takeover else None
    runs = {}
    closing = []
    bot = None
    if settings.TELEGRAM_BOT_TOKEN:
        bot = make_bot(settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_URL,
                       read_timeout_s=config.read_timeout_s,
                       connect_timeout_s=config.connect_timeout_s)
        channel = TelegramChannel(bot, read_timeout_s=config.read_timeout_s,
                                  connect_timeout_s=config.connect_timeout_s)
        runs["telegram"] = DeliveryRunner(engine, channel, tz=settings.timezone, config=config)
    if settings.email_enabled:
        email_config = WorkerConfig(once_linger_s=config.once_linger_s)
        channel = email_channel(settings, engine)
        runs["email"] = DeliveryRunner(engine, channel, tz=settings.timezone,
                                       config=email_config)
        closing.append(channel.aclose)
    try:
        if bot is not None:
            await bot.initialize()
        results = await asyncio.gather(*(runner.run(once=args.once, stop=stop,
                                                     recover_lease_s=recover)
                                         for runner in runs.values()))
    finally:
        for runner in runs.values():
            runner.close()
        if bot is not None:
            await bot.shutdown()
        for close in closing:
            await close()
    per_channel = {name: stats.to_dict() for name, stats in zip(runs, results, strict=True)}
    return {**_sum(list(per_channel.values())), "channels": per_channel}


def _sum(all_stats: list[dict]) -> dict:
    """The runners' stats added up, key by key ((requeued, uncertain) pairs item by item)."""
    total: dict = {}
    for stats in all_stats:
        for key, value in stats.items():
            if isinstance(value, tuple | list):
                before = total.get(key) or (0,) * len(value)
                total[key] = tuple(a + b for a, b in zip(before, value, strict=True))
            else:
                total[key] = total.get(key, 0) + value
    return total


def _uncertain_rows(engine) -> list[dict]:
    from sqlalchemy import select

    from store.alert_models import Delivery, DeliveryStatus
    from store.db import session_scope

    with session_scope(engine) as session:
        rows = session.execute(select(Delivery).where(
            Delivery.status == DeliveryStatus.UNCERTAIN).order_by(Delivery.id)).scalars()
        return [{"id": d.id, "member_id": d.member_id, "channel": d.channel, "kind": d.kind,
                 "tender_id": d.tender_id, "attempts": d.attempts,
                 "attempt_started_at": d.attempt_started_at.isoformat()
                 if d.attempt_started_at else None, "error": d.last_error} for d in rows]


def _cmd_deliver(args: argparse.Namespace) -> int:
    from alerts.claims import requeue_uncertain
    from bot.cli_tenders import _engine_or_none
    from bot.settings import get_settings
    from store.db import session_scope

    _ = gettext_for(_language())
    engine = _engine_or_none(_)
    if engine is None:
        return 2
    if args.uncertain:
        rows = _uncertain_rows(engine)
        if args.json:
            print(json.dumps(rows, ensure_ascii=False, indent=2))
            return 0
        if not rows:
            print(_("No uncertain delivery."))
        for row in rows:
            print(_("#{id} {kind} to member {member} on {channel} (tender {tender}): "
                    "{error}").format(id=row["id"], kind=row["kind"], member=row["member_id"],
                                      channel=row["channel"], tender=row["tender_id"] or "-",
                                      error=row["error"] or "?"))
        return 0
    if args.requeue or args.requeue_all:
        with session_scope(engine) as session:
            count = requeue_uncertain(session, None if args.requeue_all else args.requeue,
                                      now=datetime.now(UTC))
        print(_("{count} deliveries will be sent again.").format(count=count))
        return 0
    settings = get_settings()
    if not settings.TELEGRAM_BOT_TOKEN and not settings.email_enabled:
        print(_("Neither TELEGRAM_BOT_TOKEN nor SMTP_URL is set: there is nothing to send "
                "with."), file=sys.stderr)
        return 2
    stats = asyncio.run(_deliver(args, settings, engine))
    waiting = _waiting_without_runner(engine, set(stats["channels"]))
    if args.json:
        print(json.dumps({**stats, "waiting_for_channel": waiting}))
        return 0
    print(_("{messages} messages sent ({sent} deliveries), {retried} to retry, "
            "{uncertain} uncertain, {dead} given up.").format(**stats))
    for channel, count in sorted(waiting.items()):
        print(_("{count} deliveries wait for the {channel} channel, which is not configured "
                "here: they will leave once it is.").format(count=count, channel=channel))
    return 0


def _waiting_without_runner(engine, running: set[str]) -> dict[str, int]:
    """Open deliveries of the channels no runner sent here (email without SMTP_URL…)."""
    from sqlalchemy import func, select

    from store.alert_models import Delivery, DeliveryStatus
    from store.db import session_scope

    with session_scope(engine) as session:
        rows = session.execute(select(Delivery.channel, func.count()).where(
            Delivery.status.in_(DeliveryStatus.OPEN), Delivery.channel.not_in(running))
            .group_by(Delivery.channel)).all()
    return {channel: count for channel, count in rows}


def register(commands) -> None:
    """Add `deliver` to the `centrale` parser."""
    _ = gettext_for(_language())
    deliver = commands.add_parser(
        "deliver", help=_("send due deliveries (a worker; several may run on PostgreSQL)"),
        description=_("Send the alerts, digests, updates and reminders that are due, through "
                      "Telegram (at most --rate messages a second for the whole bot) and, when "
                      "SMTP_URL is set, by email (MAIL_RATE_PER_MINUTE)."))
    deliver.add_argument("--once", action="store_true",
                         help=_("send what is due now, then stop"))
    deliver.add_argument("--linger", type=float, default=ONCE_LINGER_S, metavar="SECONDS",
                         help=_("with --once, also wait for retries due within this many "
                                "seconds (default 10)"))
    deliver.add_argument("--rate", type=float, default=None, metavar="N",
                         help=_("messages per second for the whole bot (default 29)"))
    deliver.add_argument("--takeover", action="store_true",
                         help=_("treat every delivery being sent as abandoned at start (only "
                                "when no other worker runs, e.g. after a crash)"))
    deliver.add_argument("--uncertain", action="store_true",
                         help=_("list the deliveries whose sending is uncertain"))
    deliver.add_argument("--requeue", type=int, nargs="+", metavar="ID",
                         help=_("send these uncertain deliveries again"))
    deliver.add_argument("--requeue-all", action="store_true",
                         help=_("send every uncertain delivery again"))
    deliver.add_argument("--json", action="store_true", help=_("print JSON"))
    deliver.set_defaults(func=_cmd_deliver)


# --- inside `centrale run` ----------------------------------------------------------------------


async def deliver_job(context) -> None:
    """A JobQueue callback: send what is due now with the application's settings and engine.
    The worker (and its own Bot, without PTB's rate limiter) lives in bot_data."""
    from alerts.runner import DeliveryRunner
    from channels.telegram import TelegramChannel, make_bot
    from store.db import engine_for

    application = context.application
    data = application.bot_data
    lock: asyncio.Lock = data.setdefault("delivery_lock", asyncio.Lock())
    if lock.locked():  # the previous run is still sending
        return
    async with lock:
        worker = data.get("delivery_worker")
        if worker is None:
            settings = data["settings"]
            engine = data.get("engine") or engine_for(settings.DATABASE_URL)
            bot = make_bot(settings.TELEGRAM_BOT_TOKEN or application.bot.token,
                           settings.TELEGRAM_API_URL)
            await bot.initialize()
            worker = data["delivery_worker"] = DeliveryRunner(engine, TelegramChannel(bot),
                                                              tz=settings.timezone)
        try:
            await worker.run(once=True)
        except Exception:
            log.exception("the delivery job failed; it runs again in %s s", JOB_INTERVAL_S)


async def email_deliver_job(context) -> None:
    """The same for the email channel (scheduled when SMTP_URL is set)."""
    from alerts.runner import DeliveryRunner
    from bot.cli_mail import email_channel
    from store.db import engine_for

    data = context.application.bot_data
    lock: asyncio.Lock = data.setdefault("email_delivery_lock", asyncio.Lock())
    if lock.locked():
        return
    async with lock:
        worker = data.get("email_delivery_worker")
        if worker is None:
            settings = data["settings"]
            engine = data.get("engine") or engine_for(settings.DATABASE_URL)
            worker = data["email_delivery_worker"] = DeliveryRunner(
                engine, email_channel(settings, engine), tz=settings.timezone)
        try:
            await worker.run(once=True)
        except Exception:
            log.exception("the email delivery job failed; it runs again in %s s",
                          JOB_INTERVAL_S)


def schedule_delivery(application, interval_s: float = JOB_INTERVAL_S):
    """Run `deliver_job` every `interval_s` seconds in the application's JobQueue (and
    `email_deliver_job` when SMTP_URL is set). Returns the Telegram job."""
    # Two instances allowed: a tick during a long run returns at once (the lock) instead of
    # APScheduler warning that the job is still running.
    settings = application.bot_data.get("settings")
    if settings is not None and settings.email_enabled:
        application.job_queue.run_repeating(email_deliver_job, interval=interval_s, first=1.5,
                                            name=EMAIL_JOB_NAME,
                                            job_kwargs={"max_instances": 2})
    return application.job_queue.run_repeating(deliver_job, interval=interval_s, first=1.0,
                                               name=JOB_NAME, job_kwargs={"max_instances": 2})


async def stop_delivery(application) -> None:
    """Release the jobs' workers (call from post_shutdown)."""
    worker = application.bot_data.pop("delivery_worker", None)
    if worker is not None:
        await worker.channel.bot.shutdown()
        worker.close()
    worker = application.bot_data.pop("email_delivery_worker", None)
    if worker is not None:
        await worker.channel.aclose()
        worker.close()
