"""What matching needs to know of a structure: a plain, immutable view of its profile."""

from __future__ import annotations

from dataclasses import dataclass, field

# Families eligible for contracts reserved under L2113-13 (insertion) and L2113-12 (disability).
SIAE_FAMILIES = frozenset({"siae_aci", "siae_ei", "siae_etti", "siae_ai", "siae_eiti"})
DISABILITY_FAMILIES = frozenset({"ea", "esat"})


@dataclass(frozen=True, slots=True)
class Profile:
    structure_id: int
    name: str
    family: str | None = None  # values of conversations.choices.FAMILIES, e.g. "siae_aci", "ea"
    cpv_codes: tuple[str, ...] = ()  # 8-digit codes, any level ("77300000")
    departements: tuple[str, ...] = ()
    all_france: bool = False
    keywords: tuple[str, ...] = ()
    excluded_keywords: tuple[str, ...] = ()
    max_contract_value: int | None = None  # euros; None = unknown, no limit applied
    siret: str | None = None
    language: str = "fr"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def siae_eligible(self) -> bool:
        return self.family in SIAE_FAMILIES

    @property
    def disability_eligible(self) -> bool:
        return self.family in DISABILITY_FAMILIES
