"""Delivery benchmark: 3,000 alerts to 3,000 members through the fake Bot API, which enforces
Telegram's 30 messages a second (429 with retry_after beyond it), optionally with faults.

    python benchmarks/delivery.py [--members 3000] [--cap 30] [--fail-5xx RATE]
                                  [--blocked RATE] [--seed 1] [--database-url URL]

The fake server runs in its own process (as Telegram would be elsewhere); the runner is the one
`centrale deliver --once` runs, with its defaults (29 messages/s for the bot, the same linger for
retries), in this process. The alerts are queued the real way: one tender matched by 3,000
structures, through the outbox. Takes about 100 s.

Faults. `--fail-5xx RATE`: that share of the sendMessage calls is answered 502 Bad Gateway
(nothing delivered; the runner must retry). `--blocked RATE`: that share of the chats blocked the
bot (403 to every send). Both are drawn by the fake server from `--seed`, per chat and per send
(tests.fakebot.server.drawn), so runs with one seed meet the same faults whatever their timing.

How the ratio is computed:
    seconds      = from the call of the runner's run() to the last message delivered (the latest
                   `sent_at` the runner recorded; wall clock, as it writes it)
    messages     = messages the fake API accepted (delivered; 429, 502 and 403 answers excluded)
    ratio_to_cap = messages / seconds / cap_per_s
So every send that delivered nothing (a 502 and its retry, a blocked chat's 403) costs a slot of
the cap and counts against the ratio, and so does the wait for the last retries. At the runner's
29/s the best possible ratio is 29/30 = 0.967 without faults, and about 0.92 with 2 % of 502s and
3 % of blocked chats (95 % of the sends deliver). `run_seconds` runs to the runner's return
(what the last checks and the linger add); `tail_s` is the part of `seconds` after the last
message delivered at its first try (what only retries took).

Printed (one JSON object): members, receivers (members whose chat is not blocked), messages,
sends (sendMessage calls), seconds, run_seconds, tail_s, msgs_per_s, cap_per_s, ratio_to_cap,
http_429, http_5xx, blocked_chats, blocked_tries (calls answered 403), blocked_not_once (blocked
chats not tried exactly once), lost (receivers without their message, or whose delivery is not
`sent`), duplicates (messages beyond one per chat).

Targets: without faults, ratio_to_cap >= 0.95, http_429 <= 1 % of messages, lost = duplicates =
0. With --fail-5xx 0.02 --blocked 0.03: ratio_to_cap >= 0.9, blocked_tries = blocked_chats,
blocked_not_once = lost = duplicates = 0.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file: the project root (with `tests`) comes first

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from alerts.runner import DeliveryRunner, WorkerConfig  # noqa: E402
from bot.cli_alerts import ONCE_LINGER_S  # noqa: E402
from channels.telegram import TelegramChannel, make_bot  # noqa: E402
from store.alert_models import Delivery  # noqa: E402
from store.db import all_metadata, make_engine  # noqa: E402
from store.models import Member  # noqa: E402
from tests.fakebot.server import is_drawn_blocked  # noqa: E402
from tests.workers.factory import fan_out, make_tender  # noqa: E402

TOKEN = "424242:BENCHMARK"
FIRST_CHAT_ID = 1_000_000_001


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
    engine = make_engine(url)
    metadata = all_metadata()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    now = datetime.now(UTC) - timedelta(minutes=1)
    with Session(engine) as session:
        tender = make_tender(session, now=now, deadline_days=30)
        # Members without quiet hours: the benchmark runs at any time of day.
        fan_out(session, tender, count=members, first_chat_id=FIRST_CHAT_ID, now=now)
        session.commit()
    engine.dispose()


async def run_worker(url: str, api_url: str, rate: float | None):
    engine = make_engine(url)
    bot = make_bot(TOKEN, api_url)
    # As `centrale deliver --once` (bot.cli_alerts): its defaults, its linger for retries.
    config = WorkerConfig(once_linger_s=ONCE_LINGER_S)
    if rate is not None:
        config.rate_per_s = rate
    worker = DeliveryRunner(engine, TelegramChannel(bot), tz=ZoneInfo("Europe/Paris"),
                            config=config)
    async with bot:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        stats = await worker.run(once=True)
        run_seconds = time.perf_counter() - started
    worker.close()
    return engine, stats, started_at, run_seconds


def outbox(engine) -> dict[int, Delivery]:
    """Each member's delivery, by chat id."""
    with Session(engine, expire_on_commit=False) as session:
        rows = session.execute(select(Member.telegram_chat_id, Delivery)
                               .join(Delivery, Delivery.member_id == Member.id)).all()
    return {chat_id: delivery for chat_id, delivery in rows}


def judge(args, state: dict, rows: dict[int, Delivery], started_at: datetime,
          run_seconds: float) -> dict:
    chats = [FIRST_CHAT_ID + n for n in range(args.members)]
    blocked = {c for c in chats if is_drawn_blocked(args.seed, args.blocked, c)}
    receivers = [c for c in chats if c not in blocked]
    per_chat = {int(c): len(messages) for c, messages in state["chats"].items()}
    messages = sum(per_chat.values())
    duplicates = sum(count - 1 for count in per_chat.values() if count > 1)
    missing = sum(1 for c in receivers if not per_chat.get(c))
    not_sent = sum(1 for c in receivers if rows[c].status != "sent")
    tries = {int(c): count for c, count in state["blocked_tries"].items()}
    delivered = [rows[c] for c in receivers if rows[c].sent_at is not None]
    last = max((d.sent_at for d in delivered), default=started_at)
    first_try = [d.sent_at for d in delivered if not d.failures]
    seconds = (last - started_at).total_seconds()
    rate = messages / seconds if seconds > 0 else 0.0
    counters = state["counters"]
    return {
        "members": args.members,
        "receivers": len(receivers),
        "messages": messages,
        "sends": counters.get("sendMessage", 0),
        "seconds": round(seconds, 2),
        "run_seconds": round(run_seconds, 2),
        "tail_s": round((last - max(first_try, default=last)).total_seconds(), 2),
        "msgs_per_s": round(rate, 2),
        "cap_per_s": args.cap,
        "ratio_to_cap": round(rate / args.cap, 3),
        "http_429": counters.get("http_429", 0),
        "http_5xx": sum(n for key, n in counters.items() if key.startswith("http_5")),
        "blocked_chats": len(blocked),
        "blocked_tries": sum(tries.get(c, 0) for c in blocked),
        "blocked_not_once": sum(1 for c in blocked if tries.get(c, 0) != 1),
        "lost": max(missing, not_sent),
        "duplicates": duplicates,
    }


def share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a share between 0 and 1 (0.02 for 2 %), not {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--cap", type=float, default=30.0, help="the fake API's messages/s")
    parser.add_argument("--rate", type=float, default=None,
                        help="the runner's rate (default: that of `centrale deliver`)")
    parser.add_argument("--fail-5xx", type=share, default=0.0, metavar="RATE",
                        help="share of sendMessage calls answered 502 (e.g. 0.02)")
    parser.add_argument("--blocked", type=share, default=0.0, metavar="RATE",
                        help="share of chats that blocked the bot (e.g. 0.03)")
    parser.add_argument("--seed", type=int, default=1, help="of the faults' draws")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="default: a new SQLite file in a temporary directory")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'delivery-bench.db'}"
        prepare_database(url, args.members)
        server, api_url = start_server()
        try:
            control = api_url.removesuffix("/bot") + f"/_control/{TOKEN}"
            httpx.post(f"{control}/configure", json={
                "cap_per_s": args.cap, "fail_5xx": args.fail_5xx, "blocked": args.blocked,
                "seed": args.seed}).raise_for_status()
            engine, stats, started_at, run_seconds = asyncio.run(
                run_worker(url, api_url, args.rate))
            print(json.dumps({"worker": stats.to_dict()}), file=sys.stderr)
            state = httpx.get(f"{control}/state", timeout=60).json()
        finally:
            server.terminate()
            server.wait()
        rows = outbox(engine)
        engine.dispose()
    print(json.dumps(judge(args, state, rows, started_at, run_seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
