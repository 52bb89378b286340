"""alerts.policy: quiet hours, weekends, digests and pauses, DST-correct (property tests)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from alerts.policy import (
    DAILY,
    INSTANT,
    WEEKLY,
    Schedule,
    delivery_time,
    due_time,
    is_quiet,
    next_allowed,
    next_digest,
)

PARIS = ZoneInfo("Europe/Paris")
ZONES = st.sampled_from([PARIS, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe"),
                         ZoneInfo("UTC")])
# 2026–2028, DST changes included; minutes and seconds too.
MOMENTS = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31),
                       timezones=st.just(UTC))
HOURS = st.integers(0, 23)


@st.composite
def schedules(draw, rhythm=None):
    paused = draw(st.one_of(st.none(), MOMENTS))
    return Schedule(
        rhythm=rhythm or draw(st.sampled_from([INSTANT, DAILY, WEEKLY])),
        digest_hour=draw(HOURS), weekly_day=draw(st.integers(0, 6)),
        quiet_start=draw(HOURS), quiet_end=draw(HOURS),
        quiet_weekends=draw(st.booleans()), paused_until=paused)


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


# --- examples ------------------------------------------------------------------------------------


def test_default_quiet_hours_and_weekend():
    s = Schedule()
    # Tuesday 2027-03-02
    assert next_allowed(s, paris(2027, 3, 2, 10, 15), PARIS) == paris(2027, 3, 2, 10, 15)
    assert next_allowed(s, paris(2027, 3, 2, 20, 0), PARIS) == paris(2027, 3, 3, 8)
    assert next_allowed(s, paris(2027, 3, 2, 7, 59), PARIS) == paris(2027, 3, 2, 8)
    assert next_allowed(s, paris(2027, 3, 2, 19, 59, 59), PARIS) == paris(2027, 3, 2, 19, 59, 59)
    # Friday evening, Saturday, Sunday → Monday 08:00
    for moment in (paris(2027, 3, 5, 21), paris(2027, 3, 6, 12), paris(2027, 3, 7, 23, 30)):
        assert next_allowed(s, moment, PARIS) == paris(2027, 3, 8, 8)


def test_quiet_hours_inside_the_day_and_none():
    lunch = Schedule(quiet_start=12, quiet_end=14, quiet_weekends=False)
    assert next_allowed(lunch, paris(2027, 3, 6, 12, 30), PARIS) == paris(2027, 3, 6, 14)
    assert next_allowed(lunch, paris(2027, 3, 6, 22), PARIS) == paris(2027, 3, 6, 22)
    never = Schedule(quiet_start=8, quiet_end=8, quiet_weekends=False)
    assert not is_quiet(never, paris(2027, 3, 6, 3), PARIS)


def test_daily_digest_skips_quiet_weekends():
    s = Schedule(rhythm=DAILY, digest_hour=9)
    assert next_digest(s, paris(2027, 3, 2, 8), PARIS) == paris(2027, 3, 2, 9)
    assert next_digest(s, paris(2027, 3, 2, 9), PARIS) == paris(2027, 3, 2, 9)
    assert next_digest(s, paris(2027, 3, 2, 9, 0, 1), PARIS) == paris(2027, 3, 3, 9)
    assert next_digest(s, paris(2027, 3, 5, 10), PARIS) == paris(2027, 3, 8, 9)
    weekend_ok = Schedule(rhythm=DAILY, digest_hour=9, quiet_weekends=False)
    assert next_digest(weekend_ok, paris(2027, 3, 5, 10), PARIS) == paris(2027, 3, 6, 9)


def test_weekly_digest():
    s = Schedule(rhythm=WEEKLY, weekly_day=0, digest_hour=8)
    assert next_digest(s, paris(2027, 3, 2, 10), PARIS) == paris(2027, 3, 8, 8)
    assert next_digest(s, paris(2027, 3, 8, 7), PARIS) == paris(2027, 3, 8, 8)
    assert next_digest(s, paris(2027, 3, 8, 8, 1), PARIS) == paris(2027, 3, 15, 8)


def test_dst_spring_forward_and_fall_back():
    # 2027-03-28: 02:00 → 03:00 in Paris. A 02:00 digest happens at the first moment after the
    # gap, 03:00 CEST; the next day at 02:00 CEST again.
    s = Schedule(rhythm=DAILY, digest_hour=2, quiet_weekends=False)
    spring = next_digest(s, paris(2027, 3, 28, 0, 30), PARIS)
    assert spring == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert spring.astimezone(PARIS).hour == 3
    assert next_digest(s, spring + timedelta(seconds=1), PARIS) == datetime(
        2027, 3, 29, 0, 0, tzinfo=UTC)
    # 2027-10-31: 03:00 → 02:00. 02:00 happens twice: the first one counts.
    autumn = next_digest(s, paris(2027, 10, 31, 0, 30), PARIS)
    assert autumn == datetime(2027, 10, 31, 0, 0, tzinfo=UTC)
    # Quiet hours end at 08:00 local, which is 07:00 UTC in winter, 06:00 UTC in summer.
    q = Schedule(quiet_weekends=False)
    assert next_allowed(q, datetime(2027, 3, 27, 22, 0, tzinfo=UTC), PARIS) == datetime(
        2027, 3, 28, 6, 0, tzinfo=UTC)
    assert next_allowed(q, datetime(2027, 10, 30, 22, 0, tzinfo=UTC), PARIS) == datetime(
        2027, 10, 31, 7, 0, tzinfo=UTC)


def test_pause_and_due_time():
    now = paris(2027, 3, 2, 10)
    paused = Schedule(paused_until=paris(2027, 3, 4, 9, 30))
    assert delivery_time(paused, now, PARIS, digest=False) == paris(2027, 3, 4, 9, 30)
    paused_at_night = Schedule(paused_until=paris(2027, 3, 4, 22))
    assert delivery_time(paused_at_night, now, PARIS, digest=False) == paris(2027, 3, 5, 8)
    daily = Schedule(rhythm=DAILY, digest_hour=8, paused_until=paris(2027, 3, 4, 9))
    assert delivery_time(daily, now, PARIS, digest=True) == paris(2027, 3, 5, 8)
    # An item queued Tuesday 10:00 for the 08:00 digest is due Wednesday 08:00, not before.
    daily = Schedule(rhythm=DAILY, digest_hour=8)
    queued = paris(2027, 3, 2, 10)
    assert due_time(daily, digest=True, queued_at=queued, now=paris(2027, 3, 3, 7, 59),
                    tz=PARIS) == paris(2027, 3, 3, 8)
    assert due_time(daily, digest=True, queued_at=queued, now=paris(2027, 3, 3, 8, 0, 5),
                    tz=PARIS) == paris(2027, 3, 3, 8)
    # A digest item whose member went back to instant is due when allowed.
    instant = Schedule()
    assert due_time(instant, digest=True, queued_at=queued, now=paris(2027, 3, 3, 21),
                    tz=PARIS) == paris(2027, 3, 4, 8)


def test_schedule_from_a_row_reads_naive_pause_as_utc():
    row = SimpleNamespace(rhythm="daily", digest_hour=7, weekly_day=3, quiet_start=21,
                          quiet_end=7, quiet_weekends=False,
                          paused_until=datetime(2027, 3, 2, 9, 0))
    s = Schedule.of(row)
    assert s.paused_until == datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    assert (s.rhythm, s.digest_hour, s.weekly_day, s.quiet_start) == ("daily", 7, 3, 21)
    assert Schedule.of(None) == Schedule()


# --- properties ----------------------------------------------------------------------------------


def _allowed(s: Schedule, moment: datetime, tz: ZoneInfo) -> bool:
    return not is_quiet(s, moment, tz)


@settings(max_examples=400, deadline=None)
@given(s=schedules(rhythm=INSTANT), now=MOMENTS, tz=ZONES)
def test_instant_is_the_first_allowed_moment(s, now, tz):
    result = delivery_time(s, now, tz, digest=False)
    base = max(now, s.paused_until) if s.paused_until else now
    assert result >= base
    assert _allowed(s, result, tz)
    if _allowed(s, base, tz):
        assert result == base
    else:
        # Nothing allowed in between: every quarter hour before the result is quiet, and so is
        # the last second before it.
        probe = base
        while probe < result:
            assert not _allowed(s, probe, tz)
            probe += timedelta(minutes=15)
        assert not _allowed(s, result - timedelta(seconds=1), tz)
    assert result - base < timedelta(days=4)


@settings(max_examples=400, deadline=None)
@given(s=schedules(rhythm=DAILY), now=MOMENTS, tz=ZONES)
@example(s=Schedule(rhythm=DAILY, digest_hour=2, quiet_weekends=False),
         now=datetime(2027, 10, 2, 12, tzinfo=UTC), tz=ZoneInfo("Australia/Lord_Howe"))
def test_daily_digest_is_the_next_digest_hour(s, now, tz):
    result = delivery_time(s, now, tz, digest=True)
    base = max(now, s.paused_until) if s.paused_until else now
    assert result >= base
    local = result.astimezone(tz)
    # The first moment whose wall clock reads digest_hour:00 or later that day (later only when
    # a DST gap swallowed digest_hour:00).
    target = datetime.combine(local.date(), time(s.digest_hour))
    assert local.replace(tzinfo=None) >= target
    assert (result - timedelta(seconds=1)).astimezone(tz).replace(tzinfo=None) < target
    if s.quiet_weekends:
        assert local.weekday() < 5
        assert result - base <= timedelta(days=3, hours=2)
    else:
        assert result - base <= timedelta(days=1, hours=2)
    # It is the *first* one: none a day earlier that is still after the base.
    earlier = next_digest(s, base - timedelta(days=1), tz)
    assert earlier < base or earlier == result


@settings(max_examples=300, deadline=None)
@given(s=schedules(rhythm=WEEKLY), now=MOMENTS, tz=ZONES)
def test_weekly_digest_is_on_the_weekly_day(s, now, tz):
    result = delivery_time(s, now, tz, digest=True)
    base = max(now, s.paused_until) if s.paused_until else now
    assert base <= result < base + timedelta(days=7, hours=2)
    assert result.astimezone(tz).weekday() == s.weekly_day


@settings(max_examples=300, deadline=None)
@given(s=schedules(), queued=MOMENTS, later=st.integers(0, 10 * 24 * 3600), tz=ZONES)
def test_due_time_once_due_stays_due(s, queued, later, tz):
    """The worker's re-check: once something is due it stays due as time passes (a worker
    that runs late never holds a due delivery back)."""
    now = queued + timedelta(seconds=later)
    for digest in (False, True):
        due = due_time(s, digest=digest, queued_at=queued, now=now, tz=tz)
        if due <= now and digest and s.digest:
            assert due_time(s, digest=True, queued_at=queued, now=now + timedelta(hours=5),
                            tz=tz) <= now + timedelta(hours=5)
        if not (digest and s.digest):
            assert _allowed(s, due, tz)
            assert due >= now
