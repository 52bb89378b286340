"""Reserved contracts and social clauses of TED notices: from their codes and their words."""

from __future__ import annotations

import re
from collections.abc import Iterable

from reference.text import fold
from tenders.model import Reserved

# Words of a social clause in French notices, matched on folded text (accents and case ignored).
_SOCIAL_CLAUSE = re.compile(
    r"\bclauses? (sociales?|d insertion)\b|\binsertion (professionnelle|sociale et professionnelle"
    r"|par l activite economique)\b|\bheures d insertion\b|\baction d insertion\b"
    r"|\bpersonnes eloignees de l emploi\b"
)
# Legal markers of the two French reservations (code de la commande publique and its sources).
_DISABILITY = re.compile(
    r"\bl ?2113 12\b|\bl ?5213 13\b|\bl ?344 2\b|\bentreprises? adaptees?\b|\besats?\b"
    r"|\betablissements? et services? d aide par le travail\b"
)
_INSERTION = re.compile(
    r"\bl ?2113 13\b|\bl ?5132 4\b|\bsiae\b|\binsertion par l activite economique\b"
    r"|\bstructures? d insertion\b"
)
_RESERVED_WORDS = re.compile(r"\breserve(e|s|es)? (a|aux)\b")


def has_social_clause(texts: Iterable[str]) -> bool:
    return any(_SOCIAL_CLAUSE.search(fold(text)) for text in texts if text)


def reservation(reserved_codes: set[str], texts: Iterable[str]) -> Reserved:
    """The ESS reservation of a notice from its codes (res-ws) and the words of its text."""
    folded = " ".join(fold(text) for text in texts if text)
    disability = bool(_DISABILITY.search(folded))
    insertion = bool(_INSERTION.search(folded))
    if "res-ws" not in reserved_codes:
        # Older or sloppier notices only say it in words: "le présent marché est réservé aux EA".
        if not _RESERVED_WORDS.search(folded):
            return Reserved.NONE
        if disability == insertion:
            return Reserved.BOTH if disability else Reserved.NONE
    if disability and not insertion:
        return Reserved.DISABILITY
    if insertion and not disability:
        return Reserved.SIAE
    return Reserved.BOTH
