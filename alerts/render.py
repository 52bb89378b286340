"""What a member reads on the phone: alerts, digests, updates, cancellations and reminders.

Pure: no I/O, no Telegram import. Each function returns a `Rendered` (Telegram HTML and an inline
keyboard as plain (label, callback_data) pairs) that any sender can turn into its own types.

Safety rules, held for any input (tests throw arbitrary text at them):
- every string that came from a buyer, a source or a member is escaped with `html.escape`;
- every message is at most `LIMIT` UTF-16 code units of *HTML* (Telegram counts its 4096 limit on
  the visible text in UTF-16 units; the HTML is never shorter, so this bound is the strict one).
  Long fields are cut in plain text before escaping, at a word boundary when one is near, so a cut
  never falls inside a tag or an entity;
- callback data stays under 64 bytes (tender ids are integers).

Callback data of the alert buttons (parsed by handlers/alerts.py):
  a|i|<tid> interested · a|n|<tid> not for us · a|nr|<tid>|<reason> not for us, with a reason ·
  a|u|<tid> undo the choice · a|p|<tid> look for partners · a|h|<tid> need help ·
  a|o|<tid> open one tender of a digest as a full alert.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from babel.dates import format_time

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

LIMIT = 4096
CLOSE_DEADLINE_DAYS = 7  # ⏰ marks a deadline this close
DIGEST_DETAILED = 10  # items shown in full in a digest; the rest are listed compactly

# Caps (UTF-16 units of escaped HTML) so that the fixed part of an alert always leaves room for
# the description and the lots; see `render_alert`.
TITLE_CAP = 400
BUYER_CAP = 200
REASON_CAP = 200
MAX_REASONS = 6
URL_CAP = 600
PLACES_SHOWN = 4
LOT_TITLE_CAP = 160
MAX_LOTS = 10
DESCRIPTION_CAP = 700

Keyboard = list[list[tuple[str, str]]]

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
class Rendered:
    html: str
    keyboard: Keyboard | None = None


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


def units(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clean(text: object) -> str:
    """One line of plain text: whitespace collapsed, lone surrogates and control characters out
    (Telegram refuses text that is not valid UTF-8)."""
    value = "" if text is None else str(text)
    value = value.encode("utf-8", "replace").decode("utf-8")
    value = "".join(ch if ch.isprintable() or ch in " \t\n" else " " for ch in value)
    return " ".join(value.split())


def clip(text: object, cap: int) -> str:
    """`text` cleaned, cut so that its *escaped* form fits in `cap` UTF-16 units, then escaped."""
    plain = clean(text)
    escaped = escape(plain)
    if units(escaped) <= cap:
        return escaped
    if cap <= 1:
        return ""
    cut = plain[:cap]
    while cut and units(escape(cut)) + 1 > cap:
        over = units(escape(cut)) + 1 - cap
        # An escaped character takes at most 6 units ("&quot;"): cut at least a sixth of the excess.
        cut = cut[: len(cut) - max(1, over // 6)]
    space = cut.rfind(" ")
    if space > len(cut) * 2 // 3:  # a word boundary close enough to the cut: use it
        cut = cut[:space]
    return escape(cut.rstrip(" ,;:-")) + "…"


def _href(url: str | None) -> str | None:
    """The escaped href of a plain http(s) URL of sensible length, else None."""
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")) or units(escape(url)) > URL_CAP:
        return None
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return None
    return escape(url, quote=True)


def _link(url: str | None, label: str) -> str | None:
    href = _href(url)
    return f'<a href="{href}">{escape(label)}</a>' if href else None


def amount(value: float | int, lang: str) -> str:
    """A euro amount the French way; absurd values (a parsing slip upstream) shown raw."""
    if not math.isfinite(value) or abs(value) >= 1e13:
        return clean(value)
    return format_amount(value, lang)


def _local(value: datetime, tz: ZoneInfo) -> datetime:
    return value.astimezone(tz)


def days_until(deadline: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Calendar days between today and the deadline's day, in the configured timezone."""
    return (_local(deadline, tz).date() - _local(now, tz).date()).days


def format_deadline(deadline: datetime, lang: str, now: datetime, tz: ZoneInfo) -> str:
    """"15 janvier 2027 à 12:00 (dans 12 jours)" — plain text, to be escaped by the caller."""
    _ = gettext_for(lang)
    local = _local(deadline, tz)
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
    return f"{text} ({relative})"


def _place(departements: Sequence[str], lang: str) -> str:
    _ = gettext_for(lang)
    names = []
    for code in list(departements)[:PLACES_SHOWN]:
        dept = departement(code)
        names.append(f"{dept.name} ({dept.code})" if dept else clean(code))
    text = ", ".join(names)
    extra = len(departements) - PLACES_SHOWN
    if extra > 0:
        ngettext = ngettext_for(lang)
        text = ngettext("{places} and {count} more département", "{places} and {count} more "
                        "départements", extra).format(places=text, count=extra)
    return text


def _badges(tender: TenderRow, lang: str, close: bool) -> list[str]:
    _ = gettext_for(lang)
    badges = []
    if tender.reserved in _RESERVED_BADGES:
        badges.append("♻️ " + escape(_(_RESERVED_BADGES[tender.reserved])))
    if tender.social_clause:
        badges.append("♻️ " + escape(_("Social clause (insertion hours)")))
    if close:
        badges.append("⏰ " + escape(_("Deadline close")))
    return badges


def _is_close(tender: TenderRow, now: datetime, tz: ZoneInfo) -> bool:
    return bool(tender.deadline and tender.deadline >= now
                and days_until(tender.deadline, now, tz) <= CLOSE_DEADLINE_DAYS)


def _fact(label: str, value_html: str, lang: str) -> str:
    # "Buyer:" / "Acheteur :" — French puts a space before the colon.
    _ = gettext_for(lang)
    return _("{label}: {value}").format(label=f"<b>{escape(label)}</b>", value=value_html)


def _facts(tender: TenderRow, lang: str, now: datetime, tz: ZoneInfo) -> list[str]:
    _ = gettext_for(lang)
    lines = []
    if clean(tender.buyer):
        lines.append(_fact(_("Buyer"), clip(tender.buyer, BUYER_CAP), lang))
    if tender.departements:
        lines.append(_fact(_("Place"), clip(_place(tender.departements, lang), 300), lang))
    if tender.deadline:
        lines.append(_fact(_("Deadline"),
                           escape(format_deadline(tender.deadline, lang, now, tz)), lang))
    if tender.estimated_value and tender.estimated_value > 0:
        lines.append(_fact(_("Estimated value"),
                           escape(amount(tender.estimated_value, lang)), lang))
    return lines


def _reason_text(reason: Mapping[str, object], lang: str) -> str:
    try:
        return render_reason(Reason.from_dict(reason), lang)
    except Exception:  # a malformed stored reason must not stop the alert
        return str(reason.get("kind", ""))


def _reasons(reasons: Sequence[Mapping[str, object]], lang: str) -> list[str]:
    texts = [_reason_text(reason, lang) for reason in reasons[:MAX_REASONS]]
    return ["• " + clip(text, REASON_CAP) for text in texts if clean(text)]


def _lot_line(lot: LotRow, lang: str, title_cap: int) -> str:
    _ = gettext_for(lang)
    label = escape(_("Lot {number}").format(number=clean(lot.number)[:20] or "?"))
    line = f"• <b>{label}</b>"
    if clean(lot.title):
        line += " " + clip(lot.title, title_cap)
    if lot.estimated_value and lot.estimated_value > 0:
        line += " — " + escape(amount(lot.estimated_value, lang))
    return line


def _lots(lots: Sequence[LotRow], lang: str, shown: int, title_cap: int) -> list[str]:
    if not lots:
        return []
    _ = gettext_for(lang)
    lines = [f"<b>{escape(_('Lots ({count}):').format(count=len(lots)))}</b>"]
    lines += [_lot_line(lot, lang, title_cap) for lot in lots[:shown]]
    if len(lots) > shown:
        more = len(lots) - shown
        lines.append(escape(ngettext_for(lang)(
            "… and {count} more lot (see the notice)", "… and {count} more lots (see the notice)",
            more).format(count=more)))
    return lines


def _join(blocks: Sequence[Sequence[str]]) -> str:
    return "\n\n".join("\n".join(block) for block in blocks if block)


def _safe_cut(html_text: str, limit: int = LIMIT) -> str:
    """Last resort (never reached with the caps above): drop whole lines from the end."""
    if units(html_text) <= limit:
        return html_text
    lines = html_text.split("\n")
    while lines and units("\n".join(lines) + "\n…") > limit:
        lines.pop()
    return "\n".join(lines) + "\n…"


# --- keyboards -----------------------------------------------------------------------------------


def alert_keyboard(tender_id: int, lang: str, choice: AlertChoice | None = None) -> Keyboard:
    """The buttons under an alert, showing what the member already chose."""
    _ = gettext_for(lang)
    choice = choice or AlertChoice()
    tid = int(tender_id)
    if choice.picking_reason:
        keys = list(NOT_FOR_US_REASONS)
        rows = [[(_(NOT_FOR_US_REASONS[k]), f"a|nr|{tid}|{k}") for k in keys[i:i + 2]]
                for i in range(0, len(keys), 2)]
        rows.append([(_("↩️ Undo"), f"a|u|{tid}")])
        return rows
    follow_up = [
        (("✅ " if choice.partners else "") + _("Find partners"), f"a|p|{tid}"),
        (("✅ " if choice.help else "") + _("Need help"), f"a|h|{tid}"),
    ]
    if choice.interested:
        return [[("✅ " + _("Interested"), f"a|i|{tid}"), (_("↩️ Undo"), f"a|u|{tid}")],
                follow_up]
    if choice.not_for_us:
        label = _("Not for us")
        if choice.reason in NOT_FOR_US_REASONS:
            label = _("Not for us: {reason}").format(
                reason=_(NOT_FOR_US_REASONS[choice.reason]).lower())
        return [[("🚫 " + label, f"a|n|{tid}")], [(_("↩️ Undo"), f"a|u|{tid}")]]
    return [[(_("Interested"), f"a|i|{tid}"), (_("Not for us"), f"a|n|{tid}")], follow_up]


# --- messages ------------------------------------------------------------------------------------


def render_alert(tender: TenderRow, lots: list[LotRow], reasons: list[dict], score: int,
                 lang: str, now: datetime, tz: ZoneInfo,
                 choice: AlertChoice | None = None) -> Rendered:
    """One tender, in full, with the buttons to act on it."""
    _ = gettext_for(lang)
    head = [f"<b>{clip(tender.title, TITLE_CAP) or escape(_('(untitled tender)'))}</b>"]
    badges = _badges(tender, lang, _is_close(tender, now, tz))
    if badges:
        head.append(" · ".join(badges))
    facts = _facts(tender, lang, now, tz)
    reason_lines = _reasons(reasons, lang)
    why = [f"<b>{escape(_('Why this tender:'))}</b>", *reason_lines] if reason_lines else []
    link = _link(tender.url, _("See the notice"))
    tail = [link] if link else []
    description = clean(tender.description)
    show_description = description and description.casefold() != clean(tender.title).casefold()

    # Shrink the optional parts (description, then lots) until the message fits.
    for desc_cap, lots_shown, lot_cap in ((DESCRIPTION_CAP, MAX_LOTS, LOT_TITLE_CAP),
                                          (400, 6, 100), (200, 3, 60), (0, 0, 0)):
        desc = [clip(description, desc_cap)] if show_description and desc_cap else []
        lot_lines = _lots(lots, lang, lots_shown, lot_cap) if lot_cap else (
            [escape(_("Lots: {count} (see the notice)").format(count=len(lots)))] if lots else [])
        html_text = _join([head, facts, [d for d in desc if d], lot_lines, why, tail])
        if units(html_text) <= LIMIT:
            break
    return Rendered(_safe_cut(html_text), alert_keyboard(tender.id or 0, lang, choice))


def _digest_item(number: int, tender: TenderRow, lang: str, now: datetime, tz: ZoneInfo,
                 title_cap: int, detailed: bool) -> str:
    _ = gettext_for(lang)
    title = clip(tender.title, title_cap) or escape(_("(untitled tender)"))
    href = _href(tender.url)
    if href:  # the title itself links to the notice
        title = f'<a href="{href}">{title}</a>'
    lines = [f"<b>{number}.</b> {title}"]
    if detailed:
        bits = []
        if clean(tender.buyer):
            bits.append(clip(tender.buyer, max(40, title_cap // 2)))
        if tender.departements:
            bits.append(clip(_place(tender.departements[:2], lang), 80))
        if bits:
            lines.append(" · ".join(bits))
        bits = []
        if tender.deadline:
            marker = "⏰ " if _is_close(tender, now, tz) else ""
            bits.append(marker + escape(format_deadline(tender.deadline, lang, now, tz)))
        if tender.estimated_value and tender.estimated_value > 0:
            bits.append(escape(amount(tender.estimated_value, lang)))
        if tender.reserved in _RESERVED_BADGES or tender.social_clause:
            bits.append("♻️ " + escape(_("reserved") if tender.reserved in _RESERVED_BADGES
                                       else _("social clause")))
        if bits:
            lines.append(" · ".join(bits))
    elif tender.deadline:
        lines[0] += " — " + escape(format_date(_local(tender.deadline, tz).date(), lang, "short"))
    return "\n".join(lines)


def render_digest(items: list[tuple[TenderRow, list[LotRow], list[dict], int]], lang: str,
                  now: datetime, tz: ZoneInfo, rhythm: str) -> Rendered:
    """Several tenders in one message: best score first, the first ten in some detail with a
    number button each (it opens the full alert), the others listed compactly."""
    _ = gettext_for(lang)
    ordered = sorted(items, key=lambda item: (-item[3], _deadline_key(item[0]),
                                              item[0].id or 0))
    count = len(ordered)
    ngettext = ngettext_for(lang)
    if rhythm == "weekly":
        heading = ngettext("Your weekly digest: {count} tender",
                           "Your weekly digest: {count} tenders", count)
    else:
        heading = ngettext("Your daily digest: {count} tender",
                           "Your daily digest: {count} tenders", count)
    heading = heading.format(count=count)
    head = f"📬 <b>{escape(heading)}</b>"
    detailed = ordered[:DIGEST_DETAILED]
    rest = ordered[DIGEST_DETAILED:]
    hint = escape(_("Tap a number to see the tender and answer it."))
    for title_cap in (160, 110, 70, 40):
        blocks = [head]
        blocks += [_digest_item(i, t, lang, now, tz, title_cap, True)
                   for i, (t, *_rest) in enumerate(detailed, 1)]
        if units("\n\n".join(blocks)) + units(hint) + 400 <= LIMIT:
            break
    html_text = "\n\n".join(blocks)
    if rest:
        more = escape(_("And {count} more:").format(count=len(rest)))
        lines = [f"<b>{more}</b>"]
        budget = LIMIT - units(html_text) - units(hint) - 80
        shown = 0
        for number, (tender, *_rest) in enumerate(rest, DIGEST_DETAILED + 1):
            line = _digest_item(number, tender, lang, now, tz, 70, False)
            if units("\n".join(lines)) + units(line) + 1 > budget:
                break
            lines.append(line)
            shown += 1
        if shown < len(rest):
            hidden = len(rest) - shown
            lines.append(escape(ngettext(
                "… and {count} other: /alertes to receive fewer, better targeted tenders.",
                "… and {count} others: /alertes to receive fewer, better targeted tenders.",
                hidden).format(count=hidden)))
        html_text += "\n\n" + "\n".join(lines)
    html_text = _safe_cut(html_text + "\n\n" + f"<i>{hint}</i>")
    buttons = [(str(i), f"a|o|{int(t.id or 0)}") for i, (t, *_rest) in enumerate(detailed, 1)]
    keyboard = [buttons[i:i + 5] for i in range(0, len(buttons), 5)] or None
    return Rendered(html_text, keyboard)


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
    if isinstance(value, date):
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else None
    return None


def _change_value(field: str, value: object, lang: str, now: datetime, tz: ZoneInfo) -> str:
    """A changed field's old or new value as escaped HTML."""
    _ = gettext_for(lang)
    if value is None or value == "" or value == []:
        return escape(_("none"))
    if field == "deadline":
        moment = _parse_datetime(value)
        if moment is not None:
            return escape(format_deadline(moment, lang, now, tz))
        if isinstance(value, date):
            return escape(format_date(value, lang))
    if field in ("estimated_value", "value") and isinstance(value, int | float) \
            and not isinstance(value, bool):
        return escape(amount(value, lang))
    if isinstance(value, bool):
        return escape(_("yes") if value else _("no"))
    if field == "departements" and isinstance(value, list):
        return clip(_place([str(v) for v in value], lang), 200)
    if field == "reserved" and isinstance(value, str):
        return escape(_(_RESERVED_BADGES[value])) if value in _RESERVED_BADGES else escape(_("no"))
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
        return clip(text, 300)
    return clip(value, 300)


def render_update(tender: TenderRow, changes: list[dict], lang: str, now: datetime,
                  tz: ZoneInfo) -> Rendered:
    """A rectificatif of a tender the member was alerted to: what changed, old → new."""
    _ = gettext_for(lang)
    heading = _("Change to a tender you received")
    lines = [f"✏️ <b>{escape(heading)}</b>",
             f"<b>{clip(tender.title, TITLE_CAP) or escape(_('(untitled tender)'))}</b>"]
    if clean(tender.buyer):
        lines.append(clip(tender.buyer, BUYER_CAP))
    change_lines = []
    for change in changes[:10]:
        field = str(change.get("field", ""))
        label = _(_FIELD_LABELS[field]) if field in _FIELD_LABELS else clean(field)[:40]
        old = _change_value(field, change.get("old"), lang, now, tz)
        new = _change_value(field, change.get("new"), lang, now, tz)
        if field == "description":  # long texts: only say it changed
            change_lines.append("• " + _fact(label, escape(_("updated")), lang))
        else:
            change_lines.append("• " + _fact(label, f"<s>{old}</s> → <b>{new}</b>", lang))
    if not change_lines:
        change_lines.append(escape(_("The buyer published a correction (rectificatif). Check the "
                                     "notice for the details.")))
    blocks = [lines, [f"<b>{escape(_('What changed:'))}</b>", *change_lines]]
    link = _link(tender.url, _("See the notice"))
    if link:
        blocks.append([link])
    return Rendered(_safe_cut(_join(blocks)), None)


def render_cancellation(tender: TenderRow, lang: str) -> Rendered:
    """A tender the member marked interest in was cancelled."""
    _ = gettext_for(lang)
    heading = _("Tender cancelled")
    lines = [f"❌ <b>{escape(heading)}</b>",
             f"<b>{clip(tender.title, TITLE_CAP) or escape(_('(untitled tender)'))}</b>"]
    if clean(tender.buyer):
        lines.append(clip(tender.buyer, BUYER_CAP))
    body = [escape(_("The buyer has cancelled this tender (declared “sans suite”). You have "
                     "nothing more to prepare for it; it may be published again later."))]
    link = _link(tender.url, _("See the notice"))
    if link:
        body.append(link)
    return Rendered(_safe_cut(_join([lines, body])), None)


def render_reminder(tender: TenderRow, days_left: int, lang: str, now: datetime,
                    tz: ZoneInfo) -> Rendered:
    """J-7 / J-2: the deadline of a tender the member marked interesting is near."""
    _ = gettext_for(lang)
    days = days_until(tender.deadline, now, tz) if tender.deadline else days_left
    if days <= 0:
        heading = _("Reminder: the deadline is today")
    elif days == 1:
        heading = _("Reminder: the deadline is tomorrow")
    else:
        heading = _("Reminder: {count} days left to answer").format(count=days)
    lines = [f"⏰ <b>{escape(heading)}</b>",
             f"<b>{clip(tender.title, TITLE_CAP) or escape(_('(untitled tender)'))}</b>"]
    facts = _facts(tender, lang, now, tz)
    advice = [escape(_("You marked this tender as interesting. Need a hand with the documents "
                       "or a partner? Tap a button below."))]
    link = _link(tender.url, _("See the notice"))
    if link:
        advice.append(link)
    keyboard = [[(_("Find partners"), f"a|p|{int(tender.id or 0)}"),
                 (_("Need help"), f"a|h|{int(tender.id or 0)}")]]
    return Rendered(_safe_cut(_join([lines, facts, advice])), keyboard)
