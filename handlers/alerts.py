"""Telegram adapters for alerts: the buttons under an alert, /alertes, /pause and /reprendre.

Thin: parse the update, call `alerts.actions` in a worker thread, show the result. Registered in
group -1 (before the diagnostic conversation, whose entry points catch every message and button)
and each handler stops the update there, as handlers/commands.py does.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from alerts import actions
from alerts.render import Keyboard, alert_keyboard
from handlers.common import final, in_db, lang_of

log = logging.getLogger(__name__)

_SIGNAL_ACTIONS = {"i": "interested", "n": "not_for_us", "nr": "reason", "u": "undo",
                   "p": "partners", "h": "help"}
TOAST_LIMIT = 200  # Telegram's limit for a callback answer


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """(label, callback_data) rows as an inline keyboard."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)
                                  for label, data in row] for row in keyboard])


def _pairs(reply_markup: InlineKeyboardMarkup | None) -> Keyboard:
    if reply_markup is None:
        return []
    return [[(button.text, button.callback_data) for button in row]
            for row in reply_markup.inline_keyboard]


def _now() -> datetime:
    return datetime.now(UTC)


def _tz(context: ContextTypes.DEFAULT_TYPE) -> ZoneInfo:
    settings = context.application.bot_data.get("settings")
    return settings.timezone if settings is not None else ZoneInfo("Europe/Paris")


def _toast(text: str | None) -> str | None:
    return text if text is None or len(text) <= TOAST_LIMIT else text[:TOAST_LIMIT - 1] + "…"


async def on_alert_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    parts = (query.data or "").split("|")
    user_id = update.effective_user.id
    fallback = lang_of(update, context)
    if len(parts) < 3 or not parts[2].isdigit():
        await query.answer()
        return
    code, tender_id = parts[1], int(parts[2])
    if code == "o":  # a digest's number: the full alert, as a new message
        rendered = await in_db(context, lambda s: actions.alert_for(
            s, user_id, tender_id, _now(), _tz(context), fallback))
        if rendered is None:
            await query.answer(_toast(actions.gone_text(fallback)))
            return
        await query.answer()
        await update.effective_chat.send_message(rendered.html,
                                                 reply_markup=markup(rendered.keyboard))
        return
    action = _SIGNAL_ACTIONS.get(code)
    if action is None:
        await query.answer()
        return
    reason = parts[3] if len(parts) > 3 else None
    result = await in_db(context, lambda s: actions.apply_signal(
        s, user_id, tender_id, action, reason=reason, now=_now(), fallback_lang=fallback))
    await query.answer(_toast(result.note))
    if not result.found:
        return
    # Reminders carry only the partners/help buttons: keep that shape, with the ✅ marks.
    current = _pairs(query.message.reply_markup if query.message else None)
    if _is_reminder_keyboard(current):
        keyboard = _reminder_keyboard(tender_id, result.choice, current)
    else:
        keyboard = alert_keyboard(tender_id, result.lang, result.choice)
    if keyboard != current and query.message is not None:
        await query.edit_message_reply_markup(markup(keyboard))
    if result.follow_up:
        await update.effective_chat.send_message(escape(result.follow_up))
    if result.advisor_note:
        await _tell_advisors(context, result.advisor_note)


def _is_reminder_keyboard(current: Keyboard) -> bool:
    codes = {data.split("|")[1] for row in current for _label, data in row if data}
    return bool(current) and codes <= {"p", "h"}


def _reminder_keyboard(tender_id: int, choice, current: Keyboard) -> Keyboard:
    """The reminder's two buttons, marked ✅ once requested."""
    done = {f"a|p|{tender_id}": choice.partners, f"a|h|{tender_id}": choice.help}
    return [[(("✅ " if done.get(data) else "") + label.removeprefix("✅ "), data)
             for label, data in row] for row in current]


async def _tell_advisors(context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    settings = context.application.bot_data.get("settings")
    for advisor_id in sorted(settings.advisor_ids if settings is not None else ()):
        try:
            await context.bot.send_message(advisor_id, escape(text))
        except TelegramError:  # an advisor who never started the bot: not the member's problem
            log.warning("could not notify advisor %s", advisor_id, exc_info=True)


async def alerts_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = update.effective_user.id
    fallback = lang_of(update, context)
    result = await in_db(context, lambda s: actions.open_menu(
        s, user_id, _now(), _tz(context), fallback))
    if result.rendered is None:
        await update.effective_chat.send_message(escape(result.note or ""))
        return
    await update.effective_chat.send_message(result.rendered.html,
                                             reply_markup=markup(result.rendered.keyboard))


async def on_menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    parts = (query.data or "").split("|")[1:]
    user_id = update.effective_user.id
    fallback = lang_of(update, context)
    result = await in_db(context, lambda s: actions.menu_action(
        s, user_id, parts, _now(), _tz(context), fallback))
    await query.answer(_toast(result.note))
    if result.rendered is None or query.message is None:
        return
    current = _pairs(query.message.reply_markup)
    new = result.rendered.keyboard or []
    # Telegram refuses an edit that changes nothing ("message is not modified").
    if result.changed or result.closed or new != current:
        await query.edit_message_text(result.rendered.html,
                                      reply_markup=markup(result.rendered.keyboard))


async def pause_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = update.effective_user.id
    args = list(context.args or [])
    fallback = lang_of(update, context)
    text = await in_db(context, lambda s: actions.pause_command(
        s, user_id, args, _now(), _tz(context), fallback))
    await update.effective_chat.send_message(escape(text))


async def resume_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = update.effective_user.id
    fallback = lang_of(update, context)
    text = await in_db(context, lambda s: actions.resume_command(
        s, user_id, _now(), _tz(context), fallback))
    await update.effective_chat.send_message(escape(text))


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(final(on_alert_button), pattern=r"^a\|"),
                            group=-1)
    application.add_handler(CallbackQueryHandler(final(on_menu_button), pattern=r"^al\|"),
                            group=-1)
    application.add_handler(CommandHandler(["alertes", "alerts"], final(alerts_command)),
                            group=-1)
    application.add_handler(CommandHandler("pause", final(pause_command)), group=-1)
    application.add_handler(CommandHandler(["reprendre", "resume"], final(resume_command)),
                            group=-1)
