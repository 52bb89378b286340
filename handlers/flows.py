"""Telegram adapters of the later flows' buttons and commands (support requests, …): a button's
callback data "g|intent|target|arg" (channels.telegram) decodes to a `Request`, which
`alerts.actions.handle` routes to the flow that registered the intent; commands build the same
requests. Thin, as handlers/advisors.py, whose helpers run the work and show the Reply.
"""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from alerts import actions
from alerts.message import Intent, Request
from channels import telegram as channel
from handlers.advisors import TOAST_LIMIT, command, run, send_messages
from handlers.common import final

MAX_TEXT = 3000  # what a command's text may carry (longer is cut by the flow)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    request = channel.decode(query.data)
    if request is None:
        await query.answer()
        return
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
