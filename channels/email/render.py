"""A Message as an email body: plain text and an HTML alternative, from Jinja2 templates
(templates/message.txt.j2, message.html.j2), in the member's language.

The HTML template autoescapes everything (a buyer's "<script>" is text); links are only the
http(s) URLs the core already checked (alerts.render.safe_url), checked again here. Actions are
shown as the reply commands to type (channels.email.commands): a tender's "INTERESSE — Intéressé",
a digest's "INTERESSE 2" with the item numbers the digest already shows. Other actions (an
event's *Je m'inscris*, any later flow's buttons) are numbered choices, "1 — Je m'inscris", when
the email's thread can read the number back (channels.email.choices); the /alertes menu's
buttons are left out: by email, PAUSE, REPRENDRE and STOP do it.

Every user-facing text here goes through gettext; the templates hold markup only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from alerts.message import Action, Intent, Line, Message, Span
from channels.email import commands as C
from locales import gettext_for, normalise_language

# Intent of an action → the command that does it by email.
_COMMAND_OF = {Intent.INTERESTED: C.INTERESTED, Intent.NOT_FOR_US: C.NOT_FOR_US,
               Intent.PARTNERS: C.PARTNERS, Intent.HELP: C.HELP, Intent.UNDO: C.UNDO,
               Intent.OPEN: C.OPEN, Intent.PAUSE: C.PAUSE, Intent.RESUME: C.RESUME,
               Intent.STOP: C.STOP, Intent.PROPOSAL_ACCEPT: C.ACCEPT,
               Intent.PROPOSAL_REFUSE: C.DECLINE, Intent.GROUPEMENT_SHARE: C.SHARE}
# What a digest's numbers can be used with, in this order.
_DIGEST_COMMANDS = (C.INTERESTED, C.NOT_FOR_US, C.PARTNERS, C.HELP, C.OPEN)


@dataclass(frozen=True, slots=True)
class Body:
    subject: str
    text: str
    html: str


class _Environment(Environment):
    """The templates read plain dicts (`span.text`): look the key up first, instead of Jinja's
    attribute lookup that fails, raises and then tries the key — per span of every email."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


@cache
def environment() -> Environment:
    return _Environment(loader=PackageLoader("channels.email", "templates"),
                       autoescape=select_autoescape(enabled_extensions=("html.j2",),
                                                    default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined,
                       keep_trailing_newline=True, auto_reload=False)


def _safe_link(url: str | None) -> str | None:
    url = (url or "").strip()
    if not url.startswith(("http://", "https://")) or len(url) > 2000:
        return None
    if any(ch.isspace() or not ch.isprintable() or ch in "<>\"'" for ch in url):
        return None
    return url


def _span(span: Span) -> dict:
    return {"text": span.text, "bold": span.bold, "italic": span.italic, "strike": span.strike,
            "link": _safe_link(span.link)}


def _label(action: Action) -> str:
    # The core's labels carry Telegram's small markers ("↩️ Undo", "🚫 …"): kept, they read fine.
    return " ".join(action.label.split())


# The /alertes menu's buttons: by email, PAUSE, REPRENDRE and STOP do it.
_MENU_ONLY = frozenset({Intent.MENU, Intent.RHYTHM, Intent.DIGEST_HOUR, Intent.WEEKLY_DAY,
                        Intent.QUIET_HOURS, Intent.WEEKENDS, Intent.DONE})


def choices_of(message: Message) -> list[Action]:
    """The actions with no command of their own (Je m'inscris, Accepter, Je prends…), in the
    order the email numbers them: a reply "2" (or "CHOIX 2") is the second."""
    return [action for row in message.actions for action in row
            if action.intent not in _COMMAND_OF and action.intent not in _MENU_ONLY]


def commands_of(message: Message, lang: str, numbered: bool = False) -> tuple[list[dict],
                                                                               list[str]]:
    """(command lines, hints) for the message's actions; `numbered`: the actions with no
    command of their own as numbered choices too (their email can read the number back)."""
    _ = gettext_for(lang)
    lines: list[dict] = []
    hints: list[str] = []
    seen: set[str] = set()
    items = [a for row in message.actions for a in row if a.intent == Intent.OPEN and a.item]
    if items:
        numbers = [a.item for a in items]
        example = numbers[min(1, len(numbers) - 1)]
        words = ", ".join(f"{C.shown(c, lang)} n" for c in _DIGEST_COMMANDS)
        hints.append(_("Reply with a command followed by the number of the tender, for example "
                       "{example}: {words}.").format(
            example=f"{C.shown(C.INTERESTED, lang)} {example}", words=words))
        hints.append(_("{show} n sends you the whole notice of tender n; {no} n {far} says it "
                       "is too far.").format(show=C.shown(C.OPEN, lang),
                                             no=C.shown(C.NOT_FOR_US, lang),
                                             far=C.REASON_SHOWN[normalise_language(lang)]["far"]))
    for row in message.actions:
        for action in row:
            command = _COMMAND_OF.get(action.intent)
            if command is None or action.intent == Intent.OPEN:
                continue
            word = C.shown(command, lang)
            if action.intent == Intent.NOT_FOR_US and action.arg:
                word += " " + C.REASON_SHOWN[normalise_language(lang)].get(action.arg,
                                                                           action.arg)
            elif action.intent == Intent.PAUSE and action.arg:
                word += " " + action.arg
            elif action.intent == Intent.GROUPEMENT_SHARE and action.arg:
                word += " " + C.FIELD_SHOWN[normalise_language(lang)].get(action.arg, action.arg)
            if word in seen:
                continue
            seen.add(word)
            lines.append({"word": word, "label": _label(action), "selected": action.selected})
    if numbered:
        for number, action in enumerate(choices_of(message), start=1):
            lines.append({"word": str(number), "label": _label(action),
                          "selected": action.selected})
    return lines, hints


def _blocks(message: Message, lang: str) -> list[list[dict]]:
    blocks = []
    for block in message.blocks:
        lines = [{"item": line.item, "spans": [_span(s) for s in line.spans]}
                 for line in block if _keep(line)]
        if lines:
            blocks.append(lines)
    return blocks


def _keep(line: Line) -> bool:
    return bool(line.text.strip()) and not line.telegram_only


def footer(lang: str) -> list[str]:
    _ = gettext_for(lang)
    return [
        _("Reply to this email to act on it: only the first line of your reply is read."),
        _("{help} followed by your question reaches an advisor; {pause} 14 pauses the alerts "
          "for 14 days; {stop} stops them.").format(help=C.shown(C.HELP, lang),
                                                   pause=C.shown(C.PAUSE, lang),
                                                   stop=C.shown(C.STOP, lang)),
    ]


def render_body(messages: Message | Sequence[Message], lang: str, *,
                note: str | None = None, unsubscribe_url: str | None = None,
                subject: str | None = None, with_footer: bool = True,
                numbered: bool = False) -> Body:
    """One email of `messages` (an alert; or an answer: `note` first — "Noted" — then what the
    reply brought, such as the full alert). `numbered`: the first message's actions with no
    command of their own are numbered choices (channels.email.choices reads the reply)."""
    _ = gettext_for(lang)
    lang = normalise_language(lang)
    messages = [messages] if isinstance(messages, Message) else list(messages)
    sections = []
    for index, message in enumerate(messages):
        commands, hints = commands_of(message, lang, numbered and index == 0)
        sections.append({"title": message.title or "", "icon": message.icon or "",
                         "blocks": _blocks(message, lang), "commands": commands,
                         "hints": hints})
    first = messages[0] if messages else Message()
    title = subject or first.title or note or _("Centrale")
    icon = first.icon if first.icon and not subject and first.title else ""
    subject_line = " ".join((icon + " " + title).split())[:200]
    values = {
        "lang": lang, "subject": subject_line, "note": note, "sections": sections,
        "commands_heading": _("To act on it, reply with one of these words:"),
        "footer": footer(lang) if with_footer else [], "unsubscribe_url": _safe_link(unsubscribe_url),
        "unsubscribe_label": _("Unsubscribe in one click"),
    }
    env = environment()
    return Body(subject_line, env.get_template("message.txt.j2").render(values),
                env.get_template("message.html.j2").render(values))
