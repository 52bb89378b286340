"""Text normalisation shared by reference look-ups and parsers: accent and case folding, tokens.

People type "Bouches du Rhone", "ÉSAT" or "espaces verts" on a phone; labels say
"Bouches-du-Rhône", "ESAT", "Réalisation et entretien d'espaces verts". Comparing the folded forms
makes those meet. Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from tenders.model import Reserved

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


def fold(text: str) -> str:
    """Lower case, accents removed, every run of non-alphanumerics as one space, trimmed.

    "Côte-d'Or" -> "cote d or"; "ŒUVRE" -> "oeuvre".
    """
    # NFKD splits "é" into "e" + combining accent; the ligatures œ/æ have no decomposition.
    # Regular expressions rather than a loop over characters: notices run to tens of kilobytes.
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = _COMBINING.sub("", unicodedata.normalize("NFKD", text)).lower()
    return _NON_ALNUM.sub(" ", decomposed).strip()


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


# --------------------------------------------------------------------------------------------
# Reserved contracts and social clauses, read from the words of a notice (folded text)
# --------------------------------------------------------------------------------------------

# Words of a social clause (clause sociale d'insertion, article L2112-2 conditions of execution).
# "insertion par l'activité économique" is not one: it names the SIAE of a reserved contract.
_SOCIAL_CLAUSE = re.compile(
    r"\bclauses? (sociales?|d insertion)\b"
    r"|\binsertion (professionnelle|sociale et professionnelle)\b"
    r"|\bheures d insertion\b|\bactions? d insertion\b"
    r"|\b(personnes|publics?) eloigne(e)?s? de l emploi\b|\bl ?2112 2\b"
)
# The articles of the code de la commande publique that reserve a contract: on their own they say
# which reservation it is.
_LAW_SIAE = re.compile(r"\bl ?2113 13\b")
_LAW_DISABILITY = re.compile(r"\bl ?2113 12\b")
# The beneficiaries' names, which only count right after "réservé à / aux": "ESAT" or "structures
# d'insertion" also appear in notices that merely allow subcontracting to them.
_WHO_SIAE = re.compile(
    r"\bsiae\b|\bstructures? d insertion\b|\binsertion par l activite economique\b"
    r"|\boperateurs? economiques? .{0,40}integration sociale et professionnelle\b"
    r"|\bentreprises? d insertion\b"
)
_WHO_DISABILITY = re.compile(
    r"\besats?\b|\bentreprises? adaptees?\b|\betablissements? et services? d aide par le travail\b"
    r"|\bateliers? proteges?\b|\bpersonnes handicapees\b|\btravailleurs handicapes\b"
)
_RESERVED_TO = re.compile(r"\breserve(e|s|es)? (a|aux|au|en faveur des?)\b")
_WINDOW = 160  # characters after "réservé à" in which the beneficiaries are looked for


@dataclass(frozen=True, slots=True)
class NoticeSignals:
    """What the words of a notice say: reserved to SIAE, reserved to EA/ESAT, social clause."""

    siae: bool = False
    disability: bool = False
    social_clause: bool = False


# Every pattern above contains one of these (lower-case) words: only the text around them is
# folded and searched, which keeps a 50-kilobyte notice cheap to read.
_TRIGGERS = ("réserv", "reserv", "clause", "insertion", "2113", "2112", "éloign", "eloign")
_BEFORE, _AFTER = 80, 300  # characters kept around a trigger (≥ _WINDOW after "réservé à")


def _trigger_windows(text: str) -> str:
    lowered = text.lower()
    if not lowered.isascii() and not unicodedata.is_normalized("NFC", lowered):
        lowered = unicodedata.normalize("NFC", lowered)  # "e" + combining accent -> "é"
    spans: list[tuple[int, int]] = []
    for trigger in _TRIGGERS:
        start = lowered.find(trigger)
        while start != -1:
            spans.append((max(0, start - _BEFORE), start + _AFTER))
            start = lowered.find(trigger, start + len(trigger))
    if not spans:
        return ""
    spans.sort()
    merged = [spans[0]]
    for low, high in spans[1:]:
        if low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return "\n".join(fold(lowered[low:high]) for low, high in merged)


def scan_notice(*texts: str | None) -> NoticeSignals:
    """Read the reservation and social-clause words of a notice."""
    folded = _trigger_windows("\n".join(text for text in texts if text))
    if not folded:
        return NoticeSignals()
    siae = bool(_LAW_SIAE.search(folded))
    disability = bool(_LAW_DISABILITY.search(folded))
    for match in _RESERVED_TO.finditer(folded):
        window = folded[match.end(): match.end() + _WINDOW]
        siae = siae or bool(_WHO_SIAE.search(window))
        disability = disability or bool(_WHO_DISABILITY.search(window))
    return NoticeSignals(siae, disability, bool(_SOCIAL_CLAUSE.search(folded)))


def has_social_clause(*texts: str | None) -> bool:
    """True when a text describes a social clause ("clause sociale", "insertion
    professionnelle", "heures d'insertion", "article L2112-2"…)."""
    return scan_notice(*texts).social_clause


def reservation_kind(structured: bool, signals: NoticeSignals) -> Reserved:
    """The `Reserved` value from a structured flag (the notice says "reserved" without saying to
    whom, e.g. eForms res-ws or BOAMP MARCHE_RESERVE_OUI) and the words of the notice."""
    if signals.siae and signals.disability:
        return Reserved.BOTH
    if signals.siae:
        return Reserved.SIAE
    if signals.disability:
        return Reserved.DISABILITY
    return Reserved.BOTH if structured else Reserved.NONE


def reserved_kind(structured: bool, *texts: str | None) -> Reserved:
    """`reservation_kind` straight from texts."""
    return reservation_kind(structured, scan_notice(*texts))
