"""What matching needs to know of a structure: a plain, immutable view of its profile."""

from __future__ import annotations

from dataclasses import dataclass, field

from reference.families import DISABILITY_FAMILIES, SIAE_FAMILIES


@dataclass(frozen=True, slots=True)
class Profile:
    structure_id: int
    name: str
    family: str | None = None  # reference.families codes, e.g. "siae_aci", "ea"
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
