"""An index over all profiles so that a tender is only scored against its candidates.

Built once (`ProfileIndex(profiles)`), then `index.match(tender, now)` for each tender. It returns
exactly what `engine.brute_force_match` returns: candidates are a superset of the profiles that can
match, found through the index, and each is then judged by the same `engine.evaluate`.

Candidates of a tender = (CPV candidates ∪ keyword candidates) ∩ area ∩ reserved eligibility:
- CPV: `covering[q]` holds the profiles with a code whose prefix starts with q (q at every level of
  each profile code), `exact[p]` those with a code of prefix exactly p. For a tender code of
  prefix t: `covering[t]` (profile code equal or narrower) ∪ `exact[t[:k]]` for every shorter k
  (profile code broader).
- Keywords: the distinct tokens of all profile keywords (and excluded keywords) form a vocabulary,
  bucketed by first letter and length. Each distinct word seen in a tender text is compared once,
  with rapidfuzz, to the vocabulary words that can reach the threshold (same first letter, close
  length); the answer is cached for later tenders. A keyword is checked once per tender (not once
  per profile) and brings in every profile that has it.
- Area: profiles by département, plus all-France profiles; a national tender keeps everyone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from rapidfuzz import fuzz, process

from matching.engine import (
    Match,
    ProfileView,
    TenderView,
    evaluate,
    is_open,
    profile_view,
    sort_matches,
    tender_text_fields,
    tender_view,
)
from matching.keywords import TOKEN_THRESHOLD, TenderText, Tokens, length_window
from matching.profile import Profile
from tenders.model import Reserved, Tender

_EMPTY: frozenset[str] = frozenset()


class ProfileIndex:
    def __init__(self, profiles: Iterable[Profile]) -> None:
        self.views: list[ProfileView] = [profile_view(profile) for profile in profiles]
        exact: dict[str, set[int]] = defaultdict(set)
        covering: dict[str, set[int]] = defaultdict(set)
        by_departement: dict[str, set[int]] = defaultdict(set)
        keyword_profiles: dict[Tokens, set[int]] = defaultdict(set)
        vocabulary: set[str] = set()
        self.all_france: set[int] = set()
        self.siae: set[int] = set()
        self.disability: set[int] = set()
        for position, view in enumerate(self.views):
            for prefix, _code in view.codes:
                exact[prefix].add(position)
                for level in range(2, len(prefix) + 1):
                    covering[prefix[:level]].add(position)
            for code in view.departements:
                by_departement[code].add(position)
            if view.all_france:
                self.all_france.add(position)
            if view.siae:
                self.siae.add(position)
            if view.disability:
                self.disability.add(position)
            for _typed, toks in view.keywords:
                keyword_profiles[toks].add(position)
                vocabulary.update(toks)
            for toks in view.excluded:
                vocabulary.update(toks)
        self.reserved_eligible = self.siae | self.disability
        self.exact = dict(exact)
        self.covering = dict(covering)
        self.by_departement = dict(by_departement)
        self.keyword_profiles = dict(keyword_profiles)
        by_first: dict[str, list[Tokens]] = defaultdict(list)
        for toks in self.keyword_profiles:
            by_first[toks[0]].append(toks)
        self.keywords_by_first_token = dict(by_first)
        buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in sorted(vocabulary):
            buckets[(word[0], len(word))].append(word)
        self._buckets = dict(buckets)
        self._choices: dict[tuple[str, int], list[str]] = {}
        self._word_cache: dict[str, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self.views)

    # -- keywords ---------------------------------------------------------------------------

    def _choices_for(self, first: str, length: int) -> list[str]:
        key = (first, length)
        choices = self._choices.get(key)
        if choices is None:
            choices = [
                word
                for size in length_window(length)
                for word in self._buckets.get((first, size), ())
            ]
            self._choices[key] = choices
        return choices

    def _vocabulary_similar_to(self, word: str) -> tuple[str, ...]:
        """Vocabulary words similar to a text word (the `keywords.similar` rule), cached."""
        found = self._word_cache.get(word)
        if found is None:
            choices = self._choices_for(word[0], len(word))
            hits = process.extract(
                word, choices, scorer=fuzz.ratio, score_cutoff=TOKEN_THRESHOLD, limit=None
            )
            found = self._word_cache[word] = tuple(choice for choice, _score, _ in hits)
        return found

    def _tender_text(self, tender: Tender) -> tuple[TenderText, list[str]]:
        """The tender's text, whose `similar_tokens` answers from the word cache, and the
        vocabulary words found in it."""
        fields = tender_text_fields(tender)
        similar: dict[str, set[str]] = defaultdict(set)
        for word in {word for field in fields for word in field}:
            for vocabulary_word in self._vocabulary_similar_to(word):
                similar[vocabulary_word].add(word)
        frozen = {word: frozenset(found) for word, found in similar.items()}
        text = TenderText(fields, similar_tokens=lambda token: frozen.get(token, _EMPTY))
        return text, list(frozen)

    # -- matching ---------------------------------------------------------------------------

    def candidates(self, view: TenderView, found_words: Iterable[str]) -> set[int]:
        """Positions (in `self.views`) of the profiles that may match; a superset."""
        found: set[int] = set()
        for prefix, _code, _lot in view.codes:
            narrower = self.covering.get(prefix)
            if narrower:
                found |= narrower
            for level in range(2, len(prefix)):
                broader = self.exact.get(prefix[:level])
                if broader:
                    found |= broader
        for vocabulary_word in found_words:
            for keyword in self.keywords_by_first_token.get(vocabulary_word, ()):
                if view.text.has(keyword):
                    found |= self.keyword_profiles[keyword]
        if view.departements:
            in_area = found & self.all_france
            for code in view.departements:
                local = self.by_departement.get(code)
                if local:
                    in_area |= found & local
            found = in_area
        if view.reserved == Reserved.SIAE:
            found &= self.siae
        elif view.reserved == Reserved.DISABILITY:
            found &= self.disability
        elif view.reserved == Reserved.BOTH:
            found &= self.reserved_eligible
        return found

    def match(self, tender: Tender, now: datetime) -> list[Match]:
        """Matching structures, by score (highest first) then structure id; same as brute force."""
        if not is_open(tender, now):
            return []
        text, found_words = self._tender_text(tender)
        view = tender_view(tender, text)
        # Profile order, so that equal keys sort exactly as in the brute-force path.
        candidates = sorted(self.candidates(view, found_words))
        matches = (evaluate(self.views[i], view) for i in candidates)
        return sort_matches(m for m in matches if m is not None)
