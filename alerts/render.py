"""What a member is told about tenders: alerts, digests, updates, cancellations and reminders.

Pure: no I/O and no channel. Each function returns an alerts.message.Message in the member's
language; channels/telegram.py turns it into HTML and buttons, the email channel into a mail.
Text from buyers, sources and members is cleaned (one line, no control characters) and cut to a
cap here; escaping is the channel's job. A message a channel finds too long gives way to its
`shorter` versions: fewer lots, a shorter description, shorter titles in a digest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_time

from alerts.message import (
    Action,
    Actions,
    Intent,
    Line,
    Message,
    Span,
    bold,
    fill,
    grid,
    line,
)
from alerts.policy import WEEKLY
from locales import (
    N_,
    format_amount,
    format_date,
    format_relative,
    gettext_for,
    ngettext_for,
    normalise_language,
)
from matching.reasons import Reason, render_reason
from reference.geography import departement
from store.tender_models import LotRow, TenderRow
from tenders.procedure import procedure_label

CLOSE_DEADLINE_DAYS = 7  # ⏰ marks a deadline this close
DIGEST_DETAILED = 10  # items shown in full in a digest; the rest are listed compactly
DIGEST_ROW = 5  # number buttons per row

# Caps (characters of plain text) on what comes from a source, so that no field crowds out the
# others; the channels' own limits are met with `Message.shorter`.
TITLE_CAP = 400
BUYER_CAP = 200
REASON_CAP = 200
MAX_REASONS = 6
URL_CAP = 600
PLACES_SHOWN = 4
PLACE_CAP = 300
VALUE_CAP = 300
MAX_CHANGES = 10
# Alerts: (description cap, lots shown, lot title cap), the longest first.
ALERT_SIZES = ((700, 10, 160), (400, 6, 100), (200, 3, 60), (0, 0, 0))
# Digests: title caps of the detailed items, the longest first.
DIGEST_TITLE_CAPS = (160, 110, 70, 40)
DIGEST_REST_TITLE_CAP = 70

NOT_FOR_US_REASONS: dict[str, str] = {
    "far": N_("Too far"),
    "big": N_("Too big for us"),
    "trade": N_("Not our trade"),
    "short": N_("Deadline too short"),
}

_RESERVED_BADGES = {
    "siae": N_("Reserved for insertion structures (SIAE)"),
    "disability": N_("Reserved for EA and ESAT"),
    "both": N_("Reserved for SIAE, EA and ESAT"),
}


@dataclass(frozen=True)
class AlertChoice:
    """What the member has said about a tender, as the alert's buttons show it."""

    interested: bool = False
    not_for_us: bool = False
    reason: str | None = None  # a key of NOT_FOR_US_REASONS
    partners: bool = False
    help: bool = False
    picking_reason: bool = False  # "Not for us" tapped: the reasons are shown


# --- small pieces --------------------------------------------------------------------------------


def clean(text: object) -> str:
    """One line of plain text: whitespace collapsed, lone surrogates and control characters out
    (Telegram refuses text that is not valid UTF-8)."""
    value = "" if text is None else str(text)
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = "".join(ch if ch.isprintable() or ch in " \t\n" else " " for ch in value)
    return " ".join(value.split())


def cut(text: object, cap: int) -> str:
    """`text` cleaned and cut to `cap` characters, at a word boundary when one is near."""
    plain = clean(text)
    if len(plain) <= cap:
        return plain
    if cap <= 1:
        return ""
    short = plain[:cap - 1]
    space = short.rfind(" ")
    if space > len(short) * 2 // 3:  # a word boundary close enough to the cut: use it
        short = short[:space]
    return short.rstrip(" ,;:-") + "…"


def safe_url(url: str | None) -> str | None:
    """A plain http(s) URL of sensible length, else None."""
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > URL_CAP:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    return url


def _link_line(url: str | None, label: str) -> Line | None:
    href = safe_url(url)
    return line(Span(label, link=href)) if href else None


def amount(value: float | int, lang: str) -> str:
    """A euro amount the French way; absurd values (a parsing slip upstream) shown raw."""
    if not math.isfinite(value) or abs(value) >= 1e13:
        return clean(value)
    return format_amount(value, lang)


def days_until(deadline: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days between today and the deadline's day, in the configured timezone."""
    return (deadline.astimezone(tz).date() - now.astimezone(tz).date()).days


def format_deadline(deadline: datetime, lang: str, now: datetime, tz: ZoneInfo) -> str:
    """"15 janvier 2027 à 12:00 (dans 12 jours)"."""
    _ = gettext_for(lang)
    local = deadline.astimezone(tz)
    text = format_date(local.date(), lang)
    if (local.hour, local.minute) not in ((0, 0), (23, 59)):  # a time worth showing
        text = _("{date} at {time}").format(
            date=text, time=format_time(local, "short", locale=normalise_language(lang)))
    days = days_until(deadline, now, tz)
    if deadline < now:
        relative = _("closed")
    elif days == 0:
        relative = _("today")
    elif days == 1:
        relative = _("tomorrow")
    else:
        relative = format_relative(timedelta(days=days), lang)
    return _("{date} ({relative})").format(date=text, relative=relative)


def _place(departements: Sequence[str], lang: str) -> str:
    names = []
    for code in list(departements)[:PLACES_SHOWN]:
        dept = departement(code)
        names.append(f"{dept.name} ({dept.code})" if dept else clean(code))
    text = ", ".join(names)
    extra = len(departements) - PLACES_SHOWN
    if extra > 0:
        ngettext = ngettext_for(lang)
        text = ngettext("{places} and {count} more département",
                        "{places} and {count} more départements", extra).format(places=text,
                                                                               count=extra)
    return text


def _title(tender: TenderRow, lang: str, cap: int = TITLE_CAP) -> str:
    _ = gettext_for(lang)
    return cut(tender.title, cap) or _("(untitled tender)")


def _is_close(tender: TenderRow, now: datetime, tz: ZoneInfo) -> bool:
    return bool(tender.deadline and tender.deadline >= now
                and days_until(tender.deadline, now, tz) <= CLOSE_DEADLINE_DAYS)


def _badges(tender: TenderRow, lang: str, close: bool) -> Line | None:
    _ = gettext_for(lang)
    badges = []
    if tender.reserved in _RESERVED_BADGES:
        badges.append("♻️ " + _(_RESERVED_BADGES[tender.reserved]))
    if tender.social_clause:
        badges.append("♻️ " + _("Social clause (insertion hours)"))
    if close:
        badges.append("⏰ " + _("Deadline close"))
    return line(" · ".join(badges)) if badges else None


def fact(label: str, value: Span | str | tuple[Span, ...], lang: str) -> tuple[Span, ...]:
    """"Buyer: …" / "Acheteur : …" (French puts a space before the colon), the label in bold."""
    _ = gettext_for(lang)
    return fill(_("{label}: {value}"), label=bold(label), value=value)


def _facts(tender: TenderRow, lang: str, now: datetime, tz: ZoneInfo) -> tuple[Line, ...]:
    _ = gettext_for(lang)
    lines = []
    if clean(tender.buyer):
        lines.append(Line(fact(_("Buyer"), cut(tender.buyer, BUYER_CAP), lang)))
    if tender.departements:
        lines.append(Line(fact(_("Place"), cut(_place(tender.departements, lang), PLACE_CAP),
                               lang)))
    if tender.deadline:
        lines.append(Line(fact(_("Deadline"), format_deadline(tender.deadline, lang, now, tz),
                               lang)))
    if tender.estimated_value and tender.estimated_value > 0:
        lines.append(Line(fact(_("Estimated value"), amount(tender.estimated_value, lang),
                               lang)))
    return tuple(lines)


def _reason_text(reason: Mapping[str, object], lang: str) -> str:
    try:
        return render_reason(Reason.from_dict(reason), lang)
    except Exception:  # a malformed stored reason must not stop the alert
        return clean(reason.get("kind", ""))


def _why(reasons: Sequence[Mapping[str, object]], lang: str) -> tuple[Line, ...]:
    texts = [cut(_reason_text(reason, lang), REASON_CAP) for reason in reasons[:MAX_REASONS]]
    items = tuple(line(text, item=True) for text in texts if text)
    if not items:
        return ()
    _ = gettext_for(lang)
    return (line(bold(_("Why this tender:"))), *items)


def _lot_line(lot: LotRow, lang: str, title_cap: int) -> Line:
    _ = gettext_for(lang)
    spans = [bold(_("Lot {number}").format(number=clean(lot.number)[:20] or "?"))]
    if clean(lot.title):
        spans.append(Span(" " + cut(lot.title, title_cap)))
    if lot.estimated_value and lot.estimated_value > 0:
        spans.append(Span(" — " + amount(lot.estimated_value, lang)))
    return Line(tuple(spans), item=True)


def _lots(lots: Sequence[LotRow], lang: str, shown: int, title_cap: int) -> tuple[Line, ...]:
    if not lots:
        return ()
    _ = gettext_for(lang)
    if not title_cap:
        return (line(_("Lots: {count} (see the notice)").format(count=len(lots))),)
    lines = [line(bold(_("Lots ({count}):").format(count=len(lots))))]
    lines += [_lot_line(lot, lang, title_cap) for lot in lots[:shown]]
    if len(lots) > shown:
        more = len(lots) - shown
        ngettext = ngettext_for(lang)
        lines.append(line(ngettext("… and {count} more lot (see the notice)",
                                   "… and {count} more lots (see the notice)",
                                   more).format(count=more)))
    return tuple(lines)


def _blocks(*blocks: Sequence[Line | None]) -> tuple[tuple[Line, ...], ...]:
    kept = (tuple(x for x in block if x is not None) for block in blocks)
    return tuple(block for block in kept if block)


# --- actions -------------------------------------------------------------------------------------


def alert_actions(tender_id: int, lang: str, choice: AlertChoice | None = None) -> Actions:
    """The buttons under an alert, showing what the member already chose."""
    _ = gettext_for(lang)
    choice = choice or AlertChoice()
    tid = int(tender_id)
    if choice.picking_reason:
        reasons = [Action(Intent.NOT_FOR_US, _(label), tid, key)
                   for key, label in NOT_FOR_US_REASONS.items()]
        return (*grid(reasons, 2), (Action(Intent.UNDO, _("↩️ Undo"), tid),))
    follow_up = (Action(Intent.PARTNERS, _("Find partners"), tid, selected=choice.partners),
                 Action(Intent.HELP, _("Need help"), tid, selected=choice.help))
    if choice.interested:
        return ((Action(Intent.INTERESTED, _("Interested"), tid, selected=True),
                 Action(Intent.UNDO, _("↩️ Undo"), tid)), follow_up)
    if choice.not_for_us:
        label = _("Not for us")
        if choice.reason in NOT_FOR_US_REASONS:
            label = _("Not for us: {reason}").format(
                reason=_(NOT_FOR_US_REASONS[choice.reason]).lower())
        return ((Action(Intent.NOT_FOR_US, "🚫 " + label, tid),),
                (Action(Intent.UNDO, _("↩️ Undo"), tid),))
    return ((Action(Intent.INTERESTED, _("Interested"), tid),
             Action(Intent.NOT_FOR_US, _("Not for us"), tid)), follow_up)


def reminder_actions(tender_id: int, lang: str, choice: AlertChoice | None = None) -> Actions:
    """A reminder's two buttons, marked once requested."""
    _ = gettext_for(lang)
    choice = choice or AlertChoice()
    tid = int(tender_id)
    return ((Action(Intent.PARTNERS, _("Find partners"), tid, selected=choice.partners),
             Action(Intent.HELP, _("Need help"), tid, selected=choice.help)),)


# --- messages ------------------------------------------------------------------------------------


def render_alert(tender: TenderRow, lots: list[LotRow], reasons: list[dict], score: int,
                 lang: str, now: datetime, tz: ZoneInfo,
                 choice: AlertChoice | None = None, size: int = 0) -> Message:
    """One tender, in full, with the buttons to act on it."""
    _ = gettext_for(lang)
    desc_cap, lots_shown, lot_cap = ALERT_SIZES[size]
    description = clean(tender.description)
    show = desc_cap and description and description.casefold() != clean(tender.title).casefold()
    blocks = _blocks(
        (_badges(tender, lang, _is_close(tender, now, tz)),),
        _facts(tender, lang, now, tz),
        (line(cut(description, desc_cap)),) if show else (),
        _lots(lots, lang, lots_shown, lot_cap),
        _why(reasons, lang),
        (_link_line(tender.url, _("See the notice")),),
    )
    shorter = None
    if size + 1 < len(ALERT_SIZES):
        def shorter() -> Message:
            return render_alert(tender, lots, reasons, score, lang, now, tz, choice, size + 1)
    return Message(_title(tender, lang), blocks, alert_actions(tender.id or 0, lang, choice),
                   shorter=shorter)


def _digest_item(number: int, tender: TenderRow, lang: str, now: datetime, tz: ZoneInfo,
                 title_cap: int, detailed: bool) -> tuple[Line, ...]:
    _ = gettext_for(lang)
    title = Span(_title(tender, lang, title_cap), link=safe_url(tender.url))
    head = [bold(f"{number}."), Span(" "), title]
    if not detailed:
        if tender.deadline:
            head.append(Span(" — " + format_date(tender.deadline.astimezone(tz).date(), lang,
                                                 "short")))
        return (Line(tuple(head)),)
    lines = [Line(tuple(head))]
    bits = []
    if clean(tender.buyer):
        bits.append(cut(tender.buyer, max(40, title_cap // 2)))
    if tender.departements:
        bits.append(cut(_place(tender.departements[:2], lang), 80))
    if bits:
        lines.append(line(" · ".join(bits)))
    bits = []
    if tender.deadline:
        marker = "⏰ " if _is_close(tender, now, tz) else ""
        bits.append(marker + format_deadline(tender.deadline, lang, now, tz))
    if tender.estimated_value and tender.estimated_value > 0:
        bits.append(amount(tender.estimated_value, lang))
    if tender.reserved in _RESERVED_BADGES:
        bits.append("♻️ " + _("reserved"))
    elif tender.social_clause:
        bits.append("♻️ " + _("social clause"))
    if bits:
        lines.append(line(" · ".join(bits)))
    return tuple(lines)


DigestItem = tuple[TenderRow, list[LotRow], list[dict], int]


def render_digest(items: list[DigestItem], lang: str, now: datetime, tz: ZoneInfo,
                  rhythm: str) -> Message:
    """Several tenders in one message: best score first, the first ten in some detail with a
    number button each (it opens the full alert), the others listed compactly."""
    ordered = sorted(items, key=lambda item: (-item[3], _deadline_key(item[0]),
                                              item[0].id or 0))
    return _digest(ordered, lang, now, tz, rhythm, 0, len(ordered) - DIGEST_DETAILED)


def _digest(ordered: list[DigestItem], lang: str, now: datetime, tz: ZoneInfo, rhythm: str,
            size: int, rest_shown: int) -> Message:
    _ = gettext_for(lang)
    ngettext = ngettext_for(lang)
    count = len(ordered)
    if rhythm == WEEKLY:
        heading = ngettext("Your weekly digest: {count} tender",
                           "Your weekly digest: {count} tenders", count)
    else:
        heading = ngettext("Your daily digest: {count} tender",
                           "Your daily digest: {count} tenders", count)
    title_cap = DIGEST_TITLE_CAPS[size]
    detailed, rest = ordered[:DIGEST_DETAILED], ordered[DIGEST_DETAILED:]
    blocks = [_digest_item(i, tender, lang, now, tz, title_cap, True)
              for i, (tender, *_rest) in enumerate(detailed, 1)]
    if rest:
        lines = [line(bold(_("And {count} more:").format(count=len(rest))))]
        lines += [_digest_item(number, tender, lang, now, tz, DIGEST_REST_TITLE_CAP, False)[0]
                  for number, (tender, *_rest) in enumerate(rest[:rest_shown],
                                                            DIGEST_DETAILED + 1)]
        hidden = len(rest) - max(0, rest_shown)
        if hidden > 0:
            lines.append(line(ngettext(
                "… and {count} other: /alertes to receive fewer, better targeted tenders.",
                "… and {count} others: /alertes to receive fewer, better targeted tenders.",
                hidden).format(count=hidden)))
        blocks.append(tuple(lines))
    blocks.append((line(Span(_("Tap a number to see the tender and answer it."), italic=True),
                        telegram_only=True),))
    buttons = [Action(Intent.OPEN, str(i), int(t.id or 0), item=i)
               for i, (t, *_rest) in enumerate(detailed, 1)]

    def shorter() -> Message | None:
        if rest_shown > 0:  # first fewer compact lines, halving
            return _digest(ordered, lang, now, tz, rhythm, size, rest_shown // 2)
        if size + 1 < len(DIGEST_TITLE_CAPS):
            return _digest(ordered, lang, now, tz, rhythm, size + 1, 0)
        return None

    return Message(heading.format(count=count), tuple(blocks), grid(buttons, DIGEST_ROW),
                   icon="📬", shorter=shorter)


def _deadline_key(tender: TenderRow) -> float:
    return tender.deadline.timestamp() if tender.deadline else float("inf")


_FIELD_LABELS = {
    "deadline": N_("Deadline"),
    "estimated_value": N_("Estimated value"),
    "value": N_("Estimated value"),
    "title": N_("Title"),
    "buyer": N_("Buyer"),
    "description": N_("Description"),
    "lots": N_("Lots"),
    "departements": N_("Place"),
    "cpv_codes": N_("CPV codes"),
    "procedure": N_("Procedure"),
    "url": N_("Notice"),
    "reserved": N_("Reserved contract"),
    "social_clause": N_("Social clause"),
}


def _parse_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def _change_value(field: str, value: object, lang: str, now: datetime, tz: ZoneInfo) -> str:
    """A changed field's old or new value, as plain text."""
    _ = gettext_for(lang)
    if value is None or value == "" or value == []:
        return _("none")
    if field == "deadline":
        moment = _parse_datetime(value)
        if moment is not None:
            return format_deadline(moment, lang, now, tz)
        if isinstance(value, date):
            return format_date(value, lang)
    if field in ("estimated_value", "value") and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return amount(value, lang)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field == "departements" and isinstance(value, list):
        return cut(_place([str(v) for v in value], lang), 200)
    if field == "reserved" and isinstance(value, str):
        return _(_RESERVED_BADGES[value]) if value in _RESERVED_BADGES else _("no")
    if field == "procedure" and isinstance(value, str):
        return cut(procedure_label(value, lang), VALUE_CAP)
    if isinstance(value, list):
        parts = []
        for item in value[:5]:
            if isinstance(item, Mapping):
                number, title = item.get("number"), item.get("title")
                parts.append(" ".join(clean(p) for p in (number, title) if p))
            else:
                parts.append(clean(item))
        text = "; ".join(p for p in parts if p)
        if len(value) > 5:
            text += " " + _("(+{count})").format(count=len(value) - 5)
        return cut(text, VALUE_CAP)
    return cut(value, VALUE_CAP)


def _head(tender: TenderRow, lang: str) -> tuple[Line, ...]:
    """The tender's title and buyer, under a heading (updates, cancellations, reminders)."""
    lines = [line(bold(_title(tender, lang)))]
    if clean(tender.buyer):
        lines.append(line(cut(tender.buyer, BUYER_CAP)))
    return tuple(lines)


def render_update(tender: TenderRow, changes: list[dict], lang: str, now: datetime,
                  tz: ZoneInfo) -> Message:
    """A rectificatif of a tender the member was alerted to: what changed, old → new."""
    _ = gettext_for(lang)
    change_lines = []
    for change in changes[:MAX_CHANGES]:
        field = str(change.get("field", ""))
        label = _(_FIELD_LABELS[field]) if field in _FIELD_LABELS else clean(field)[:40]
        if field == "description":  # long texts: only say it changed
            value: tuple[Span, ...] = (Span(_("updated")),)
        else:
            old = _change_value(field, change.get("old"), lang, now, tz)
            new = _change_value(field, change.get("new"), lang, now, tz)
            value = (Span(old, strike=True), Span(" → "), bold(new))
        change_lines.append(Line(fact(label, value, lang), item=True))
    if not change_lines:
        change_lines.append(line(_("The buyer published a correction (rectificatif). Check the "
                                   "notice for the details.")))
    blocks = _blocks(_head(tender, lang),
                     (line(bold(_("What changed:"))), *change_lines),
                     (_link_line(tender.url, _("See the notice")),))
    return Message(_("Change to a tender you received"), blocks, icon="✏️")


def render_cancellation(tender: TenderRow, lang: str) -> Message:
    """A tender the member marked interest in was cancelled."""
    _ = gettext_for(lang)
    body = (line(_("The buyer has cancelled this tender (declared “sans suite”). You have "
                   "nothing more to prepare for it; it may be published again later.")),
            _link_line(tender.url, _("See the notice")))
    return Message(_("Tender cancelled"), _blocks(_head(tender, lang), body), icon="❌")


def render_reminder(tender: TenderRow, days_left: int, lang: str, now: datetime,
                    tz: ZoneInfo, choice: AlertChoice | None = None) -> Message:
    """J-7 / J-2: the deadline of a tender the member marked interesting is near."""
    _ = gettext_for(lang)
    days = days_until(tender.deadline, now, tz) if tender.deadline else days_left
    if days <= 0:
        heading = _("Reminder: the deadline is today")
    elif days == 1:
        heading = _("Reminder: the deadline is tomorrow")
    else:
        heading = _("Reminder: {count} days left to answer").format(count=days)
    advice = (line(_("You marked this tender as interesting. Need a hand with the documents "
                     "or a partner? Tap a button below.")),
              _link_line(tender.url, _("See the notice")))
    blocks = _blocks((line(bold(_title(tender, lang))),), _facts(tender, lang, now, tz), advice)
    return Message(heading, blocks, reminder_actions(tender.id or 0, lang, choice), icon="⏰")
