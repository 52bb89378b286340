"""A small world for groupement tests: a tender in Haute-Loire with two lots, a requester (an
ACI doing green spaces in Puy-de-Dôme), and candidates each built to test one rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store.alert_models import Delivery, DeliveryKind
from store.db import session_scope
from store.models import AlertPreference, Member, Role, Structure
from store.tender_models import LotRow, TenderRow

NOW = datetime(2027, 3, 10, 9, 0, tzinfo=UTC)
GREEN, ROOF = "77310000", "45261000"

# key: (name, family, cpv, départements, consortium roles, extra)
STRUCTURES = {
    "requester": ("Jardins du Puy <&> Cie", "siae_aci", [GREEN], ["63"], ["lead"], {}),
    "etti": ("Intérim Solidaire 43", "siae_etti", [GREEN], ["43"], ["cocontractor"],
             {"experience": "won_public"}),
    "roofer": ("Toits de Brioude", "scop", [ROOF], ["43"], ["cocontractor"], {}),
    "closed": ("Jamais en groupe", "association", [GREEN], ["43"], ["no"], {}),
    "far": ("Espaces verts du Var", "association", [GREEN], ["83"], ["cocontractor"], {}),
    "baker": ("Boulangerie", "scop", ["15810000"], ["43"], ["cocontractor"], {}),
    "declined": ("Pas pour nous SARL", "ea", [GREEN], ["43"], ["cocontractor"], {}),
}


def make_world(engine, *, emails: dict[str, str] | None = None, telegram_base: int = 900,
               telegram: dict[str, int] | None = None) -> dict[str, int]:
    """Member ids by key, plus "tender" and two advisors "anne" and "bruno". `telegram`: the
    Telegram user ids of some keys (end-to-end users); `emails`: members by email only."""
    ids: dict[str, int] = {}
    emails = emails or {}
    with session_scope(engine) as session:
        tender = TenderRow(source="boamp", source_id="27-4242", title="Entretien <des> espaces "
                           "verts & toitures de Brioude", buyer="Ville de Brioude",
                           cpv_codes=[GREEN], departements=["43"],
                           deadline=NOW + timedelta(days=20), content_hash="h",
                           url="https://www.boamp.fr/pages/avis/?q=idweb:27-4242")
        session.add(tender)
        session.flush()
        session.add(LotRow(tender_id=tender.id, number="1", title="Espaces verts",
                           cpv_codes=[GREEN]))
        session.add(LotRow(tender_id=tender.id, number="2", title="Couverture",
                           cpv_codes=[ROOF]))
        ids["tender"] = tender.id
        for n, (key, (name, family, cpv, deps, roles, extra)) in enumerate(STRUCTURES.items()):
            structure = Structure(name=name, family=family, cpv_codes=cpv, departements=deps,
                                  consortium_roles=roles, readiness_score=50, **extra)
            session.add(structure)
            session.flush()
            user_id = (telegram or {}).get(key, telegram_base + n)
            member = Member(structure_id=structure.id, telegram_user_id=None if key in emails
                            else user_id, telegram_chat_id=None if key in emails else user_id,
                            language="fr",
                            email=emails.get(key) or f"{key}@example.org",
                            phone="+33612345678" if key == "etti" else None)
            session.add(member)
            session.flush()
            channel = "email" if key in emails else "telegram"
            # no quiet hours: the bot's own worker sends at once, whatever the day
            session.add(AlertPreference(member_id=member.id, channel=channel, quiet_start=0,
                                        quiet_end=0, quiet_weekends=False))
            session.add(Delivery(member_id=member.id, kind=DeliveryKind.ALERT,
                                 tender_id=tender.id, idempotency_key=f"alert:{member.id}",
                                 status="sent", channel=channel))
            ids[key] = member.id
        for n, key in enumerate(("anne", "bruno")):
            user_id = (telegram or {}).get(key, telegram_base + 50 + n)
            advisor = Member(telegram_user_id=user_id, telegram_chat_id=user_id, language="fr",
                             role=Role.ADVISOR, email=f"{key}@centrale.example")
            session.add(advisor)
            session.flush()
            session.add(AlertPreference(member_id=advisor.id, channel="telegram", quiet_start=0,
                                        quiet_end=0, quiet_weekends=False))
            ids[key] = advisor.id
    return ids


def propose_to_etti(engine, world, handle) -> int:
    """The requester looks for a co-contractor on the world's tender, consents to be shown and
    proposes to the ETTI, through `handle(engine, member_id, intent, target, arg)`; returns
    the proposal's id."""
    from sqlalchemy import select
    from sqlmodel import Session

    from alerts.message import Intent
    from store.consortia_models import PartnerSearch, Proposal

    handle(engine, world["requester"], Intent.PARTNERS, world["tender"])
    with Session(engine) as session:
        search = session.execute(select(PartnerSearch.id)).scalar_one()
        structure = session.get(Member, world["etti"]).structure_id
    handle(engine, world["requester"], Intent.SEARCH_ROLE, search, "cocontractor")
    handle(engine, world["requester"], Intent.SEARCH_CONSENT, search, "yes")
    handle(engine, world["requester"], Intent.PROPOSE, search, str(structure))
    with Session(engine) as session:
        return session.execute(select(Proposal.id).where(
            Proposal.search_id == search)).scalar_one()
