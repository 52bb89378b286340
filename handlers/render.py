"""Turn channel-neutral screens into Telegram HTML and inline keyboards.

Everything that came from a person or a register is escaped; every message is cut to fit
Telegram's 4096-character limit; callback data stays well under 64 bytes.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from channels.telegram import fit, short
from conversations.driver import Finish
from conversations.flow import Screen
from locales import gettext_for


def question_html(screen: Screen, lang: str) -> str:
    _ = gettext_for(lang)
    counter = _("Question {k}/{n}").format(k=screen.step, n=screen.total)
    parts = [f"<i>{escape(counter)}</i>"]
    if screen.error:
        parts.append(f"⚠️ {escape(screen.error)}")
    parts.append(f"<b>{escape(screen.prompt)}</b>")
    parts.extend(escape(line) for line in screen.lines)
    if screen.multi and screen.options:
        parts.append("\n".join(
            f"{'✅' if o.selected else '▫️'} {escape(o.label)}" for o in screen.options))
    return fit("\n\n".join(parts))


def question_keyboard(screen: Screen, lang: str,
                      prefix: str = "q") -> InlineKeyboardMarkup | None:
    _ = gettext_for(lang)
    rows: list[list[InlineKeyboardButton]] = []
    for index, option in enumerate(screen.options):
        mark = "✅ " if option.selected else ""
        button = InlineKeyboardButton(short(mark + option.label),
                                      callback_data=f"{prefix}|{screen.key}|c|{index}")
        # Short labels two by two, long ones alone: easier to hit with a thumb.
        if rows and len(rows[-1]) == 1 and len(option.label) <= 18 and \
                len(rows[-1][0].text) <= 18 and not screen.multi:
            rows[-1].append(button)
        else:
            rows.append([button])
    nav = []
    if screen.can_back:
        nav.append(InlineKeyboardButton(_("⬅️ Back"), callback_data=f"{prefix}|{screen.key}|back"))
    if screen.can_skip:
        nav.append(InlineKeyboardButton(_("Skip ⏭"), callback_data=f"{prefix}|{screen.key}|skip"))
    if screen.multi:
        nav.append(InlineKeyboardButton(screen.done_label or _("Done ✔️"),
                                        callback_data=f"{prefix}|{screen.key}|done"))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows) if rows else None  # Telegram refuses an empty keyboard


def summary_html(summary: list[tuple[str, str, str]], lang: str) -> str:
    _ = gettext_for(lang)
    title = _("Here is your profile. Check it, then confirm.")
    lines = [f"<b>{escape(title)}</b>", ""]
    lines += [_summary_line(label, value, lang) for _k, label, value in summary]
    return fit("\n".join(lines))


def _summary_line(label: str, value: str, lang: str) -> str:
    _ = gettext_for(lang)
    return "• " + _("{label}: {value}").format(label=f"<b>{escape(label)}</b>",
                                              value=escape(value))


def summary_keyboard(summary: list[tuple[str, str, str]], lang: str,
                     prefix: str = "s") -> InlineKeyboardMarkup:
    _ = gettext_for(lang)
    buttons = [InlineKeyboardButton(short("✏️ " + label, 24), callback_data=f"{prefix}|edit|{key}")
               for key, label, _v in summary]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    if prefix == "s":
        rows.append([InlineKeyboardButton(_("⬅️ Back"), callback_data="s|back"),
                     InlineKeyboardButton(_("✅ Confirm"), callback_data="s|confirm")])
    return InlineKeyboardMarkup(rows)


def profile_html(summary: list[tuple[str, str, str]], score: int | None, lang: str) -> str:
    _ = gettext_for(lang)
    title = _("Your profile")
    lines = [f"<b>{escape(title)}</b>", ""]
    lines += [_summary_line(label, value, lang) for _k, label, value in summary]
    if score is not None:
        lines += ["", escape(_("Readiness score: {score}/100").format(score=score))]
    lines += ["", escape(_("Tap an answer to change it."))]
    return fit("\n".join(lines))


def finish_html(finish: Finish, lang: str) -> str:
    _ = gettext_for(lang)
    saved, steps = _("✅ Your profile is saved."), _("Your next three steps:")
    lines = [
        f"<b>{escape(saved)}</b>",
        "",
        escape(_("Readiness score: {score}/100").format(score=finish.score)),
        "",
        f"<b>{escape(steps)}</b>",
    ]
    lines += [f"{i}. {escape(step)}" for i, step in enumerate(finish.steps, 1)]
    lines += ["", escape(_("You will receive the tenders that fit your profile. "
                           "/profil shows and changes it, /aide lists the commands."))]
    return fit("\n".join(lines))
