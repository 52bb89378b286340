"""The reference tables (CSV in `reference/data/`, copied from the public tables listed in
../shared/data/SOURCES.txt), read once by the modules that need them."""

from __future__ import annotations

import csv
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"


def rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))
