"""Maintenance of the gettext catalogs: extract, update, fill English, compile.

`python -m locales.catalogs update` re-extracts every message of the code into messages.pot and
merges it into fr/ and en/ (English message ids are their own translation). `compile` writes
the .mo files now; there is no need to in general: the build compiles them into the package, and
a source checkout compiles a missing or outdated one when it is first used (see `locales`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from locales import DOMAIN, LANGUAGES, LOCALE_DIR, catalog_path
from locales.compiling import compile_po

ROOT = LOCALE_DIR.parent
# Every package of DESIGN.md, those of later issues included (a missing folder is skipped).
PACKAGES = ("bot", "handlers", "conversations", "store", "tenders", "reference", "matching",
            "alerts", "channels", "consortia", "support", "announcements", "stats",
            "locales")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def po_path(lang: str) -> Path:
    return catalog_path(lang, ".po")


def extract() -> Catalog:
    template = Catalog(project="centrale", charset="utf-8")
    for package in PACKAGES:
        folder = ROOT / package
        if not folder.exists():
            continue
        for filename, lineno, message, comments, context in extract_from_dir(
                str(folder), method_map=[("**.py", "python")], keywords=KEYWORDS):
            template.add(message, None, [(f"{package}/{filename}", lineno)],
                         auto_comments=comments, context=context)
    return template


def read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.exists():
        return Catalog(locale=lang)
    with path.open("rb") as handle:
        return read_po(handle, locale=lang)


def update() -> None:
    template = extract()
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, template, width=100, no_location=True, omit_header=False)
    for lang in LANGUAGES:
        catalog = read(lang)
        catalog.update(template, no_fuzzy_matching=True)
        if lang == "en":  # message ids are English
            for message in catalog:
                if message.id and not _translated(message):
                    message.string = message.id
        catalog.obsolete.clear()
        po_path(lang).parent.mkdir(parents=True, exist_ok=True)
        with po_path(lang).open("wb") as handle:
            write_po(handle, catalog, width=100, no_location=True)


def _translated(message) -> bool:
    # Plural messages hold a tuple of forms, empty strings when untranslated.
    forms = message.string if isinstance(message.string, tuple) else (message.string,)
    return any(forms)


def compile_all() -> None:
    for lang in LANGUAGES:
        compile_po(po_path(lang))


def merge_fragment(path: Path, lang: str = "fr") -> int:
    """Fill untranslated messages of `lang` from a PO fragment; returns how many were filled."""
    with path.open("rb") as handle:
        fragment = read_po(handle, locale=lang)
    catalog = read(lang)
    filled = 0
    for message in fragment:
        if message.id and message.string and message.id in catalog:
            target = catalog[message.id]
            if not _translated(target):
                target.string = message.string
                filled += 1
    with po_path(lang).open("wb") as handle:
        write_po(handle, catalog, width=100, no_location=True)
    return filled


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "compile"
    if command == "update":
        update()
    elif command == "merge":
        for fragment in sys.argv[2:]:
            print(fragment, merge_fragment(Path(fragment)))
    compile_all()
