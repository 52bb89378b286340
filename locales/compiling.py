"""Compiling the .po catalogs into the .mo files gettext reads, with babel.

Used at build time (setup.py's build hook, so that the .mo files ship in the wheel), at start
when a source checkout's .mo is missing or older than its .po (`locales.translation`), and by
`python -m locales.catalogs compile`. Like the rest of `locales` it needs babel only (a build
requirement too), so that setup.py can import it from the source tree before anything is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from locales import DOMAIN


def mo_for(po: Path) -> Path:
    return po.with_suffix(".mo")


def catalogs(locale_dir: Path, domain: str = DOMAIN) -> list[Path]:
    """The .po files of a locale folder: <lang>/LC_MESSAGES/<domain>.po."""
    return sorted(locale_dir.glob(f"*/LC_MESSAGES/{domain}.po"))


def is_stale(po: Path, mo: Path) -> bool:
    """The .mo is missing or older than its .po (there is nothing to do without a .po)."""
    if not po.exists():
        return False
    return not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime


def compile_po(po: Path, mo: Path | None = None) -> Path:
    """Write the .mo of a .po (fuzzy and empty translations left out, as gettext expects)."""
    mo = mo or mo_for(po)
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=po.parent.parent.name)
    mo.parent.mkdir(parents=True, exist_ok=True)
    # Written aside then renamed: another process starting at the same time reads either the
    # old file or the new one, never half of one.
    partial = mo.with_name(f".{mo.name}.{os.getpid()}")
    try:
        with partial.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
        partial.replace(mo)
    finally:
        partial.unlink(missing_ok=True)
    return mo


def compile_dir(locale_dir: Path, out_dir: Path | None = None, domain: str = DOMAIN) -> list[Path]:
    """Compile every catalog of `locale_dir`, into `out_dir` (same layout) or beside each .po."""
    written = []
    for po in catalogs(locale_dir, domain):
        target = (out_dir / po.relative_to(locale_dir)).with_suffix(".mo") if out_dir else None
        written.append(compile_po(po, target))
    return written
