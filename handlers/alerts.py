"""Telegram adapters for alerts: the buttons under an alert, /alertes, /pause, /reprendre and
/stop.

Thin: decode the button or command to a `Request` (channels/telegram.decode), find the member
sending it, let `alerts.actions.handle` carry it out in a worker thread, and show its `Reply` with
the Telegram channel. Registered in group -1 (before the diagnostic conversation, whose entry
points catch every message and button) and each handler stops the update there, as
handlers/commands.py does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from alerts import actions
from alerts.message import Intent, Request
from alerts.preferences import parse_pause_days, pause_error
from alerts.render import alert_actions, reminder_actions
from channels import telegram as channel
from handlers.common import final, in_db, lang_of
from store.members import member_by_telegram

TOAST_LIMIT = 200  # Telegram's limit for a callback answer
_REMINDER_INTENTS = {Intent.PARTNERS, Intent.HELP}


def _now() -> datetime:
    return datetime.now(UTC)


def _tz(context: ContextTypes.DEFAULT_TYPE) -> ZoneInfo:
    """CENTRALE_TIMEZONE, put in bot_data by bot.app (an Application built without it: Paris)."""
    return context.application.bot_data.get("timezone") or ZoneInfo("Europe/Paris")


def _toast(text: str | None) -> str | None:
    return text if text is None or len(text) <= TOAST_LIMIT else text[:TOAST_LIMIT - 1] + "…"


async def _handle(update: Update, context: ContextTypes.DEFAULT_TYPE,
                  request: Request) -> actions.Reply:
    user_id = update.effective_user.id
    fallback = lang_of(update, context)
    now, tz = _now(), _tz(context)

    def work(session):
        member = member_by_telegram(session, user_id)
        return actions.handle(session, member.id if member else None, request, now, tz,
                              fallback)

    return await in_db(context, work)


async def _send(update: Update, reply: actions.Reply) -> None:
    for message in reply.messages:
        rendered = channel.render(message)
        await update.effective_chat.send_message(rendered.html,
                                                 reply_markup=channel.markup(rendered.keyboard))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any button of an alert, a digest, a reminder or the /alertes menu."""
    query = update.callback_query
    request = channel.decode(query.data)
    if request is None:  # not ours, forged or from an old version: nothing to do
        await query.answer()
        return
    reply = await _handle(update, context, request)
    await query.answer(_toast(reply.note))
    message = query.message
    if message is not None and reply.choice is not None and request.target is not None:
        current = channel.pairs(message.reply_markup)
        # A reminder carries only the partners / help buttons: it keeps that shape.
        codes = {channel.decode(data).intent for row in current for _label, data in row
                 if channel.decode(data) is not None}
        shape = reminder_actions if current and codes <= _REMINDER_INTENTS else alert_actions
        keyboard = channel.keyboard(shape(request.target, reply.lang, reply.choice))
        if keyboard != current:
            await query.edit_message_reply_markup(channel.markup(keyboard))
    elif message is not None and reply.screen is not None:
        rendered = channel.render(reply.screen)
        # Telegram refuses an edit that changes nothing ("message is not modified").
        if reply.changed or reply.closed or (rendered.keyboard or []) != channel.pairs(
                message.reply_markup):
            await query.edit_message_text(rendered.html,
                                          reply_markup=channel.markup(rendered.keyboard))
    await _send(update, reply)


async def _command(update: Update, context: ContextTypes.DEFAULT_TYPE,
                   request: Request) -> None:
    reply = await _handle(update, context, request)
    if reply.screen is not None and not reply.note:
        rendered = channel.render(reply.screen)
        await update.effective_chat.send_message(rendered.html,
                                                 reply_markup=channel.markup(rendered.keyboard))
    elif reply.note:
        await update.effective_chat.send_message(escape(reply.note))
    await _send(update, reply)


async def alerts_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, Request(Intent.MENU, arg="main"))


async def pause_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    try:
        days = parse_pause_days(list(context.args or []))
    except ValueError:
        await update.effective_chat.send_message(escape(pause_error(lang_of(update, context))))
        return
    await _command(update, context, Request(Intent.PAUSE, arg=str(days)))


async def resume_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, Request(Intent.RESUME))


async def stop_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _command(update, context, Request(Intent.STOP))


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(final(on_button), pattern=r"^(a|al)\|"),
                            group=-1)
    application.add_handler(CommandHandler(["alertes", "alerts"], final(alerts_command)),
                            group=-1)
    application.add_handler(CommandHandler("pause", final(pause_command)), group=-1)
    application.add_handler(CommandHandler(["reprendre", "resume"], final(resume_command)),
                            group=-1)
    application.add_handler(CommandHandler("stop", final(stop_command)), group=-1)
