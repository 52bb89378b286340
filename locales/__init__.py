"""Translations and locale-aware formatting, shared by every channel.

Message ids are English; `fr/` holds the French catalog (the default language) and `en/` the
English one. Formatting of dates, numbers and amounts goes through babel so that both languages
read naturally ("15 janvier 2027", "150 000 €").

The compiled catalogs (.mo) ship in the built package (setup.py compiles them at build time). In
a source checkout, a catalog whose .mo is missing or older than its .po is compiled when first
needed; a catalog that still cannot be loaded is logged as a warning (the messages would show in
English), never skipped in silence.
"""

from __future__ import annotations

import gettext
import logging
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import dates as babel_dates
from babel import numbers as babel_numbers

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent
DOMAIN = "messages"
LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


def normalise_language(code: str | None) -> str:
    """Map a Telegram `language_code` ("en-GB", "fr", None) to a supported language."""
    if not code:
        return DEFAULT_LANGUAGE
    short = code.split("-")[0].split("_")[0].lower()
    return short if short in LANGUAGES else DEFAULT_LANGUAGE


def catalog_path(lang: str, suffix: str = ".mo") -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def _compile_if_stale(lang: str) -> None:
    from locales.compiling import compile_po, is_stale

    po, mo = catalog_path(lang, ".po"), catalog_path(lang)
    if not is_stale(po, mo):
        return
    try:
        compile_po(po, mo)
    except Exception as exc:  # a read-only folder, a broken .po: say so, use what there is
        log.warning("could not compile the %s catalog %s (%s)%s", lang, po, exc,
                    "; using the older compiled one" if mo.exists() else "")


@cache
def translation(lang: str) -> gettext.NullTranslations:
    lang = normalise_language(lang)
    _compile_if_stale(lang)
    try:
        return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])
    except OSError as exc:
        log.warning("the %s catalog cannot be loaded from %s (%s): messages in %s are shown in "
                    "English", lang, LOCALE_DIR, exc, lang)
        return gettext.NullTranslations()


def load_catalogs() -> list[str]:
    """Load every language's catalog now (compiling a stale one), so that one that cannot be
    loaded is logged when a command starts, not at a member's first message. Returns the
    languages left untranslated."""
    return [lang for lang in LANGUAGES
            if not isinstance(translation(lang), gettext.GNUTranslations)]


def gettext_for(lang: str):
    """Return `_` for a language: `_ = gettext_for("en"); _("Hello")`."""
    return translation(lang).gettext


def ngettext_for(lang: str):
    return translation(lang).ngettext


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (for data declared at import)."""
    return message


def format_date(value: date | datetime, lang: str, fmt: str = "long") -> str:
    return babel_dates.format_date(value, format=fmt, locale=normalise_language(lang))


def format_datetime(value: datetime, lang: str, fmt: str = "medium", tz: str | None = None) -> str:
    return babel_dates.format_datetime(value, format=fmt, tzinfo=tz, locale=normalise_language(lang))


def format_relative(delta, lang: str) -> str:
    """"in 12 days" / "dans 12 jours"."""
    return babel_dates.format_timedelta(
        delta, granularity="day", threshold=1000, add_direction=True,
        locale=normalise_language(lang),
    )


def format_number(value: float | int, lang: str) -> str:
    return babel_numbers.format_decimal(value, locale=normalise_language(lang))


def format_amount(value: float | int, lang: str, currency: str = "EUR") -> str:
    # Whole euros read better in a phone message; cents appear only when there are some.
    fmt = None if value != int(value) else ("#,##0\u00a0¤" if normalise_language(lang) == "fr" else "¤#,##0")
    return babel_numbers.format_currency(
        value, currency, format=fmt, currency_digits=False, locale=normalise_language(lang)
    )
