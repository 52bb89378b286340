"""/diffuser, the advisors' announcement composer, declared as data like the diagnostic: the
text, an optional event, the audience, when to send. handlers/diagnostic.py turns these
questions into ConversationHandler states (the same adapter as the diagnostic's); the preview
and the confirmation are announcements.sending's.

Validators that need the time (an event or a sending time must be in the future) read the time
zone from `Services.extra["timezone"]` and the clock from `Services.extra.get("now")` (tests).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.announcement_messages import TEXT_CAP, parse_markup, when_text
from alerts.render import safe_url
from announcements.audience import Filters
from announcements.sending import Draft
from conversations import choices as C
from conversations.dates import parse_clock, parse_day, parse_moment
from conversations.diagnostic import area_summary, validate_area
from conversations.questions import Answers, Choice, Invalid, Kind, Question, Services
from locales import N_, gettext_for

ALL = "all"
NOW = "now"
UNLIMITED = "unlimited"
MAX_SEATS = 10_000
READINESS_LEVELS = {"0": N_("Any readiness"), "25": N_("Score 25 or more"),
                    "50": N_("Score 50 or more"), "75": N_("Score 75 or more")}
CHANNELS = {ALL: N_("Every channel"), "telegram": N_("Telegram only"),
            "email": N_("Email only"), "both": N_("Telegram and email")}
EXPERIENCE = {ALL: N_("All structures"), "never": N_("Never answered a tender")}


def _tz(services: Services) -> ZoneInfo:
    return services.extra.get("timezone") or ZoneInfo("Europe/Paris")


def _now(services: Services) -> datetime:
    clock = services.extra.get("now")
    return clock() if callable(clock) else datetime.now(UTC)


def validate_text(text: str, answers: Answers, services: Services) -> str:
    if not parse_markup(text):
        raise Invalid(N_("Type the text of the announcement."))
    return text


def validate_day(text: str, answers: Answers, services: Services) -> str:
    tz = _tz(services)
    today = _now(services).astimezone(tz).date()
    day = parse_day(text, today)
    if day is None:
        raise Invalid(N_("Type the date as day/month/year, for example 15/03/2027."))
    if day < today:
        raise Invalid(N_("This date is past. Type a date to come, for example 15/03/2027."))
    return day.isoformat()


def validate_clock(text: str, answers: Answers, services: Services) -> str:
    clock = parse_clock(text)
    if clock is None:
        raise Invalid(N_("Type the time as hours and minutes, for example 14h30."))
    moment = datetime.fromisoformat(f"{answers.get('event_date')}T{clock.isoformat()}").replace(
        tzinfo=_tz(services))
    if moment <= _now(services):
        raise Invalid(N_("This time is past. Type a time to come, for example 14h30."))
    return clock.strftime("%H:%M")


def validate_place(text: str, answers: Answers, services: Services) -> str:
    text = " ".join(text.split())
    if text.lower().startswith(("http://", "https://")) and safe_url(text) is None:
        raise Invalid(N_("This link does not look right: type it whole, for example "
                         "https://visio.exemple.fr/reunion."))
    if len(text) < 2:
        raise Invalid(N_("Type an address, or a link for an online event."))
    return text[:300]


def validate_seats(text: str, answers: Answers, services: Services) -> int | None:
    if text == UNLIMITED:
        return None
    digits = text.replace(" ", "")
    if not digits.isdigit() or not 1 <= int(digits) <= MAX_SEATS:
        raise Invalid(N_("Type a number of seats between 1 and {limit}, for example 20."),
                      limit=MAX_SEATS)
    return int(digits)


def validate_departements(text: str, answers: Answers, services: Services) -> dict:
    if text == ALL:
        return {"all_france": True, "departements": []}
    return validate_area(text, answers, services)


def validate_cpv(text: str, answers: Answers, services: Services) -> list[str]:
    if text == ALL:
        return []
    codes = [part.strip() for part in text.replace(";", ",").replace(" ", ",").split(",")
             if part.strip()]
    if not codes or not all(code.isdigit() and 2 <= len(code) <= 8 for code in codes):
        raise Invalid(N_("Type the beginnings of CPV codes, separated by commas, for example "
                         "45, 7731 (45: construction work; 7731: green spaces)."))
    return list(dict.fromkeys(codes))[:20]


def validate_when(text: str, answers: Answers, services: Services) -> str:
    if text == NOW:
        return NOW
    moment = parse_moment(text, _now(services), _tz(services))
    if moment is None:
        raise Invalid(N_("Type the day and time of sending, for example 15/03/2027 9h00, or "
                         "tap “Now”."))
    if moment <= _now(services):
        raise Invalid(N_("This moment is past. Type a moment to come, for example "
                         "15/03/2027 9h00."))
    return moment.isoformat()


def _has_event(answers: Answers) -> bool:
    return answers.get("event") == "yes"


def _summary_when(value: Any, lang: str) -> str:
    _ = gettext_for(lang)
    if value in (None, NOW):
        return _("now")
    moment = datetime.fromisoformat(value)
    return when_text(moment, lang, moment.tzinfo)


def _summary_seats(value: Any, lang: str) -> str:
    _ = gettext_for(lang)
    return _("no limit") if value is None else str(value)


def _summary_cpv(value: Any, lang: str) -> str:
    _ = gettext_for(lang)
    return ", ".join(value) if value else _("all trades")


def _summary_text(value: Any, lang: str) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:59] + "…"


def _choices(table: dict[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(value, label) for value, label in table.items())


_QUESTIONS: tuple[Question, ...] = (
    Question("text", N_("Write the announcement as members will read it."), Kind.TEXT,
             validator=validate_text, max_length=TEXT_CAP, summary=_summary_text,
             why=N_("*bold*, _italic_ and links such as [the programme](https://…) are kept; "
                    "everything else is shown as typed.")),
    Question("event", N_("Is it an event members can register to?"), Kind.SINGLE,
             choices=_choices(C.YES_NO),
             resets=("event_date", "event_time", "event_place", "seats")),
    Question("event_date", N_("What day is the event?"), Kind.TEXT, validator=validate_day,
             condition=_has_event, why=N_("For example 15/03/2027."), resets=("event_time",)),
    Question("event_time", N_("At what time does it start?"), Kind.TEXT,
             validator=validate_clock, condition=_has_event, why=N_("For example 14h30.")),
    Question("event_place", N_("Where? An address, or the link of an online meeting."),
             Kind.TEXT, validator=validate_place, condition=_has_event, max_length=600),
    Question("seats", N_("How many seats? Type a number, or tap “No limit”."), Kind.SINGLE,
             choices=(Choice(UNLIMITED, N_("No limit")),), accepts_text=True,
             validate_choices=True, validator=validate_seats, condition=_has_event,
             summary=_summary_seats,
             why=N_("Once the seats are taken, members join a waiting list that moves up "
                    "when someone cancels.")),
    Question("departements", N_("To structures working where? Type départements or regions, "
                                "or tap “All of France”."), Kind.SINGLE,
             choices=(Choice(ALL, N_("All of France")),), accepts_text=True,
             validate_choices=True, validator=validate_departements, summary=area_summary,
             why=N_("For example: 42, 43, Rhône. Structures working in all of France are "
                    "always included.")),
    Question("families", N_("Which kinds of structure? Tick them, or tap “Done” for all."),
             Kind.MULTI, choices=_choices(C.FAMILIES)),
    Question("cpv", N_("Which trades? Type beginnings of CPV codes, or tap “All trades”."),
             Kind.SINGLE, choices=(Choice(ALL, N_("All trades")),), accepts_text=True,
             validate_choices=True, validator=validate_cpv, summary=_summary_cpv,
             why=N_("For example 45, 7731 (45: construction work; 7731: green spaces).")),
    Question("readiness", N_("Which readiness score at least?"), Kind.SINGLE,
             choices=_choices(READINESS_LEVELS)),
    Question("channel", N_("Members reached on which alert channel?"), Kind.SINGLE,
             choices=_choices(CHANNELS)),
    Question("experience", N_("Only the structures that never answered a tender?"),
             Kind.SINGLE, choices=_choices(EXPERIENCE)),
    Question("when", N_("When should it leave? Tap “Now”, or type a day and time."),
             Kind.SINGLE, choices=(Choice(NOW, N_("Now")),), accepts_text=True,
             validate_choices=True, validator=validate_when, summary=_summary_when,
             why=N_("For example 15/03/2027 9h00. Until it leaves, /annonces can cancel it.")),
)

LABELS = {"text": N_("Text"), "event": N_("Event"), "event_date": N_("Day"),
          "event_time": N_("Time"), "event_place": N_("Place"), "seats": N_("Seats"),
          "departements": N_("Area"), "families": N_("Kinds of structure"), "cpv": N_("Trades"),
          "readiness": N_("Readiness"), "channel": N_("Channel"),
          "experience": N_("Experience"), "when": N_("Sending")}
QUESTIONS = tuple(replace(q, label=LABELS[q.key]) for q in _QUESTIONS)


def filters_of(answers: Answers) -> Filters:
    area = answers.get("departements") or {}
    return Filters(
        departements=() if area.get("all_france") else tuple(area.get("departements") or ()),
        families=tuple(answers.get("families") or ()),
        cpv=tuple(answers.get("cpv") or ()),
        min_readiness=int(answers.get("readiness") or 0) or None,
        channel=None if answers.get("channel") in (None, ALL) else answers["channel"],
        never_answered=answers.get("experience") == "never")


def draft_of(answers: Answers, tz: ZoneInfo) -> Draft:
    """The composer's answers as an announcements.sending.Draft."""
    event_at = place = link = None
    if _has_event(answers) and answers.get("event_date") and answers.get("event_time"):
        event_at = datetime.fromisoformat(
            f"{answers['event_date']}T{answers['event_time']}").replace(tzinfo=tz)
        where = answers.get("event_place") or ""
        link = safe_url(where)
        place = None if link else where
    when = answers.get("when")
    return Draft(text=answers.get("text") or "", filters=filters_of(answers),
                 send_at=None if when in (None, NOW) else datetime.fromisoformat(when),
                 event_at=event_at, event_place=place, event_link=link,
                 seats=answers.get("seats") if _has_event(answers) else None)
