"""Delivery benchmark: 3,000 alerts to 3,000 members through the fake Bot API, which enforces
Telegram's 30 messages a second (429 with retry_after beyond it). Prints one JSON object:

    {"messages", "seconds", "msgs_per_s", "cap_per_s", "ratio_to_cap", "http_429", "lost",
     "duplicates"}

Target: ratio_to_cap >= 0.95, http_429 <= 1 % of messages, lost = duplicates = 0.

    python benchmarks/delivery.py [--members 3000] [--cap 30] [--database-url URL]

The fake server runs in its own process (as Telegram would be elsewhere); the worker is the one
`centrale deliver` runs, with its defaults (29 messages/s for the bot), in this process. The
alerts are queued the real way: one tender matched by 3,000 structures, through the outbox.
`seconds` runs from the worker's start to its end. Takes about 100 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlmodel import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file: the project root (with `tests`) comes first
TOKEN = "424242:BENCHMARK"


def start_server() -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakebot.server", "--port", "0", "--token", TOKEN],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline().strip()  # "fake Bot API listening on <base url>"
    if "listening on" not in line:
        process.kill()
        raise SystemExit(f"the fake Bot API did not start: {line!r}")
    return process, line.rsplit(" ", 1)[-1]


def prepare_database(url: str, members: int) -> None:
    from store.db import all_metadata, make_engine
    from tests.workers.factory import fan_out, make_tender

    engine = make_engine(url)
    metadata = all_metadata()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    now = datetime.now(UTC) - timedelta(minutes=1)
    with Session(engine) as session:
        tender = make_tender(session, now=now, deadline_days=30)
        # Members without quiet hours: the benchmark runs at any time of day.
        fan_out(session, tender, count=members, first_chat_id=1_000_000_001, now=now)
        session.commit()
    engine.dispose()


async def run_worker(url: str, api_url: str, rate: float | None):
    from alerts.runner import DeliveryRunner, WorkerConfig
    from channels.telegram import TelegramChannel, make_bot
    from store.db import make_engine

    engine = make_engine(url)
    bot = make_bot(TOKEN, api_url)
    config = WorkerConfig() if rate is None else WorkerConfig(rate_per_s=rate)
    worker = DeliveryRunner(engine, TelegramChannel(bot), tz=ZoneInfo("Europe/Paris"),
                            config=config)
    async with bot:
        started = time.perf_counter()
        stats = await worker.run(once=True)
        seconds = time.perf_counter() - started
    worker.close()
    return engine, stats, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--cap", type=float, default=30.0, help="the fake API's messages/s")
    parser.add_argument("--rate", type=float, default=None,
                        help="the worker's rate (default: that of `centrale deliver`)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="default: a new SQLite file in a temporary directory")
    args = parser.parse_args(argv)

    from store.alert_models import Delivery

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'delivery-bench.db'}"
        prepare_database(url, args.members)
        server, api_url = start_server()
        try:
            control = api_url.removesuffix("/bot") + f"/_control/{TOKEN}"
            httpx.post(f"{control}/configure", json={"cap_per_s": args.cap}).raise_for_status()
            engine, stats, seconds = asyncio.run(run_worker(url, api_url, args.rate))
            print(json.dumps({"worker": stats.to_dict()}), file=sys.stderr)
            state = httpx.get(f"{control}/state", timeout=60).json()
        finally:
            server.terminate()
            server.wait()
        with Session(engine) as session:
            sent = session.execute(select(func.count()).select_from(Delivery).where(
                Delivery.status == "sent")).scalar()
        engine.dispose()

    per_chat = [len(messages) for messages in state["chats"].values()]
    messages = sum(per_chat)
    duplicates = sum(count - 1 for count in per_chat if count > 1)
    reached = sum(1 for count in per_chat if count)
    lost = max(args.members - reached, args.members - sent)
    rate = messages / seconds if seconds else 0.0
    print(json.dumps({
        "messages": messages,
        "seconds": round(seconds, 2),
        "msgs_per_s": round(rate, 2),
        "cap_per_s": args.cap,
        "ratio_to_cap": round(rate / args.cap, 3),
        "http_429": state["counters"].get("http_429", 0),
        "lost": lost,
        "duplicates": duplicates,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
