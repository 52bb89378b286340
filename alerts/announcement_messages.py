"""What members are told by the advisors: announcements (with their event), the answer to *Je
m'inscris*, a seat freed up, event reminders — as Messages, in the member's language, built at
send time (alerts.compose.BUILDERS) or as a direct answer.

The advisor's text keeps a small markup and nothing else: `*bold*`, `_italic_`,
`[label](https://…)` and bare http(s) links become styled spans; every other character is
plain text, escaped by the channel.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_time

from alerts.message import (
    Action,
    Attachment,
    Block,
    Intent,
    Line,
    Message,
    Span,
    bold,
    fill,
    line,
)
from alerts.render import clean, cut, safe_url
from locales import format_date, gettext_for, ngettext_for, normalise_language
from store.announcement_models import Announcement, RegistrationStatus

R = RegistrationStatus
EVENT_YES, EVENT_NO = Intent.EVENT_YES, Intent.EVENT_NO
TEXT_CAP = 3500  # characters of the advisor's text (Telegram's limit is 4096 with the rest)
EVENT_LENGTH = timedelta(hours=2)  # an invitation needs an end: events last two hours unless told
_TOKEN = re.compile(
    r"\[(?P<label>[^\]\n]{1,200})\]\((?P<href>https?://[^\s)]{1,600})\)"
    r"|(?P<url>https?://[^\s<>()\[\]]{1,600})"
    r"|\*(?P<bold>[^*\n]{1,500})\*"
    r"|(?<![\w])_(?P<italic>[^_\n]{1,500})_(?![\w])")


def parse_line(text: str) -> Line:
    spans: list[Span] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            spans.append(Span(text[position:match.start()]))
        if match.group("label") is not None:
            href = safe_url(match.group("href"))
            spans.append(Span(match.group("label"), link=href))
        elif match.group("url") is not None:
            url = match.group("url").rstrip(".,;:!?")
            spans.append(Span(url, link=safe_url(url)))
            tail = match.group("url")[len(url):]
            if tail:
                spans.append(Span(tail))
        elif match.group("bold") is not None:
            spans.append(Span(match.group("bold"), bold=True))
        else:
            spans.append(Span(match.group("italic"), italic=True))
        position = match.end()
    if position < len(text):
        spans.append(Span(text[position:]))
    return Line(tuple(span for span in spans if span.text))


def parse_markup(text: str) -> tuple[Block, ...]:
    """The advisor's text as blocks (paragraphs) of styled lines."""
    text = (text or "")[:TEXT_CAP]
    blocks: list[Block] = []
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [clean(raw) for raw in paragraph.split("\n")]
        parsed = tuple(parse_line(raw) for raw in lines if raw)
        if parsed:
            blocks.append(parsed)
    return tuple(blocks)


def plain_text(text: str) -> str:
    return "\n\n".join("\n".join(line.text for line in block) for block in parse_markup(text))


def headline(announcement: Announcement, cap: int = 80) -> str:
    blocks = parse_markup(announcement.text)
    return cut(blocks[0][0].text, cap) if blocks else ""


# --- events --------------------------------------------------------------------------------------


def when_text(moment: datetime, lang: str, tz: ZoneInfo) -> str:
    """"15 mars 2027 à 14:30"."""
    _ = gettext_for(lang)
    local = moment.astimezone(tz)
    return _("{date} at {time}").format(
        date=format_date(local.date(), lang),
        time=format_time(local, "short", locale=normalise_language(lang)))


def _fact(label: str, value: Span | str, lang: str) -> Line:
    _ = gettext_for(lang)
    return Line(fill(_("{label}: {value}"), label=bold(label), value=value))


def seats_text(announcement: Announcement, registered: int, lang: str) -> str | None:
    if announcement.seats is None:
        return None
    ngettext = ngettext_for(lang)
    left = max(announcement.seats - registered, 0)
    if not left:
        _ = gettext_for(lang)
        return _("full — you can join the waiting list")
    return ngettext("{left} seat left of {seats}", "{left} seats left of {seats}", left).format(
        left=left, seats=announcement.seats)


def event_block(announcement: Announcement, registered: int, lang: str, tz: ZoneInfo) -> Block:
    _ = gettext_for(lang)
    lines = [line(bold("📅 " + _("Event")))]
    if announcement.event_at:
        lines.append(_fact(_("When"), when_text(announcement.event_at, lang, tz), lang))
    if announcement.event_place:
        lines.append(_fact(_("Where"), cut(announcement.event_place, 300), lang))
    if href := safe_url(announcement.event_link):
        lines.append(_fact(_("Online"), Span(cut(href, 80), link=href), lang))
    if seats := seats_text(announcement, registered, lang):
        lines.append(_fact(_("Seats"), seats, lang))
    return tuple(lines)


def event_actions(announcement_id: int, lang: str, status: str | None) -> tuple:
    _ = gettext_for(lang)
    yes = Action(EVENT_YES, _("Register"),
                 announcement_id, selected=status in (R.REGISTERED, R.WAITING))
    no = Action(EVENT_NO, _("Not available"), announcement_id, selected=status == R.DECLINED)
    return ((yes, no),)


def is_event(announcement: Announcement) -> bool:
    return announcement.event_at is not None


def announcement_message(announcement: Announcement, lang: str, tz: ZoneInfo, *,
                         registered: int = 0, status: str | None = None,
                         preview: bool = False) -> Message:
    """The announcement as its recipients see it (`preview`: without live buttons' state)."""
    _ = gettext_for(lang)
    blocks = list(parse_markup(announcement.text))
    actions: tuple = ()
    if is_event(announcement):
        blocks.append(event_block(announcement, registered, lang, tz))
        actions = event_actions(announcement.id or 0, lang, None if preview else status)
    return Message(_("Message from your Centrale"), tuple(blocks), actions, icon="📣")


def invitation(announcement: Announcement, lang: str) -> Attachment:
    """The event as an .ics invitation (RFC 5545), for any calendar."""
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//Centrale//announcements//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"announcement-{announcement.id}@centrale")
    event.add("dtstamp", announcement.updated_at or announcement.created_at)
    event.add("dtstart", announcement.event_at)
    event.add("dtend", announcement.event_at + EVENT_LENGTH)
    event.add("summary", headline(announcement, 120) or "Centrale")
    event.add("description", plain_text(announcement.text))
    where = announcement.event_place or safe_url(announcement.event_link)
    if where:
        event.add("location", where)
    if href := safe_url(announcement.event_link):
        event.add("url", href)
    calendar.add_component(event)
    return Attachment(f"centrale-event-{announcement.id}.ics", calendar.to_ical(),
                      "text/calendar")


def registered_message(announcement: Announcement, lang: str, tz: ZoneInfo, *,
                       promoted: bool = False) -> Message:
    """A confirmed seat, with the invitation attached."""
    _ = gettext_for(lang)
    title = _("A seat freed up: you are registered") if promoted else _("You are registered")
    lines = [line(cut(headline(announcement, 200), 200))] if headline(announcement) else []
    if announcement.event_at:
        lines.append(_fact(_("When"), when_text(announcement.event_at, lang, tz), lang))
    lines.append(line(_("The invitation is attached: open it to add the event to your "
                        "calendar. We will remind you the day before and one hour before.")))
    return Message(title, (tuple(lines),), event_actions(announcement.id or 0, lang,
                                                         R.REGISTERED),
                   icon="✅", attachments=(invitation(announcement, lang),))


def reminder_message(announcement: Announcement, which: str, lang: str,
                     tz: ZoneInfo) -> Message:
    _ = gettext_for(lang)
    title = _("Tomorrow: your event") if which == "day" else _("In one hour: your event")
    lines = [line(headline(announcement, 200))] if headline(announcement) else []
    block_ = event_block(announcement, 0, lang, tz)
    lines += [x for x in block_[1:] if _("Seats") not in x.text]
    lines.append(line(_("Not coming after all? Tap “Not available” to free your seat.")))
    return Message(title, (tuple(lines),),
                   ((Action(EVENT_NO, _("Not available"), announcement.id or 0),),), icon="⏰")
