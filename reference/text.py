"""The text rules every layer shares: folding, stop words, stems, typos, phrases.

Pure functions (one small table, the stem exceptions, is read once).

People type "Bouches du Rhone", "ÉSAT" or "espaces verts" on a phone, in French or in English
whatever the language of their Telegram; labels say "Bouches-du-Rhône", "ESAT", "Réalisation et
entretien d'espaces verts". The rules here make those meet, and they are the only ones: the CPV
search (`reference.cpv_search`), the keywords and the matching (`matching/`) and the geography all
read text through them.

- `fold`: lower case, accents removed, every run of other characters as one space.
- `tokens`: the folded words of a text that carry meaning: the stop words of French *and* English
  are dropped (a member writes either, or both), and so are one-letter leftovers.
- `word_keys`: the stems of a folded word by the Snowball stemmers of French and English
  (`snowballstemmer`, backed by PyStemmer when it is installed: 1 µs a word instead of 60). Two
  words whose keys meet are one word ("verts"/"vert", "locaux"/"local",
  "restauration"/"restaurant", "collecte"/"collected"). A word that merely starts like another is
  not: "vertical" is "vertic", "triangle" "triangl", "collectivité" "collectivit", "nettoyage"
  "nettoyag" (and "nette" "net"). Where Snowball joins two meanings that matter here ("formation"
  and "format", "collective" and "collecte"), `data/stem_exceptions.csv` gives the word a key of
  its own.
- `one_typo_apart`: one letter inserted, left out, changed, or two neighbours swapped (optimal
  string alignment distance 1, rapidfuzz), in words of at least `TYPO_MIN_LENGTH` letters that
  start with the same letter. Shorter words are too close to each other for a typo to be told from
  another word ("lavage"/"levage", "vitres"/"vitrés"); the first letter is the one people get right
  (and "couverture"/"ouverture" are two trades). Whether a typo is accepted also depends on the
  words being known (`reference.lexicon.same_word`).
- `phrases`: a description cut into its parts ("entretien d'espaces verts, nettoyage et
  repassage" has three).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer
from rapidfuzz.distance import OSA

from reference.tables import rows as _rows

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_COMBINING = re.compile(r"[\u0300-\u036f]+")  # the accents NFKD splits off Latin letters

# Words that carry no meaning for telling one trade from another (folded). Only words that never
# name a thing once folded: not "mais" (maïs), "son" is kept out of English, "it" (IT) is kept.
STOPWORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        "a au aux avec c ce ces cet cette ceux chez d dans de des du elle elles en est et etc eux "
        "il ils j je l la le les leur leurs lui m ma me mes moi mon n ne nos notre notamment nous "
        "on ont ou par pour qu que qui quoi s sa sans se ses soi son sont sous sur t ta te tes "
        "toi ton tu un une vos votre vous y ainsi aussi dont tout tous toute toutes tres plus".split()
    ),
    "en": frozenset(
        "a an and are as at be been by for from has have in including into is its of on or our "
        "that the their these this those to was we were which who with you your etc also".split()
    ),
}
STOP: frozenset[str] = STOPWORDS["fr"] | STOPWORDS["en"]

TYPO_MIN_LENGTH = 7


# Folding as bytes. Table: A-Z to a-z, 0-9 and a-z kept, every other byte to a space (a
# character of several bytes becomes several spaces, which `split` then merges into one, as the
# regex merges a run of non-alphanumerics). Deleted first: the UTF-8 bytes of the accents
# U+0300-U+033F (lead byte CC) and every continuation byte, so an accent disappears and any
# other non-ASCII character leaves its lead byte, one space.
_FOLD_TABLE = bytes(
    code + 32 if 65 <= code <= 90 else code if 48 <= code <= 57 or 97 <= code <= 122 else 32
    for code in range(256)
)
_ACCENT_BYTES = b"\xcc" + bytes(range(0x80, 0xC0))


def fold(text: str) -> str:
    """Lower case, accents removed, every run of non-alphanumerics as one space, trimmed.

    "Côte-d'Or" -> "cote d or"; "ŒUVRE" -> "oeuvre".
    """
    if text.isascii():  # nothing to decompose (most keywords and many titles)
        return b" ".join(text.encode().translate(_FOLD_TABLE).split()).decode()
    # NFKD splits "é" into "e" + combining accent; the ligatures œ/æ have no decomposition.
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    # Byte tables rather than regular expressions (ten times faster: notices run to tens of
    # kilobytes). Lower-casing only the ASCII letters is enough: no character left by NFKD has
    # an ASCII letter or digit in its lower case ("K" Kelvin and "İ" decompose first). The
    # accents U+0340-U+036F (lead byte CD, shared with Greek letters that must become spaces)
    # and lone surrogates (not UTF-8) take the regular expressions.
    try:
        encoded = decomposed.encode()
    except UnicodeEncodeError:
        encoded = b"\xcd"
    if b"\xcd" not in encoded:
        return b" ".join(encoded.translate(_FOLD_TABLE, _ACCENT_BYTES).split()).decode()
    return _NON_ALNUM.sub(" ", _COMBINING.sub("", decomposed).lower()).strip()


def tokens(text: str) -> list[str]:
    """The folded content words of `text`, in order: stop words of both languages and one-letter
    leftovers removed ("Réalisation et entretien d'espaces verts" -> realisation, entretien,
    espaces, verts)."""
    return [word for word in fold(text).split() if len(word) > 1 and word not in STOP]


# Characters that always fold to a space: a text cut at them folds, piece by piece, to the same
# words as the whole text (so `word_spans` and `tokens` agree, which a test checks).
_PIECE = re.compile(r"[^\s!-/:-@\[-`{-~’‘«»“”–—…]+")


def word_spans(text: str) -> list[tuple[str, int, int]]:
    """The words of `tokens(text)`, each with the [start, end) of the piece of `text` it comes
    from, so that the words a rule found can be shown as the text wrote them."""
    out: list[tuple[str, int, int]] = []
    for match in _PIECE.finditer(text):
        piece = match.group()
        if piece.isascii() and piece.isalnum():  # most words: folding is lower-casing
            word = piece.lower()
            if len(word) > 1 and word not in STOP:
                out.append((word, match.start(), match.end()))
        else:
            out.extend((word, match.start(), match.end()) for word in tokens(piece))
    return out


_FRENCH = snowballstemmer.stemmer("french")
_ENGLISH = snowballstemmer.stemmer("english")


@lru_cache(maxsize=1)
def _stem_exceptions() -> dict[str, str]:
    """Words whose Snowball stem is that of another meaning ("formation" and "format"): they get
    a key of their own (`data/stem_exceptions.csv`, each row says why)."""
    return {fold(row["word"]): "=" + fold(row["key"]) for row in _rows("stem_exceptions.csv")}


@lru_cache(maxsize=1 << 17)
def word_keys(word: str) -> frozenset[str]:
    """The keys of a folded word: its French stem and its English stem, each tagged with its
    language (a French stem is only compared with French stems: "animation" and "animal" are
    "anim" in English), or its one key from the exceptions."""
    exception = _stem_exceptions().get(word)
    if exception is not None:
        return frozenset((exception,))
    return frozenset(("fr:" + _FRENCH.stemWord(word), "en:" + _ENGLISH.stemWord(word)))


def same_stem(a: str, b: str) -> bool:
    return a == b or not word_keys(a).isdisjoint(word_keys(b))


def one_typo_apart(a: str, b: str) -> bool:
    """One edit between two different words long enough for it to be a typo (module docstring)."""
    return (
        a != b
        and min(len(a), len(b)) >= TYPO_MIN_LENGTH
        and a[0] == b[0]
        and OSA.distance(a, b, score_cutoff=1) <= 1
    )


# Where a description of several trades is cut: punctuation, line breaks, a dash between spaces
# (the list itself), then the words "et", "and", "ainsi que", "&", "+" inside each item.
_LIST_BREAK = re.compile(r"[,;:/\n\r\t•·|()\[\].!?]|\s[-–—]\s")
_AND = re.compile(r"\bet\b|\band\b|\bainsi\s+que\b|[&+]", re.IGNORECASE)


def phrase_parts(text: str) -> list[list[str]]:
    """The items of a description, each cut at its "et"/"and": "Entretien d'espaces verts,
    collecte et tri des déchets" -> [["Entretien d'espaces verts"], ["collecte", "tri des
    déchets"]]. Parts are trimmed; empty ones are left out."""
    out = []
    for item in _LIST_BREAK.split(text or ""):
        parts = [" ".join(part.split()) for part in _AND.split(item)]
        parts = [part for part in parts if fold(part)]
        if parts:
            out.append(parts)
    return out


def phrases(text: str) -> list[str]:
    """The parts of a description (`phrase_parts`, flattened), in order."""
    return [part for parts in phrase_parts(text) for part in parts]
