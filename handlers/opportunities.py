"""/opportunite (post) and the ✏️ under /opportunites (edit): the advisors' opportunity composer
as a ConversationHandler built by the diagnostic's adapter from conversations/opportunity.py;
/opportunites lists the open ones. The summary shows the answers with a button to change each,
then *Publish* (announcements.opportunities.post or edit: matched and alerted at once).
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes, ConversationHandler

from alerts.advisors import advisors_only_text, is_advisor
from alerts.message import Intent, Request
from announcements import opportunities
from channels.telegram import fit, short
from conversations.driver import DIAGNOSTIC, SUMMARY, SUMMARY_EDIT, DiagnosticDriver
from conversations.flow import Flow
from conversations.opportunity import QUESTIONS, posting_of
from handlers import diagnostic
from handlers.advisors import command, now, timezone
from handlers.announcements import stops
from handlers.common import final, in_db, lang_of, say
from handlers.render import _summary_line
from locales import gettext_for
from store.members import member_by_telegram

FLOW = Flow(QUESTIONS)
END = ConversationHandler.END
EDITING = "opportunity_tender"  # user_data: the tender id being edited


def _driver(context: ContextTypes.DEFAULT_TYPE, update: Update) -> DiagnosticDriver:
    async def nothing(*_args) -> None:
        return None

    return DiagnosticDriver(context.application.bot_data["services"], nothing, nothing, FLOW)


async def show_summary(update: Update, context: ContextTypes.DEFAULT_TYPE, query,
                       answers, lang: str) -> None:
    _ = gettext_for(lang)
    summary = FLOW.summary(answers, lang)
    title = _("Check the opportunity, then publish it.")
    lines = [f"<b>{escape(title)}</b>", ""] + [_summary_line(label, value, lang)
                                              for _k, label, value in summary]
    buttons = [InlineKeyboardButton(short("✏️ " + label, 24), callback_data=f"os|edit|{key}")
               for key, label, _value in summary]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([InlineKeyboardButton(_("✅ Publish"), callback_data="os|send"),
                 InlineKeyboardButton(_("❌ Cancel"), callback_data="os|cancel")])
    if query is not None and query.message is not None:
        await diagnostic._close_keyboard(query)
    await update.effective_chat.send_message(fit("\n".join(lines)),
                                             reply_markup=InlineKeyboardMarkup(rows))


SPEC = diagnostic.FlowSpec(FLOW, _driver, prefix="oq", data_key="opportunity",
                           mode_key="opportunity_mode", state_key="opportunity_state",
                           show_summary=show_summary, extra_keys=(EDITING,))


async def _member(update: Update, context: ContextTypes.DEFAULT_TYPE):
    user_id = update.effective_user.id
    return await in_db(context, lambda session: member_by_telegram(session, user_id))


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    lang = lang_of(update, context)
    if not is_advisor(await _member(update, context)):
        await say(update, advisors_only_text(lang))
        return END
    context.user_data.pop(EDITING, None)
    answers, _mode = diagnostic._state(context, SPEC)
    context.user_data[SPEC.mode_key] = DIAGNOSTIC
    return await diagnostic._send(update, context, _driver(context, update).start(answers, lang),
                                  spec=SPEC)


async def start_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    query = update.callback_query
    lang = lang_of(update, context)
    _ = gettext_for(lang)
    request = Request(Intent.OPPORTUNITY_EDIT, int(query.data.split("|")[2]))
    user_id = update.effective_user.id

    def load(session):
        member = member_by_telegram(session, user_id)
        if not is_advisor(member):
            return "refused"
        tender = opportunities.editable(session, request.target)
        return opportunities.posting_of(session, tender) if tender else None

    loaded = await in_db(context, load)
    if loaded == "refused":
        await query.answer(advisors_only_text(lang)[:200])
        return END
    if loaded is None:
        await query.answer(_("This opportunity is already cancelled or closed."))
        return END
    await query.answer()
    context.user_data[SPEC.data_key] = loaded
    context.user_data[SPEC.mode_key] = SUMMARY_EDIT
    context.user_data[EDITING] = request.target
    await show_summary(update, context, None, loaded, lang)
    return diagnostic._next(context, SUMMARY, SPEC)


async def on_summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    lang = lang_of(update, context)
    _ = gettext_for(lang)
    state = await diagnostic.composer_summary(update, context, SPEC,
                                              _("Cancelled: nothing was published."))
    if state is not None:
        return state
    answers, _mode = diagnostic._state(context, SPEC)
    user_id, tz, moment = update.effective_user.id, timezone(context), now()
    editing = context.user_data.pop(EDITING, None)

    def work(session):
        member = member_by_telegram(session, user_id)
        if not is_advisor(member):
            return None
        posting = posting_of(answers, tz)
        if editing is not None:
            tender = opportunities.editable(session, editing)
            if tender is None:
                return "gone"
            return opportunities.edit(session, tender, posting, moment, tz).id
        return opportunities.post(session, member.id, posting, moment, tz).id

    done = await in_db(context, work)
    if done is None:
        await say(update, advisors_only_text(lang))
    elif done == "gone":
        await say(update, _("This opportunity is already cancelled or closed."))
    elif editing is not None:
        await say(update, _("Opportunity #{id} updated: the members already alerted are told "
                            "what changed.").format(id=done))
    else:
        await say(update, _("Opportunity #{id} published: the structures it fits are alerted "
                            "like for any tender. /opportunites lists it.").format(id=done))
    return diagnostic._next(context, None, SPEC)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    _ = gettext_for(lang_of(update, context))
    await say(update, _("Cancelled: nothing was published."))
    return diagnostic._next(context, None, SPEC)


async def listing(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await command(update, context, Request(Intent.OPPORTUNITIES))


def build_conversation(name: str = "opportunity") -> ConversationHandler:
    states = diagnostic.question_states(SPEC, wrap=stops)
    states[SUMMARY] = [CallbackQueryHandler(stops(on_summary), pattern=r"^os\|")]
    return ConversationHandler(
        entry_points=[CommandHandler("opportunite", stops(start)),
                      CallbackQueryHandler(stops(start_edit), pattern=r"^adv\|oe\|\d+$")],
        states=states,
        fallbacks=[CommandHandler("annuler", stops(cancel))],
        name=name, persistent=True, allow_reentry=True)


def register(application) -> None:
    application.add_handler(build_conversation(), group=-3)
    application.add_handler(CommandHandler(["opportunites", "opportunities"], final(listing)),
                            group=-1)
