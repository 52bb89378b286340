"""Email bridge benchmark: 5,000 alert emails rendered and sent by the email runner to a local
aiosmtpd sink, then 1,000 replies ("INTERESSE") through the LMTP server, carried out and
answered — and 1,000 more through the split deployment. Prints one JSON object:

    {"messages", "seconds", "msgs_per_s", "baseline_msgs_per_s", "replies", "replies_seconds",
     "replies_per_s", "baseline_replies_per_s", "server_cpu_ms_per_reply", "split_replies",
     "split_replies_per_s", "split_cpu_ms_per_reply", "lost", "duplicates"}

The baselines are measured in the same run: `baseline_msgs_per_s`, prebuilt emails sent by
aiosmtplib alone to the same sink over as many connections (no rendering, no database);
`baseline_replies_per_s`, the same replies handed by the same client to a bare LMTP server that
stores nothing. `replies_per_s`: one process stores, processes and answers (`centrale mail
serve`, or `centrale run`); `server_cpu_ms_per_reply`, the CPU time it spent per reply, all
threads — what bounds `replies_per_s` once it nears one core. `split_replies_per_s`: other
members' replies to `centrale mail serve --store-only` in this process and one `centrale mail
process` runner (the real command, in its own process); `split_cpu_ms_per_reply`, both
processes' CPU per reply (the runner's start left out).

Target: msgs_per_s >= 500, replies_per_s >= 200, lost = duplicates = 0.

    .venv/bin/python benchmarks/email_bridge.py [--messages 5000] [--replies 1000]
                                                [--database-url URL]

The sink runs in its own process (as the relay would be elsewhere) and writes each Message-ID
it accepts to a file; the replies come from another process too (as Postfix would hand them
over, `CLIENTS` LMTP connections at once); the runner (what `centrale deliver` runs for email,
its rate set far above the load so that the limiter is not what is measured) and the LMTP server
run in this process. `seconds` runs from the runner's start to its end; the replies' from the
first reply sent to the last one processed and answered. The split phase needs `--messages` at
least twice `--replies` (it takes the members the first phase left). `lost`: alerts not received
by the sink, replies not carried out and answers not received; `duplicates`: the same alert
received twice plus a reply carried out twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a file: the project root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

TZ = ZoneInfo("Europe/Paris")
DOMAIN = "reply.bench.test"
CLIENTS = 8  # LMTP connections the MTA opens at once
POOL = 16  # the email channel's SMTP connections


def sink_main(port: int, path: str) -> None:
    """The sink process: accept everything, write each Message-ID on its own line."""
    from aiosmtpd.controller import Controller

    out = open(path, "a", buffering=1)  # noqa: SIM115 - open for the process's life

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
            for line in head.split(b"\r\n"):
                if line[:11].lower() == b"message-id:":
                    out.write(line[11:].strip().decode() + " " + envelope.rcpt_tos[0] + "\n")
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes our stdin
    finally:
        controller.stop()
        out.close()


def prepare(engine, count: int, now: datetime) -> None:
    from alerts.outbox import delivery_key
    from store.alert_models import Delivery
    from store.db import all_metadata
    from store.models import AlertPreference, Member, Structure
    from store.tender_models import MatchRow, TenderRow

    metadata = all_metadata()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with Session(engine) as session:
        tender = TenderRow(source="boamp", source_id="27-1", title="Entretien des espaces verts",
                           buyer="Ville de Lyon", description="Tonte et taille.",
                           cpv_codes=["77310000"], departements=["69"],
                           deadline=now + timedelta(days=30), estimated_value=120_000,
                           url="https://www.boamp.fr/avis/detail/27-1", status="open",
                           content_hash="h", needs_matching=False, first_seen=now,
                           updated_at=now)
        session.add(tender)
        session.flush()
        session.execute(insert(Structure), [{"name": f"Structure {i}", "departements": ["69"],
                                             "cpv_codes": ["77310000"], "keywords": [],
                                             "excluded_keywords": [], "readiness": [],
                                             "consortium_roles": []} for i in range(count)])
        structures = session.execute(select(Structure.id).order_by(Structure.id)).scalars().all()
        session.execute(insert(Member), [{"structure_id": s, "email": f"m{i}@asso.test",
                                          "language": "fr", "email_active": True,
                                          "telegram_active": True, "role": "member"}
                                         for i, s in enumerate(structures)])
        members = session.execute(select(Member.id, Member.structure_id)).all()
        session.execute(insert(AlertPreference), [{
            "member_id": m, "channel": "email", "quiet_start": 0, "quiet_end": 0,
            "quiet_weekends": False} for m, _s in members])
        session.execute(insert(MatchRow), [{
            "tender_id": tender.id, "structure_id": s, "score": 80,
            "reasons": [{"kind": "keyword", "keyword": "espaces verts"}], "created_at": now,
            "updated_at": now} for _m, s in members])
        session.execute(insert(Delivery), [{
            "member_id": m, "channel": "email", "kind": "alert", "tender_id": tender.id,
            "payload": {"score": 80}, "idempotency_key": delivery_key("alert", m, tender.id,
                                                                      "email"),
            "status": "pending", "attempts": 0, "failures": 0, "next_attempt_at": now,
            "created_at": now} for m, _s in members])
        session.commit()


async def lmtp_client(port: int, jobs: asyncio.Queue) -> None:
    import aiosmtplib

    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
    await client.connect()
    client.last_ehlo_response = await client.execute_command(b"LHLO", b"bench.test")
    while True:
        try:
            sender, recipient, data = jobs.get_nowait()
        except asyncio.QueueEmpty:
            break
        await client.sendmail(sender, [recipient], data)
    await client.quit()


def client_main(port: int, path: str) -> None:
    """The MTA's side, in its own process (as Postfix would be): the replies listed in `path`
    (one JSON [sender, recipient, data] a line) over CLIENTS LMTP connections at once."""
    jobs: asyncio.Queue = asyncio.Queue()
    with open(path) as lines:
        for line in lines:
            sender, recipient, data = json.loads(line)
            jobs.put_nowait((sender, recipient, data.encode()))

    async def send_all() -> None:
        await asyncio.gather(*(lmtp_client(port, jobs) for _ in range(CLIENTS)))

    asyncio.run(send_all())


async def smtp_baseline(port: int, count: int, connections: int) -> float:
    """Messages per second that aiosmtplib alone sends to the sink: `count` prebuilt emails of
    an alert's size over as many connections as the channel's pool (nothing rendered, no
    database). The ceiling the email runner is measured against."""
    import aiosmtplib

    body = ("Entretien des espaces verts — Ville de Lyon\r\n" * 60).encode()
    jobs: asyncio.Queue = asyncio.Queue()
    for n in range(count):
        jobs.put_nowait(b"From: alertes@bench.test\r\nTo: baseline@bench.test\r\n"
                        b"Message-ID: <b%d@bench.test>\r\nSubject: x\r\n\r\n" % n + body)

    async def one() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=60)
        await client.connect()
        while not jobs.empty():
            await client.sendmail("alertes@bench.test", ["baseline@bench.test"],
                                  jobs.get_nowait())
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    return count / (time.perf_counter() - start)


async def _send_replies(port: int, jobs_file: Path) -> None:
    """The MTA's side: the replies of `jobs_file` from another process (client_main)."""
    client = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--lmtp-client", str(port), str(jobs_file))
    assert await client.wait() == 0, "the LMTP client failed"


async def lmtp_baseline(jobs_file: Path) -> float:
    """Replies per second that the same client hands to a bare aiosmtpd LMTP server, which
    accepts each recipient and does nothing: the ceiling the bridge is measured against."""
    from aiosmtpd.lmtp import LMTP

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "\r\n".join("250 2.0.0 OK" for _ in envelope.rcpt_tos)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: LMTP(Accept(), decode_data=False),
                                      host="127.0.0.1", port=0)
    port = server.sockets[0].getsockname()[1]
    count = sum(1 for _ in jobs_file.open())
    start = time.perf_counter()
    await _send_replies(port, jobs_file)
    seconds = time.perf_counter() - start
    server.close()
    await server.wait_closed()
    return count / seconds


def _cpu_seconds() -> float:
    """CPU time of this process (the LMTP server and its workers), all threads."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Phase:
    seconds: float  # from the first reply sent to the last one processed and answered
    cpu: float  # CPU seconds of the server's processes


def write_replies(path: Path, rows, members, config, now: datetime) -> Path:
    """One INTERESSE a line ([sender, recipient, data]), from each member to its alert."""
    from channels.email.keys import Purpose, Thread, address, make_key

    with path.open("w") as jobs:
        for (member_id,) in rows:
            member = members[member_id]
            key = make_key(config.secret, Purpose.REPLY, member_id, Thread("t", 1), now.date())
            recipient = address(Purpose.REPLY, key, DOMAIN)
            data = (f"From: {member.email}\r\nTo: {recipient}\r\nSubject: Re: alerte\r\n"
                    f"Message-ID: <r{member_id}@asso.test>\r\n\r\nINTERESSE\r\n\r\nLe 24 "
                    "nov. 2026, Centrale a écrit :\r\n> Entretien des espaces verts\r\n")
            jobs.write(json.dumps([member.email, recipient, data]) + "\n")
    return path


async def one_process_replies(engine, config, channel, jobs_file: Path) -> Phase:
    """`centrale mail serve`: the LMTP server stores, processes and answers, in this process."""
    from channels.email.inbound import Bridge
    from channels.email.lmtp import LmtpServer

    server = LmtpServer(Bridge(engine, config, channel, tz=TZ), "127.0.0.1", 0)
    await server.start()
    start, cpu = time.perf_counter(), _cpu_seconds()
    await _send_replies(server.port, jobs_file)
    await server.drain()
    phase = Phase(time.perf_counter() - start, _cpu_seconds() - cpu)
    await server.stop()
    return phase


async def split_replies(url: str, config, smtp_port: int, jobs_file: Path) -> Phase:
    """`centrale mail serve --store-only` in this process and one `centrale mail process`
    runner (the real command, in its own process): done when every reply is processed and the
    runner, told to stop, has mailed every answer."""
    from channels.email.channel import EmailChannel
    from channels.email.inbound import Bridge
    from channels.email.lmtp import LmtpServer
    from store.db import make_engine
    from store.mail_models import InboundMail, InboundStatus

    engine = make_engine(url)
    channel = EmailChannel(config, engine)
    server = LmtpServer(Bridge(engine, config, channel, tz=TZ), "127.0.0.1", 0, process=False)
    await server.start()
    env = {**os.environ, "DATABASE_URL": url, "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
           "MAIL_FROM": config.mail_from, "MAIL_DOMAIN": DOMAIN,
           "REPLY_KEY_SECRET": config.secret, "MAIL_RATE_PER_MINUTE": "10000000",
           "LANG": "en_GB.UTF-8", "LMTP_LISTEN": "", "TELEGRAM_BOT_TOKEN": ""}
    runner = subprocess.Popen([sys.executable, "-m", "bot.cli", "mail", "process", "--poll",
                               "0.05"], cwd=Path(__file__).resolve().parents[1], env=env,
                              stdout=subprocess.PIPE, text=True)
    assert runner.stdout.readline().startswith("Processing"), "the runner did not start"
    count = sum(1 for _ in jobs_file.open())
    start, cpu = time.perf_counter(), _cpu_seconds() - _started_cpu(runner.pid)
    await _send_replies(server.port, jobs_file)
    table = InboundMail.__table__
    waiting = select(func.count()).select_from(table).where(
        table.c.status == InboundStatus.RECEIVED)
    while True:
        with engine.connect() as connection:
            if count == 0 or connection.execute(waiting).scalar() == 0:
                break
        await asyncio.sleep(0.02)
    runner.send_signal(signal.SIGTERM)
    _pid, status, usage = await asyncio.to_thread(os.wait4, runner.pid, 0)
    runner.returncode = os.waitstatus_to_exitcode(status)
    phase = Phase(time.perf_counter() - start,
                  _cpu_seconds() - cpu + usage.ru_utime + usage.ru_stime)
    assert runner.returncode == 0, "the runner failed"
    await server.stop()
    await channel.aclose()
    engine.dispose()
    return phase


def _started_cpu(pid: int) -> float:
    """CPU seconds a child has used so far (its start: imports, connections), from Linux's
    /proc; 0 elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


async def run(args) -> dict:
    import conversations.email_onboarding  # noqa: F401 - plugs INSCRIPTION in
    from alerts.runner import DeliveryRunner, WorkerConfig
    from channels.email.channel import EmailChannel
    from channels.email.config import MailConfig, SmtpServer
    from store.alert_models import Delivery, Interest
    from store.db import make_engine
    from store.models import Member
    from tests.email.conftest import free_port

    workdir = Path(tempfile.mkdtemp(prefix="email-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    engine = make_engine(url)
    now = datetime.now(UTC) - timedelta(minutes=1)
    prepare(engine, args.messages, now)

    port, received = free_port(), workdir / "received.txt"
    sink = subprocess.Popen([sys.executable, __file__, "--sink", str(port), str(received)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    config = MailConfig(mail_from="Centrale <alertes@bench.test>", domain=DOMAIN,
                        secret="benchmark-secret-0123456789", smtp=SmtpServer("127.0.0.1", port),
                        rate_per_minute=10_000_000)
    channel = EmailChannel(config, engine, pool_size=POOL)
    try:
        runner = DeliveryRunner(engine, channel, tz=TZ, config=WorkerConfig(poll_s=0.05))
        start = time.perf_counter()
        stats = await runner.run(once=True)
        seconds = time.perf_counter() - start
        runner.close()
        baseline_out = await smtp_baseline(port, args.messages, POOL)

        # Replies: INTERESSE to each alert's reply address, from its member; the first
        # `replies` members answer the one-process server, the next ones the split one.
        with Session(engine) as session:
            rows = session.execute(select(Delivery.member_id).where(
                Delivery.status == "sent").order_by(Delivery.id).limit(2 * args.replies)).all()
            members = {m.id: m for m in session.execute(select(Member)).scalars()}
        inline_rows, split_rows = rows[:args.replies], rows[args.replies:]
        jobs_file = write_replies(workdir / "replies.jsonl", inline_rows, members, config, now)
        split_file = write_replies(workdir / "split.jsonl", split_rows, members, config, now)
        baseline_in = await lmtp_baseline(jobs_file)
        inline = await one_process_replies(engine, config, channel, jobs_file)
        split = await split_replies(url, config, port, split_file)
        with Session(engine) as session:
            interests = session.execute(select(Interest.member_id, func.count()).group_by(
                Interest.member_id)).all()
    finally:
        await channel.aclose()
        sink.stdin.close()
        sink.wait(timeout=30)
    lines = received.read_text().splitlines() if received.exists() else []
    by_recipient = Counter(line.split(" ", 1)[1] for line in lines)
    alerts_to = {f"m{i}@asso.test" for i in range(args.messages)}
    # Each member gets its alert, and the replying ones one answer.
    alert_copies = Counter({r: c for r, c in by_recipient.items() if r in alerts_to})
    answered = {members[m].email for (m,) in rows}
    lost_alerts = sum(1 for r in alerts_to if alert_copies[r] == 0)
    lost_answers = sum(1 for r in answered if alert_copies[r] < 2)
    dup_alerts = sum(max(0, alert_copies[r] - (2 if r in answered else 1)) for r in alerts_to)
    carried = dict(interests)
    lost_replies = sum(1 for (m,) in rows if carried.get(m, 0) == 0)
    dup_replies = sum(max(0, c - 1) for c in carried.values())
    engine.dispose()
    replies = len(inline_rows)
    return {"messages": stats.messages, "seconds": round(seconds, 2),
            "msgs_per_s": round(stats.messages / seconds, 1),
            "baseline_msgs_per_s": round(baseline_out, 1), "replies": replies,
            "replies_seconds": round(inline.seconds, 2),
            "replies_per_s": round(replies / inline.seconds, 1),
            "baseline_replies_per_s": round(baseline_in, 1),
            "server_cpu_ms_per_reply": round(1000 * inline.cpu / max(replies, 1), 2),
            "split_replies": len(split_rows),
            "split_replies_per_s": round(len(split_rows) / split.seconds, 1),
            "split_cpu_ms_per_reply": round(1000 * split.cpu / max(len(split_rows), 1), 2),
            "lost": lost_alerts + lost_replies + lost_answers, "duplicates": dup_alerts + dup_replies}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--sink":
        sink_main(int(sys.argv[2]), sys.argv[3])
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--lmtp-client":
        client_main(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
