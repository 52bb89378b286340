"""Telegram adapter of threads (alerts.relay): a reply to a relayed message of a groupement's or
a support request's thread is a message of that thread, passed on to its other members.

Registered in group -1 on replies only: a reply to anything else (an alert, a question of the
diagnostic) goes on to the other handlers unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, MessageHandler, filters

from alerts import relay
from handlers.common import in_db, tr
from store.members import member_by_telegram

MISSING, REFUSED, POSTED = "missing", "refused", "posted"


async def on_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return
    user_id, text, now = update.effective_user.id, message.text or "", datetime.now(UTC)

    def work(session) -> str:
        member = member_by_telegram(session, user_id)
        thread = relay.thread_of_reply(session, member.id, "telegram",
                                       str(replied.message_id)) if member else None
        if thread is None:
            return MISSING
        posted = relay.post(session, thread[0], thread[1], member.id, text, now)
        return POSTED if posted is not None else REFUSED

    outcome = await in_db(context, work)
    if outcome == MISSING:
        return  # not a thread's message: the other handlers take it
    _ = tr(update, context)
    if outcome == POSTED:
        await message.reply_text(escape(_("Sent to the others in the thread.")))
    else:
        await message.reply_text(escape(_("You no longer take part in this conversation: your "
                                          "message was not passed on.")))
    raise ApplicationHandlerStop


def register(application: Application) -> None:
    application.add_handler(MessageHandler(filters.REPLY & filters.TEXT & ~filters.COMMAND,
                                           on_reply), group=-1)
