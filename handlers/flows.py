"""Telegram adapters of the later flows' buttons and commands (support requests, …): a button's
callback data "g|intent|target|arg" (channels.telegram) decodes to a `Request`, which
`alerts.actions.handle` routes to the flow that registered the intent; commands build the same
requests. Thin, as handlers/advisors.py, whose helpers run the work and show the Reply.
"""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from alerts import actions
from alerts.message import Intent, Request
from channels import telegram as channel
from consortia.contacts import set_phone
from handlers.advisors import TOAST_LIMIT, command, run, send_messages
from handlers.common import final, in_db, tr
from store.members import member_by_telegram, remember_telegram

MAX_TEXT = 3000  # what a command's text may carry (longer is cut by the flow)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    request = channel.decode(query.data)
    if request is None:
        await query.answer()
        return
    if request.intent == Intent.GROUPEMENT_SHARE:
        await _remember_names(update, context)
    reply = await run(update, context, request, actions.handle)
    await query.answer((reply.note or "")[:TOAST_LIMIT] or None)
    if query.message is not None and (reply.closed or reply.screen is not None):
        try:
            if reply.screen is not None:
                rendered = channel.render(reply.screen)
                await query.edit_message_text(rendered.html,
                                              reply_markup=channel.markup(rendered.keyboard))
            elif query.message.reply_markup is not None:
                await query.edit_message_reply_markup(None)
        except BadRequest as error:  # "message is not modified": nothing to change
            if "not modified" not in str(error).lower():
                raise
    await send_messages(update, context, reply)


async def _remember_names(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Before sharing contacts: the Telegram username and name as Telegram has them now."""
    user = update.effective_user

    def work(session) -> None:
        member = member_by_telegram(session, user.id)
        if member is not None:
            remember_telegram(session, member, user.username, user.full_name)

    await in_db(context, work)


async def groupements_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/groupements: the list; /groupements N: look for partners on tender N (one the member
    received: alerts.actions checks it)."""
    first = (context.args or [""])[0]
    request = Request(Intent.PARTNERS, int(first)) if first.isdigit() and len(first) < 10 \
        else Request(Intent.GROUPEMENTS)
    await command(update, context, request, actions.handle)


async def groupe_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = " ".join(context.args or [])[:MAX_TEXT]
    await command(update, context, Request(Intent.GROUPEMENT_POST, arg=text), actions.handle)


async def lack_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = " ".join(context.args or [])[:MAX_TEXT]
    await command(update, context, Request(Intent.SEARCH_LACK, arg=text), actions.handle)


async def phone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id, number = update.effective_user.id, " ".join(context.args or [])[:40]

    def work(session) -> bool | None:
        member = member_by_telegram(session, user_id)
        return None if member is None else set_phone(session, member, number)

    done = await in_db(context, work)
    _ = tr(update, context)
    if done is None:
        text = _("You have no profile yet. Type /start to answer a few questions (about 5 "
                 "minutes), then you will receive the tenders that fit.")
    elif done:
        text = _("Phone number saved. Share it with a groupement from /groupements.")
    else:
        text = _("This is not a phone number. Write it after the command, for example: "
                 "/telephone 06 12 34 56 78")
    await update.effective_chat.send_message(escape(text))


async def support_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = " ".join(context.args or [])[:MAX_TEXT]
    await command(update, context, Request(Intent.SUPPORT_ASK, arg=text), actions.handle)


async def requests_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await command(update, context, Request(Intent.SUPPORT_LIST), actions.handle)


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(final(on_button), pattern=r"^g\|"), group=-1)
    application.add_handler(CommandHandler(["accompagnement", "support"],
                                           final(support_command)), group=-1)
    application.add_handler(CommandHandler(["demandes", "requests"], final(requests_command)),
                            group=-1)
    application.add_handler(CommandHandler("groupements", final(groupements_command)), group=-1)
    application.add_handler(CommandHandler(["groupe", "group"], final(groupe_command)),
                            group=-1)
    application.add_handler(CommandHandler(["telephone", "phone"], final(phone_command)),
                            group=-1)
    application.add_handler(CommandHandler(["manque", "lacking"], final(lack_command)),
                            group=-1)
