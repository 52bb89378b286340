"""Dates and times as people type them ("15/03/2027", "15/03", "14h30", "9h"), shared by the
advisors' composers. Pure: the current date and time zone are given."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$")
_TIME = re.compile(r"^\s*(\d{1,2})\s*(?:[h:.]\s*(\d{2})?)?\s*$", re.IGNORECASE)


def parse_day(text: str, today: date) -> date | None:
    """A day, the year optional (then the next such day from `today`); None when not one."""
    year_given = True
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DATE.match(text):
        day, month = int(match.group(1)), int(match.group(2))
        year_given = match.group(3) is not None
        year = int(match.group(3)) if year_given else today.year
        year = year + 2000 if year < 100 else year
    else:
        return None
    try:
        found = date(year, month, day)
        if not year_given and found < today:
            found = date(year + 1, month, day)
    except ValueError:
        return None
    return found


def parse_clock(text: str) -> time | None:
    match = _TIME.match(text)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def parse_moment(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    """"15/03/2027 14h30" (or "15/03 9h") as an aware datetime in `tz`."""
    parts = text.strip().replace(" à ", " ").replace(" at ", " ").split()
    if len(parts) != 2:
        return None
    day = parse_day(parts[0], now.astimezone(tz).date())
    clock = parse_clock(parts[1])
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=tz)
