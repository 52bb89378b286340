"""What the notice part (`donnees`) of a BOAMP record says, whatever its format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from tenders.model import Lot


@dataclass(slots=True)
class Body:
    """What one `donnees` shape says; the record-level fields complete it."""

    format: str = "unknown"
    title: str = ""
    description: str = ""
    buyer: str = ""
    cpv_codes: list[str] = field(default_factory=list)
    lots: list[Lot] = field(default_factory=list)
    estimated_value: float | None = None
    deadline: datetime | None = None
    procedure: str = ""
    nuts: list[str] = field(default_factory=list)
    reserved_flag: bool = False
    social_flag: bool = False
    ted_ref: str | None = None
