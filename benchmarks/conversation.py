"""Conversation benchmark: the real bot through the fake Bot API, against a bare PTB echo bot.

    python benchmarks/conversation.py [--users 500] [--seed 1]

Capacity: N users go through the whole diagnostic answering without pause; updates handled per
second, compared with the echo bot (same PTB, same fake server, same harness, same concurrency
of 64 updates in flight, same pause between getUpdates calls as `centrale run`) sent the same
number of messages by the same N users: `ratio_to_echo`.
Latency: the same N users with a think time of 1 to 3 s between answers; p50 and p99 from pushing
an update to the bot's first answer. One JSON object on stdout. Runs on a fresh SQLite file
unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.echo_bot import build_echo_application  # noqa: E402
from tests.fakebot.client import VirtualUser, start_application, stop_application  # noqa: E402
from tests.fakebot.server import FakeBotServer  # noqa: E402

# The diagnostic, step by step: ("send", text) or ("tap", button label or callback data).
SCRIPT = [
    ("send", "/start"), ("tap", "q|consent|c|0"), ("tap", "q|siret|c|0"),
    ("send", "Les Jardins du Lien"), ("tap", "q|family|c|3"), ("tap", "q|ess_principles|c|0"),
    ("send", "entretien d'espaces verts, nettoyage de locaux"), ("tap", "q|cpv|c|0"),
    ("tap", "q|cpv|done"), ("send", "42, 43, Rhône"), ("tap", "q|headcount|c|2"),
    ("tap", "q|turnover|skip"), ("tap", "q|capacity|c|1"), ("tap", "q|experience|c|0"),
    ("tap", "q|readiness|c|0"), ("tap", "q|readiness|done"), ("tap", "q|consortium|c|0"),
    ("tap", "q|consortium|done"), ("tap", "q|rhythm|c|1"), ("tap", "q|channel|c|0"),
    ("tap", "s|confirm"),
]


async def run_user(user: VirtualUser, script, think: tuple[float, float] | None,
                   rng: random.Random, latencies: list[float]) -> None:
    for action, value in script:
        if think:
            await asyncio.sleep(rng.uniform(*think))
        replies = await (user.send(value) if action == "send" else user.tap(value))
        if replies.latency is not None:
            latencies.append(replies.latency)


async def phase(server, token, users: int, script, think, seed) -> dict:
    rng = random.Random(seed)
    latencies: list[float] = []
    people = [VirtualUser(server, token, server.new_user_id(), language_code="fr", timeout=120)
              for _ in range(users)]
    started = time.perf_counter()
    await asyncio.gather(*(run_user(p, script, think, random.Random(rng.random()), latencies)
                           for p in people))
    seconds = time.perf_counter() - started
    return {"updates": users * len(script), "seconds": seconds, "latencies": latencies}


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def main(users: int, seed: int) -> dict:
    from bot.app import POLL_INTERVAL, build_application
    from bot.settings import load_settings
    from store.db import all_metadata, make_engine

    database_url = os.environ.get("DATABASE_URL")
    folder = tempfile.mkdtemp(prefix="centrale-bench-")
    if not database_url:
        database_url = f"sqlite:///{folder}/bench.db"
    engine = make_engine(database_url)
    all_metadata().create_all(engine)

    server = await FakeBotServer().start()
    try:
        echo_token = server.add_bot()
        echo = build_echo_application(echo_token, server.base_url, concurrent_updates=64)
        await start_application(server, echo, poll_interval=POLL_INTERVAL)
        echo_script = [("send", f"message {i}") for i in range(len(SCRIPT))]
        echo_run = await phase(server, echo_token, users, echo_script, None, seed)
        await stop_application(server, echo)

        token = server.add_bot()
        settings = load_settings(_env_file=None, TELEGRAM_BOT_TOKEN=token,
                                 TELEGRAM_API_URL=server.base_url, DATABASE_URL=database_url,
                                 COMPANY_API_URL="http://127.0.0.1:9/search")
        bot = build_application(settings, engine=engine)
        await start_application(server, bot, poll_interval=POLL_INTERVAL)
        capacity = await phase(server, token, users, SCRIPT, None, seed)
        latency = await phase(server, token, users, SCRIPT, (1.0, 3.0), seed + 1)
        await stop_application(server, bot)
    finally:
        await server.stop()

    updates_per_s = capacity["updates"] / capacity["seconds"]
    echo_per_s = echo_run["updates"] / echo_run["seconds"]
    lat = latency["latencies"]
    return {
        "users": users,
        "updates": capacity["updates"],
        "seconds": round(capacity["seconds"], 3),
        "updates_per_s": round(updates_per_s, 1),
        "echo_updates_per_s": round(echo_per_s, 1),
        "ratio_to_echo": round(updates_per_s / echo_per_s, 3),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(percentile(lat, 0.99) * 1000, 1),
        "database": database_url.split(":", 1)[0],
        "poll_interval_s": POLL_INTERVAL,
        "latency_samples": len(lat),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.ERROR)
    print(json.dumps(asyncio.run(main(args.users, args.seed))))
