"""/diffuser: the advisors' announcement composer as a ConversationHandler, built by the
diagnostic's adapter (handlers.diagnostic.question_states) from conversations/announcement.py.
Its summary is the preview: the announcement as members will see it, then the number of
recipients per channel (announcements.audience, the query the send uses) with the buttons to
change an answer, send and cancel. Registered in an early group; each step stops the update
there so that the diagnostic conversation never sees it.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
)

from alerts.advisors import advisors_only_text, is_advisor
from alerts.announcement_messages import announcement_message, when_text
from announcements.audience import audience
from announcements.sending import create
from channels import telegram as channel
from channels.telegram import short
from conversations.announcement import QUESTIONS, draft_of
from conversations.driver import DIAGNOSTIC, SUMMARY, DiagnosticDriver
from conversations.flow import Flow
from conversations.questions import Answers
from handlers import diagnostic
from handlers.advisors import now, timezone
from handlers.common import in_db, lang_of, say
from locales import gettext_for
from store.announcement_models import Announcement
from store.members import member_by_telegram

FLOW = Flow(QUESTIONS)
END = ConversationHandler.END


def stops(callback):
    """The conversation's callbacks end the update's handling (see the module docstring)."""
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE):
        raise ApplicationHandlerStop(await callback(update, context))

    return run


def _driver(context: ContextTypes.DEFAULT_TYPE, update: Update) -> DiagnosticDriver:
    async def nothing(*_args) -> None:  # the composer stores nothing before its confirmation
        return None

    return DiagnosticDriver(context.application.bot_data["services"], nothing, nothing, FLOW)


async def _advisor(update: Update, context: ContextTypes.DEFAULT_TYPE):
    user_id = update.effective_user.id
    return await in_db(context, lambda session: member_by_telegram(session, user_id))


def preview(session, answers: Answers, lang: str, tz):
    """The announcement as members will read it, and its recipients per channel."""
    draft = draft_of(answers, tz)
    sample = Announcement(id=0, text=draft.text, event_at=draft.event_at,
                          event_place=draft.event_place, event_link=draft.event_link,
                          seats=draft.seats)
    recipients = audience(session, draft.filters)
    return announcement_message(sample, lang, tz, preview=True), recipients, draft


async def show_preview(update: Update, context: ContextTypes.DEFAULT_TYPE, query,
                       answers: Answers, lang: str) -> None:
    _ = gettext_for(lang)
    tz = timezone(context)
    message, recipients, draft = await in_db(
        context, lambda session: preview(session, answers, lang, tz))
    if query is not None and query.message is not None:
        await diagnostic._close_keyboard(query)
    await say(update, _("Preview: this is what members will receive."))
    await channel.send_rendered(context.bot, update.effective_chat.id,
                                channel.render(message.with_actions(())))
    when = (when_text(draft.send_at, lang, tz) if draft.send_at else _("now"))
    count = _("Recipients: {members}").format(members=recipients.members)
    lines = [f"<b>{escape(count)}</b>",
             escape(_("{telegram} on Telegram, {email} by email").format(
                 telegram=recipients.count("telegram"), email=recipients.count("email"))),
             escape(_("Sending: {when}").format(when=when))]
    if message.actions:
        lines.append(escape(_("Under an event, members find the buttons “Register” and "
                              "“Not available”.")))
    summary = FLOW.summary(answers, lang)
    buttons = [InlineKeyboardButton(short("✏️ " + label, 24), callback_data=f"ds|edit|{key}")
               for key, label, _value in summary]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    send_label = _("✅ Send") if draft.send_at is None else _("✅ Schedule")
    rows.append([InlineKeyboardButton(send_label, callback_data="ds|send"),
                 InlineKeyboardButton(_("❌ Cancel"), callback_data="ds|cancel")])
    await update.effective_chat.send_message("\n".join(lines),
                                             reply_markup=InlineKeyboardMarkup(rows))


SPEC = diagnostic.FlowSpec(FLOW, _driver, prefix="dq", data_key="compose",
                           mode_key="compose_mode", state_key="compose_state",
                           show_summary=show_preview)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    lang = lang_of(update, context)
    if not is_advisor(await _advisor(update, context)):
        await say(update, advisors_only_text(lang))
        return END
    answers, _mode = diagnostic._state(context, SPEC)
    context.user_data[SPEC.mode_key] = DIAGNOSTIC
    return await diagnostic._send(update, context, _driver(context, update).start(answers, lang),
                                  spec=SPEC)


async def on_preview(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    lang = lang_of(update, context)
    _ = gettext_for(lang)
    state = await diagnostic.composer_summary(update, context, SPEC,
                                              _("Cancelled: nothing was sent."))
    if state is not None:
        return state
    answers, _mode = diagnostic._state(context, SPEC)
    user_id, tz, moment = update.effective_user.id, timezone(context), now()

    def work(session):
        member = member_by_telegram(session, user_id)
        if not is_advisor(member):  # the role may have gone since /diffuser
            return None
        announcement = create(session, member.id, draft_of(answers, tz), moment)
        return announcement.status, announcement.recipients, announcement.send_at

    done = await in_db(context, work)
    if done is None:
        await say(update, advisors_only_text(lang))
    elif done[0] == "sent":
        await say(update, _("Sent: {count} messages are on their way (at the channels' pace). "
                            "/annonces follows them.").format(count=done[1]))
    else:
        await say(update, _("Scheduled for {when}. /annonces can cancel it until then.").format(
            when=when_text(done[2], lang, tz)))
    return diagnostic._next(context, None, SPEC)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    _ = gettext_for(lang_of(update, context))
    await say(update, _("Cancelled: nothing was sent."))
    return diagnostic._next(context, None, SPEC)


async def stale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    _ = gettext_for(lang_of(update, context))
    await update.callback_query.answer(_("This question is closed; here is the current one."))
    state = context.user_data.get(SPEC.state_key)
    answers, _mode = diagnostic._state(context, SPEC)
    if not state:
        return END
    return await diagnostic._send(update, context, _driver(context, update).show(
        state, answers, lang_of(update, context)), replace=False, spec=SPEC)


def build_conversation(name: str = "composer") -> ConversationHandler:
    states = diagnostic.question_states(SPEC, wrap=stops)
    states[SUMMARY] = [CallbackQueryHandler(stops(on_preview), pattern=r"^ds\|")]
    return ConversationHandler(
        entry_points=[CommandHandler("diffuser", stops(start))],
        states=states,
        fallbacks=[CommandHandler("annuler", stops(cancel)),
                   CallbackQueryHandler(stops(stale), pattern=r"^(dq|ds)\|")],
        name=name, persistent=True, allow_reentry=True)
