"""Every message of the code is translated in French and English, with the same placeholders."""

import re

import pytest

from locales import format_amount, format_date, format_relative, gettext_for
from locales.catalogs import extract, read

PLACEHOLDER = re.compile(r"\{(\w*)\}")


@pytest.fixture(scope="module")
def template():
    return extract()


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_catalog_has_every_message(template, lang):
    catalog = read(lang)
    def translated(message):
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        return all(forms)

    missing = [m.id for m in template
               if m.id and (m.id not in catalog or not translated(catalog[m.id]))]
    assert not missing, f"{lang} catalog lacks {len(missing)} message(s): {missing[:5]}"


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_placeholders_match(lang):
    for message in read(lang):
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(set(PLACEHOLDER.findall(ids[-1])))
        for form in forms:
            if form:
                assert sorted(set(PLACEHOLDER.findall(form))) == expected, message.id


def test_french_is_the_translation_in_use():
    assert gettext_for("fr")("Yes") == "Oui"
    assert gettext_for("en")("Yes") == "Yes"
    assert gettext_for("de")("Yes") == "Oui"  # French is the default


def test_babel_formatting():
    from datetime import date, timedelta

    assert format_amount(150000, "fr") == "150\u202f000\u00a0€" or \
        format_amount(150000, "fr") == "150\u00a0000\u00a0€"
    assert format_amount(150000, "en") == "€150,000"
    assert format_date(date(2027, 1, 15), "fr") == "15 janvier 2027"
    assert format_relative(timedelta(days=12), "fr") == "dans 12 jours"
    assert format_relative(timedelta(days=12), "en") == "in 12 days"
