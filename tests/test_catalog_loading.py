"""A source checkout compiles a missing or outdated catalog when first used; a catalog that cannot
be loaded is a logged warning, not English in silence."""

from __future__ import annotations

import logging
import os
import shutil

import pytest

import locales
from locales import gettext_for

SOURCE_PO = locales.catalog_path("fr", ".po")


@pytest.fixture
def locale_dir(tmp_path, monkeypatch):
    """An empty locale folder in place of the package's, with the translation cache cleared."""
    monkeypatch.setattr(locales, "LOCALE_DIR", tmp_path)
    locales.translation.cache_clear()
    yield tmp_path
    locales.translation.cache_clear()


def french_po(folder):
    po = folder / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    shutil.copy(SOURCE_PO, po)
    return po


def test_missing_catalog_is_compiled_at_first_use(locale_dir, caplog):
    po = french_po(locale_dir)
    with caplog.at_level(logging.WARNING, logger="locales"):
        assert gettext_for("fr")("Yes") == "Oui"
    assert po.with_suffix(".mo").exists() and not caplog.records


def test_outdated_catalog_is_compiled_again(locale_dir):
    from locales.compiling import compile_po

    po = french_po(locale_dir)
    text = po.read_text(encoding="utf-8")
    po.write_text(text.replace('msgstr "Oui"', 'msgstr "Ouais"', 1), encoding="utf-8")
    compile_po(po)
    po.write_text(text, encoding="utf-8")
    old = po.stat().st_mtime - 60
    os.utime(po.with_suffix(".mo"), (old, old))  # the .po was changed after the compilation
    assert gettext_for("fr")("Yes") == "Oui"


def test_a_catalog_that_cannot_be_loaded_is_a_warning(locale_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="locales"):
        assert gettext_for("fr")("Yes") == "Yes"
    [record] = caplog.records
    assert "fr catalog cannot be loaded" in record.getMessage()
    assert "shown in English" in record.getMessage()


def test_a_broken_catalog_is_a_warning(locale_dir, caplog):
    po = locale_dir / "fr" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_bytes(b'msgid "Yes"\nmsgstr "\xff\xfe"\n')  # not UTF-8
    with caplog.at_level(logging.WARNING, logger="locales"):
        assert gettext_for("fr")("Yes") == "Yes"
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not compile the fr catalog" in m for m in messages), messages
    assert any("cannot be loaded" in m for m in messages), messages



def test_a_command_loads_the_catalogs_when_it_starts(locale_dir, cli, caplog):
    french_po(locale_dir)  # no English catalog
    with caplog.at_level(logging.WARNING, logger="locales"):
        assert cli("tenders", "list", "--json") == 0
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        f"the en catalog cannot be loaded from {locale_dir}"]
    assert locales.load_catalogs() == ["en"]
