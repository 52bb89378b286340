"""Keyword rule: does a profile keyword occur in a tender's text? Pure, no I/O.

Texts and keywords are reduced to tokens by `reference.text.tokens` (case and accents folded, French
stopwords and one-letter leftovers dropped, a light plural stem), so "Entretien des Espaces Verts"
gives ("entretien", "espace", "vert") and the keyword "espaces verts" gives ("espace", "vert").

Two tokens are *similar* when they start with the same letter and their rapidfuzz `fuzz.ratio`
(normalised Indel similarity, 0-100) is at least `TOKEN_THRESHOLD` = 85. Why these two conditions:
- 85 accepts a plural/feminine or a one-letter typo on words of 6+ letters ("vert"/"verte" 88.9,
  "nettoyage"/"netoyage" 94.1) and rejects "vert"/"ouvert" (80) or "jardin"/"jardinage" (80);
- the same first letter rejects the near-anagram pairs that a ratio alone accepts,
  "ouverture"/"couverture" (94.7): a trade word changed by its first letter is another trade.

A keyword matches when its tokens are found *consecutively and in order* among the tokens of one
field (title, description, or one lot title), each keyword token similar to the text token at its
place. So "espaces verts" matches "Entretien des espaces verts" (stopwords are gone), "vert" alone
matches neither "ouvert" nor "couvert", and "espaces verts" does not match "espaces de
stationnement, panneaux verts". A keyword made only of stopwords matches nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set

from rapidfuzz import fuzz, process

from reference.text import tokens

TOKEN_THRESHOLD = 85.0

Tokens = tuple[str, ...]


def keyword_tokens(keyword: str) -> Tokens:
    return tuple(tokens(keyword))


def text_tokens(text: str) -> Tokens:
    return tuple(tokens(text))


def similar(a: str, b: str) -> bool:
    """The token rule, for one pair (the reference for every faster path below)."""
    return a[:1] == b[:1] and fuzz.ratio(a, b, score_cutoff=TOKEN_THRESHOLD) >= TOKEN_THRESHOLD


def similar_in(query: str, choices: Iterable[str]) -> list[str]:
    """Every choice similar to `query`: `similar` applied through rapidfuzz's batch extract."""
    first = query[:1]
    found = process.extract(
        query, list(choices), scorer=fuzz.ratio, score_cutoff=TOKEN_THRESHOLD, limit=None
    )
    return [choice for choice, _score, _ in found if choice[:1] == first]


def length_window(length: int) -> range:
    """Token lengths that can reach the threshold against a token of `length`.

    ratio = 100 * (1 - indel / (a + b)) and indel >= |a - b|, so lengths further apart cannot
    reach it; one extra length on each side keeps the bound safe from rounding.
    """
    low = length
    while low > 1 and 100.0 * (1 - (length - (low - 1)) / (length + low - 1)) >= TOKEN_THRESHOLD:
        low -= 1
    high = length
    while 100.0 * (1 - (high + 1 - length) / (length + high + 1)) >= TOKEN_THRESHOLD:
        high += 1
    return range(max(1, low - 1), high + 2)


class TenderText:
    """The searchable text of one tender and a per-tender cache of keyword answers.

    `similar_tokens(keyword_token)` returns the set of this text's tokens similar to it; the
    brute-force path computes it with `similar_in`, the index from its token cache. Both apply the
    same rule, so answers are identical.
    """

    __slots__ = ("fields", "vocabulary", "_similar_tokens", "_token_cache", "_keyword_cache")

    def __init__(
        self,
        fields: Iterable[Tokens],
        similar_tokens: Callable[[str], Set[str]] | None = None,
    ) -> None:
        self.fields: tuple[Tokens, ...] = tuple(field for field in fields if field)
        self.vocabulary: frozenset[str] = frozenset(t for field in self.fields for t in field)
        self._similar_tokens = similar_tokens or self._similar_by_extract
        self._token_cache: dict[str, Set[str]] = {}
        self._keyword_cache: dict[Tokens, bool] = {}

    def _similar_by_extract(self, token: str) -> frozenset[str]:
        return frozenset(similar_in(token, self.vocabulary))

    def similar_tokens(self, token: str) -> Set[str]:
        found = self._token_cache.get(token)
        if found is None:
            found = self._token_cache[token] = self._similar_tokens(token)
        return found

    def has(self, keyword: Tokens) -> bool:
        """True when `keyword` (from `keyword_tokens`) occurs in one field, as documented above."""
        answer = self._keyword_cache.get(keyword)
        if answer is None:
            answer = self._keyword_cache[keyword] = self._search(keyword)
        return answer

    def _search(self, keyword: Tokens) -> bool:
        if not keyword:
            return False
        allowed = []
        for token in keyword:
            matches = self.similar_tokens(token)
            if not matches:
                return False
            allowed.append(matches)
        size = len(keyword)
        first = allowed[0]
        for field in self.fields:
            for start in range(len(field) - size + 1):
                if field[start] in first and all(
                    field[start + offset] in allowed[offset] for offset in range(1, size)
                ):
                    return True
        return False
