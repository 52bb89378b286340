"""Text normalisation shared by reference look-ups and parsers: accent and case folding, tokens.

People type "Bouches du Rhone", "ÉSAT" or "espaces verts" on a phone; labels say
"Bouches-du-Rhône", "ESAT", "Réalisation et entretien d'espaces verts". Comparing the folded forms
makes those meet. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")

# Words that carry no meaning for matching activities against labels.
STOPWORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        "a au aux avec d de des du en et l la le les ou par pour sur dans un une ces son sa "
        "ses y".split()
    ),
    "en": frozenset("a an and as at by for from in of on or the to with".split()),
}


def fold(text: str) -> str:
    """Lower case, accents removed, every run of non-alphanumerics as one space, trimmed.

    "Côte-d'Or" -> "cote d or"; "ŒUVRE" -> "oeuvre".
    """
    # NFKD splits "é" into "e" + combining accent; the ligatures œ/æ have no decomposition.
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", stripped.lower()).strip()


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
