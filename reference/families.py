"""Structure families: the codes a profile stores and the groups the rules are about.

Codes only: the translatable labels are in `conversations/choices.py`, keyed by these codes.
"""

from __future__ import annotations

ASSOCIATION = "association"
SCOP = "scop"
SCIC = "scic"
SIAE_ACI = "siae_aci"  # atelier et chantier d'insertion
SIAE_EI = "siae_ei"  # entreprise d'insertion
SIAE_ETTI = "siae_etti"  # entreprise de travail temporaire d'insertion
SIAE_AI = "siae_ai"  # association intermédiaire
SIAE_EITI = "siae_eiti"  # entreprise d'insertion par le travail indépendant
EA = "ea"  # entreprise adaptée
ESAT = "esat"  # établissement et service d'accompagnement par le travail
GEIQ = "geiq"
ESUS = "esus"
INDEPENDENT = "independent"

# In the order the diagnostic offers them.
FAMILY_CODES: tuple[str, ...] = (
    ASSOCIATION, SCOP, SCIC, SIAE_ACI, SIAE_EI, SIAE_ETTI, SIAE_AI, SIAE_EITI, EA, ESAT, GEIQ,
    ESUS, INDEPENDENT,
)

# Insertion structures: eligible for contracts reserved under article L2113-13.
SIAE_FAMILIES = frozenset({SIAE_ACI, SIAE_EI, SIAE_ETTI, SIAE_AI, SIAE_EITI})
# Disability enterprises: eligible for contracts reserved under article L2113-12.
DISABILITY_FAMILIES = frozenset({EA, ESAT})
# Families that may answer some reserved contract.
RESERVED_FAMILIES = SIAE_FAMILIES | DISABILITY_FAMILIES

# Short type codes (the company register's `type_siae`, advisors' files) to families. EA and ESAT
# are not SIAE, but files and people name them the same way.
FAMILY_BY_TYPE: dict[str, str] = {
    "ACI": SIAE_ACI, "EI": SIAE_EI, "ETTI": SIAE_ETTI, "AI": SIAE_AI, "EITI": SIAE_EITI,
    "EA": EA, "ESAT": ESAT,
}


def family_for_type(code: str | None) -> str | None:
    """"aci", "ACI" -> "siae_aci"; None for an unknown or empty code."""
    return FAMILY_BY_TYPE.get(code.strip().upper()) if code else None


def siae_type(family: str | None) -> str | None:
    """The SIAE type stored with an insertion structure ("siae_aci" -> "ACI"); None otherwise."""
    if family not in SIAE_FAMILIES:
        return None
    return next(code for code, value in FAMILY_BY_TYPE.items() if value == family)
