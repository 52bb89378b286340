"""SIGKILL of `centrale run` between two acceptances loses nothing: the first candidate
accepts, the bot is killed, started again, the second accepts; there is one groupement with
the three structures, and the requester is told of both."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

import bot.flows  # noqa: F401 - the flows, for the requests made directly below
from alerts import actions
from alerts.message import Intent, Request
from consortia.groupements import GROUPEMENT_NEWS
from store.alert_models import Delivery
from store.consortia_models import Groupement, GroupementMember, PartnerSearch, Proposal
from store.db import make_engine, session_scope
from store.models import Member
from tests.consortia_world import make_world
from tests.e2e.test_restart import start_bot
from tests.fakebot.client import VirtualUser

PARIS = ZoneInfo("Europe/Paris")


def handle(engine, member_id, intent, target=None, arg=None):
    with session_scope(engine) as session:
        reply = actions.handle(session, member_id, Request(intent, target, arg),
                               datetime.now(UTC), PARIS)
    assert reply.changed, reply.note
    return reply


def propose_to_both(engine, world) -> None:
    handle(engine, world["requester"], Intent.PARTNERS, world["tender"])
    with Session(engine) as session:
        search = session.execute(select(PartnerSearch.id)).scalar_one()
        structures = [session.get(Member, world[key]).structure_id for key in ("etti", "roofer")]
    handle(engine, world["requester"], Intent.SEARCH_ROLE, search, "cocontractor")
    handle(engine, world["requester"], Intent.SEARCH_CONSENT, search, "yes")
    for structure in structures:
        handle(engine, world["requester"], Intent.PROPOSE, search, str(structure))


async def test_sigkill_between_two_acceptances(fake_server, empty_db_url, tmp_path):
    token = fake_server.add_bot()
    users = {key: VirtualUser(fake_server, token, fake_server.new_user_id(), timeout=60)
             for key in ("requester", "etti", "roofer")}
    log = tmp_path / "bot.log"
    process = start_bot(token, fake_server.base_url, empty_db_url, log)
    engine = make_engine(empty_db_url)
    try:
        await users["requester"].send("/aide")  # the bot is up: migrations applied
        world = make_world(engine, telegram={k: u.user_id for k, u in users.items()})
        propose_to_both(engine, world)
        offers = {key: (await users[key].wait(count=1)).last for key in ("etti", "roofer")}
        replies = await users["etti"].tap("Accepter", message=offers["etti"])
        assert "Groupement n°" in replies.text, log.read_text()[-2000:]

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process = start_bot(token, fake_server.base_url, empty_db_url, log)

        replies = await users["roofer"].tap("Accepter", message=offers["roofer"])
        assert "Groupement n°" in replies.text, log.read_text()[-2000:]
        news = []
        for _attempt in range(120):  # the restarted worker sends what was queued
            news = [m for m in users["requester"].messages if "a accepté et rejoint" in m.text]
            if len(news) == 2:
                break
            await asyncio.sleep(0.5)
    finally:
        process.kill()
        process.wait(timeout=10)
    assert len(news) == 2, log.read_text()[-3000:]
    with Session(engine) as session:
        [groupement] = session.execute(select(Groupement)).scalars().all()
        members = session.execute(select(GroupementMember.member_id).where(
            GroupementMember.left_at.is_(None))).scalars().all()
        statuses = session.execute(select(Proposal.status)).scalars().all()
        unsent = session.execute(select(Delivery).where(
            Delivery.kind == GROUPEMENT_NEWS, Delivery.status != "sent")).scalars().all()
    assert groupement.status == "forming"
    assert sorted(members) == sorted(world[k] for k in ("requester", "etti", "roofer"))
    assert statuses == ["accepted", "accepted"] and not unsent
