"""Reading the values TED writes: publication numbers, texts, codes, places, amounts, dates and
notice types (shared by the eForms, TED-export and search API readers)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from reference.cpv import normalise_cpv
from reference.geography import departement_for_nuts, sort_departements
from tenders.model import NoticeKind

PARIS = ZoneInfo("Europe/Paris")

_VERSIONED_UUID = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-\d{2}$", re.IGNORECASE
)
_SPACES = re.compile(r"\s+")


def strip_version(notice_id: str) -> str:
    """eForms references carry the version ("<uuid>-01"); the notice itself only the uuid."""
    match = _VERSIONED_UUID.match(notice_id.strip())
    return match.group(1) if match else notice_id.strip()


def clean(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def cpv_list(raw_codes: Iterable[str]) -> list[str]:
    return unique(code for raw in raw_codes if (code := normalise_cpv(raw)))


def departements_of(nuts_codes: Iterable[str]) -> list[str]:
    found: list[str] = []
    for code in nuts_codes:
        code = code.strip().upper()
        # Only French NUTS; "FRA" alone is the ISO country code the search API mixes in.
        if code.startswith("FR") and code != "FRA":
            found.extend(departement_for_nuts(code))
    return sort_departements(set(found))


def amount(text: str | None, currency: str | None) -> float | None:
    if currency and currency.strip().upper() != "EUR":
        return None
    try:
        value = float((text or "").replace(" ", "").replace(",", "."))
    except ValueError:
        return None
    return value if value > 0 else None


_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(Z|[+-]\d{2}:?\d{2})?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_date(text: str | None) -> tuple[date, timezone | None] | None:
    match = _DATE.match((text or "").strip())
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return day, _offset(match.group(4))


def deadline_at(date_text: str | None, time_text: str | None) -> datetime | None:
    """EndDate + EndTime ("2019-03-22+01:00", "15:00:00+01:00") -> an aware datetime.

    The time's offset wins, then the date's, then Europe/Paris. No time: end of that day.
    """
    parsed = parse_date(date_text)
    if parsed is None:
        return None
    day, tz = parsed
    moment = time(23, 59, 59)
    if time_match := _TIME.match((time_text or "").strip()):
        hour, minute = int(time_match.group(1)), int(time_match.group(2))
        second = int(time_match.group(3) or 0)
        if hour < 24 and minute < 60 and second < 60:
            moment = time(hour, minute, second)
            tz = _offset(time_match.group(4)) or tz
    return datetime.combine(day, moment, tzinfo=tz or PARIS)


def kind_for_notice_type(code: str) -> NoticeKind:
    code = code.strip().lower()
    if code in _CALL_TYPES:
        return NoticeKind.CALL
    if code.startswith("can-"):
        return NoticeKind.AWARD
    if code == "corr":  # a corrigendum in the search API's notice types
        return NoticeKind.RECTIFICATION
    return NoticeKind.OTHER  # prior information, ex-ante transparency (veat), qualification…


# Calls for competition: contract notices, design contests, subcontracting, and prior information
# notices used as the call for competition (pin-cfc-*). qu-sy and veat stay OTHER (model.py).
_CALL_TYPES = frozenset(
    {"cn-standard", "cn-social", "cn-desg", "subco", "pin-cfc-standard", "pin-cfc-social"}
)
CANCEL_REASONS = frozenset({"cancel", "cancel-intent"})


def lot_number(raw: str) -> str:
    """ "LOT-0003" -> "3"; anything else as written."""
    match = re.match(r"^LOT-0*(\d+)$", raw.strip(), re.IGNORECASE)
    return match.group(1) if match else raw.strip()



def local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
