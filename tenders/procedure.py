"""One vocabulary for `Tender.procedure`, whatever the source wrote.

The codes are eForms' procurement-procedure-type codes (TED writes them; TED-export and BOAMP's
eForms notices map onto them), plus two French ones that eForms has no code for: the procédure
adaptée (MAPA: below the EU thresholds, the buyer sets its own rules) and the concours (design
contest, a BOAMP procedure of its own). "" means the notice does not say (BOAMP's "Procédure NC").

Each source's reader turns its own values into a code with `procedure_code`: eForms codes, BOAMP
enumerations ("PROCEDURE_ADAPTE", "OUVERT"), BOAMP and national-form labels ("Procédure
adaptée ouverte", "Procédure concurrentielle avec négociation") and TED-export element names
("PT_COMPETITIVE_DIALOGUE"). The labels shown to members are here too, translated by
`procedure_label`.
"""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from locales import N_, gettext_for
from reference.text import fold


class Procedure(StrEnum):
    OPEN = "open"
    RESTRICTED = "restricted"
    NEGOTIATED_WITH_CALL = "neg-w-call"  # competitive procedure with negotiation
    NEGOTIATED_WITHOUT_CALL = "neg-wo-call"  # negotiated without prior call for competition
    COMPETITIVE_DIALOGUE = "comp-dial"
    INNOVATION = "innovation"  # innovation partnership
    OTHER_SINGLE_STAGE = "oth-single"
    OTHER_MULTI_STAGE = "oth-mult"
    ADAPTED = "adapted"  # procédure adaptée (MAPA), French law, below the EU thresholds
    CONTEST = "contest"  # concours (design contest)


LABELS: dict[Procedure, str] = {
    Procedure.OPEN: N_("Open procedure"),
    Procedure.RESTRICTED: N_("Restricted procedure"),
    Procedure.NEGOTIATED_WITH_CALL: N_("Procedure with negotiation"),
    Procedure.NEGOTIATED_WITHOUT_CALL: N_("Negotiated procedure without prior publication"),
    Procedure.COMPETITIVE_DIALOGUE: N_("Competitive dialogue"),
    Procedure.INNOVATION: N_("Innovation partnership"),
    Procedure.OTHER_SINGLE_STAGE: N_("Other single-stage procedure"),
    Procedure.OTHER_MULTI_STAGE: N_("Other multi-stage procedure"),
    Procedure.ADAPTED: N_("Adapted procedure (MAPA, below the EU thresholds)"),
    Procedure.CONTEST: N_("Design contest"),
}

_CODES = {code.value: code for code in Procedure}

# Words of the labels, on folded text, in the order they are tried: "procédure adaptée ouverte"
# is adapted, not open; "négociée sans publicité" is without a call before it is negotiated.
_WORDS: tuple[tuple[tuple[str, ...], Procedure], ...] = (
    (("adapte", "mapa"), Procedure.ADAPTED),
    (("dialogue",), Procedure.COMPETITIVE_DIALOGUE),
    (("innovation",), Procedure.INNOVATION),
    (("concours", "contest"), Procedure.CONTEST),
    (("negocie sans", "negociee sans", "sans publicite", "sans mise en concurrence",
      "without publication", "without prior", "without call", "without a call"),
     Procedure.NEGOTIATED_WITHOUT_CALL),
    (("negoci", "negotiat"), Procedure.NEGOTIATED_WITH_CALL),
    (("restreint", "restricted"), Procedure.RESTRICTED),
    (("ouvert", "open"), Procedure.OPEN),
    (("plusieurs etapes", "multi stage", "multiple stage"), Procedure.OTHER_MULTI_STAGE),
    (("une etape", "single stage", "autre", "other"), Procedure.OTHER_SINGLE_STAGE),
)


@lru_cache(maxsize=1024)
def procedure_code(value: str | None) -> str:
    """The code of what a source wrote, "" when it says nothing usable.

    "open", "Procédure Ouverte", "OUVERT" and "PT_OPEN" are all "open"; "Procédure NC" (not
    communicated) and words that name no procedure are "".
    """
    text = (value or "").strip()
    if not text:
        return ""
    if code := _CODES.get(text.lower()):
        return code.value
    words = fold(text.removeprefix("PT_").replace("_", " "))
    padded = f" {words} "
    for needles, code in _WORDS:
        if any(needle in padded for needle in needles):
            return code.value
    return ""


def procedure_label(code: str | None, lang: str) -> str:
    """The label of a code in the member's language; "" for no procedure, and a value that is
    not a code (never stored by the readers) as it is."""
    if not code:
        return ""
    known = _CODES.get(code)
    if known is None:
        return code
    return gettext_for(lang)(LABELS[known])
