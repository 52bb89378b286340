"""Conversation benchmark: the real bot through the fake Bot API, against a bare PTB echo bot.

    python benchmarks/conversation.py [--users 500] [--seed 1]

Each bot runs as in production, in its own process: `centrale run`, and the echo bot as
`benchmarks/echo_bot.py` (same PTB, same concurrency of 64 updates in flight, same pause between
getUpdates calls as `centrale run`). The fake Bot API server and the simulated users share this
process, on the other core, so the load generator does not take CPU from the bot it measures.
Capacity: N users go through the whole diagnostic answering without pause; updates handled per
second, compared with the echo bot sent the same number of messages by the same N users:
`ratio_to_echo` (the bare echo bot, on PTB's own httpx client) and `ratio_to_echo_same_client`
(the echo bot on the bot's aiohttp client: what the diagnostic itself costs). A user answers
once the bot has done its whole answer (the callback query answered, the next question's button
shown).
Latency: the same N users with a think time of 1 to 3 s between answers; p50 and p99 from pushing
an update to the bot's first answer. One JSON object on stdout. Runs on a fresh SQLite file
unless DATABASE_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakebot.client import Replies, VirtualUser  # noqa: E402
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


Step = tuple[str, str]


def done_when(step: Step, following: Step | None) -> Callable[[Replies], bool]:
    """When the bot has answered `step` as a whole: the callback query answered (for a tap) and
    what the user needs next is shown (the next button, or the next question to type into)."""
    action, _ = step

    def done(replies: Replies) -> bool:
        if action == "tap" and replies.answer is None:
            return False
        if following is not None and following[0] == "tap":
            return any(button.get("callback_data") == following[1]
                       for message in replies for button in message.buttons())
        return bool(replies)

    return done


def paced(script: list[Step]) -> list[tuple[Step, Callable[[Replies], bool]]]:
    return [(step, done_when(step, script[i + 1] if i + 1 < len(script) else None))
            for i, step in enumerate(script)]


async def run_user(user: VirtualUser, script, think: tuple[float, float] | None,
                   rng: random.Random, latencies: list[float]) -> None:
    for (action, value), until in script:
        if think:
            await asyncio.sleep(rng.uniform(*think))
        replies = await (user.send(value, until=until) if action == "send"
                         else user.tap(value, until=until))
        if replies.latency is not None:
            latencies.append(replies.latency)


async def phase(server, token, users: int, script, think, seed) -> dict:
    rng = random.Random(seed)
    latencies: list[float] = []
    people = [VirtualUser(server, token, server.new_user_id(), language_code="fr", timeout=120)
              for _ in range(users)]
    started = time.perf_counter()
    await asyncio.gather(*(run_user(p, paced(script), think, random.Random(rng.random()),
                                    latencies)
                           for p in people))
    seconds = time.perf_counter() - started
    return {"updates": users * len(script), "seconds": seconds, "latencies": latencies}


@contextlib.asynccontextmanager
async def bot_process(server: FakeBotServer, argv: list[str], env: dict[str, str],
                      log: Path) -> AsyncIterator[str]:
    """Run a bot as its own process on a new token; yield the token once it polls."""
    token = server.add_bot()
    state = server.bot(token)
    env = dict(os.environ, **env, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=server.base_url)
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not any(call.method == "getUpdates" for call in state.calls):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{argv} did not start polling; see {log}")
            await asyncio.sleep(0.05)
        yield token
    finally:
        process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + 30
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
            await asyncio.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def main(users: int, seed: int) -> dict:
    from bot.app import POLL_INTERVAL

    folder = Path(tempfile.mkdtemp(prefix="centrale-bench-"))
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.db"
    log = folder / "bots.log"

    server = await FakeBotServer().start()
    try:
        echo_script = [("send", f"message {i}") for i in range(len(SCRIPT))]
        echo_runs = {}
        for client in ("httpx", "aiohttp"):
            argv = ["benchmarks/echo_bot.py", "--client", client]
            async with bot_process(server, argv, {}, log) as echo_token:
                echo_runs[client] = await phase(server, echo_token, users, echo_script, None,
                                                seed)

        # External APIs on a closed local port: the bot's scheduled ingestion fails at once
        # instead of waiting on DNS while it is measured.
        closed = "http://127.0.0.1:9"
        env = {"DATABASE_URL": database_url, "COMPANY_API_URL": f"{closed}/search",
               "BOAMP_API_URL": f"{closed}/boamp", "TED_API_URL": f"{closed}/ted"}
        async with bot_process(server, ["-m", "bot.cli", "run"], env, log) as token:
            capacity = await phase(server, token, users, SCRIPT, None, seed)
            latency = await phase(server, token, users, SCRIPT, (1.0, 3.0), seed + 1)
    finally:
        await server.stop()

    updates_per_s = capacity["updates"] / capacity["seconds"]
    echo_per_s = {client: run["updates"] / run["seconds"] for client, run in echo_runs.items()}
    lat = latency["latencies"]
    return {
        "users": users,
        "updates": capacity["updates"],
        "seconds": round(capacity["seconds"], 3),
        "updates_per_s": round(updates_per_s, 1),
        "echo_updates_per_s": round(echo_per_s["httpx"], 1),
        "ratio_to_echo": round(updates_per_s / echo_per_s["httpx"], 3),
        "echo_same_client_updates_per_s": round(echo_per_s["aiohttp"], 1),
        "ratio_to_echo_same_client": round(updates_per_s / echo_per_s["aiohttp"], 3),
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
