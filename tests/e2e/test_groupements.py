"""Groupements end to end, through the real bot and the fake Bot API, with several members: a
search with consent, suggestions, two proposals, a refusal with a reason, an acceptance, the
thread both ways (a reply, /groupe), contacts shared field by field, an advisor joining, and
what a non-advisor or a forged button gets. Over every message the requester received, the
candidate that never accepted shows no contact detail and no Telegram id."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest_asyncio
from sqlalchemy import select
from sqlmodel import Session

from alerts.outbox import enqueue_for_match
from store.consortia_models import Groupement, GroupementMember, Proposal
from store.db import session_scope
from store.models import Member
from store.tender_models import MatchRow, TenderRow
from tests.consortia_world import make_world
from tests.e2e.test_alerts import PARIS, deliver

WORKER_AT = datetime(2027, 3, 10, 10, 0, tzinfo=UTC)  # a Wednesday, before the deadline
KEYS = ("requester", "etti", "roofer", "far", "anne", "bruno")


@pytest_asyncio.fixture(loop_scope="session")
async def centrale(centrale_bot, engine):
    return centrale_bot


def alert_requester(engine, world) -> None:
    with session_scope(engine) as session:
        tender = session.get(TenderRow, world["tender"])
        member = session.get(Member, world["requester"])
        row = MatchRow(tender_id=tender.id, structure_id=member.structure_id, score=80,
                       reasons=[{"kind": "cpv", "code": "77310000"}])
        session.add(row)
        session.flush()
        assert enqueue_for_match(session, row, tender, WORKER_AT, PARIS) == 1


async def test_a_groupement_from_search_to_shared_contacts(centrale, fake_server, engine):
    users = {key: centrale.user(language_code="fr", first_name=key.title(),
                                username=f"{key}_tg") for key in KEYS}
    world = make_world(engine, telegram={key: user.user_id for key, user in users.items()})
    requester, etti, roofer = users["requester"], users["etti"], users["roofer"]
    alert_requester(engine, world)
    await deliver(centrale, fake_server, engine, WORKER_AT)
    alert = (await requester.wait(count=1)).last

    replies = await requester.tap("Chercher des partenaires", message=alert)
    screen = replies.last
    assert "Quel rôle proposez-vous" in screen.text
    await requester.tap("Comme cotraitant", message=screen)
    await requester.tap("Un métier", message=screen)
    replies = await requester.tap("Me montrer et voir les partenaires", message=screen)
    listing = replies.last
    assert "Partenaires suggérés" in listing.text
    assert "Intérim Solidaire 43" in listing.text and "Toits de Brioude" in listing.text
    assert "Espaces verts du Var" not in listing.text  # too far
    assert "etti@example.org" not in listing.text
    names = [line for line in listing.text.splitlines() if line[:2] in ("1.", "2.")]
    etti_number = "1" if "Intérim" in names[0] else "2"
    roofer_number = "2" if etti_number == "1" else "1"
    await requester.tap(f"Proposer au n° {etti_number}", message=listing)
    await requester.tap(f"Proposer au n° {roofer_number}", message=listing)

    await deliver(centrale, fake_server, engine, WORKER_AT)
    offer = (await etti.wait(count=1)).last
    assert "Jardins du Puy &lt;&amp;&gt; Cie" in offer.html  # escaped
    assert "Rôle proposé : cotraitant" in offer.text
    assert offer.labels() == ["Accepter", "Refuser"]
    refused = (await roofer.wait(count=1)).last
    replies = await roofer.tap("Refuser", message=refused)
    await roofer.tap("Pas disponible à ces dates", message=refused)
    replies = await etti.tap("Accepter", message=offer)
    assert "Groupement n°" in replies.text

    await deliver(centrale, fake_server, engine, WORKER_AT)
    news = await requester.wait(count=2)
    assert "Pas disponible à ces dates" in news.text and "Toits" not in news.text
    joined = next(m for m in news if "a accepté et rejoint" in m.text)

    replies = await requester.send("Bonjour, on se répartit les lots ?", reply_to=joined)
    assert "Envoyé aux autres" in replies.text
    await deliver(centrale, fake_server, engine, WORKER_AT)
    post = (await etti.wait(count=1)).last
    assert "Jardins du Puy &lt;&amp;&gt; Cie" in post.html and "répartit les lots" in post.text
    await etti.send("/groupe Oui : je prends le lot 1 <b>")
    await deliver(centrale, fake_server, engine, WORKER_AT)
    answer = (await requester.wait(count=1)).last
    assert "je prends le lot 1 &lt;b&gt;" in answer.html

    # contacts, field by field
    group_message = replies_last_with(etti, "Partager mes coordonnées")
    share = (await etti.tap("Partager mes coordonnées", message=group_message)).last
    await etti.tap("Téléphone : +33612345678", message=share)
    await etti.tap("Telegram : @etti_tg", message=share)
    await deliver(centrale, fake_server, engine, WORKER_AT)
    shared = await requester.wait(count=2)
    assert "+33612345678" in shared.text and "@etti_tg" in shared.text
    assert "etti@example.org" not in shared.text  # not chosen

    # the advisor sees it and joins; a member trying the same is refused
    with Session(engine) as session:
        gid = session.execute(select(Groupement.id)).scalar_one()
    replies = await roofer.press(f"g|gr_join|{gid}|", message=refused)
    assert "réservé aux conseillers" in (replies.answer.text or "")
    overview = await users["anne"].send("/groupements")
    assert "Rejoindre la conversation" in overview.labels()
    await users["anne"].tap("Rejoindre la conversation", message=overview.last)
    with Session(engine) as session:
        roles = sorted(r.role for r in session.execute(select(GroupementMember)).scalars())
    assert roles == ["advisor", "cocontractor", "lead"]

    # forged: the roofer accepting the etti's proposal, posting in a thread not its own
    with Session(engine) as session:
        etti_proposal = session.execute(select(Proposal.id).where(
            Proposal.to_member_id == world["etti"])).scalar_one()
    replies = await roofer.press(f"g|proposal_accept|{etti_proposal}|", message=refused)
    assert "ne vous est pas adressée" in (replies.answer.text or "")
    replies = await roofer.send("/groupe coucou")
    assert "aucun groupement" in replies.text

    # the candidate that never accepted: no contact detail, no Telegram id, ever
    for message in requester.messages:
        for secret in ("roofer@example.org", str(roofer.user_id), "roofer_tg"):
            assert secret not in message.text and secret not in message.html


def replies_last_with(user, label: str):
    return next(m for m in reversed(user.messages) if label in m.labels())


async def test_groupements_with_a_tender_number_starts_a_search(centrale, engine):
    user, stranger = centrale.user(language_code="fr"), centrale.user(language_code="fr")
    world = make_world(engine, telegram={"requester": user.user_id, "far": stranger.user_id},
                       telegram_base=5000)
    replies = await user.send(f"/groupements {world['tender']}")
    assert "Quel rôle proposez-vous" in replies.text
    replies = await user.send("/groupements 99999")  # a tender never received
    assert "plus disponible" in replies.text
