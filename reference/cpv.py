"""The CPV tree (EU Common Procurement Vocabulary): look-ups, hierarchy and search.

CPV codes are handled in canonical form: 8 digits without the check digit ("77310000").
The CPV hierarchy is positional: trailing zeros mark the level. The division has 2 significant
digits (45000000), then each further significant digit goes one level down: group 45200000, class
45210000, category 45212000, and sub-categories 45212100, 45212110, 45212111.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from reference.tables import rows as _rows
from reference.text import tokens


@dataclass(frozen=True, slots=True)
class CpvCode:
    code: str  # 8 digits, no check digit
    label_fr: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang.lower().startswith("en") else self.label_fr


_CPV_RAW = re.compile(r"^(\d{8})(?:-?\d)?$")


def normalise_cpv(raw: str | None) -> str | None:
    """"77310000-6", "77310000", "773100006", " 77310000 " -> "77310000"; anything else -> None.

    Only the form is checked, not that the code exists (use `cpv_get` for that): sources
    occasionally carry codes of other CPV versions and they still say something about the trade.
    """
    if raw is None:
        return None
    match = _CPV_RAW.match(str(raw).strip().replace(" ", ""))
    return match.group(1) if match else None


@lru_cache(maxsize=1)
def _cpv_table() -> dict[str, CpvCode]:
    table: dict[str, CpvCode] = {}
    for row in _rows("cpv_2008.csv"):
        code = normalise_cpv(row["code"])
        if code:
            table[code] = CpvCode(code, row["label_fr"], row["label_en"])
    return table


def all_cpv() -> list[CpvCode]:
    return list(_cpv_table().values())


def cpv_get(code: str | None) -> CpvCode | None:
    normalised = normalise_cpv(code) if code else None
    return _cpv_table().get(normalised) if normalised else None


def cpv_level(code: str) -> int:
    """Significant digits of a canonical code: 2 for a division, up to 8."""
    return max(2, len(code.rstrip("0")))


def cpv_parent(code: str) -> str | None:
    """The nearest existing ancestor of `code` ("45212000" -> "45210000"); None for a division.

    The tree has a few gaps (a code whose positional parent is not itself a code): the search
    then goes one more level up.
    """
    normalised = normalise_cpv(code)
    if normalised is None:
        return None
    table = _cpv_table()
    level = cpv_level(normalised)
    while level > 2:
        level -= 1
        candidate = normalised[:level].ljust(8, "0")
        if candidate in table:
            return candidate
    return None


def cpv_ancestors(code: str) -> list[str]:
    """Existing ancestors, nearest first, ending with the division."""
    out: list[str] = []
    current = cpv_parent(code)
    while current is not None:
        out.append(current)
        current = cpv_parent(current)
    return out


def cpv_prefix(code: str) -> str:
    """The significant prefix that every code below `code` starts with ("45200000" -> "452")."""
    return code[: cpv_level(code)]


def cpv_is_within(code: str, field_code: str) -> bool:
    """True when `code` is `field_code` or lies below it in the tree (by position, so it also
    holds for codes missing from the table)."""
    a, b = normalise_cpv(code), normalise_cpv(field_code)
    if a is None or b is None:
        return False
    return a.startswith(cpv_prefix(b))


# Words that only say a label is an activity: they are matched when a person types them but do
# not count against a label that has them ("Services de nettoyage" is as close to "nettoyage" as
# a label can be). Supply words ("Produits", "Fournitures") are not in the list on purpose: people
# describe what they do, so "Produits de nettoyage" should rank below the cleaning services.
_GENERIC = {
    "fr": frozenset(tokens("services service travaux prestations divers connexes autres")),
    "en": frozenset(tokens("services service work works related other")),
}


@dataclass(slots=True)
class _CpvIndex:
    codes: list[str]
    label_tokens: list[frozenset[str]]
    content_sizes: list[int]  # label tokens that are not generic
    postings: dict[str, list[int]]  # token -> label indices
    vocabulary: list[str] = field(default_factory=list)  # sorted, for prefix look-ups


@lru_cache(maxsize=2)
def _cpv_index(lang: str) -> _CpvIndex:
    generic = _GENERIC[lang]
    index = _CpvIndex(codes=[], label_tokens=[], content_sizes=[], postings=defaultdict(list))
    for i, cpv in enumerate(_cpv_table().values()):
        words = frozenset(tokens(cpv.label(lang), lang))
        index.codes.append(cpv.code)
        index.label_tokens.append(words)
        index.content_sizes.append(max(1, len(words - generic)))
        for word in words:
            index.postings[word].append(i)
    index.vocabulary = sorted(index.postings)
    return index


# Everyday words for trades that the CPV labels name differently (folded, stemmed query word ->
# label words). Kept small: only words that ESS structures use for their own activity.
_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "fr": {
        "restauration": ("restaurant", "cantine", "repa", "traiteur"),
        "menage": ("nettoyage",),
        "proprete": ("nettoyage",),
        "jardinage": ("jardin", "horticole"),
        "jardinier": ("jardin", "horticole"),
        "paysagiste": ("paysager", "horticole"),
        "ebeniste": ("menuiserie", "mobilier"),
        "ebenisterie": ("menuiserie", "mobilier"),
        "btp": ("construction",),
        "repassage": ("blanchisserie",),
        "linge": ("blanchisserie",),
    },
    "en": {
        "gardening": ("garden", "horticultural"),
        "landscaping": ("landscaping", "green"),
        "housekeeping": ("cleaning",),
    },
}


def _token_matches(query_token: str, vocabulary: list[str], lang: str) -> dict[str, float]:
    """Label words that match one query word, with a similarity 0-100.

    The word itself scores 100, a longer label word it begins 90 ("menuis" -> "menuiserie"), an
    everyday synonym 85. Only a word that the labels do not contain at all is taken as a typo and
    compared by edit distance: otherwise "traiteur" would also find "tracteurs" and "peinture"
    "teinture".
    """
    found: dict[str, float] = {}
    vocabulary_set = _vocabulary_set(lang)
    if query_token in vocabulary_set:
        found[query_token] = 100.0
    if len(query_token) >= 4:
        # The vocabulary is sorted: the words it begins are one contiguous run.
        for word in vocabulary[bisect_left(vocabulary, query_token):]:
            if not word.startswith(query_token):
                break
            found.setdefault(word, 90.0)
    for word in _SYNONYMS[lang].get(query_token, ()):
        if word in vocabulary_set:
            found.setdefault(word, 85.0)
    if not found:
        # Stricter on short words, where one letter changes the meaning.
        cutoff = 88 if len(query_token) <= 5 else 80
        for word, score, _ in process.extract(
            query_token, vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        ):
            found[word] = float(score) * 0.9  # a guessed word never beats a typed one
    return found


@lru_cache(maxsize=2)
def _vocabulary_set(lang: str) -> frozenset[str]:
    return frozenset(_cpv_index(lang).vocabulary)


# Bonus for works and services divisions (45 and above) over supplies: the people who type here
# describe what they do ("menuiserie", "nettoyage"), so on a near tie the service is meant.
_SERVICE_BONUS = 2.0


def cpv_search(text: str, limit: int = 5, lang: str = "fr") -> list[CpvCode]:
    """The closest CPV codes to a free description of activities (see `_cpv_search`)."""
    return list(_cpv_search(text, limit, lang))


@lru_cache(maxsize=1024)  # members of one trade describe it with the same few words
def _cpv_search(text: str, limit: int, lang: str) -> tuple[CpvCode, ...]:
    """Closest CPV codes to a free description of activities, best first.

    Score of a label = 70 % coverage (how well each query word is matched by some label word)
    + 30 % precision (share of the label's meaningful words that were matched), so that
    "nettoyage" prefers "Services de nettoyage" over "Machines de nettoyage de fruits". Ties go
    to services/works, then to the more general code. A CPV code typed as such is returned as is.
    """
    lang = "en" if lang.lower().startswith("en") else "fr"
    direct = cpv_get(text.strip()) if normalise_cpv(text) else None
    if direct is not None:
        return (direct,)
    query = list(dict.fromkeys(tokens(text, lang)))
    if not query or limit <= 0:
        return ()
    index = _cpv_index(lang)
    generic = _GENERIC[lang]
    best: dict[int, list[float]] = {}
    matched_words: dict[int, set[str]] = defaultdict(set)
    for position, query_token in enumerate(query):
        for word, score in _token_matches(query_token, index.vocabulary, lang).items():
            for label in index.postings[word]:
                scores = best.setdefault(label, [0.0] * len(query))
                if score > scores[position]:
                    scores[position] = score
                if word not in generic:
                    matched_words[label].add(word)
    ranked: list[tuple[float, int, str]] = []
    for label, scores in best.items():
        coverage = sum(scores) / (100.0 * len(query))
        precision = len(matched_words[label]) / index.content_sizes[label]
        code = index.codes[label]
        score = 100.0 * (0.7 * coverage + 0.3 * min(1.0, precision))
        if int(code[:2]) >= 45:
            score += _SERVICE_BONUS
        ranked.append((-score, cpv_level(code), code))
    ranked.sort()
    table = _cpv_table()
    return tuple(table[code] for _, _, code in ranked[:limit])


