"""The CPV tree (EU Common Procurement Vocabulary): look-ups and hierarchy.

The search of codes for a description of trades is `reference.cpv_search`.

CPV codes are handled in canonical form: 8 digits without the check digit ("77310000").
The CPV hierarchy is positional: trailing zeros mark the level. The division has 2 significant
digits (45000000), then each further significant digit goes one level down: group 45200000, class
45210000, category 45212000, and sub-categories 45212100, 45212110, 45212111.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from reference.tables import rows as _rows


@dataclass(frozen=True, slots=True)
class CpvCode:
    code: str  # 8 digits, no check digit
    label_fr: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang.lower().startswith("en") else self.label_fr


_CPV_RAW = re.compile(r"^(\d{8})(?:-?\d)?$")


def normalise_cpv(raw: str | None) -> str | None:
    """"77310000-6", "77310000", "773100006", " 77310000 " -> "77310000"; anything else -> None.

    Only the form is checked, not that the code exists (use `cpv_get` for that): sources
    occasionally carry codes of other CPV versions and they still say something about the trade.
    """
    if raw is None:
        return None
    match = _CPV_RAW.match(str(raw).strip().replace(" ", ""))
    return match.group(1) if match else None


@lru_cache(maxsize=1)
def _cpv_table() -> dict[str, CpvCode]:
    table: dict[str, CpvCode] = {}
    for row in _rows("cpv_2008.csv"):
        code = normalise_cpv(row["code"])
        if code:
            table[code] = CpvCode(code, row["label_fr"], row["label_en"])
    return table


def all_cpv() -> list[CpvCode]:
    return list(_cpv_table().values())


def cpv_get(code: str | None) -> CpvCode | None:
    normalised = normalise_cpv(code) if code else None
    return _cpv_table().get(normalised) if normalised else None


def cpv_level(code: str) -> int:
    """Significant digits of a canonical code: 2 for a division, up to 8."""
    return max(2, len(code.rstrip("0")))


def cpv_parent(code: str) -> str | None:
    """The nearest existing ancestor of `code` ("45212000" -> "45210000"); None for a division.

    The tree has a few gaps (a code whose positional parent is not itself a code): the search
    then goes one more level up.
    """
    normalised = normalise_cpv(code)
    if normalised is None:
        return None
    table = _cpv_table()
    level = cpv_level(normalised)
    while level > 2:
        level -= 1
        candidate = normalised[:level].ljust(8, "0")
        if candidate in table:
            return candidate
    return None


def cpv_ancestors(code: str) -> list[str]:
    """Existing ancestors, nearest first, ending with the division."""
    out: list[str] = []
    current = cpv_parent(code)
    while current is not None:
        out.append(current)
        current = cpv_parent(current)
    return out


def cpv_prefix(code: str) -> str:
    """The significant prefix that every code below `code` starts with ("45200000" -> "452")."""
    return code[: cpv_level(code)]


def cpv_is_within(code: str, field_code: str) -> bool:
    """True when `code` is `field_code` or lies below it in the tree (by position, so it also
    holds for codes missing from the table)."""
    a, b = normalise_cpv(code), normalise_cpv(field_code)
    if a is None or b is None:
        return False
    return a.startswith(cpv_prefix(b))
