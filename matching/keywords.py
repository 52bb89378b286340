"""Keyword rule: does a profile keyword occur in a tender's text, and through which words? Pure.

Keywords and texts are read by the text rules of `reference/`, the same as the CPV search of the
diagnostic (one reading of a trade):
- `reference.text.tokens`: folded (case, accents), the stop words of French *and* English dropped
  (a keyword may be "cleaning of offices"), one-letter leftovers dropped. "Entretien des Espaces
  Verts" gives (entretien, espaces, verts).
- `reference.lexicon.same_word` for two tokens: the same French or English Snowball stem
  ("verts"/"vert", "locaux"/"local", "nettoyages"/"nettoyage"), or one typo apart in words of 7
  letters or more when one of them is not a known trade word ("netoyage"/"nettoyage"). Never a
  word that only starts like it or looks like it: "entretien" is not "entreprise", "vert" is not
  "ouvert" nor "vertical", "tri" is not "triangle", "collecte" is not "collectivité" nor
  "collective", "formation" is not "format", "traiteur" is not "tracteur".

A keyword matches when its tokens are found *consecutively and in order* among the tokens of one
field (title, description, or one lot title), each keyword token the same word as the text token
at its place. So "nettoyage de locaux" matches "prestations de nettoyage des locaux" (stop words
are gone), "espaces verts" does not match "espaces de stationnement, panneaux verts". A keyword
made only of stop words matches nothing. Where it matched, `TenderText.found_words` gives the
words of the text as the notice wrote them ("nettoyage des locaux"), for the alert's reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence, Set
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from reference.lexicon import is_known, same_word
from reference.text import TYPO_MIN_LENGTH, one_typo_apart, tokens, word_keys, word_spans

Tokens = tuple[str, ...]

MAX_FOUND_WORDS = 80  # characters of the text quoted in a reason


@lru_cache(maxsize=1 << 16)
def keyword_tokens(keyword: str) -> Tokens:
    return tuple(tokens(keyword))


def text_tokens(text: str) -> Tokens:
    return tuple(tokens(text))


def similar(a: str, b: str) -> bool:
    """The token rule, for one pair (the reference for every faster path below)."""
    return same_word(a, b)


def typo_candidates(word: str, choices: Sequence[str]) -> list[str]:
    """The choices one typo from `word` that the rule accepts (`same_word` without the stems)."""
    if len(word) < TYPO_MIN_LENGTH:
        return []
    known = is_known(word)
    return [
        choice
        for choice, _distance, _ in process.extract(
            word, choices, scorer=OSA.distance, score_cutoff=1, limit=None
        )
        if one_typo_apart(word, choice) and not (known and is_known(choice))
    ]


class WordFinder:
    """The words of a vocabulary that are `same_word` as a given word, found by stem keys and then
    by typos among the words of the same first letter and a length one apart."""

    __slots__ = ("_by_key", "_by_start")

    def __init__(self, vocabulary: Iterable[str]) -> None:
        by_key: dict[str, set[str]] = defaultdict(set)
        by_start: dict[tuple[str, int], list[str]] = defaultdict(list)
        for word in set(vocabulary):
            by_key[word].add(word)
            for key in word_keys(word):
                by_key[key].add(word)
            by_start[(word[0], len(word))].append(word)
        self._by_key = dict(by_key)
        self._by_start = {start: sorted(words) for start, words in by_start.items()}

    def like(self, word: str) -> set[str]:
        found: set[str] = set(self._by_key.get(word, ()))
        for key in word_keys(word):
            found.update(self._by_key.get(key, ()))
        if len(word) >= TYPO_MIN_LENGTH:
            choices = [
                choice
                for length in (len(word) - 1, len(word), len(word) + 1)
                for choice in self._by_start.get((word[0], length), ())
            ]
            found.update(typo_candidates(word, choices))
        return found


def similar_in(query: str, choices: Iterable[str]) -> list[str]:
    """Every choice similar to `query`, in the choices' order: `similar` through a `WordFinder`."""
    choices = list(choices)
    found = WordFinder(choices).like(query)
    return [choice for choice in choices if choice in found]


class TenderText:
    """The searchable text of one tender and a per-tender cache of keyword answers.

    `similar_tokens(keyword_token)` returns the set of this text's tokens similar to it; the
    brute-force path finds them with a `WordFinder` over this text, the index from its word
    cache. Both apply the same rule, so answers are identical. `sources` are the fields' texts as
    written (for `found_words`); without them the tokens themselves are quoted.
    """

    __slots__ = (
        "fields",
        "sources",
        "vocabulary",
        "_similar_tokens",
        "_finder",
        "_token_cache",
        "_keyword_cache",
        "_found_cache",
        "_spans",
        "reasons",
    )

    def __init__(
        self,
        fields: Iterable[Tokens],
        similar_tokens: Callable[[str], Set[str]] | None = None,
        sources: Iterable[str] | None = None,
    ) -> None:
        fields = list(fields)
        texts = list(sources) if sources is not None else [" ".join(f) for f in fields]
        kept = [(f, t) for f, t in zip(fields, texts, strict=True) if f]
        self.fields: tuple[Tokens, ...] = tuple(f for f, _ in kept)
        self.sources: tuple[str, ...] = tuple(t for _, t in kept)
        self.vocabulary: frozenset[str] = frozenset(t for field in self.fields for t in field)
        self._similar_tokens = similar_tokens or self._similar_by_finder
        self._finder: WordFinder | None = None
        self._token_cache: dict[str, Set[str]] = {}
        self._keyword_cache: dict[Tokens, tuple[int, int] | None] = {}
        self._found_cache: dict[Tokens, str] = {}
        self._spans: dict[int, list[tuple[str, int, int]]] = {}
        self.reasons: dict[str, object] = {}  # keyword as typed -> its reason (matching.engine)

    def _similar_by_finder(self, token: str) -> frozenset[str]:
        if self._finder is None:
            self._finder = WordFinder(self.vocabulary)
        return frozenset(self._finder.like(token))

    def similar_tokens(self, token: str) -> Set[str]:
        found = self._token_cache.get(token)
        if found is None:
            found = self._token_cache[token] = self._similar_tokens(token)
        return found

    def has(self, keyword: Tokens) -> bool:
        """True when `keyword` (from `keyword_tokens`) occurs in one field, as documented above."""
        return self.where(keyword) is not None

    def where(self, keyword: Tokens) -> tuple[int, int] | None:
        """(field, first token) of the first place `keyword` occurs, or None."""
        if keyword in self._keyword_cache:
            return self._keyword_cache[keyword]
        answer = self._keyword_cache[keyword] = self._search(keyword)
        return answer

    def found_words(self, keyword: Tokens) -> str:
        """The words of the text that `keyword` matched, as the notice wrote them ("" if none)."""
        found = self._found_cache.get(keyword)
        if found is None:
            place = self.where(keyword)
            found = self._found_cache[keyword] = "" if place is None else self._quote(keyword, place)
        return found

    def _quote(self, keyword: Tokens, place: tuple[int, int]) -> str:
        field, start = place
        source = self.sources[field]
        spans = self._spans.get(field)
        if spans is None:
            spans = self._spans[field] = word_spans(source)
        if len(spans) != len(self.fields[field]):  # tokens given without their text
            words = " ".join(self.fields[field][start : start + len(keyword)])
        else:
            words = source[spans[start][1] : spans[start + len(keyword) - 1][2]]
        words = " ".join(words.split())
        return words if len(words) <= MAX_FOUND_WORDS else words[: MAX_FOUND_WORDS - 1] + "…"

    def _search(self, keyword: Tokens) -> tuple[int, int] | None:
        if not keyword:
            return None
        allowed = []
        for token in keyword:
            matches = self.similar_tokens(token)
            if not matches:
                return None
            allowed.append(matches)
        size = len(keyword)
        first = allowed[0]
        for number, field in enumerate(self.fields):
            for start in range(len(field) - size + 1):
                if field[start] in first and all(
                    field[start + offset] in allowed[offset] for offset in range(1, size)
                ):
                    return number, start
        return None
