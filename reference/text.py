"""The text rules every layer shares: accent and case folding, stop words, tokens.

People type "Bouches du Rhone", "ÉSAT" or "espaces verts" on a phone; labels say
"Bouches-du-Rhône", "ESAT", "Réalisation et entretien d'espaces verts". Comparing the folded forms
makes those meet. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_COMBINING = re.compile(r"[\u0300-\u036f]+")  # the accents NFKD splits off Latin letters

# Words that carry no meaning for matching activities against labels.
STOPWORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        "a au aux avec d de des du en et l la le les ou par pour sur dans un une ces son sa "
        "ses y".split()
    ),
    "en": frozenset("a an and as at by for from in of on or the to with".split()),
}


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


def stem(token: str) -> str:
    """A light plural stripper ("verts" -> "vert", "travaux" -> "travau", "services" -> "service").

    Applied to both sides of a comparison, so it only has to be consistent, not linguistic.
    """
    if len(token) > 3 and token[-1] in "sx" and not token.endswith("ss"):
        return token[:-1]
    return token


def tokens(text: str, lang: str = "fr") -> list[str]:
    """Folded, stemmed content words of `text`, stopwords and one-letter leftovers removed."""
    stop = STOPWORDS.get(lang, STOPWORDS["fr"])
    return [stem(word) for word in fold(text).split() if word not in stop and len(word) > 1]
