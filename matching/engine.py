"""The matching rules: for one tender and one profile, a `Match` (score and reasons) or nothing.

Pure and typed, no I/O (reference labels are only read when a reason is rendered).
`brute_force_match` applies `evaluate` to every profile: it is the reference.
`matching.index.ProfileIndex` applies the same rules to sets of candidates found through its index
and assembles scores and reasons with the same `score_and_reasons`; tests (hypothesis) and the
benchmark check that both return exactly the same matches.

Rules (issue 3, point 6), in the order they are checked:
1. Never matched: a cancellation or award notice, or a tender whose deadline is before `now`
   (a tender without a deadline stays open).
2. Reserved contracts (L2113-13 SIAE, L2113-12 EA/ESAT, or both) go only to eligible families
   (`Profile.siae_eligible` / `disability_eligible`; "both" accepts either).
3. Capacity: a tender worth more than three times `Profile.max_contract_value` is not matched
   (no declared capacity = no limit). The amount compared is the smallest one a structure can bid
   for: the smallest known lot value when lots have values (a small structure can win one lot of
   a large tender), otherwise the tender's estimated value; no amount = no limit.
4. Area: the tender is national (no département: matches every area), or one of its départements
   is among the profile's, or the profile covers all of France. A profile stores départements;
   when it holds every département of the tender département's region the reason says "in your
   region" (not for the one-département overseas regions). The reason names the first tender
   département the profile lists, else (all of France) the tender's first département. A profile
   with no département and not all of France only gets national tenders.
5. Activity: CPV or keyword (at least one).
   - CPV: a tender code (the tender's own or any lot's) and a profile code are related when one is
     within the other, by CPV prefix (trailing zeros mark the level, `reference.cpv.cpv_prefix`).
     Tender code within the profile's field (or equal): the structure does this. Tender code
     *broader* than the profile's (tender 77000000, profile 77310000): also matched, since a
     buyer who only gives a division may well want that trade, but scored lower.
   - Keywords: see `matching.keywords` (the text rules of `reference/`: stems of French and
     English, typos of long words, stop words of both languages; against the title, the
     description and the lot titles). The reason quotes the words of the text that matched.
6. Excluded keywords veto: one of them found in the text (same keyword rule) and there is no match.

Score (0-100, capped), the sum of:
- CPV, best related pair (d = difference in CPV levels, i.e. in significant digits):
  tender code equal to or within the profile code: 60 - 5*d, at least 35;
  tender code broader than the profile code:       40 - 5*d, at least 15;
- keywords found: 20 for the first, +5 for each other one, at most 30;
- area: département listed by the profile (or its whole region) 10, national tender 6,
  profile covering all of France 4 (precise areas first);
- reserved contract for an eligible structure: +20 (they rank higher for what is reserved to them);
- social clause (insertion hours) for an SIAE: +10 (insertion is their trade).
Reasons, in this order: the best CPV pair (most points, then the first tender code — the tender's
own codes before its lots' — then the smallest profile code), each keyword found (in the
profile's order), the area, reserved, social clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from matching.keywords import TenderText, Tokens, keyword_tokens, text_tokens
from matching.profile import Profile
from matching.reasons import Reason, reasons_to_json
from reference.cpv import cpv_prefix, normalise_cpv
from reference.geography import departement, region
from tenders.model import NoticeKind, Reserved, Tender

CAPACITY_FACTOR = 3

CPV_WITHIN_POINTS, CPV_WITHIN_MIN = 60, 35
CPV_BROADER_POINTS, CPV_BROADER_MIN = 40, 15
CPV_LEVEL_STEP = 5
KEYWORD_FIRST_POINTS, KEYWORD_MORE_POINTS, KEYWORD_MAX_POINTS = 20, 5, 30
AREA_POINTS = {"departement": 10, "region": 10, "national": 6, "france": 4}
RESERVED_POINTS = 20
SOCIAL_CLAUSE_POINTS = 10


@dataclass(frozen=True, slots=True, init=False)
class Match:
    structure_id: int
    score: int  # 0..100
    reasons: tuple[Reason, ...]

    def __init__(self, structure_id: int, score: int, reasons: tuple[Reason, ...]) -> None:
        # The generated frozen __init__ goes through object.__setattr__ three times; setting the
        # slots directly halves the cost of a match, and the index creates hundreds of thousands.
        _set_structure_id(self, structure_id)
        _set_score(self, score)
        _set_reasons(self, reasons)

    def reasons_json(self) -> list[dict[str, str]]:
        return reasons_to_json(self.reasons)


_set_structure_id = Match.structure_id.__set__  # type: ignore[attr-defined]
_set_score = Match.score.__set__  # type: ignore[attr-defined]
_set_reasons = Match.reasons.__set__  # type: ignore[attr-defined]


def sort_matches(matches: Iterable[Match]) -> list[Match]:
    return sorted(matches, key=lambda m: (-m.score, m.structure_id))


# ---------------------------------------------------------------------------------------------
# Views: each side reduced once to what the rules compare.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileView:
    structure_id: int
    codes: tuple[tuple[str, str], ...]  # (cpv prefix, code), in profile order
    departements: frozenset[str]
    all_france: bool
    keywords: tuple[tuple[str, Tokens], ...]  # (as typed, tokens); stopword-only ones dropped
    excluded: tuple[Tokens, ...]
    value_cap: float | None  # CAPACITY_FACTOR x max_contract_value
    siae: bool
    disability: bool


def _codes(raw_codes: Iterable[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw in raw_codes:
        code = normalise_cpv(raw)
        if code and code not in seen:
            seen.add(code)
            out.append((cpv_prefix(code), code))
    return out


def profile_view(profile: Profile) -> ProfileView:
    """Cached: the index and the brute-force path share one view per profile."""
    try:
        return _cached_profile_view(profile)
    except TypeError:  # a list where a tuple was meant: unhashable, computed without the cache
        return _profile_view(profile)


def _profile_view(profile: Profile) -> ProfileView:
    keywords: list[tuple[str, Tokens]] = []
    for keyword in dict.fromkeys(profile.keywords):
        toks = keyword_tokens(keyword)
        if toks:
            keywords.append((keyword, toks))
    excluded = tuple(dict.fromkeys(t for t in map(keyword_tokens, profile.excluded_keywords) if t))
    cap = profile.max_contract_value
    return ProfileView(
        structure_id=profile.structure_id,
        codes=tuple(_codes(profile.cpv_codes)),
        departements=frozenset(profile.departements),
        all_france=profile.all_france,
        keywords=tuple(keywords),
        excluded=excluded,
        value_cap=None if cap is None else float(cap) * CAPACITY_FACTOR,
        siae=profile.siae_eligible,
        disability=profile.disability_eligible,
    )


@dataclass(slots=True)
class TenderView:
    codes: tuple[tuple[str, str, str | None], ...]  # (prefix, code, lot number or None)
    departements: tuple[str, ...]
    reserved: Reserved
    social_clause: bool
    value: float | None  # the amount compared with capacities (rule 3)
    text: TenderText
    # Per-tender caches: many profiles share codes, so each profile code is compared with the
    # tender's codes once (profile code -> (points, tender code position, reason) or None).
    cpv_cache: dict[str, tuple[int, int, Reason] | None] = field(default_factory=dict)


_cached_profile_view = lru_cache(maxsize=1 << 18)(_profile_view)


def tender_sources(tender: Tender) -> list[str]:
    """The searched fields of a tender, as written: title, description, each lot's title."""
    return [tender.title, tender.description, *(lot.title for lot in tender.lots)]


def tender_text_fields(tender: Tender) -> list[Tokens]:
    return [text_tokens(source) for source in tender_sources(tender)]


def biddable_value(tender: Tender) -> float | None:
    lot_values = [lot.estimated_value for lot in tender.lots if lot.estimated_value is not None]
    return min(lot_values) if lot_values else tender.estimated_value


def tender_view(tender: Tender, text: TenderText | None = None) -> TenderView:
    codes: list[tuple[str, str, str | None]] = [(p, c, None) for p, c in _codes(tender.cpv_codes)]
    seen = {code for _, code, _ in codes}
    for lot in tender.lots:
        for prefix, code in _codes(lot.cpv_codes):
            if code not in seen:  # a code of the tender itself is reported without its lot
                seen.add(code)
                codes.append((prefix, code, lot.number))
    return TenderView(
        codes=tuple(codes),
        departements=tuple(dict.fromkeys(tender.departements)),
        reserved=tender.reserved,
        social_clause=tender.social_clause,
        value=biddable_value(tender),
        text=text if text is not None else TenderText(
            tender_text_fields(tender), sources=tender_sources(tender)
        ),
    )


def is_open(tender: Tender, now: datetime) -> bool:
    """Rule 1. `now` must be timezone-aware (deadlines are)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if tender.kind in (NoticeKind.CANCELLATION, NoticeKind.AWARD):
        return False
    return tender.deadline is None or tender.deadline >= now


# ---------------------------------------------------------------------------------------------
# The rules for one pair.
# ---------------------------------------------------------------------------------------------


def reserved_allows(view: ProfileView, reserved: Reserved) -> bool:
    if reserved == Reserved.NONE:
        return True
    if reserved == Reserved.SIAE:
        return view.siae
    if reserved == Reserved.DISABILITY:
        return view.disability
    return view.siae or view.disability


@lru_cache(maxsize=256)
def region_departements(departement_code: str) -> tuple[str | None, frozenset[str]]:
    """(region code, its départements) of a département; (None, empty) when unknown, or when the
    region is that one département (overseas: "your region Guadeloupe" would say nothing more)."""
    dept = departement(departement_code)
    reg = region(dept.region_code) if dept else None
    if reg is None or len(reg.departements) < 2:
        return None, frozenset()
    return reg.code, frozenset(reg.departements)


# Reasons are immutable values: the common ones are built once and shared by every match.
_NATIONAL = Reason.of("area", scope="national")
_SOCIAL_CLAUSE = Reason.of("social_clause")
_RESERVED = {value: Reason.of("reserved", reserved=value.value) for value in Reserved}


@lru_cache(maxsize=4096)
def area_reason_for(scope: str, code: str | None = None, region_code: str | None = None) -> Reason:
    return (
        _NATIONAL
        if scope == "national"
        else Reason.of("area", scope=scope, departement=code, region=region_code)
    )


@lru_cache(maxsize=1 << 16)
def keyword_reason_for(typed: str, words: str) -> Reason:
    return Reason.of("keyword", keyword=typed, words=words or None)


def keyword_reason(text: TenderText, typed: str) -> Reason:
    """The reason for a keyword found in the text, with the text's words that it matched."""
    reason = text.reasons.get(typed)
    if reason is None:
        reason = text.reasons[typed] = keyword_reason_for(
            typed, text.found_words(keyword_tokens(typed))
        )
    return reason  # type: ignore[return-value]


@lru_cache(maxsize=1 << 16)
def cpv_reason_for(t_code: str, p_code: str, relation: str, lot: str | None) -> Reason:
    return Reason.of("cpv", code=t_code, field=p_code, relation=relation, lot=lot)


def cpv_relation(t_prefix: str, p_prefix: str) -> tuple[str, int] | None:
    """(relation, points) of a tender code and a profile code, by prefix; None if unrelated."""
    if t_prefix.startswith(p_prefix):
        depth = len(t_prefix) - len(p_prefix)
        points = max(CPV_WITHIN_POINTS - CPV_LEVEL_STEP * depth, CPV_WITHIN_MIN)
        return ("equal" if depth == 0 else "within"), points
    if p_prefix.startswith(t_prefix):
        depth = len(p_prefix) - len(t_prefix)
        return "broader", max(CPV_BROADER_POINTS - CPV_LEVEL_STEP * depth, CPV_BROADER_MIN)
    return None


def keyword_points(found: int) -> int:
    if not found:
        return 0
    return min(KEYWORD_FIRST_POINTS + KEYWORD_MORE_POINTS * (found - 1), KEYWORD_MAX_POINTS)


def area_reason(view: ProfileView, tender: TenderView) -> tuple[Reason, int] | None:
    if not tender.departements:
        return _NATIONAL, AREA_POINTS["national"]
    mine = view.departements
    for code in tender.departements:
        if code in mine:
            region_code, members = region_departements(code)
            if region_code is not None and members <= mine:
                return area_reason_for("region", code, region_code), AREA_POINTS["region"]
            return area_reason_for("departement", code), AREA_POINTS["departement"]
    if view.all_france:
        return area_reason_for("france", tender.departements[0]), AREA_POINTS["france"]
    return None


def _cpv_against(tender: TenderView, p_prefix: str, p_code: str) -> tuple[int, int, Reason] | None:
    """The best tender code for one profile code: most points, then first in tender order."""
    best: tuple[int, int, Reason] | None = None
    for position, (t_prefix, t_code, lot) in enumerate(tender.codes):
        related = cpv_relation(t_prefix, p_prefix)
        if related is not None and (best is None or related[1] > best[0]):
            best = (related[1], position, cpv_reason_for(t_code, p_code, related[0], lot))
    return best


def cpv_reason(view: ProfileView, tender: TenderView) -> tuple[Reason, int] | None:
    """The best related (tender code, profile code) pair: most points, then the first tender code
    (tender-level codes come before lot codes), then the smallest profile code."""
    cache = tender.cpv_cache
    best: tuple[int, int, str, Reason] | None = None
    for p_prefix, p_code in view.codes:
        if p_code in cache:
            found = cache[p_code]
        else:
            found = cache[p_code] = _cpv_against(tender, p_prefix, p_code)
        if found is None:
            continue
        points, position, reason = found
        if best is None or (-points, position, p_code) < (-best[0], best[1], best[2]):
            best = (points, position, p_code, reason)
    return (best[3], best[0]) if best is not None else None


def score_and_reasons(
    cpv: tuple[Reason, int] | None,
    found: Sequence[str],
    area: tuple[Reason, int],
    reserved: Reserved,
    social_clause: bool,
    text: TenderText,
) -> tuple[int, tuple[Reason, ...]]:
    """The score formula and the reasons' order (module docstring), from the rule results.

    `found` are the keywords found (as typed), `text` the tender's text they were found in;
    `social_clause` is true when the tender has one and the structure is an SIAE."""
    reasons: list[Reason] = []
    score = 0
    if cpv is not None:
        reasons.append(cpv[0])
        score += cpv[1]
    if found:
        reasons.extend(keyword_reason(text, typed) for typed in found)
        score += keyword_points(len(found))
    reasons.append(area[0])
    score += area[1]
    if reserved != Reserved.NONE:
        reasons.append(_RESERVED[reserved])
        score += RESERVED_POINTS
    if social_clause:
        reasons.append(_SOCIAL_CLAUSE)
        score += SOCIAL_CLAUSE_POINTS
    return min(score, 100), tuple(reasons)


def evaluate(view: ProfileView, tender: TenderView) -> Match | None:
    """Rules 2-6 for one profile and one open tender (rule 1 is the caller's, once per tender)."""
    reserved = tender.reserved
    if reserved != Reserved.NONE and not reserved_allows(view, reserved):
        return None
    if view.value_cap is not None and tender.value is not None and tender.value > view.value_cap:
        return None
    area = area_reason(view, tender)
    if area is None:
        return None
    cpv = cpv_reason(view, tender) if view.codes else None
    has = tender.text.has
    found = [typed for typed, toks in view.keywords if has(toks)]
    if cpv is None and not found:
        return None
    if view.excluded and any(has(toks) for toks in view.excluded):
        return None
    score, reasons = score_and_reasons(
        cpv, found, area, reserved, tender.social_clause and view.siae, tender.text
    )
    return Match(view.structure_id, score, reasons)


def brute_force_match(profiles: Iterable[Profile], tender: Tender, now: datetime) -> list[Match]:
    """The reference: every profile evaluated. Sorted by score (highest first), then structure."""
    if not is_open(tender, now):
        return []
    view = tender_view(tender)
    matches = (evaluate(profile_view(profile), view) for profile in profiles)
    return sort_matches(m for m in matches if m is not None)
