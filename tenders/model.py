"""The normalised tender: what every source (BOAMP, TED, advisors) is parsed into.

Pure data, no I/O. Codes are kept in canonical form: CPV as 8 digits without check digit
("77310000"), départements as INSEE codes ("06", "2A", "971").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class NoticeKind(StrEnum):
    CALL = "call"  # call for tenders / avis de marché
    RECTIFICATION = "rectification"  # rectificatif / change notice
    AWARD = "award"  # attribution / contract award notice
    CANCELLATION = "cancellation"  # annulation
    OTHER = "other"  # prior information, ex-ante transparency, qualification system…


class Reserved(StrEnum):
    NONE = "none"
    SIAE = "siae"  # L2113-13: insertion structures
    DISABILITY = "disability"  # L2113-12: EA / ESAT
    BOTH = "both"  # reserved to both (eForms res-ws)


@dataclass(slots=True)
class Lot:
    number: str
    title: str
    cpv_codes: list[str] = field(default_factory=list)
    estimated_value: float | None = None
    description: str = ""


@dataclass(slots=True)
class Tender:
    source: str  # "boamp" | "ted" | "advisor"
    source_id: str  # BOAMP idweb, TED publication number…
    title: str
    buyer: str = ""
    description: str = ""
    kind: NoticeKind = NoticeKind.CALL
    cpv_codes: list[str] = field(default_factory=list)
    departements: list[str] = field(default_factory=list)
    published: date | None = None
    deadline: datetime | None = None  # always timezone-aware
    estimated_value: float | None = None
    procedure: str = ""  # a tenders.procedure code; "" when the notice does not say
    lots: list[Lot] = field(default_factory=list)
    reserved: Reserved = Reserved.NONE
    social_clause: bool = False
    url: str = ""
    ted_ref: str | None = None  # TED publication number a BOAMP notice quotes (tenders.ted_ref form)
    refers_to: str | None = None  # for a rectificatif/cancellation: source_id of the original notice

    def all_cpv_codes(self) -> set[str]:
        codes = set(self.cpv_codes)
        for lot in self.lots:
            codes.update(lot.cpv_codes)
        return codes
