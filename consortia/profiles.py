"""From the database to matching.partners: the partner profiles of structures open to consortia,
the need of one partner search, and its suggestions.

Who may be suggested: a structure with a member (not an advisor) whose diagnostic did not answer
"not interested" to consortia. Who counts as "also looking for partners": a member whose search
on this tender is active with its consent given (withdrawing it hides it at once).
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import func, select
from sqlmodel import Session

from alerts.actions import INTERESTED, NOT_FOR_US
from matching.partners import Need, PartnerProfile, Suggestion, suggest
from store.alert_models import Interest
from store.consortia_models import PartnerSearch, Proposal, SearchStatus
from store.models import Member, Role, Structure
from store.tender_models import LotRow, TenderRow

WON_PUBLIC = "won_public"  # conversations.choices.EXPERIENCE


def profile_of(structure: Structure, member_id: int) -> PartnerProfile:
    return PartnerProfile(
        structure_id=structure.id, member_id=member_id, name=structure.name or "",
        family=structure.family, siae_type=structure.siae_type,
        cpv_codes=tuple(structure.cpv_codes or ()),
        departements=tuple(structure.departements or ()), all_france=structure.all_france,
        capacity=float(structure.max_contract_value) if structure.max_contract_value else None,
        readiness_score=structure.readiness_score or 0,
        experience=structure.experience == WON_PUBLIC,
        consortium_roles=tuple(structure.consortium_roles or ()))


def contact_member(session: Session, structure_id: int) -> int | None:
    """The member who answers for a structure: its first (non-advisor) member."""
    return session.execute(select(func.min(Member.id)).where(
        Member.structure_id == structure_id, Member.role != Role.ADVISOR)).scalar()


def candidates(session: Session) -> list[PartnerProfile]:
    """Every structure that may be suggested (the rules of matching.partners do the rest)."""
    firsts = (select(Member.structure_id, func.min(Member.id).label("member_id"))
              .where(Member.structure_id.is_not(None), Member.role != Role.ADVISOR)
              .group_by(Member.structure_id).subquery())
    rows = session.execute(select(Structure, firsts.c.member_id)
                           .join(firsts, firsts.c.structure_id == Structure.id)
                           .order_by(Structure.id)).all()
    return [profile_of(structure, member_id) for structure, member_id in rows
            if "no" not in (structure.consortium_roles or ())]


def _structures_with(session: Session, tender_id: int, signal: str) -> frozenset[int]:
    return frozenset(session.execute(
        select(Member.structure_id).join(Interest, Interest.member_id == Member.id)
        .where(Interest.tender_id == tender_id, Interest.signal == signal,
               Member.structure_id.is_not(None))).scalars())


def searching_structures(session: Session, tender_id: int) -> frozenset[int]:
    return frozenset(session.execute(
        select(Member.structure_id).join(PartnerSearch, PartnerSearch.member_id == Member.id)
        .where(PartnerSearch.tender_id == tender_id,
               PartnerSearch.status == SearchStatus.ACTIVE,
               PartnerSearch.consent_at.is_not(None),
               Member.structure_id.is_not(None))).scalars())


def need_of(session: Session, search: PartnerSearch, requester: PartnerProfile,
            tender: TenderRow) -> Need:
    lots = session.execute(select(LotRow).where(LotRow.tender_id == tender.id)
                           .order_by(LotRow.id)).scalars().all()
    asked = asked_structures(session, search)
    return Need(requester=requester, cpv_codes=tuple(tender.cpv_codes or ()),
                departements=tuple(tender.departements or ()),
                lots=tuple((lot.number, lot.title, tuple(lot.cpv_codes or ())) for lot in lots),
                lots_wanted=tuple(search.lots or ()), lacks=frozenset(search.lacks or ()),
                role=search.role,
                interested=_structures_with(session, tender.id, INTERESTED),
                searching=searching_structures(session, tender.id),
                declined=_structures_with(session, tender.id, NOT_FOR_US), asked=asked)


def suggestions(session: Session, search: PartnerSearch, limit: int = 5, *,
                with_asked: bool = False) -> list[Suggestion]:
    """The best `limit` structures not asked yet; `with_asked`: those already asked keep their
    place among them (a list the member is tapping through does not renumber)."""
    member = session.get(Member, search.member_id)
    tender = session.get(TenderRow, search.tender_id)
    structure = session.get(Structure, member.structure_id) if member and member.structure_id \
        else None
    if structure is None or tender is None:
        return []
    need = need_of(session, search, profile_of(structure, member.id), tender)
    if not with_asked:
        return suggest(need, candidates(session), limit)
    found = suggest(replace(need, asked=frozenset()), candidates(session),
                    limit + len(need.asked))
    fresh = [s for s in found if s.profile.structure_id not in need.asked][:limit]
    return [s for s in found if s in fresh or s.profile.structure_id in need.asked]


def asked_structures(session: Session, search: PartnerSearch) -> frozenset[int]:
    return frozenset(s for s in session.execute(select(Proposal.to_structure_id).where(
        Proposal.search_id == search.id)).scalars() if s is not None)
