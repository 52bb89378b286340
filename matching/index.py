"""An index over all profiles so that a tender is only scored against its candidates.

Built once (`ProfileIndex(profiles)`), then `index.match(tender, now)` for each tender. It returns
exactly what `engine.brute_force_match` returns (checked by a hypothesis test and by the
benchmark): the same rules and the same score assembly (`engine.score_and_reasons`), reached
through the index instead of by trying every profile.

Layout:
- Area buckets: a profile sits in the bucket of each of its départements and, when it covers all
  of France, in the "FR" bucket. Inside a bucket, profiles are listed by the CPV prefix of each of
  their codes (`by_area[bucket][prefix]`); `exact[prefix]` is the same over all profiles (for
  national tenders). A tender with départements d1, d2 only looks into buckets d1, d2 and FR, in
  that order, which is also the order of rule 4's reasons (first listed département, then all of
  France); a profile met again in a later bucket is skipped. `region_full[r]` holds the profiles
  listing every département of region r (their reason says "your region").
- CPV: `descendants[q]` lists the profile prefixes starting with q. A tender code of prefix t is
  related to `descendants[t]` (profile code equal or narrower) and to every `t[:k]` (profile code
  broader). These (tender code, profile code) pairs are sorted best first with the tie-breaks of
  `engine.cpv_reason`; within a bucket, a profile meets its best pair first.
- Keywords: the distinct tokens of all profile keywords (and excluded keywords) form a vocabulary,
  held in a `keywords.WordFinder` (by stem key, and by first letter and length for typos). Each
  distinct word of a tender text is looked up once; the answer is cached for later tenders. A keyword is then checked once per tender, not
  once per profile, and brings in every profile that has it; excluded keywords likewise give the
  profiles they veto.
- Reserved eligibility, capacity and the veto are then checked per candidate (set lookups).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from itertools import compress, repeat
from operator import attrgetter, itemgetter

from matching.engine import (
    AREA_POINTS,
    Match,
    ProfileView,
    TenderView,
    area_reason_for,
    cpv_reason_for,
    cpv_relation,
    is_open,
    profile_view,
    region_departements,
    score_and_reasons,
    tender_sources,
    tender_view,
)
from matching.keywords import TenderText, Tokens, WordFinder, text_tokens
from matching.profile import Profile
from matching.reasons import Reason
from reference.geography import all_regions
from tenders.model import Reserved, Tender

ALL_FRANCE = "FR"  # bucket of the profiles covering all of France (no département has this code)

_EMPTY: frozenset[str] = frozenset()
_NO_PROFILES: frozenset[int] = frozenset()
_BULK = 8  # from this length on, a candidate list is filtered with set operations
_BY_STRUCTURE = attrgetter("structure_id")

# (-points, profile code, profile prefix, (reason, points)) of a tender code
CpvEntry = tuple[int, str, str, tuple[Reason, int]]
# (profiles by CPV prefix, profiles by keyword, area reason, region reason, the region's profiles)
Bucket = tuple[dict, dict, tuple[Reason, int], tuple[Reason, int] | None, set[int]]
_RANK = itemgetter(0, 1)
_RANK_WITH_POSITION = itemgetter(0, 1, 2)  # (-points, tender code position, profile code)


class ProfileIndex:
    def __init__(self, profiles: Iterable[Profile]) -> None:
        self.views: list[ProfileView] = [profile_view(profile) for profile in profiles]
        exact: dict[str, list[int]] = defaultdict(list)
        by_area: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        keywords_by_area: dict[str, dict[Tokens, list[int]]] = defaultdict(
            lambda: defaultdict(list)
        )
        by_departement: dict[str, set[int]] = defaultdict(set)
        keyword_profiles: dict[Tokens, set[int]] = defaultdict(set)
        excluded_profiles: dict[Tokens, set[int]] = defaultdict(set)
        vocabulary: set[str] = set()
        self.siae: set[int] = set()
        self.disability: set[int] = set()
        self.value_caps: list[float | None] = []
        for position, view in enumerate(self.views):
            prefixes = [prefix for prefix, _code in view.codes]
            for prefix in prefixes:
                exact[prefix].append(position)
            buckets = [*view.departements, ALL_FRANCE] if view.all_france else view.departements
            for bucket in buckets:
                by_departement[bucket].add(position)
                bucket_index = by_area[bucket]
                for prefix in prefixes:
                    bucket_index[prefix].append(position)
                bucket_keywords = keywords_by_area[bucket]
                for _typed, toks in view.keywords:
                    bucket_keywords[toks].append(position)
            if view.siae:
                self.siae.add(position)
            if view.disability:
                self.disability.add(position)
            self.value_caps.append(view.value_cap)
            for _typed, toks in view.keywords:
                keyword_profiles[toks].add(position)
                vocabulary.update(toks)
            for toks in view.excluded:
                excluded_profiles[toks].add(position)
                vocabulary.update(toks)
        # Tuples (several hundred thousand small lists, read only from now on), largest capacity
        # first: the walk through a list stops at the first profile too small for the tender.
        caps = [math.inf if cap is None else cap for cap in self.value_caps]
        self.caps_or_inf = caps
        self.neg_cap = lambda i: -caps[i]  # sort key of the lists below, for bisect
        self.bulk_from = _BULK

        def by_capacity(members: list[int]) -> tuple[int, ...]:
            return tuple(sorted(members, key=lambda i: -caps[i]))

        self.exact = {prefix: by_capacity(members) for prefix, members in exact.items()}
        self.by_area = {
            bucket: {prefix: by_capacity(members) for prefix, members in index.items()}
            for bucket, index in by_area.items()
        }
        self.keywords_by_area = {
            bucket: {toks: tuple(members) for toks, members in index.items()}
            for bucket, index in keywords_by_area.items()
        }
        self.by_departement = dict(by_departement)
        self.reserved_eligible = self.siae | self.disability
        self.structure_ids = [view.structure_id for view in self.views]
        self.keyword_typed = [tuple(typed for typed, _ in view.keywords) for view in self.views]
        self.keyword_tokens = [tuple(toks for _, toks in view.keywords) for view in self.views]
        self.unique_ids = len(set(self.structure_ids)) == len(self.structure_ids)
        descendants: dict[str, list[str]] = defaultdict(list)
        for prefix in sorted(self.exact):
            for level in range(2, len(prefix) + 1):
                descendants[prefix[:level]].append(prefix)
        self.descendants = dict(descendants)
        self._related: dict[tuple[str, str | None], tuple[CpvEntry, ...]] = {}
        self.region_full: dict[str, set[int]] = {}
        for reg in all_regions():
            members = [self.by_departement.get(code, set()) for code in reg.departements]
            self.region_full[reg.code] = set.intersection(*members) if members else set()
        self.keyword_profiles = dict(keyword_profiles)
        self.excluded_profiles = dict(excluded_profiles)
        self.keywords_by_first_token = _by_first_token(self.keyword_profiles)
        self.excluded_by_first_token = _by_first_token(self.excluded_profiles)
        self._finder = WordFinder(vocabulary)
        self._word_cache: dict[str, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self.views)

    # -- keywords ---------------------------------------------------------------------------

    def _vocabulary_similar_to(self, word: str) -> tuple[str, ...]:
        """Vocabulary words similar to a text word (the `keywords.similar` rule), cached."""
        found = self._word_cache.get(word)
        if found is None:
            found = self._word_cache[word] = tuple(self._finder.like(word))
        return found

    def _tender_text(self, tender: Tender) -> tuple[TenderText, list[str]]:
        """The tender's text, whose `similar_tokens` answers from the word cache, and the
        vocabulary words found in it."""
        sources = tender_sources(tender)
        fields = [text_tokens(source) for source in sources]
        similar: dict[str, set[str]] = defaultdict(set)
        for word in {word for field in fields for word in field}:
            for vocabulary_word in self._vocabulary_similar_to(word):
                similar[vocabulary_word].add(word)
        text = TenderText(
            fields, similar_tokens=lambda token: similar.get(token, _EMPTY), sources=sources
        )
        return text, list(similar)

    @staticmethod
    def _keywords_in(
        text: TenderText, found_words: list[str], by_first: dict[str, list[Tokens]]
    ) -> list[Tokens]:
        """The indexed keywords found in the text."""
        found: list[Tokens] = []
        for word in found_words:
            for keyword in by_first.get(word, ()):
                # A one-word keyword is in the text as soon as its word is (found_words).
                if len(keyword) == 1 or text.has(keyword):
                    found.append(keyword)
        return found

    # -- CPV --------------------------------------------------------------------------------

    def _related_to(self, t_prefix: str, lot: str | None) -> tuple[CpvEntry, ...]:
        """The profile prefixes related to a tender code, best first: (points, profile code)
        order, each with its reason (cached: the same tender codes come back often)."""
        key = (t_prefix, lot)
        related = self._related.get(key)
        if related is None:
            prefixes = list(self.descendants.get(t_prefix, ()))
            prefixes += [
                t_prefix[:k] for k in range(2, len(t_prefix)) if t_prefix[:k] in self.exact
            ]
            t_code = t_prefix.ljust(8, "0")
            out = []
            for p_prefix in prefixes:
                relation = cpv_relation(t_prefix, p_prefix)
                if relation is not None:  # always, by construction
                    p_code = p_prefix.ljust(8, "0")
                    reason = cpv_reason_for(t_code, p_code, relation[0], lot)
                    out.append((-relation[1], p_code, p_prefix, (reason, relation[1])))
            out.sort(key=_RANK)
            related = self._related[key] = tuple(out)
        return related

    def _cpv_entries(self, view: TenderView) -> list[tuple[str, tuple[Reason, int]]]:
        """(profile prefix, (reason, points)): the best pair of each related profile prefix, best
        first, as in engine.cpv_reason (points, then tender code order, then profile code)."""
        if len(view.codes) == 1:
            t_prefix, _t_code, lot = view.codes[0]
            return [(p_prefix, cpv) for _, _, p_prefix, cpv in self._related_to(t_prefix, lot)]
        ranked = [
            (minus_points, position, p_code, p_prefix, cpv)
            for position, (t_prefix, _t_code, lot) in enumerate(view.codes)
            for minus_points, p_code, p_prefix, cpv in self._related_to(t_prefix, lot)
        ]
        ranked.sort(key=_RANK_WITH_POSITION)
        # A profile prefix related to several tender codes only counts with its best pair: its
        # profiles have all been met by then.
        best: dict[str, tuple[Reason, int]] = {}
        for _, _, _, p_prefix, cpv in ranked:
            if p_prefix not in best:
                best[p_prefix] = cpv
        return list(best.items())

    # -- matching ---------------------------------------------------------------------------

    def _buckets(self, view: TenderView) -> list[Bucket]:
        """The area buckets a tender looks into, in the order of rule 4's reasons."""
        if not view.departements:
            national = (area_reason_for("national"), AREA_POINTS["national"])
            return [(self.exact, self.keyword_profiles, national, None, set())]
        buckets: list[Bucket] = []
        for code in view.departements:
            region_code, _members = region_departements(code)
            region = (area_reason_for("region", code, region_code), AREA_POINTS["region"])
            buckets.append(
                (
                    self.by_area.get(code, {}),
                    self.keywords_by_area.get(code, {}),
                    (area_reason_for("departement", code), AREA_POINTS["departement"]),
                    region if region_code is not None else None,
                    self.region_full.get(region_code or "", set()),
                )
            )
        france = (area_reason_for("france", view.departements[0]), AREA_POINTS["france"])
        buckets.append(
            (
                self.by_area.get(ALL_FRANCE, {}),
                self.keywords_by_area.get(ALL_FRANCE, {}),
                france,
                None,
                set(),
            )
        )
        return buckets

    def match(self, tender: Tender, now: datetime) -> list[Match]:
        """Matching structures, by score (highest first) then structure id; same as brute force."""
        if not is_open(tender, now):
            return []
        text, found_words = self._tender_text(tender)
        view = tender_view(tender, text)
        entries = self._cpv_entries(view)
        matched = self._keywords_in(text, found_words, self.keywords_by_first_token)
        keywords_found = set(matched)
        vetoed: set[int] = set()
        for keyword in self._keywords_in(text, found_words, self.excluded_by_first_token):
            vetoed |= self.excluded_profiles[keyword]
        reserved = view.reserved
        eligible: set[int] | None = {
            Reserved.SIAE: self.siae,
            Reserved.DISABILITY: self.disability,
            Reserved.BOTH: self.reserved_eligible,
        }.get(reserved)
        value = -math.inf if view.value is None else view.value
        caps = self.caps_or_inf
        siae = self.siae if view.social_clause else _NO_PROFILES
        structure_ids = self.structure_ids

        buckets = self._buckets(view)

        seen: set[int] = set()
        seen_add = seen.add
        is_found = keywords_found.__contains__
        keyword_typed, keyword_tokens = self.keyword_typed, self.keyword_tokens
        neg_cap, bulk_from = self.neg_cap, self.bulk_from
        get_structure_id = structure_ids.__getitem__
        # Matches by score, each with the profile positions (for repeated structure ids).
        by_score: dict[int, tuple[list[Match], list[int]]] = {}
        # Profiles with the same rule results share one score, reasons tuple and output lists:
        # (id(cpv), id(place), social, keywords found) -> (score, reasons, matches, positions).
        assembled: dict[tuple, tuple[int, tuple[Reason, ...], list[Match], list[int]]] = {}

        def result_for(cpv, found, place, social):
            key = (id(cpv), id(place), social, found)
            result = assembled.get(key)
            if result is None:
                score, reasons = score_and_reasons(cpv, found, place, reserved, social, text)
                lists = by_score.get(score) or by_score.setdefault(score, ([], []))
                result = assembled[key] = (score, reasons, *lists)
            return result

        def add_group(group: set[int], cpv, place) -> None:
            parts = ((group & siae, True), (group - siae, False)) if siae else ((group, False),)
            for part, social in parts:
                if part:
                    score, reasons, same_score, positions = result_for(cpv, (), place, social)
                    ids = list(part)
                    same_score += map(
                        Match, map(get_structure_id, ids), repeat(score), repeat(reasons)
                    )
                    positions += ids

        for index, keyword_index, area, region, region_members in buckets:
            by_keyword: set[int] = set()  # the profiles of this bucket with a keyword found
            for keyword in matched:
                by_keyword.update(keyword_index.get(keyword, ()))
            # Profiles with a related CPV code, best pair first; then those found by keyword only.
            sources = [
                (members, cpv) for p_prefix, cpv in entries if (members := index.get(p_prefix))
            ]
            sources.append((by_keyword - seen, None))  # any order: matches are sorted at the end
            if region is None:
                region_members = _NO_PROFILES
            for members, cpv in sources:
                if cpv is not None and len(members) >= bulk_from:
                    # A long list: the same rules as below, with set operations. Lists are by
                    # decreasing capacity, so the profiles large enough are a prefix of it.
                    if value > caps[members[-1]]:
                        members = members[: bisect_right(members, -value, key=neg_cap)]
                    fresh = set(members)
                    fresh -= seen
                    if not fresh:
                        continue
                    seen |= fresh
                    if eligible is not None:
                        fresh &= eligible
                    if vetoed:
                        fresh -= vetoed
                    survivors = fresh & by_keyword  # their keywords are listed one by one
                    if survivors:
                        fresh -= survivors
                    if fresh and region_members:
                        in_region = fresh & region_members
                        if in_region:
                            fresh -= in_region
                            add_group(in_region, cpv, region)
                    if fresh:
                        add_group(fresh, cpv, area)
                else:
                    survivors = []
                    for i in members:
                        if i in seen:
                            continue
                        seen_add(i)
                        # Rules 2 (reserved), 3 (capacity), 6 (veto); rule 4 is the bucket.
                        if value > caps[i]:
                            if cpv is None:
                                continue
                            break  # the rest of this list has smaller capacities
                        if (eligible is not None and i not in eligible) or i in vetoed:
                            continue
                        survivors.append(i)
                cpv_id = id(cpv)
                for i in survivors:
                    if i not in by_keyword:
                        found = ()
                    elif len(typed := keyword_typed[i]) == 1:  # its only keyword was found
                        found = typed
                    else:
                        found = tuple(compress(typed, map(is_found, keyword_tokens[i])))
                    place = region if i in region_members else area
                    social = i in siae
                    key = (cpv_id, id(place), social, found)  # result_for, inlined
                    result = assembled.get(key) or result_for(cpv, found, place, social)
                    result[2].append(Match(structure_ids[i], result[0], result[1]))
                    result[3].append(i)

        matches: list[Match] = []
        for score in sorted(by_score, reverse=True):
            same_score, positions = by_score[score]
            if self.unique_ids:
                same_score.sort(key=_BY_STRUCTURE)
                matches += same_score
            else:  # repeated structure ids (unusual): profile order, as brute force does
                order = sorted(
                    range(len(same_score)),
                    key=lambda k: (same_score[k].structure_id, positions[k]),
                )
                matches += [same_score[k] for k in order]
        return matches


def _by_first_token(keywords: dict[Tokens, set[int]]) -> dict[str, list[Tokens]]:
    out: dict[str, list[Tokens]] = defaultdict(list)
    for toks in keywords:
        out[toks[0]].append(toks)
    return dict(out)
