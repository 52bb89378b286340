"""The trade words the service knows, and the one rule that says two words are the same word.

Known words: every word of the CPV labels, French and English, and of the synonyms that members
use for their trades (`data/cpv_synonyms.csv`, read by `synonyms`). A word is *the same* as
another when they share a stem (`reference.text.word_keys`), or when one is a typo of the other
(`reference.text.one_typo_apart`) and at least one of the two is not a known word (nor another
form of one): "netoyage" is
a typo of "nettoyage", but "maquette" is not a typo of "moquette", nor "tracteur" of "traiteur":
both are words of the labels, two different things.

The CPV search and the keyword matching both use `same_word` (matching through its faster
equivalents, which tests check against it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from reference.cpv import all_cpv
from reference.tables import rows as _rows
from reference.text import fold, one_typo_apart, same_stem, tokens, word_keys


@dataclass(frozen=True, slots=True)
class Synonym:
    """A way members name a trade that the CPV labels put otherwise.

    `term`: the member's words (folded content words, one or a few); `means`: the readings of the
    term in the labels' words (either language), each a few words that a label must all have
    ("espaces verts", "green areas"); `replaces`: the term is read only through `means`, its own
    words are not looked for in the labels (the stem of "ménage" is that of "ménager", and
    household appliances are not housework; "restauration collective" is not waste collection).
    A term with no reading that replaces its words is not a trade at all ("chantier
    d'insertion" says what the structure is, not what it does)."""

    term: tuple[str, ...]
    means: tuple[tuple[str, ...], ...]
    replaces: bool


@lru_cache(maxsize=1)
def synonyms() -> tuple[Synonym, ...]:
    out = []
    for row in _rows("cpv_synonyms.csv"):
        term = tuple(tokens(row["term"]))
        if term:
            means = tuple(
                reading for reading in (tuple(tokens(part)) for part in row["means"].split(";"))
                if reading
            )
            out.append(Synonym(term, means, fold(row["replaces"]) in ("yes", "oui")))
    return tuple(out)


@lru_cache(maxsize=1)
def known_words() -> frozenset[str]:
    words: set[str] = set()
    for code in all_cpv():
        words.update(fold(code.label_fr).split())
        words.update(fold(code.label_en).split())
    for synonym in synonyms():
        words.update(synonym.term)
        for reading in synonym.means:
            words.update(reading)
    return frozenset(words)


@lru_cache(maxsize=1)
def _known_keys() -> frozenset[str]:
    return frozenset(key for word in known_words() for key in word_keys(word))


def is_known(word: str) -> bool:
    """A word of the labels or synonyms, or another form of one ("maquette" for "Maquettes")."""
    return word in known_words() or not _known_keys().isdisjoint(word_keys(word))


def same_word(a: str, b: str) -> bool:
    """The rule for two folded words (module docstring)."""
    if same_stem(a, b):
        return True
    return one_typo_apart(a, b) and not (is_known(a) and is_known(b))
