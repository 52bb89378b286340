"""BOAMP dates: deadlines as aware datetimes (Paris wall-clock time), publication days."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tenders.boamp.tree import get_in, text_of

PARIS = ZoneInfo("Europe/Paris")

_WINTER = timedelta(hours=1)
_DATE_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")


def parse_deadline(value: Any) -> datetime | None:
    """An ISO date-time as BOAMP writes it -> aware datetime.

    "2015-04-20T11:00:00+00:00", "2026-09-29T12:00:00.000+02:00", "…Z" keep their offset; a
    time without offset is Paris time; a date alone ("2015-04-20", "2019-06-24Z") means the end
    of that day in Paris (a bidder may answer until then).
    """
    text = text_of(value)
    if not text:
        return None
    if match := _DATE_ONLY.match(text):
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            return None
        return datetime.combine(day, time(23, 59, 59), tzinfo=PARIS)
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=PARIS)
    if moment.utcoffset() == _WINTER:
        # BOAMP stamps +01:00 all year round: "2015-04-20T12:00:00+01:00" is noon in Paris
        # (summer time, so 10:00 UTC); notice 15-31501 says so in words, "avant le 20 avril 2015
        # à 12 heures". Read as Paris wall-clock time, a +01:00 stamp is unchanged in winter
        # (fold=1 keeps the repeated autumn hour at +01:00) and right in summer.
        local = moment.replace(tzinfo=PARIS)
        winter = local.replace(fold=1)
        return winter if winter.utcoffset() == _WINTER else local
    return moment


def eforms_deadline(period: Any) -> datetime | None:
    """eForms EndDate + EndTime ("2019-06-24Z", "16:00:00Z") -> aware datetime."""
    day_text = text_of(get_in(period, "cbc:EndDate"))
    time_text = text_of(get_in(period, "cbc:EndTime"))
    if not day_text:
        return None
    day_match = _DATE_ONLY.match(day_text)
    if not day_match:
        return parse_deadline(day_text)
    if not time_text:
        return parse_deadline(day_match.group(1))
    offset = ""
    time_match = re.match(r"^(\d{2}:\d{2}(?::\d{2})?)(Z|[+-]\d{2}:\d{2})?$", time_text)
    if not time_match:
        return parse_deadline(day_match.group(1))
    offset = time_match.group(2) or day_match.group(2) or ""
    return parse_deadline(f"{day_match.group(1)}T{time_match.group(1)}{offset}")


def parse_published(value: Any) -> date | None:
    text = text_of(value)[:10]
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
