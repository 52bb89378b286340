"""Partner suggestions for a groupement (issue 12, point 2): pure, typed, no I/O.

`suggest_brute` scores every candidate; matching.partner_index narrows them first by the same
two rules and gives the same list (tests/test_partners.py checks it; benchmarks/partners.py
measures it). consortia.profiles loads the profiles and the need from the database.

Rules, in order:
1. Never: the requester itself, a structure not open to consortia ("no" in consortium_roles),
   one that answered "Pas pour nous" on this tender (declined), one already asked.
2. Useless here: no CPV code related to the tender's (by CPV prefix, either way), or not working
   in any tender département (unless all_france; a national tender accepts every area).
Score: interested/searching first (a large bonus), then what covers the requester's lacks, the
service/staffing pairing, readiness and experience. Ties: structure_id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from locales import gettext_for
from reference.cpv import cpv_prefix, normalise_cpv
from reference.geography import departement

SERVICE_FAMILIES = frozenset({"siae_ei", "siae_aci", "ea", "esat"})
STAFFING_FAMILIES = frozenset({"siae_ai", "siae_etti"})
INTERESTED_POINTS = 1000
SEARCHING_POINTS = 1000
LOT_POINTS, TRADE_POINTS, AREA_POINTS, CAPACITY_POINTS = 30, 30, 30, 20
PAIR_POINTS = 25
EXPERIENCE_POINTS = 10
READINESS_MAX_POINTS = 20  # readiness_score 0..100 scaled to 0..20


@dataclass(frozen=True, slots=True)
class PartnerProfile:
    structure_id: int
    member_id: int
    name: str
    family: str | None
    siae_type: str | None
    cpv_codes: tuple[str, ...]
    departements: tuple[str, ...]
    all_france: bool
    capacity: float | None  # max_contract_value
    readiness_score: int
    experience: bool  # has won public contracts
    consortium_roles: tuple[str, ...]
    town: str | None = None


@dataclass(frozen=True, slots=True)
class Need:
    requester: PartnerProfile
    cpv_codes: tuple[str, ...]
    departements: tuple[str, ...]
    lots: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    lots_wanted: tuple[str, ...] = ()
    lacks: frozenset[str] = frozenset()
    role: str | None = None
    interested: frozenset[int] = frozenset()
    searching: frozenset[int] = frozenset()
    declined: frozenset[int] = frozenset()
    asked: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Suggestion:
    profile: PartnerProfile
    score: int
    reasons: tuple[Reason, ...]


def prefixes_of(codes: Iterable[str]) -> set[str]:
    return {cpv_prefix(c) for c in (normalise_cpv(r) for r in codes) if c}


def need_prefixes(need: Need) -> set[str]:
    """The CPV prefixes of the tender and its lots: a candidate must relate to one of them."""
    return prefixes_of(need.cpv_codes) | prefixes_of(c for _, _, codes in need.lots
                                                     for c in codes)


def _related(a: set[str], b: set[str]) -> bool:
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


def candidate_score(need: Need, p: PartnerProfile) -> tuple[int, tuple[Reason, ...]] | None:
    req = need.requester
    if p.structure_id == req.structure_id or "no" in p.consortium_roles:
        return None
    if p.structure_id in need.declined or p.structure_id in need.asked:
        return None
    mine = prefixes_of(p.cpv_codes)
    if not _related(mine, need_prefixes(need)):
        return None
    if need.departements and not p.all_france and not set(need.departements) & set(p.departements):
        return None
    score, reasons = 0, []
    if p.structure_id in need.interested:
        score += INTERESTED_POINTS
        reasons.append(Reason("interested"))
    if p.structure_id in need.searching:
        score += SEARCHING_POINTS
        reasons.append(Reason("searching"))
    for number, title, codes in need.lots:
        if (not need.lots_wanted or number not in need.lots_wanted) and _related(mine, prefixes_of(codes)):
            if "lot" in need.lacks:
                score += LOT_POINTS
            reasons.append(Reason("lot", (number, title)))
            break
    if "trade" in need.lacks and not _related(mine, prefixes_of(req.cpv_codes)):
        score += TRADE_POINTS
        reasons.append(Reason("trade"))
    others = [d for d in need.departements if d in p.departements and d not in req.departements]
    if others:
        if "area" in need.lacks:
            score += AREA_POINTS
        reasons.append(Reason("area", (others[0],)))
    if "capacity" in need.lacks and p.capacity and (req.capacity or 0) < p.capacity:
        score += CAPACITY_POINTS
        reasons.append(Reason("capacity"))
    if req.family in SERVICE_FAMILIES and p.family in STAFFING_FAMILIES:
        score += PAIR_POINTS
        reasons.append(Reason("staffs", (p.family or "", req.family or "")))
    elif req.family in STAFFING_FAMILIES and p.family in SERVICE_FAMILIES:
        score += PAIR_POINTS
        reasons.append(Reason("staffed", (p.family or "", req.family or "")))
    if p.experience:
        score += EXPERIENCE_POINTS
        reasons.append(Reason("experience"))
    score += max(0, min(100, p.readiness_score)) * READINESS_MAX_POINTS // 100
    return score, tuple(reasons)


def suggest_brute(need: Need, candidates: Iterable[PartnerProfile], limit: int = 5) -> list[Suggestion]:
    out = []
    for p in candidates:
        got = candidate_score(need, p)
        if got is not None:
            out.append(Suggestion(p, got[0], got[1]))
    out.sort(key=lambda s: (-s.score, s.profile.structure_id))
    return out[:limit]


def suggest(need: Need, candidates: Iterable[PartnerProfile], limit: int = 5) -> list[Suggestion]:
    """The same ranking through matching.partner_index (built for this call: keep a
    PartnerIndex to ask many times over the same profiles)."""
    from matching.partner_index import PartnerIndex

    return PartnerIndex(candidates).suggest(need, limit)


_FAMILY_SHORT = {"siae_ei": "EI", "siae_aci": "ACI", "siae_ai": "AI", "siae_etti": "ETTI",
                 "ea": "EA", "esat": "ESAT"}


def reason_text(reason: Reason, lang: str) -> str:
    _ = gettext_for(lang)
    v = reason.values
    if reason.code == "interested":
        return _("also interested in this tender")
    if reason.code == "searching":
        return _("also looking for partners on it")
    if reason.code == "lot":
        return _("covers lot {number} {title}").format(number=v[0], title=v[1])
    if reason.code == "trade":
        return _("brings a trade you lack")
    if reason.code == "area":
        dept = departement(v[0])
        return _("works in {name} ({code}), which you do not cover").format(
            name=dept.name if dept else v[0], code=v[0])
    if reason.code == "capacity":
        return _("adds capacity")
    if reason.code == "staffs":
        return _("{kind}: can staff your {yours}").format(
            kind=_FAMILY_SHORT.get(v[0], v[0]), yours=_FAMILY_SHORT.get(v[1], v[1]))
    if reason.code == "staffed":
        return _("{kind}: provides the service your staff can work in").format(
            kind=_FAMILY_SHORT.get(v[0], v[0]))
    if reason.code == "experience":
        return _("won public contracts")
    return reason.code
