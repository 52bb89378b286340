"""Telegram adapters for the advisors' tools and the members' event answers: the buttons
ev|… (Je m'inscris / Pas disponible) and adv|… (advisors' lists and actions), /annonces and
/stats. Thin, as handlers/alerts.py: decode to a `Request`, find the member, let
`announcements.actions.handle` (or `stats`) do it in a worker thread, show its Reply with the
Telegram channel (attachments as documents or photos).
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from html import escape
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from alerts.actions import Reply
from alerts.message import Intent, Request
from announcements import actions
from channels import telegram as channel
from handlers.common import final, in_db, lang_of
from store.members import member_by_telegram

TOAST_LIMIT = 200


def now() -> datetime:
    return datetime.now(UTC)


def timezone(context: ContextTypes.DEFAULT_TYPE) -> ZoneInfo:
    return context.application.bot_data.get("timezone") or ZoneInfo("Europe/Paris")


def _toast(text: str | None) -> str | None:
    return text if text is None or len(text) <= TOAST_LIMIT else text[:TOAST_LIMIT - 1] + "…"


async def run(update: Update, context: ContextTypes.DEFAULT_TYPE, request: Request,
              entry=actions.handle) -> Reply:
    """`entry(session, member_id, request, now, tz, fallback_lang)` in a worker thread."""
    user_id = update.effective_user.id
    fallback = lang_of(update, context)
    moment, tz = now(), timezone(context)

    def work(session):
        member = member_by_telegram(session, user_id)
        return entry(session, member.id if member else None, request, moment, tz, fallback)

    return await in_db(context, work)


async def send_messages(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        reply: Reply) -> None:
    for message in reply.messages:
        await channel.send_rendered(context.bot, update.effective_chat.id,
                                    channel.render(message))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    request = channel.decode(query.data)
    if request is None:
        await query.answer()
        return
    entry = stats_entry(context) if request.intent == Intent.STATS else actions.handle
    reply = await run(update, context, request, entry)
    await query.answer(_toast(reply.note))
    message = query.message
    if message is not None and reply.screen is not None:
        rendered = channel.render(reply.screen)
        try:
            if request.intent in actions.EVENT_INTENTS or not reply.screen.blocks:
                if (rendered.keyboard or []) != channel.pairs(message.reply_markup):
                    await query.edit_message_reply_markup(channel.markup(rendered.keyboard))
            else:
                await query.edit_message_text(rendered.html,
                                              reply_markup=channel.markup(rendered.keyboard))
        except BadRequest as error:  # "message is not modified": nothing to change
            if "not modified" not in str(error).lower():
                raise
    await send_messages(update, context, reply)


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE, request: Request,
                  entry=actions.handle) -> None:
    reply = await run(update, context, request, entry)
    if reply.note:
        await update.effective_chat.send_message(escape(reply.note))
    if reply.screen is not None:
        await channel.send_rendered(context.bot, update.effective_chat.id,
                                    channel.render(reply.screen))
    await send_messages(update, context, reply)


def stats_entry(context: ContextTypes.DEFAULT_TYPE):
    from stats.report import stats_request

    return functools.partial(stats_request,
                             territory=context.application.bot_data.get("territory"))


async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await command(update, context, Request(Intent.STATS), entry=stats_entry(context))


async def announcements_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await command(update, context, Request(Intent.ANNOUNCEMENTS))


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(final(on_button), pattern=r"^(ev|adv)\|"),
                            group=-1)
    application.add_handler(CommandHandler(["annonces", "announcements"],
                                           final(announcements_command)), group=-1)
    application.add_handler(CommandHandler(["stats", "bilan"], final(stats_command)), group=-1)
