"""The follow-up seven days after a tender's deadline (consortia/followup.py): who is asked,
once, never on a cancelled tender; the answers stored and read by the bilan; forged buttons
refused; the French screen."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import bot.flows  # noqa: F401 - every flow plugged in
from alerts import actions
from alerts.compose import build_message
from alerts.message import Intent, Request
from bot.jobs import follow_ups_now
from consortia.followup import FOLLOW_UP
from stats.consortia_figures import consortia_figures
from store.alert_models import Delivery
from store.consortia_models import FollowUp, Groupement, GroupementMember
from store.db import session_scope
from store.models import Member
from store.tender_models import TenderRow, TenderStatus
from tests.consortia_world import NOW, make_world

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def world(engine):
    ids = make_world(engine)
    with session_scope(engine) as session:  # interest from one, a groupement of two others
        handle = actions.handle
        handle(session, ids["requester"], Request(Intent.INTERESTED, ids["tender"]), NOW, PARIS)
        groupement = Groupement(tender_id=ids["tender"], status="submitted")
        session.add(groupement)
        session.flush()
        for key, role in (("etti", "lead"), ("roofer", "cocontractor"), ("anne", "advisor")):
            session.add(GroupementMember(groupement_id=groupement.id, member_id=ids[key],
                                         role=role))
        ids["groupement"] = groupement.id
    return ids


def after_deadline(days: int):
    return NOW + timedelta(days=20 + days)  # the world's deadline is NOW + 20 days


def asked(engine) -> list[tuple[int, int | None]]:
    with session_scope(engine) as session:
        return [(r.member_id, r.groupement_id) for r in session.execute(
            select(FollowUp).order_by(FollowUp.member_id)).scalars()]


def test_asked_once_seven_days_after_the_deadline(engine, world):
    assert follow_ups_now(engine, after_deadline(6), PARIS) == 0
    assert follow_ups_now(engine, after_deadline(7), PARIS) == 3
    assert follow_ups_now(engine, after_deadline(8), PARIS) == 0  # not twice
    assert asked(engine) == sorted([(world["requester"], None),
                                    (world["etti"], world["groupement"]),
                                    (world["roofer"], world["groupement"])])  # no advisor
    with session_scope(engine) as session:
        delivery = session.execute(select(Delivery).where(
            Delivery.kind == FOLLOW_UP, Delivery.member_id == world["etti"])).scalar_one()
        text = build_message(session, delivery, session.get(Member, world["etti"]),
                             after_deadline(7), PARIS).text()
    assert "Avez-vous répondu à cet appel d'offres" in text and "Oui" not in text.split("\n")[0]


def test_a_cancelled_tender_asks_nobody(engine, world):
    with session_scope(engine) as session:
        session.get(TenderRow, world["tender"]).status = TenderStatus.CANCELLED
    assert follow_ups_now(engine, after_deadline(7), PARIS) == 0


def press(engine, who, target, arg, now):
    with session_scope(engine) as session:
        return actions.handle(session, who, Request(Intent.FOLLOWUP_ANSWER, target, arg), now,
                              PARIS)


def test_answers_are_stored_for_the_bilan_and_forged_ones_refused(engine, world):
    when = after_deadline(7)
    follow_ups_now(engine, when, PARIS)
    with session_scope(engine) as session:
        rows = {r.member_id: r.id for r in session.execute(select(FollowUp)).scalars()}
    etti, roofer = rows[world["etti"]], rows[world["roofer"]]
    assert press(engine, world["etti"], roofer, "bid_yes", when).refused  # not theirs
    assert press(engine, world["etti"], 99999, "bid_yes", when).refused
    assert press(engine, world["etti"], etti, "won", when).refused  # no result before yes
    assert press(engine, world["etti"], etti, "bogus", when).refused
    reply = press(engine, world["etti"], etti, "bid_yes", when)
    assert reply.changed and "Connaissez-vous le résultat" in reply.screen.text()
    assert press(engine, world["etti"], etti, "won", when).changed
    assert press(engine, world["roofer"], roofer, "bid_no", when).changed
    with session_scope(engine) as session:
        stored = {r.member_id: (r.answered, r.result) for r in session.execute(
            select(FollowUp)).scalars()}
        figures = consortia_figures(session, when - timedelta(days=60),
                                    when + timedelta(days=1), lambda moment: "m")
    assert stored[world["etti"]] == (True, "won")
    assert stored[world["roofer"]] == (False, None)
    assert stored[world["requester"]] == (None, None)
    assert figures["bids_submitted"] == {"m": 1} and figures["contracts_won"] == {"m": 1}
