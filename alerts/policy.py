"""When may a member be sent something? Pure functions of the member's preferences and a time.

Rules (issue 4, point 2):
- *instant*: now, unless it is a quiet moment for the member — by default 20:00–08:00 and the
  whole weekend — then the first moment that is not.
- *daily*: the next `digest_hour` o'clock. When weekends are quiet the Saturday and Sunday digests
  are skipped: Monday's gathers what came in meanwhile.
- *weekly*: the next `weekly_day` (0 = Monday) at `digest_hour` o'clock.
- *paused until X*: nothing before X (then the rules above apply from X).
Quiet hours do not hold back digests: the member chose their hour.

Everything is computed in the configured time zone with zoneinfo, and compared in UTC: comparing
two datetimes of the same zone would compare wall clocks and ignore DST's `fold`. A wall time that
does not exist (02:30 on the night clocks go forward) resolves to the first moment after the gap;
one that happens twice (the night they go back) to its first occurrence.

Hours are whole hours 0–23. `quiet_start == quiet_end` means no quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

INSTANT = "instant"
DAILY = "daily"
WEEKLY = "weekly"
RHYTHMS = (INSTANT, DAILY, WEEKLY)

SATURDAY = 5


@dataclass(frozen=True, slots=True)
class Schedule:
    """The part of an AlertPreference the policy reads (defaults: those of a new member)."""

    rhythm: str = INSTANT
    digest_hour: int = 8
    weekly_day: int = 0
    quiet_start: int = 20
    quiet_end: int = 8
    quiet_weekends: bool = True
    paused_until: datetime | None = None

    @classmethod
    def of(cls, preference: Any | None) -> Schedule:
        """From an AlertPreference row (or None: the defaults). A naive `paused_until` (the
        column has no time zone) is read as UTC."""
        if preference is None:
            return cls()
        paused = preference.paused_until
        if paused is not None and paused.tzinfo is None:
            paused = paused.replace(tzinfo=UTC)
        return cls(
            rhythm=preference.rhythm if preference.rhythm in RHYTHMS else INSTANT,
            digest_hour=_hour(preference.digest_hour, 8),
            weekly_day=preference.weekly_day if 0 <= (preference.weekly_day or 0) <= 6 else 0,
            quiet_start=_hour(preference.quiet_start, 20),
            quiet_end=_hour(preference.quiet_end, 8),
            quiet_weekends=bool(preference.quiet_weekends),
            paused_until=paused,
        )

    @property
    def digest(self) -> bool:
        return self.rhythm in (DAILY, WEEKLY)


def _hour(value: int | None, default: int) -> int:
    return value if value is not None and 0 <= value <= 23 else default


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the policy needs aware datetimes")
    return moment.astimezone(UTC)


def wall(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """`hour` o'clock on `day` in `tz`, as a UTC datetime (see the module docstring for the DST
    gap and overlap)."""
    # fold=0: in the spring-forward gap zoneinfo applies the offset from before the change,
    # which lands after the gap; in the autumn overlap it picks the first occurrence.
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def is_quiet(schedule: Schedule, moment: datetime, tz: ZoneInfo) -> bool:
    """True when an instant message must wait (quiet hour or quiet weekend)."""
    local = _aware(moment).astimezone(tz)
    if schedule.quiet_weekends and local.weekday() >= SATURDAY:
        return True
    start, end, hour = schedule.quiet_start, schedule.quiet_end, local.hour
    if start == end:
        return False
    if start > end:  # overnight: 20 → 8
        return hour >= start or hour < end
    return start <= hour < end


def next_allowed(schedule: Schedule, moment: datetime, tz: ZoneInfo) -> datetime:
    """The first moment at or after `moment` that is not quiet (ignores the pause)."""
    current = _aware(moment)
    # Each step jumps to a quiet period's end; a week holds at most 8 such periods.
    for _ in range(32):
        local = current.astimezone(tz)
        if schedule.quiet_weekends and local.weekday() >= SATURDAY:
            monday = local.date() + timedelta(days=7 - local.weekday())
            current = wall(monday, 0, tz)
            continue
        if not is_quiet(schedule, current, tz):
            return current
        end = wall(local.date(), schedule.quiet_end, tz)
        if end <= current:
            end = wall(local.date() + timedelta(days=1), schedule.quiet_end, tz)
        current = end
    raise AssertionError("no allowed moment found")  # unreachable with hours in 0..23


def next_digest(schedule: Schedule, moment: datetime, tz: ZoneInfo) -> datetime:
    """The first digest time at or after `moment` (daily or weekly, per the schedule)."""
    base = _aware(moment)
    start_day = base.astimezone(tz).date()
    weekly = schedule.rhythm == WEEKLY
    for offset in range(16):
        day = start_day + timedelta(days=offset)
        if weekly and day.weekday() != schedule.weekly_day:
            continue
        if not weekly and schedule.quiet_weekends and day.weekday() >= SATURDAY:
            continue
        candidate = wall(day, schedule.digest_hour, tz)
        if candidate >= base:
            return candidate
    raise AssertionError("no digest time found")  # unreachable


def not_paused(schedule: Schedule, moment: datetime) -> datetime:
    moment = _aware(moment)
    if schedule.paused_until is not None and _aware(schedule.paused_until) > moment:
        return _aware(schedule.paused_until)
    return moment


def delivery_time(schedule: Schedule, now: datetime, tz: ZoneInfo, *, digest: bool) -> datetime:
    """When something queued at `now` is due: a digest item at the next digest time (only
    while the member's rhythm is a digest one), anything else at the next allowed moment."""
    base = not_paused(schedule, now)
    if digest and schedule.digest:
        return next_digest(schedule, base, tz)
    return next_allowed(schedule, base, tz)


def due_time(schedule: Schedule, *, digest: bool, queued_at: datetime, now: datetime,
             tz: ZoneInfo) -> datetime:
    """Re-checked just before sending, with the preferences as they are now (the member may have
    paused, changed rhythm or quiet hours since it was queued). A result <= `now` means: send.

    A digest item is due once a digest time has come since it was queued; anything else when
    `now` itself is allowed."""
    if digest and schedule.digest:
        return next_digest(schedule, not_paused(schedule, queued_at), tz)
    return next_allowed(schedule, not_paused(schedule, now), tz)
