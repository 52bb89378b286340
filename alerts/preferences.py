"""A member's alert preferences: rhythm, digest time, quiet hours, pause, stop — and the /alertes
screens that show and change them, as channel-neutral Messages.

Values are validated here: a forged or stale button, a wrong number after /pause or PAUSE by
email, changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_day_names
from sqlalchemy import select
from sqlmodel import Session

from alerts.message import Action, Actions, Intent, Line, Message, grid, line
from alerts.policy import DAILY, INSTANT, RHYTHMS, WEEKLY
from locales import N_, format_date, gettext_for, normalise_language
from store.models import AlertPreference, Member

PAUSE_DEFAULT_DAYS, PAUSE_MAX_DAYS = 7, 90
DIGEST_HOURS = (6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18, 19)
QUIET_PRESETS = ((20, 8), (21, 7), (22, 7), (19, 9), (18, 8), (0, 0))  # (0, 0): none
# STOP pauses until this date: nothing is lost, /reprendre (REPRENDRE) undoes it.
STOPPED_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
SCREENS = ("main", "hours", "days", "quiet")

RHYTHM_LABELS = {
    INSTANT: N_("Instant"),
    DAILY: N_("Daily digest"),
    WEEKLY: N_("Weekly digest"),
}


def preferences(session: Session, member: Member) -> AlertPreference:
    """The member's alert preferences, created with the defaults when missing."""
    prefs = session.execute(select(AlertPreference).where(
        AlertPreference.member_id == member.id)).scalars().first()
    if prefs is None:
        prefs = AlertPreference(member_id=member.id)
        session.add(prefs)
        session.flush()
    return prefs


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def paused_until(prefs: AlertPreference, now: datetime) -> datetime | None:
    """The end of the pause as an aware UTC datetime, or None when not paused at `now`."""
    if prefs.paused_until is None:
        return None
    until = _aware(prefs.paused_until)
    return until if until > now else None


def is_stopped(prefs: AlertPreference) -> bool:
    return prefs.paused_until is not None and _aware(prefs.paused_until) >= STOPPED_UNTIL


def _int(text: str | None) -> int | None:
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 6 else None


def _quiet(text: str | None) -> tuple[int | None, int | None]:
    start, _sep, end = (text or "").partition("-")
    return _int(start), _int(end)


def parse_pause_days(args: list[str]) -> int:
    """The number of days of `/pause [days]` (or PAUSE [jours]): 7 when absent. Raises
    ValueError otherwise."""
    if not args:
        return PAUSE_DEFAULT_DAYS
    if len(args) != 1:
        raise ValueError("one number expected")
    days = _int(args[0].strip().lower().removesuffix("j").removesuffix("d"))
    if days is None:
        raise ValueError("not a number")
    if not 1 <= days <= PAUSE_MAX_DAYS:
        raise ValueError("out of range")
    return days


def pause(prefs: AlertPreference, days: int, now: datetime) -> datetime:
    """Pause until `days` days from now."""
    days = max(1, min(PAUSE_MAX_DAYS, days))
    until = now.astimezone(UTC) + timedelta(days=days)
    prefs.paused_until = until
    return until


def apply(prefs: AlertPreference, intent: Intent, arg: str | None, now: datetime) -> bool:
    """Change one setting; True when something changed. Anything not valid changes nothing."""
    before = (prefs.rhythm, prefs.digest_hour, prefs.weekly_day, prefs.quiet_start,
              prefs.quiet_end, prefs.quiet_weekends, prefs.paused_until)
    number = _int(arg)
    if intent == Intent.RHYTHM and arg in RHYTHMS:
        prefs.rhythm = arg
    elif intent == Intent.DIGEST_HOUR and number is not None and 0 <= number <= 23:
        prefs.digest_hour = number
    elif intent == Intent.WEEKLY_DAY and number is not None and 0 <= number <= 6:
        prefs.weekly_day = number
    elif intent == Intent.QUIET_HOURS and _quiet(arg) in QUIET_PRESETS:
        prefs.quiet_start, prefs.quiet_end = _quiet(arg)
    elif intent == Intent.WEEKENDS:
        prefs.quiet_weekends = not prefs.quiet_weekends
    elif intent == Intent.PAUSE and number is not None and 1 <= number <= PAUSE_MAX_DAYS:
        pause(prefs, number, now)
    elif intent == Intent.RESUME:
        prefs.paused_until = None
    elif intent == Intent.STOP:
        prefs.paused_until = STOPPED_UNTIL
    after = (prefs.rhythm, prefs.digest_hour, prefs.weekly_day, prefs.quiet_start,
             prefs.quiet_end, prefs.quiet_weekends, prefs.paused_until)
    return before != after


# --- texts ---------------------------------------------------------------------------------------


def pause_error(lang: str) -> str:
    _ = gettext_for(lang)
    return _("Type a number of days between 1 and {max}, for example /pause 14 (or just /pause "
             "for {default} days).").format(max=PAUSE_MAX_DAYS, default=PAUSE_DEFAULT_DAYS)


def pause_text(until: datetime, lang: str, tz: ZoneInfo) -> str:
    _ = gettext_for(lang)
    return _("Alerts paused until {date}. Nothing is lost: what comes in meanwhile will wait. "
             "/reprendre resumes them now.").format(date=format_date(until.astimezone(tz), lang))


def resume_text(was_paused: bool, lang: str) -> str:
    _ = gettext_for(lang)
    if not was_paused:
        return _("Your alerts are not paused: you receive them as usual. /alertes changes "
                 "their rhythm.")
    return _("Alerts resumed. You will receive the tenders that fit again.")


def stop_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("Alerts stopped: you will receive no more tenders. /reprendre starts them again.")


def _hour_text(hour: int) -> str:
    return f"{hour:02d}:00"


def _day_name(day: int, lang: str) -> str:
    return str(get_day_names("wide", locale=normalise_language(lang))[day])


def _rhythm_text(prefs: AlertPreference, lang: str) -> str:
    _ = gettext_for(lang)
    if prefs.rhythm == DAILY:
        return _("a daily digest at {hour}").format(hour=_hour_text(prefs.digest_hour))
    if prefs.rhythm == WEEKLY:
        return _("a weekly digest on {day} at {hour}").format(
            day=_day_name(prefs.weekly_day, lang), hour=_hour_text(prefs.digest_hour))
    return _("each tender as soon as it is found")


def _quiet_line(prefs: AlertPreference, lang: str) -> str:
    _ = gettext_for(lang)
    if prefs.quiet_start == prefs.quiet_end:
        if prefs.quiet_weekends:
            return _("Quiet time (instant alerts wait): weekends only.")
        return _("No quiet hours: instant alerts arrive at any time.")
    hours = _("{start} to {end}").format(start=_hour_text(prefs.quiet_start),
                                         end=_hour_text(prefs.quiet_end))
    if prefs.quiet_weekends:
        return _("Quiet hours (instant alerts wait): {hours}, and weekends.").format(hours=hours)
    return _("Quiet hours (instant alerts wait): {hours}.").format(hours=hours)


# --- the /alertes screens ------------------------------------------------------------------------


def screen(prefs: AlertPreference, lang: str, now: datetime, tz: ZoneInfo,
           which: str = "main", closed: bool = False) -> Message:
    """The /alertes menu: the current settings and buttons to change them. `which`: main |
    hours | days | quiet; `closed`: the settings once saved, without buttons."""
    _ = gettext_for(lang)
    lines: list[Line] = [line(_("You receive: {rhythm}.").format(
        rhythm=_rhythm_text(prefs, lang))), line(_quiet_line(prefs, lang))]
    until = paused_until(prefs, now)
    if until and is_stopped(prefs):
        lines.append(line("⏹ " + _("Stopped until you resume them (/reprendre).")))
    elif until:
        lines.append(line("⏸ " + _("Paused until {date}.").format(
            date=format_date(until.astimezone(tz), lang))))
    blocks = [tuple(lines)]
    title = _("Your alerts")
    if closed:
        blocks.append((line(_("Saved. /alertes to change them again.")),))
        return Message(title, tuple(blocks))
    if which == "hours":
        blocks.append((line(_("At what time should the digest arrive?")),))
        actions = grid([Action(Intent.DIGEST_HOUR, _hour_text(h), arg=str(h),
                               selected=h == prefs.digest_hour) for h in DIGEST_HOURS], 4)
    elif which == "days":
        blocks.append((line(_("On which day should the weekly digest arrive?")),))
        actions = grid([Action(Intent.WEEKLY_DAY, _day_name(d, lang), arg=str(d),
                               selected=d == prefs.weekly_day) for d in range(7)], 3)
    elif which == "quiet":
        blocks.append((line(_("When should instant alerts wait? Digests keep their hour.")),))
        options = []
        for start, end in QUIET_PRESETS:
            label = _("No quiet hours") if start == end else _("{start} to {end}").format(
                start=_hour_text(start), end=_hour_text(end))
            options.append(Action(Intent.QUIET_HOURS, label, arg=f"{start}-{end}",
                                  selected=(start, end) == (prefs.quiet_start, prefs.quiet_end)))
        actions = grid(options, 2)
    else:
        actions = _main_actions(prefs, lang, until is not None)
    if which != "main":
        actions = (*actions, (Action(Intent.MENU, _("⬅️ Back"), arg="main"),))
    return Message(title, tuple(blocks), actions)


def _main_actions(prefs: AlertPreference, lang: str, paused: bool) -> Actions:
    _ = gettext_for(lang)
    rows = [tuple(Action(Intent.RHYTHM, _(RHYTHM_LABELS[r]), arg=r, selected=prefs.rhythm == r)
                  for r in RHYTHMS)]
    if prefs.rhythm in (DAILY, WEEKLY):
        row = [Action(Intent.MENU, "🕗 " + _("Hour: {hour}").format(
            hour=_hour_text(prefs.digest_hour)), arg="hours")]
        if prefs.rhythm == WEEKLY:
            row.append(Action(Intent.MENU, "📅 " + _day_name(prefs.weekly_day, lang), arg="days"))
        rows.append(tuple(row))
    weekends = _("Quiet weekends") if prefs.quiet_weekends else _("Weekends too")
    rows.append((Action(Intent.MENU, "🌙 " + _("Quiet hours"), arg="quiet"),
                 Action(Intent.WEEKENDS, weekends, selected=prefs.quiet_weekends)))
    if paused:
        rows.append((Action(Intent.RESUME, "▶️ " + _("Resume")),))
    else:
        rows.append((Action(Intent.PAUSE, "⏸ " + _("Pause {days} days").format(
            days=PAUSE_DEFAULT_DAYS), arg=str(PAUSE_DEFAULT_DAYS)),))
    rows.append((Action(Intent.DONE, _("Done ✔️")),))
    return tuple(rows)
