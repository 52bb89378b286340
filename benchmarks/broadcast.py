"""Broadcast benchmark: an announcement to an audience chosen with three filters among
`--members` members, queued through the outbox and delivered through the fake Bot API (which
enforces Telegram's 30 messages a second). Prints one JSON object:

    {"members", "audience", "audience_query_ms", "enqueue_s", "delivered_per_s",
     "ratio_to_cap", "lost", "duplicates"}

Targets: audience_query_ms <= 500, enqueue_s <= 5, ratio_to_cap >= 0.95, lost = duplicates = 0.

    .venv/bin/python benchmarks/broadcast.py --members 50000 [--cap 30] [--database-url URL]

The filters: département 42 (or all of France), families SIAE ACI or EI, readiness score 50 or
more — about 1.5 % of the members, so the delivery at the cap takes about half a minute. The
audience query is the one /diffuser's preview counts and the send uses
(announcements.audience); `enqueue_s` is announcements.sending.create (the query again, then the
deliveries written); `delivered_per_s` is the worker `centrale deliver` runs, with its defaults,
from its start to its end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a file
    sys.path.insert(0, str(ROOT))

FAMILIES = ("association", "scop", "scic", "siae_aci", "siae_ei", "ea", "esat", "geiq")
DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
CPV = ("77310000", "90910000", "45210000", "55520000", "79530000", "50700000")


def populate(url: str, count: int, seed: int = 1) -> None:
    from sqlalchemy import insert

    from store.db import all_metadata, make_engine
    from store.models import AlertPreference, Member, Structure

    engine = make_engine(url)
    metadata = all_metadata()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    draw = random.Random(seed)
    now = datetime.now(UTC)
    structures, members, preferences = [], [], []
    for n in range(1, count + 1):
        home = "42" if draw.random() < 0.1 else draw.choice(DEPARTEMENTS)
        structures.append({
            "id": n, "name": f"Structure {n}", "family": draw.choice(FAMILIES),
            "all_france": draw.random() < 0.02, "departements": [home],
            "cpv_codes": draw.sample(CPV, 2), "keywords": [], "excluded_keywords": [],
            "readiness": [], "consortium_roles": [], "is_ess": True, "is_siae": False,
            "readiness_score": draw.randint(0, 100), "experience": "never",
            "created_at": now, "updated_at": now})
        members.append({"id": n, "structure_id": n, "telegram_user_id": 1_000_000_000 + n,
                        "telegram_chat_id": 1_000_000_000 + n, "telegram_active": True,
                        "email_active": True, "role": "member", "language": "fr",
                        "created_at": now})
        preferences.append({"member_id": n, "rhythm": "instant", "channel": "telegram",
                            "digest_hour": 8, "weekly_day": 0, "quiet_start": 0,
                            "quiet_end": 0, "quiet_weekends": False})
    with engine.begin() as connection:
        for table, rows in ((Structure, structures), (Member, members),
                            (AlertPreference, preferences)):
            for start in range(0, len(rows), 5000):
                connection.execute(insert(table), rows[start:start + 5000])
    engine.dispose()


def measure(url: str):
    from sqlmodel import Session

    from announcements.audience import Filters, audience
    from announcements.sending import Draft, create
    from store.db import make_engine

    filters = Filters(departements=("42",), families=("siae_aci", "siae_ei"), min_readiness=50)
    engine = make_engine(url)
    with Session(engine) as session:
        audience(session, Filters(families=("geiq",)))  # warm the connection and the caches
        started = time.perf_counter()
        recipients = audience(session, filters)
        query_ms = (time.perf_counter() - started) * 1000
    with Session(engine) as session:
        started = time.perf_counter()
        announcement = create(session, None, Draft("Atelier *marchés publics* jeudi", filters),
                              datetime.now(UTC))
        session.commit()
        enqueue_s = time.perf_counter() - started
        queued = announcement.recipients
    return engine, recipients, query_ms, enqueue_s, queued


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50000)
    parser.add_argument("--cap", type=float, default=30.0, help="the fake API's messages/s")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="default: a new SQLite file in a temporary directory")
    args = parser.parse_args(argv)

    import httpx
    from sqlalchemy import func, select
    from sqlmodel import Session

    from benchmarks.delivery import TOKEN, run_worker, start_server
    from store.alert_models import Delivery

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'broadcast-bench.db'}"
        populate(url, args.members)
        engine, recipients, query_ms, enqueue_s, queued = measure(url)
        server, api_url = start_server()
        try:
            control = api_url.removesuffix("/bot") + f"/_control/{TOKEN}"
            httpx.post(f"{control}/configure", json={"cap_per_s": args.cap}).raise_for_status()
            engine, stats, started_at, _run_s = asyncio.run(run_worker(url, api_url, None))
            print(json.dumps({"worker": stats.to_dict()}), file=sys.stderr)
            state = httpx.get(f"{control}/state", timeout=60).json()
        finally:
            server.terminate()
            server.wait()
        with Session(engine) as session:
            sent, last = session.execute(select(func.count(), func.max(Delivery.sent_at)).where(
                Delivery.status == "sent")).one()
        engine.dispose()

    wanted = recipients.deliveries
    per_chat = [len(messages) for messages in state["chats"].values()]
    messages = sum(per_chat)
    duplicates = sum(count - 1 for count in per_chat if count > 1)
    reached = sum(1 for count in per_chat if count)
    # As benchmarks/delivery.py: to the last message sent, not to the end of the run's linger.
    seconds = (_aware(last) - started_at).total_seconds() if last is not None else 0.0
    rate = messages / seconds if seconds > 0 else 0.0
    print(json.dumps({
        "members": args.members,
        "audience": wanted,
        "audience_query_ms": round(query_ms, 1),
        "enqueue_s": round(enqueue_s, 3),
        "delivered_per_s": round(rate, 2),
        "ratio_to_cap": round(rate / args.cap, 3),
        "lost": max(wanted - reached, wanted - sent, wanted - queued),
        "duplicates": duplicates,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
