"""What a member does with alerts: signals on a tender, alert preferences, pause and resume.

Plain functions on a database session, with no knowledge of Telegram: the Telegram handlers
(handlers/alerts.py) and, later, the email channel call the same ones. Texts they return are
already translated (channel-neutral plain text); screens are `alerts.render.Rendered`.

Signals are `store.alert_models.Interest` rows, one per (member, tender, signal):
- `interested` and `not_for_us` exclude each other (choosing one removes the other); *undo*
  removes both; `not_for_us` carries the reason once one is chosen;
- `partners` and `help` are requests kept whatever the choice; their full flows come later, for
  now the member is told what happens next and advisors are told about help requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlmodel import Session

from alerts.render import NOT_FOR_US_REASONS, AlertChoice, Rendered, clip, render_alert
from locales import N_, format_date, gettext_for, normalise_language
from store.alert_models import Interest
from store.models import AlertPreference, Member
from store.tender_models import LotRow, MatchRow, TenderRow

INTERESTED, NOT_FOR_US, PARTNERS, HELP = "interested", "not_for_us", "partners", "help"
SIGNALS = (INTERESTED, NOT_FOR_US, PARTNERS, HELP)
RHYTHMS = ("instant", "daily", "weekly")
PAUSE_DEFAULT_DAYS, PAUSE_MAX_DAYS = 7, 90
DIGEST_HOURS = (6, 7, 8, 9, 10, 11, 12, 13, 14, 17, 18, 19)
QUIET_PRESETS = ((20, 8), (21, 7), (22, 7), (19, 9), (18, 8), (0, 0))  # (0, 0): none

_RHYTHM_LABELS = {
    "instant": N_("Instant"),
    "daily": N_("Daily digest"),
    "weekly": N_("Weekly digest"),
}


# --- members and signals -------------------------------------------------------------------------


def member_by_telegram(session: Session, telegram_user_id: int) -> Member | None:
    return session.execute(
        select(Member).where(Member.telegram_user_id == telegram_user_id)).scalars().first()


def language_of(member: Member | None, fallback: str) -> str:
    return normalise_language(member.language if member and member.language else fallback)


def choice_of(session: Session, member_id: int, tender_id: int,
              picking_reason: bool = False) -> AlertChoice:
    rows = session.execute(select(Interest).where(
        Interest.member_id == member_id, Interest.tender_id == tender_id)).scalars().all()
    by_signal = {row.signal: row for row in rows}
    refused = by_signal.get(NOT_FOR_US)
    return AlertChoice(
        interested=INTERESTED in by_signal,
        not_for_us=refused is not None,
        reason=refused.reason if refused else None,
        partners=PARTNERS in by_signal,
        help=HELP in by_signal,
        picking_reason=picking_reason,
    )


@dataclass(frozen=True)
class SignalResult:
    choice: AlertChoice  # what the alert's buttons must show now
    changed: bool  # False: the member repeated a choice already recorded
    note: str | None = None  # a short confirmation (a toast on Telegram)
    follow_up: str | None = None  # a message saying what happens next
    advisor_note: str | None = None  # to tell the advisors (help requests)
    found: bool = True  # False: no such member or tender
    lang: str = "fr"  # the member's language


def _remove(session: Session, member_id: int, tender_id: int, *signals: str) -> int:
    result = session.execute(delete(Interest).where(
        Interest.member_id == member_id, Interest.tender_id == tender_id,
        Interest.signal.in_(signals)))
    return result.rowcount or 0


def _get(session: Session, member_id: int, tender_id: int, signal: str) -> Interest | None:
    return session.execute(select(Interest).where(
        Interest.member_id == member_id, Interest.tender_id == tender_id,
        Interest.signal == signal)).scalars().first()


def _add(session: Session, member_id: int, tender_id: int, signal: str, now: datetime,
         reason: str | None = None) -> bool:
    """Record a signal (or its new reason); False when it was already recorded as is."""
    row = _get(session, member_id, tender_id, signal)
    if row is not None:
        if row.reason == reason or reason is None:
            return False
        row.reason = reason
        session.add(row)
        return True
    session.add(Interest(member_id=member_id, tender_id=tender_id, signal=signal,
                         reason=reason, created_at=now))
    session.flush()
    return True


def apply_signal(session: Session, telegram_user_id: int, tender_id: int, action: str,
                 *, reason: str | None = None, now: datetime | None = None,
                 fallback_lang: str = "fr") -> SignalResult:
    """A tap on an alert button. `action`: interested | not_for_us | reason | undo | partners |
    help."""
    now = now or datetime.now(UTC)
    member = member_by_telegram(session, telegram_user_id)
    lang = language_of(member, fallback_lang)
    _ = gettext_for(lang)
    tender = session.get(TenderRow, tender_id)
    if member is None or tender is None:
        return SignalResult(AlertChoice(), False, found=False, lang=lang,
                            note=gone_text(lang))
    mid = member.id
    note = follow_up = advisor_note = None
    picking = False
    if action == "interested":
        changed = _add(session, mid, tender_id, INTERESTED, now)
        changed = _remove(session, mid, tender_id, NOT_FOR_US) > 0 or changed
        note = _("Noted: you are interested. We will remind you 7 and 2 days before the "
                 "deadline.")
    elif action == "not_for_us":
        changed = _add(session, mid, tender_id, NOT_FOR_US, now)
        changed = _remove(session, mid, tender_id, INTERESTED) > 0 or changed
        picking, changed = True, True  # the reasons are shown: the buttons change
        note = _("Noted. Why is it not for you? It helps us send better tenders.")
    elif action == "reason" and reason in NOT_FOR_US_REASONS:
        changed = _add(session, mid, tender_id, NOT_FOR_US, now, reason=reason)
        changed = _remove(session, mid, tender_id, INTERESTED) > 0 or changed
        note = _("Thank you, noted.")
    elif action == "undo":
        changed = _remove(session, mid, tender_id, INTERESTED, NOT_FOR_US) > 0
        note = _("Choice cancelled.")
    elif action == "partners":
        changed = _add(session, mid, tender_id, PARTNERS, now)
        note = _("Noted.") if changed else _("Already noted.")
        follow_up = _("Noted: you are looking for partners for “{title}”. We will soon suggest "
                      "structures whose trades or areas complement yours.").format(
            title=_short_title(tender))
    elif action == "help":
        changed = _add(session, mid, tender_id, HELP, now)
        note = _("Noted.") if changed else _("Already noted.")
        follow_up = _("Noted: an advisor will contact you about “{title}” to help you answer "
                      "it.").format(title=_short_title(tender))
        if changed:
            advisor_note = _advisor_note(member, tender)
    else:
        return SignalResult(choice_of(session, mid, tender_id), False, found=False, lang=lang,
                            note=_("This button is no longer valid."))
    session.flush()
    return SignalResult(choice_of(session, mid, tender_id, picking), changed, note=note,
                        follow_up=follow_up if changed else None, advisor_note=advisor_note,
                        lang=lang)


def gone_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("This alert is no longer available.")


def _advisor_note(member: Member, tender: TenderRow) -> str:
    # Advisors work in French.
    _ = gettext_for("fr")
    return _("Help requested by member {member} for the tender “{title}” (id {tender}).").format(
        member=member.id, title=_short_title(tender), tender=tender.id)


def _short_title(tender: TenderRow) -> str:
    title = " ".join((tender.title or "").split())
    return title if len(title) <= 80 else title[:79] + "…"


def alert_for(session: Session, telegram_user_id: int, tender_id: int, now: datetime,
              tz: ZoneInfo, fallback_lang: str = "fr") -> Rendered | None:
    """The full alert of one tender for a member (a digest's number button), with the score
    and reasons matching gave for the member's structure and the member's current choice."""
    member = member_by_telegram(session, telegram_user_id)
    tender = session.get(TenderRow, tender_id)
    if member is None or tender is None:
        return None
    match = None
    if member.structure_id is not None:
        match = session.execute(select(MatchRow).where(
            MatchRow.tender_id == tender_id,
            MatchRow.structure_id == member.structure_id)).scalars().first()
    lots = list(session.execute(select(LotRow).where(LotRow.tender_id == tender_id)
                                .order_by(LotRow.id)).scalars())
    return render_alert(tender, lots, list(match.reasons) if match else [],
                        match.score if match else 0, language_of(member, fallback_lang), now,
                        tz, choice_of(session, member.id, tender_id))


# --- preferences ---------------------------------------------------------------------------------


def preferences(session: Session, member: Member) -> AlertPreference:
    """The member's alert preferences, created with the defaults when missing."""
    prefs = session.execute(select(AlertPreference).where(
        AlertPreference.member_id == member.id)).scalars().first()
    if prefs is None:
        prefs = AlertPreference(member_id=member.id)
        session.add(prefs)
        session.flush()
    return prefs


def paused_until(prefs: AlertPreference, now: datetime) -> datetime | None:
    """The end of the pause as an aware UTC datetime, or None when not paused at `now`."""
    if prefs.paused_until is None:
        return None
    until = prefs.paused_until
    until = until.replace(tzinfo=UTC) if until.tzinfo is None else until.astimezone(UTC)
    return until if until > now else None


def set_preference(prefs: AlertPreference, setting: str, value: object,
                   now: datetime | None = None) -> bool:
    """Change one setting from the /alertes menu; True when something changed. Values are
    validated here: a forged or stale button changes nothing."""
    now = now or datetime.now(UTC)
    before = (prefs.rhythm, prefs.digest_hour, prefs.weekly_day, prefs.quiet_start,
              prefs.quiet_end, prefs.quiet_weekends, prefs.paused_until)
    if setting == "rhythm" and value in RHYTHMS:
        prefs.rhythm = str(value)
    elif setting == "digest_hour" and isinstance(value, int) and 0 <= value <= 23:
        prefs.digest_hour = value
    elif setting == "weekly_day" and isinstance(value, int) and 0 <= value <= 6:
        prefs.weekly_day = value
    elif setting == "quiet" and isinstance(value, tuple) and value in QUIET_PRESETS:
        prefs.quiet_start, prefs.quiet_end = value
    elif setting == "weekends" and isinstance(value, bool):
        prefs.quiet_weekends = value
    elif setting == "pause" and isinstance(value, int):
        pause(prefs, value, now)
    elif setting == "resume":
        prefs.paused_until = None
    after = (prefs.rhythm, prefs.digest_hour, prefs.weekly_day, prefs.quiet_start,
             prefs.quiet_end, prefs.quiet_weekends, prefs.paused_until)
    return before != after


def parse_pause_days(args: list[str]) -> int:
    """The number of days of `/pause [days]`: 7 when absent. Raises ValueError otherwise."""
    if not args:
        return PAUSE_DEFAULT_DAYS
    if len(args) != 1:
        raise ValueError("one number expected")
    text = args[0].strip().lower().removesuffix("j").removesuffix("d")
    if not text.isdigit():
        raise ValueError("not a number")
    days = int(text)
    if not 1 <= days <= PAUSE_MAX_DAYS:
        raise ValueError("out of range")
    return days


def pause_error(lang: str) -> str:
    _ = gettext_for(lang)
    return _("Type a number of days between 1 and {max}, for example /pause 14 (or just /pause "
             "for {default} days).").format(max=PAUSE_MAX_DAYS, default=PAUSE_DEFAULT_DAYS)


def pause(prefs: AlertPreference, days: int, now: datetime) -> datetime:
    """Pause until `days` days from now."""
    days = max(1, min(PAUSE_MAX_DAYS, days))
    until = now.astimezone(UTC) + timedelta(days=days)
    prefs.paused_until = until
    return until


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


def no_profile_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("You have no profile yet. Type /start to answer a few questions (about 5 "
             "minutes), then you will receive the tenders that fit.")


# --- the /alertes screens ------------------------------------------------------------------------


def _hour_text(hour: int) -> str:
    return f"{hour:02d}:00"


def _day_name(day: int, lang: str) -> str:
    from babel.dates import get_day_names

    return str(get_day_names("wide", locale=normalise_language(lang))[day])


def _rhythm_text(prefs: AlertPreference, lang: str) -> str:
    _ = gettext_for(lang)
    if prefs.rhythm == "daily":
        return _("a daily digest at {hour}").format(hour=_hour_text(prefs.digest_hour))
    if prefs.rhythm == "weekly":
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


def preferences_screen(prefs: AlertPreference, lang: str, now: datetime, tz: ZoneInfo,
                       screen: str = "main") -> Rendered:
    """The /alertes menu: the current settings and buttons to change them. `screen`: main |
    hours | days | quiet."""
    _ = gettext_for(lang)
    lines = [f"<b>{escape(_('Your alerts'))}</b>", ""]
    lines.append(escape(_("You receive: {rhythm}.").format(rhythm=_rhythm_text(prefs, lang))))
    lines.append(escape(_quiet_line(prefs, lang)))
    until = paused_until(prefs, now)
    if until:
        lines.append("⏸ " + escape(_("Paused until {date}.").format(
            date=format_date(until.astimezone(tz), lang))))
    if screen == "hours":
        lines += ["", escape(_("At what time should the digest arrive?"))]
        keyboard = _grid([(("✅ " if h == prefs.digest_hour else "") + _hour_text(h), f"al|h|{h}")
                          for h in DIGEST_HOURS], 4)
    elif screen == "days":
        lines += ["", escape(_("On which day should the weekly digest arrive?"))]
        keyboard = _grid([(("✅ " if d == prefs.weekly_day else "") + _day_name(d, lang),
                           f"al|d|{d}") for d in range(7)], 3)
    elif screen == "quiet":
        lines += ["", escape(_("When should instant alerts wait? Digests keep their hour."))]
        options = []
        for start, end in QUIET_PRESETS:
            label = _("No quiet hours") if start == end else _("{start} to {end}").format(
                start=_hour_text(start), end=_hour_text(end))
            current = (start, end) == (prefs.quiet_start, prefs.quiet_end)
            options.append((("✅ " if current else "") + label, f"al|q|{start}|{end}"))
        keyboard = _grid(options, 2)
    else:
        keyboard = _main_keyboard(prefs, lang, until is not None)
    if screen != "main":
        keyboard.append([(_("⬅️ Back"), "al|m")])
    return Rendered("\n".join(lines), keyboard)


def _grid(buttons: list[tuple[str, str]], width: int) -> list[list[tuple[str, str]]]:
    return [buttons[i:i + width] for i in range(0, len(buttons), width)]


def _main_keyboard(prefs: AlertPreference, lang: str, paused: bool) -> list[list[tuple[str, str]]]:
    _ = gettext_for(lang)
    rows = [[(("✅ " if prefs.rhythm == r else "") + _(_RHYTHM_LABELS[r]), f"al|r|{r}")
             for r in RHYTHMS]]
    if prefs.rhythm in ("daily", "weekly"):
        row = [("🕗 " + _("Hour: {hour}").format(hour=_hour_text(prefs.digest_hour)), "al|h")]
        if prefs.rhythm == "weekly":
            row.append(("📅 " + _day_name(prefs.weekly_day, lang), "al|d"))
        rows.append(row)
    weekends = _("Quiet weekends") if prefs.quiet_weekends else _("Weekends too")
    rows.append([("🌙 " + _("Quiet hours"), "al|q"),
                 (("✅ " if prefs.quiet_weekends else "") + weekends, "al|w")])
    if paused:
        rows.append([("▶️ " + _("Resume"), "al|res")])
    else:
        rows.append([("⏸ " + _("Pause {days} days").format(days=PAUSE_DEFAULT_DAYS),
                      f"al|p|{PAUSE_DEFAULT_DAYS}")])
    rows.append([(_("Done ✔️"), "al|x")])
    return rows


def done_text(prefs: AlertPreference, lang: str, now: datetime, tz: ZoneInfo) -> str:
    """The menu once closed: the settings, without buttons (HTML)."""
    _ = gettext_for(lang)
    html_text = preferences_screen(prefs, lang, now, tz).html
    return html_text + "\n\n" + clip(_("Saved. /alertes to change them again."), 200)


@dataclass(frozen=True)
class MenuResult:
    lang: str
    rendered: Rendered | None  # the screen to show (None: no profile, see `note`)
    changed: bool = False  # a setting changed (so the text changed)
    note: str | None = None
    closed: bool = False  # "Done": the menu loses its buttons


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def open_menu(session: Session, telegram_user_id: int, now: datetime, tz: ZoneInfo,
              fallback_lang: str = "fr") -> MenuResult:
    """/alertes"""
    member = member_by_telegram(session, telegram_user_id)
    lang = language_of(member, fallback_lang)
    if member is None:
        return MenuResult(lang, None, note=no_profile_text(lang))
    return MenuResult(lang, preferences_screen(preferences(session, member), lang, now, tz))


def menu_action(session: Session, telegram_user_id: int, parts: list[str], now: datetime,
                tz: ZoneInfo, fallback_lang: str = "fr") -> MenuResult:
    """A button of the /alertes menu; `parts` is its callback data after "al|"."""
    member = member_by_telegram(session, telegram_user_id)
    lang = language_of(member, fallback_lang)
    if member is None:
        return MenuResult(lang, None, note=no_profile_text(lang))
    _ = gettext_for(lang)
    prefs = preferences(session, member)
    action, args = (parts[0], parts[1:]) if parts else ("m", [])
    screen, changed, note = "main", False, None
    if action == "r" and args:
        changed = set_preference(prefs, "rhythm", args[0], now)
    elif action == "h":
        if args:
            changed = set_preference(prefs, "digest_hour", _int(args[0]), now)
        else:
            screen = "hours"
    elif action == "d":
        if args:
            changed = set_preference(prefs, "weekly_day", _int(args[0]), now)
        else:
            screen = "days"
    elif action == "q":
        if len(args) == 2:
            changed = set_preference(prefs, "quiet", (_int(args[0]), _int(args[1])), now)
        else:
            screen = "quiet"
    elif action == "w":
        changed = set_preference(prefs, "weekends", not prefs.quiet_weekends, now)
    elif action == "p" and args:
        changed = set_preference(prefs, "pause", _int(args[0]), now)
    elif action == "res":
        changed = set_preference(prefs, "resume", None, now)
    elif action == "x":
        return MenuResult(lang, Rendered(done_text(prefs, lang, now, tz), None), closed=True)
    if changed:
        session.add(prefs)
        _reschedule(session, member, now, tz)
        note = _("Saved.")
    return MenuResult(lang, preferences_screen(prefs, lang, now, tz, screen), changed, note)


def pause_command(session: Session, telegram_user_id: int, args: list[str], now: datetime,
                  tz: ZoneInfo, fallback_lang: str = "fr") -> str:
    """/pause [days]: the answer to show."""
    member = member_by_telegram(session, telegram_user_id)
    lang = language_of(member, fallback_lang)
    if member is None:
        return no_profile_text(lang)
    try:
        days = parse_pause_days(args)
    except ValueError:
        return pause_error(lang)
    prefs = preferences(session, member)
    until = pause(prefs, days, now)
    session.add(prefs)
    _reschedule(session, member, now, tz)
    return pause_text(until, lang, tz)


def resume_command(session: Session, telegram_user_id: int, now: datetime, tz: ZoneInfo,
                   fallback_lang: str = "fr") -> str:
    """/reprendre: the answer to show."""
    member = member_by_telegram(session, telegram_user_id)
    lang = language_of(member, fallback_lang)
    if member is None:
        return no_profile_text(lang)
    prefs = preferences(session, member)
    was_paused = paused_until(prefs, now) is not None
    prefs.paused_until = None
    session.add(prefs)
    _reschedule(session, member, now, tz)
    return resume_text(was_paused, lang)


def _reschedule(session: Session, member: Member, now: datetime, tz: ZoneInfo) -> None:
    """Waiting deliveries follow the new preferences at once (a resumed member does not wait
    for the end of the old pause; a new digest hour applies to what is already queued)."""
    from alerts.outbox import reschedule_member

    session.flush()
    reschedule_member(session, member.id, now, tz)
