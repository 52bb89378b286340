"""The diagnostic and the profile editor as a PTB ConversationHandler built from the questions.

One state per question key (plus the summary and the delete confirmation); each state's handlers
call `conversations.driver`, which knows nothing of Telegram.

The adapter is generic over a `FlowSpec` (a flow of questions, its callback prefix, where its
answers live in user_data, its driver and how its summary is shown): `question_states(spec)`
gives the states of any flow declared as data, so other conversations (the advisors' composers,
handlers/announcements.py and handlers/opportunities.py) are built by the same code.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

from conversations import profile_fields
from conversations.driver import (
    DIAGNOSTIC,
    FLOW,
    PROFILE_EDIT,
    SUMMARY,
    SUMMARY_EDIT,
    DiagnosticDriver,
    Reply,
)
from conversations.flow import Flow
from conversations.questions import Answers
from handlers import commands, render
from handlers.common import in_db, lang_of, say, tr
from store import members

log = logging.getLogger(__name__)
DELETE = "DELETE"
END = ConversationHandler.END


def _diagnostic_driver(context: ContextTypes.DEFAULT_TYPE, update: Update) -> DiagnosticDriver:
    user = update.effective_user
    chat = update.effective_chat

    async def save_all(answers: Answers, lang: str) -> None:
        consent = answers.get("consent_at")
        consent_at = datetime.fromisoformat(consent) if consent else None
        await in_db(context, lambda s: profile_fields.save_diagnostic(
            s, telegram_user_id=user.id, chat_id=chat.id, language=lang, answers=answers,
            consent_at=consent_at))

    async def save_one(answers: Answers) -> None:
        def work(session):
            member = members.member_by_telegram(session, user.id)
            if member:
                profile_fields.update_profile(session, member, answers)
        await in_db(context, work)

    return DiagnosticDriver(context.application.bot_data["services"], save_all, save_one)


# Shows a flow's summary: (update, context, tapped query or None, answers, lang).
ShowSummary = Callable[[Update, ContextTypes.DEFAULT_TYPE, object, Answers, str],
                       Awaitable[None]]


@dataclass(frozen=True)
class FlowSpec:
    """One conversation declared as data, as this adapter runs it."""

    flow: Flow
    make_driver: Callable[[ContextTypes.DEFAULT_TYPE, Update], DiagnosticDriver]
    prefix: str = "q"  # question buttons: "<prefix>|<key>|c|<n>", "|back", "|skip", "|done"
    data_key: str = "diag"  # user_data keys of its answers, mode and current state
    mode_key: str = "mode"
    state_key: str = "state"
    show_summary: ShowSummary | None = None  # None: the diagnostic's summary
    extra_keys: tuple[str, ...] = ()  # other user_data keys that end with the conversation


DIAGNOSTIC_SPEC = FlowSpec(FLOW, _diagnostic_driver)


def _driver(context: ContextTypes.DEFAULT_TYPE, update: Update) -> DiagnosticDriver:
    return DIAGNOSTIC_SPEC.make_driver(context, update)


def _state(context, spec: FlowSpec = DIAGNOSTIC_SPEC) -> tuple[Answers, str]:
    data = context.user_data
    return data.setdefault(spec.data_key, {}), data.get(spec.mode_key, DIAGNOSTIC)


async def _send(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: Reply,
                replace: bool = True, spec: FlowSpec = DIAGNOSTIC_SPEC) -> object:
    """Render a Reply. After a tap, the tapped message itself becomes the next step (one message
    that moves on, as a wizard: fewer messages to scroll on a phone, and one API call instead of
    two); `replace=False` sends a new message instead (a stale button, a resumed step)."""
    lang = lang_of(update, context)
    query = update.callback_query if replace else None
    if update.callback_query is not None and not replace:
        await _close_keyboard(update.callback_query)
    for note in reply.notes:
        await say(update, note)
    if reply.screen is not None:
        await _show(update, query, render.question_html(reply.screen, lang),
                    render.question_keyboard(reply.screen, lang, spec.prefix))
    elif reply.summary is not None and spec.show_summary is not None:
        await spec.show_summary(update, context, query, _state(context, spec)[0], lang)
    elif reply.summary is not None:
        await _show(update, query, render.summary_html(reply.summary, lang),
                    render.summary_keyboard(reply.summary, lang))
    elif query is not None:
        await _close_keyboard(query)
    if reply.finish is not None:
        await update.effective_chat.send_message(render.finish_html(reply.finish, lang))
    if reply.saved_key is not None:
        await show_profile(update, context)
    return _next(context, reply.state, spec)


async def _show(update: Update, query, text: str, markup) -> None:
    if query is None or query.message is None:
        await update.effective_chat.send_message(text, reply_markup=markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            raise


async def _close_keyboard(query) -> None:
    """Remove the buttons of the message tapped, so that an answered question stays answered."""
    if query.message is None or not getattr(query.message, "reply_markup", None):
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as exc:  # already closed by an earlier tap ("message is not modified")
        log.debug("keyboard already closed: %s", exc)


def _next(context, state: str | None, spec: FlowSpec = DIAGNOSTIC_SPEC) -> object:
    if state is None:
        for key in (spec.data_key, spec.mode_key, spec.state_key, *spec.extra_keys):
            context.user_data.pop(key, None)
        return END
    context.user_data[spec.state_key] = state
    return state


async def composer_summary(update: Update, context: ContextTypes.DEFAULT_TYPE, spec: FlowSpec,
                           cancelled: str) -> object | None:
    """A composer's summary buttons: "<x>|edit|<key>" asks that question again, "<x>|send" goes
    on, anything else cancels (saying `cancelled`). The next state, or None when the advisor
    chose to go on and every answer is there: the caller then sends or publishes."""
    query = update.callback_query
    await query.answer()
    lang = lang_of(update, context)
    answers, _mode = _state(context, spec)
    driver = spec.make_driver(context, update)
    parts = query.data.split("|")
    if parts[1] == "edit" and len(parts) > 2 and parts[2] in spec.flow.by_key:
        context.user_data[spec.mode_key] = SUMMARY_EDIT
        return await _send(update, context, driver.edit(parts[2], answers, lang), replace=False,
                           spec=spec)
    if parts[1] != "send":
        await _close_keyboard(query)
        await say(update, cancelled)
        return _next(context, None, spec)
    missing = spec.flow.next_missing(answers)
    if missing:
        return await _send(update, context, driver.show(missing, answers, lang), replace=False,
                           spec=spec)
    await _close_keyboard(query)
    return None


# --- entry points --------------------------------------------------------------------------------

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    user_id = update.effective_user.id
    member = await in_db(context, lambda s: members.member_by_telegram(s, user_id))
    if member is not None and member.structure_id is not None:
        _ = tr(update, context)
        await say(update, _(
            "Welcome back! Your profile is saved: /profil shows and changes it, "
            "/aide lists the commands."))
        return END
    answers, _mode = _state(context)
    context.user_data["mode"] = DIAGNOSTIC
    return await _send(update, context, _driver(context, update).start(
        answers, lang_of(update, context)))


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    """/start (or a stray command) in the middle: show where the member was."""
    state = context.user_data.get("state")
    answers, _mode = _state(context)
    if not state:
        return END
    _ = tr(update, context)
    note = _("Let's go on where you were.")
    return await _send(update, context, _driver(context, update).show(
        state, answers, lang_of(update, context), note), replace=False)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    _ = tr(update, context)
    mode = context.user_data.get("mode")
    if update.callback_query:
        await update.callback_query.answer()
    if mode == DIAGNOSTIC:
        await say(update, _("Cancelled: nothing has been stored. Type /start to begin again."))
    elif mode:
        await say(update, _("Cancelled: your profile is unchanged."))
    else:
        await say(update, _("There is nothing to cancel."))
    return _next(context, None)


# --- question states -----------------------------------------------------------------------------

async def on_text(spec: FlowSpec, key: str, update: Update,
                  context: ContextTypes.DEFAULT_TYPE) -> object:
    answers, mode = _state(context, spec)
    reply = await spec.make_driver(context, update).text(key, update.message.text or "",
                                                         answers, mode, lang_of(update, context))
    return await _send(update, context, reply, spec=spec)


async def on_button(spec: FlowSpec, key: str, update: Update,
                    context: ContextTypes.DEFAULT_TYPE) -> object:
    query = update.callback_query
    await query.answer()
    answers, mode = _state(context, spec)
    lang = lang_of(update, context)
    driver = spec.make_driver(context, update)
    _prefix, _key, action, *rest = query.data.split("|") + [""]
    if action == "c":
        screen_options = spec.flow.options(spec.flow.by_key[key], answers, lang)
        index = int(rest[0]) if rest[0].isdigit() else -1
        if not 0 <= index < len(screen_options):
            return await _send(update, context, driver.show(key, answers, lang), spec=spec)
        reply = await driver.choose(key, screen_options[index].value, answers, mode, lang)
    elif action == "done":
        reply = await driver.done(key, answers, mode, lang)
    elif action == "skip":
        reply = await driver.skip(key, answers, mode, lang)
    else:
        reply = driver.back(key, answers, mode, lang)
    return await _send(update, context, reply, spec=spec)


def question_states(spec: FlowSpec, wrap=lambda callback: callback) -> dict[object, list]:
    """One ConversationHandler state per question of the flow: its buttons and typed answers.
    `wrap` decorates each callback (a conversation in an earlier group stops the update)."""
    text = filters.TEXT & ~filters.COMMAND
    return {
        question.key: [
            CallbackQueryHandler(wrap(functools.partial(on_button, spec, question.key)),
                                 pattern=rf"^{spec.prefix}\|{question.key}\|"),
            MessageHandler(text, wrap(functools.partial(on_text, spec, question.key))),
        ]
        for question in spec.flow.questions
    }


async def on_summary(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    query = update.callback_query
    await query.answer()
    answers, _mode = _state(context)
    lang = lang_of(update, context)
    driver = _driver(context, update)
    parts = query.data.split("|")
    if parts[1] == "confirm":
        return await _send(update, context, await driver.confirm(answers, lang))
    if parts[1] == "edit" and len(parts) > 2 and parts[2] in FLOW.by_key:
        context.user_data["mode"] = SUMMARY_EDIT
        return await _send(update, context, driver.edit(parts[2], answers, lang))
    return await _send(update, context, driver.back(SUMMARY, answers, SUMMARY_EDIT, lang))


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    """A button of an earlier message: say so and show the current step again."""
    _ = tr(update, context)
    await update.callback_query.answer(_(
        "This question is closed; here is the current one."))
    return await resume(update, context)


async def use_buttons(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    return await resume(update, context)


# --- profile -------------------------------------------------------------------------------------

async def show_profile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    user_id = update.effective_user.id
    lang = lang_of(update, context)

    def load(session):
        member = members.member_by_telegram(session, user_id)
        if member is None or member.structure_id is None:
            return None
        return profile_fields.load_answers(session, member)

    loaded = await in_db(context, load)
    if loaded is None:
        _ = tr(update, context)
        await say(update, _(
            "You have no profile yet: type /start to begin the diagnostic."))
        return END
    answers, score = loaded
    summary = FLOW.summary(answers, lang)
    await update.effective_chat.send_message(
        render.profile_html(summary, score, lang),
        reply_markup=render.summary_keyboard(summary, lang, prefix="p"))
    return END


async def edit_profile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    query = update.callback_query
    await query.answer()
    key = query.data.split("|")[-1]
    user_id = update.effective_user.id

    def load(session):
        member = members.member_by_telegram(session, user_id)
        return profile_fields.load_answers(session, member) if member and member.structure_id else None

    loaded = await in_db(context, load)
    if loaded is None or key not in FLOW.by_key:
        _ = tr(update, context)
        await say(update, _(
            "You have no profile yet: type /start to begin the diagnostic."))
        return END
    context.user_data["diag"] = loaded[0]
    context.user_data["mode"] = PROFILE_EDIT
    return await _send(update, context, _driver(context, update).edit(
        key, loaded[0], lang_of(update, context)))


# --- deletion ------------------------------------------------------------------------------------

async def ask_delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    _ = tr(update, context)
    context.user_data["before_delete"] = context.user_data.get("state")
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Yes, delete everything"), callback_data="del|yes"),
        InlineKeyboardButton(_("No, keep it"), callback_data="del|no"),
    ]])
    await say(update, _("Delete your data? Your member account, your alert preferences and, if "
                        "you are its last member, your structure's profile will be erased for "
                        "good."), reply_markup=markup)
    return DELETE


async def confirm_delete(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
    query = update.callback_query
    await query.answer()
    await _close_keyboard(query)
    _ = tr(update, context)
    if query.data != "del|yes":
        previous = context.user_data.pop("before_delete", None)
        await say(update, _("Nothing was deleted."))
        if previous:
            return await resume(update, context)
        return END
    user_id = update.effective_user.id

    def work(session):
        member = members.member_by_telegram(session, user_id)
        if member is None:
            members.erase_bot_state(session, user_id)
            return False
        members.delete_member(session, member)
        return True

    existed = await in_db(context, work)
    context.user_data.clear()
    context.application.drop_user_data(user_id)
    await say(update, _("Your data has been deleted. Goodbye! Type /start if you come back.")
              if existed else _("Nothing was stored about you; any answers in progress are "
                                "deleted."))
    return END


def build_conversation() -> ConversationHandler:
    text = filters.TEXT & ~filters.COMMAND
    states = question_states(DIAGNOSTIC_SPEC)
    states[SUMMARY] = [CallbackQueryHandler(on_summary, pattern=r"^s\|"),
                       MessageHandler(text, use_buttons)]
    states[DELETE] = [CallbackQueryHandler(confirm_delete, pattern=r"^del\|")]
    return ConversationHandler(
        entry_points=[
            CommandHandler("start", start),
            CommandHandler("profil", show_profile),
            CommandHandler("supprimer", ask_delete),
            CommandHandler("annuler", cancel),
            CallbackQueryHandler(edit_profile, pattern=r"^p\|edit\|"),
            # Whatever else arrives outside a conversation gets a pointer, not silence.
            MessageHandler(filters.ALL, commands.fallback_text),
            CallbackQueryHandler(commands.closed_button),
        ],
        states=states,
        fallbacks=[
            CommandHandler("annuler", cancel),
            CommandHandler("supprimer", ask_delete),
            CommandHandler(["start", "profil"], resume),
            CallbackQueryHandler(stale_button),
            MessageHandler(filters.ALL, use_buttons),
        ],
        name="diagnostic",
        persistent=True,
        allow_reentry=False,
    )
