"""Partner searches, proposals and groupements through `alerts.actions.handle`, as every channel
reaches them (consortia/): consent per tender, suggestions with their exclusion rules and the
pools, mutual consent, the anonymous refusal, the groupement's thread, contacts field by field,
statuses, leaving, an advisor joining, expiry and cancellation, forged targets."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import bot.flows  # noqa: F401 - every flow plugged in
from alerts import actions, relay
from alerts.compose import NothingToSend, build_message
from alerts.message import Intent, Request
from alerts.outbox import enqueue_cancellations
from consortia.groupements import GROUPEMENT_NEWS
from consortia.proposals import PARTNER_PROPOSAL, PROPOSAL_NEWS
from store.alert_models import Delivery, Interest
from store.consortia_models import (
    Groupement,
    GroupementMember,
    PartnerSearch,
    Proposal,
    ThreadKind,
)
from store.db import session_scope
from store.members import delete_member
from store.models import Member, Structure
from store.tender_models import TenderRow, TenderStatus
from tests.consortia_world import NOW, make_world

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def world(engine):
    return make_world(engine)


def ask(engine, member_id, intent, target=None, arg=None, now=NOW) -> actions.Reply:
    with session_scope(engine) as session:
        return actions.handle(session, member_id, Request(intent, target, arg), now, PARIS)


def search_id(engine, member_id) -> int:
    with session_scope(engine) as session:
        return session.execute(select(PartnerSearch.id).where(
            PartnerSearch.member_id == member_id)).scalar_one()


def structure_of(engine, member_id) -> int:
    with session_scope(engine) as session:
        return session.get(Member, member_id).structure_id


def delivered(engine, member_id, kind) -> list[str]:
    """The text of each delivery of `kind` to the member, built as its channel would."""
    out = []
    with session_scope(engine) as session:
        member = session.get(Member, member_id)
        for delivery in session.execute(select(Delivery).where(
                Delivery.member_id == member_id, Delivery.kind == kind)
                .order_by(Delivery.id)).scalars():
            try:
                out.append(build_message(session, delivery, member, NOW, PARIS).text())
            except NothingToSend:
                pass
    return out


def start_search(engine, world, who="requester", lacks=("trade",)) -> int:
    reply = ask(engine, world[who], Intent.PARTNERS, world["tender"])
    assert reply.changed and reply.messages and "rôle" in reply.messages[0].text()
    sid = search_id(engine, world[who])
    assert ask(engine, world[who], Intent.SEARCH_ROLE, sid, "cocontractor").changed
    for lack in lacks:
        ask(engine, world[who], Intent.SEARCH_LACK, sid, lack)
    return sid


def consent(engine, world, sid, who="requester") -> actions.Reply:
    reply = ask(engine, world[who], Intent.SEARCH_CONSENT, sid, "yes")
    assert reply.changed
    return reply


def suggested(reply) -> list[str]:
    return [a.arg for row in reply.messages[-1].actions for a in row
            if a.intent == Intent.PROPOSE]


def test_suggestions_follow_the_rules_and_the_pools(engine, world):
    ask(engine, world["declined"], Intent.NOT_FOR_US, world["tender"])
    sid = start_search(engine, world)
    reply = consent(engine, world, sid)
    got = suggested(reply)
    sid_of = {key: str(structure_of(engine, world[key])) for key in world if key not in (
        "tender", "anne", "bruno")}
    # The ETTI pairs with the ACI; the roofer covers lot 2 Couverture. Never: itself, "no" to
    # consortia, too far, a useless trade (bakery), one that answered "Pas pour nous".
    assert got[0] == sid_of["etti"] and sid_of["roofer"] in got
    for key in ("requester", "closed", "far", "baker", "declined"):
        assert sid_of[key] not in got
    text = reply.messages[-1].text()
    assert "ETTI : peut renforcer les équipes de votre ACI" in text
    assert "couvre le lot 2 Couverture" in text
    assert "example.org" not in text and "+336" not in text  # no contact detail


def test_nothing_leaves_without_consent_and_withdrawing_cancels(engine, world):
    sid = start_search(engine, world)
    etti = str(structure_of(engine, world["etti"]))
    refused = ask(engine, world["requester"], Intent.PROPOSE, sid, etti)
    assert refused.refused and not delivered(engine, world["etti"], PARTNER_PROPOSAL)
    consent(engine, world, sid)
    assert ask(engine, world["requester"], Intent.PROPOSE, sid, etti).changed
    assert ask(engine, world["requester"], Intent.PROPOSE, sid, etti).refused  # asked once
    [text] = delivered(engine, world["etti"], PARTNER_PROPOSAL)
    assert "Jardins du Puy <&> Cie" in text and "cotraitant" in text
    assert "requester@example.org" not in text
    withdrawn = ask(engine, world["requester"], Intent.SEARCH_CONSENT, sid, "no")
    assert withdrawn.changed and "retirée" in withdrawn.note
    with session_scope(engine) as session:
        proposal_id = session.execute(select(Proposal.id)).scalar_one()
    late = ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, proposal_id)
    assert late.refused
    with session_scope(engine) as session:
        assert session.execute(select(Groupement)).first() is None


def propose_to(engine, world, *keys) -> list[int]:
    sid = start_search(engine, world)
    consent(engine, world, sid)
    for key in keys:
        assert ask(engine, world["requester"], Intent.PROPOSE, sid,
                   str(structure_of(engine, world[key]))).changed
    with session_scope(engine) as session:
        return list(session.execute(select(Proposal.id).order_by(Proposal.id)).scalars())


def test_a_refusal_is_anonymous_with_or_without_a_reason(engine, world):
    etti, roofer = propose_to(engine, world, "etti", "roofer")
    picking = ask(engine, world["etti"], Intent.PROPOSAL_REFUSE, etti)
    assert not picking.changed and picking.screen is not None  # the reasons, nothing recorded
    assert ask(engine, world["etti"], Intent.PROPOSAL_REFUSE, etti, "busy").changed
    assert ask(engine, world["roofer"], Intent.PROPOSAL_REFUSE, roofer, "none").changed
    first, second = delivered(engine, world["requester"], PROPOSAL_NEWS)
    assert "Pas disponible à ces dates" in first and "Intérim" not in first
    assert "raison" not in second.lower().split("refusé")[-1] and "Toits" not in second
    assert ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, etti).refused is False
    with session_scope(engine) as session:
        assert session.execute(select(Groupement)).first() is None


def test_two_acceptances_make_one_groupement_with_a_thread(engine, world):
    etti, roofer = propose_to(engine, world, "etti", "roofer")
    assert not delivered(engine, world["requester"], GROUPEMENT_NEWS)
    accepted = ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, etti)
    assert accepted.changed and "Groupement" in accepted.messages[0].text()
    assert ask(engine, world["roofer"], Intent.PROPOSAL_ACCEPT, roofer).changed
    with session_scope(engine) as session:
        [groupement] = session.execute(select(Groupement)).scalars().all()
        roles = {row.member_id: row.role for row in session.execute(
            select(GroupementMember)).scalars()}
        gid = groupement.id
    assert roles == {world["requester"]: "lead", world["etti"]: "cocontractor",
                     world["roofer"]: "cocontractor"}
    news = delivered(engine, world["requester"], GROUPEMENT_NEWS)
    assert len(news) == 2 and "Intérim Solidaire 43 a accepté" in news[0]
    # the thread: /groupe reaches the two others, marked with the author's structure
    posted = ask(engine, world["etti"], Intent.GROUPEMENT_POST, arg="On se voit lundi ?")
    assert posted.changed
    [text] = delivered(engine, world["requester"], relay.THREAD_POST)
    assert "Intérim Solidaire 43" in text and "On se voit lundi ?" in text
    assert delivered(engine, world["roofer"], relay.THREAD_POST)
    assert not delivered(engine, world["etti"], relay.THREAD_POST)
    # an outsider cannot post, a forged target changes nothing
    assert ask(engine, world["far"], Intent.GROUPEMENT_POST, arg="coucou").refused
    assert ask(engine, world["far"], Intent.GROUPEMENT_STATUS, gid, "formed").refused
    assert ask(engine, world["far"], Intent.GROUPEMENT_SHARE, gid, "email").refused
    assert ask(engine, world["far"], Intent.GROUPEMENT_LEAVE, gid).refused


def test_contacts_are_shared_field_by_field(engine, world):
    [etti] = propose_to(engine, world, "etti")
    ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, etti)
    with session_scope(engine) as session:
        gid = session.execute(select(Groupement.id)).scalar_one()
    shown = lambda: ask(engine, world["requester"], Intent.GROUPEMENTS).messages[0].text()  # noqa: E731
    assert "+33612345678" not in shown() and "etti@example.org" not in shown()
    assert ask(engine, world["etti"], Intent.GROUPEMENT_SHARE, gid, "phone").changed
    assert "+33612345678" in shown() and "etti@example.org" not in shown()
    assert ask(engine, world["etti"], Intent.GROUPEMENT_SHARE, gid, "email").changed
    assert "etti@example.org" in shown()
    assert ask(engine, world["etti"], Intent.GROUPEMENT_SHARE, gid, "phone").changed  # unshare
    assert "+33612345678" not in shown()
    assert ask(engine, world["etti"], Intent.GROUPEMENT_SHARE, gid, "telegram").refused
    # forged: the requester cannot share for someone else, or a field that does not exist
    assert ask(engine, world["requester"], Intent.GROUPEMENT_SHARE, gid, "iban").refused


def test_statuses_by_the_lead_leaving_and_an_advisor_joining(engine, world):
    etti, roofer = propose_to(engine, world, "etti", "roofer")
    ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, etti)
    ask(engine, world["roofer"], Intent.PROPOSAL_ACCEPT, roofer)
    with session_scope(engine) as session:
        gid = session.execute(select(Groupement.id)).scalar_one()
    assert ask(engine, world["etti"], Intent.GROUPEMENT_STATUS, gid, "formed").refused
    assert ask(engine, world["requester"], Intent.GROUPEMENT_STATUS, gid, "won").refused
    for status in ("formed", "submitted"):
        assert ask(engine, world["requester"], Intent.GROUPEMENT_STATUS, gid, status).changed
    assert ask(engine, world["etti"], Intent.GROUPEMENT_JOIN, gid).refused  # advisors only
    joined = ask(engine, world["anne"], Intent.GROUPEMENT_JOIN, gid)
    assert joined.changed
    assert any("conseiller" in t for t in delivered(engine, world["etti"], GROUPEMENT_NEWS))
    advisor_view = ask(engine, world["bruno"], Intent.GROUPEMENTS).messages
    assert any(a.intent == Intent.GROUPEMENT_JOIN for m in advisor_view for row in m.actions
               for a in row)
    assert ask(engine, world["roofer"], Intent.GROUPEMENT_LEAVE, gid).changed
    assert any("a quitté" in t for t in delivered(engine, world["etti"], GROUPEMENT_NEWS))
    assert ask(engine, world["requester"], Intent.GROUPEMENT_STATUS, gid, "won").changed
    with session_scope(engine) as session:
        assert session.get(Groupement, gid).status == "won"


def test_expiry_at_the_deadline_and_cancellation_close_everything(engine, world):
    etti, roofer = propose_to(engine, world, "etti", "roofer")
    ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, etti)
    with session_scope(engine) as session:
        tender = session.get(TenderRow, world["tender"])
        tender.status = TenderStatus.CANCELLED
        session.add(tender)
        session.flush()
        enqueue_cancellations(session, NOW, PARIS)
        groupement = session.execute(select(Groupement)).scalar_one()
        assert groupement.status == "abandoned" and groupement.closed_reason == "tender_cancelled"
        assert session.get(Proposal, roofer).status == "cancelled"
    assert any("annulé" in t for t in delivered(engine, world["requester"], GROUPEMENT_NEWS))
    assert ask(engine, world["roofer"], Intent.PROPOSAL_ACCEPT, roofer).refused


def test_a_proposal_expires_with_the_deadline(engine, world):
    [etti] = propose_to(engine, world, "etti")
    late = NOW + timedelta(days=21)
    assert ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, etti, now=late).refused
    with session_scope(engine) as session:
        assert session.get(Proposal, etti).status == "expired"


def test_forged_targets_change_nothing(engine, world):
    [etti] = propose_to(engine, world, "etti")
    sid = search_id(engine, world["requester"])
    for who, intent, target, arg in (
            ("roofer", Intent.PROPOSAL_ACCEPT, etti, None),  # not addressed to them
            ("requester", Intent.PROPOSAL_ACCEPT, etti, None),
            ("roofer", Intent.PROPOSAL_REFUSE, etti, "busy"),
            ("etti", Intent.PROPOSAL_ACCEPT, 99999, None),
            ("etti", Intent.PROPOSE, sid, "1"),  # someone else's search
            ("etti", Intent.SEARCH_CONSENT, sid, "no"),
            ("requester", Intent.SEARCH_LACK, sid, "bogus"),
            ("requester", Intent.PROPOSE, sid, "99999"),
            ("etti", Intent.GROUPEMENT_STATUS, 99999, "won")):
        assert ask(engine, world[who], intent, target, arg).refused, (who, intent)
    with session_scope(engine) as session:
        assert session.get(Proposal, etti).status == "pending"


def test_an_erased_member_becomes_a_former_member(engine, world):
    [etti] = propose_to(engine, world, "etti")
    ask(engine, world["etti"], Intent.PROPOSAL_ACCEPT, etti)
    ask(engine, world["etti"], Intent.GROUPEMENT_SHARE, 0 + 1 * 0 or _gid(engine), "email")
    ask(engine, world["etti"], Intent.GROUPEMENT_POST, arg="Bonjour")
    with session_scope(engine) as session:
        delete_member(session, session.get(Member, world["etti"]))
    text = ask(engine, world["requester"], Intent.GROUPEMENTS).messages[0].text()
    assert "un ancien membre" in text and "etti@example.org" not in text
    # and it is suggested to nobody any more
    with session_scope(engine) as session:
        assert session.execute(select(Structure).where(
            Structure.name == "Intérim Solidaire 43")).first() is None


def _gid(engine) -> int:
    with session_scope(engine) as session:
        return session.execute(select(Groupement.id)).scalar_one()


def test_interest_and_search_make_others_rank_first(engine, world):
    """"also interested" and "also looking for partners" (with consent) come first."""
    ask(engine, world["roofer"], Intent.INTERESTED, world["tender"])
    sid = start_search(engine, world)
    got = suggested(consent(engine, world, sid))
    assert got[0] == str(structure_of(engine, world["roofer"]))
    with session_scope(engine) as session:
        assert session.execute(select(Interest).where(
            Interest.member_id == world["roofer"])).first() is not None
    assert ThreadKind.GROUPEMENT == "groupement"


def test_what_is_lacking_in_the_members_own_words(engine, world):
    assert ask(engine, world["requester"], Intent.SEARCH_LACK, arg="un couvreur").refused
    sid = start_search(engine, world)
    usage = ask(engine, world["requester"], Intent.SEARCH_LACK, arg="")
    assert not usage.changed and "/manque" in usage.note
    noted = ask(engine, world["requester"], Intent.SEARCH_LACK, arg="un couvreur <b>pour le lot 2")
    assert noted.changed and "un couvreur <b>pour le lot 2" in noted.messages[0].text()
    consent(engine, world, sid)
    ask(engine, world["requester"], Intent.PROPOSE, sid, str(structure_of(engine, world["etti"])))
    [text] = delivered(engine, world["etti"], PARTNER_PROPOSAL)
    assert "Ce qui lui manque : Un métier" in text
    assert "Avec ses mots : un couvreur <b>pour le lot 2" in text
    assert ask(engine, world["requester"], Intent.SEARCH_LACK, arg="-").changed
    with session_scope(engine) as session:
        assert session.get(PartnerSearch, sid).lack_text is None
