"""Commands outside the diagnostic: /aide, /langue, /mesdonnees, and what nothing else handles."""

from __future__ import annotations

import json
from html import escape

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
)

from handlers.common import final, in_db, say, tr
from locales import LANGUAGES, N_, gettext_for
from store import members

COMMANDS = (
    ("start", N_("Start the diagnostic")),
    ("profil", N_("See and change your profile")),
    ("alertes", N_("Alert rhythm, hours and quiet hours")),
    ("pause", N_("Pause the alerts (7 days, or /pause 14)")),
    ("reprendre", N_("Resume the alerts")),
    ("stop", N_("Stop the alerts (/reprendre starts them again)")),
    ("groupements", N_("Your groupements, proposals and partner searches")),
    ("accompagnement", N_("Ask the advisors for support (/accompagnement your question)")),
    ("aide", N_("Help and commands")),
    ("langue", N_("Français / English")),
    ("mesdonnees", N_("All the data stored about you")),
    ("supprimer", N_("Delete your data")),
    ("annuler", N_("Cancel the current step")),
)


async def set_commands(application: Application) -> None:
    """The command menu, in each language (French is also the default for other languages)."""
    for lang in LANGUAGES:
        _ = gettext_for(lang)
        commands = [BotCommand(name, _(description)) for name, description in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=lang)
        if lang == "fr":
            await application.bot.set_my_commands(commands)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    _ = tr(update, context)
    title = _("Centrale finds the tenders that fit your structure.")
    lines = [f"<b>{escape(title)}</b>", ""]
    for name, description in COMMANDS:
        label = _(description)
        lines.append(f"/{name} — {escape(label)}")
    lines += ["", escape(_("Questions? Write to us here; an advisor will answer."))]
    await update.effective_chat.send_message("\n".join(lines))


async def language_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    markup = InlineKeyboardMarkup([[
        InlineKeyboardButton("🇫🇷 Français", callback_data="lang|fr"),
        InlineKeyboardButton("🇬🇧 English", callback_data="lang|en"),
    ]])
    _ = tr(update, context)
    await say(update, _("Choose your language:"), reply_markup=markup)


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    lang = query.data.split("|")[1]
    if lang not in LANGUAGES:
        await query.answer()
        return
    context.user_data["lang"] = lang
    user_id = update.effective_user.id
    await in_db(context, lambda s: members.set_language(s, user_id, lang))
    await query.answer()
    _ = gettext_for(lang)
    await query.edit_message_text(escape(_("Language: English")))


async def my_data(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    user_id = update.effective_user.id

    def export(session):
        member = members.member_by_telegram(session, user_id)
        return members.export_member(session, member) if member else None

    document = await in_db(context, export)
    _ = tr(update, context)
    if document is None:
        await say(update, _("Nothing is stored about you."))
        return
    payload = json.dumps(document, ensure_ascii=False, indent=2).encode()
    await update.effective_chat.send_document(
        payload, filename="centrale-mes-donnees.json",
        caption=escape(_("All the data Centrale stores about you.")))


async def fallback_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _ = tr(update, context)
    await say(update, _(
        "I did not understand. Type /start for the diagnostic, /profil for your profile or "
        "/aide for help."))
    return ConversationHandler.END


async def closed_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    _ = tr(update, context)
    await update.callback_query.answer(_("This question is closed."))
    return ConversationHandler.END


def register(application: Application) -> None:
    application.add_handler(CommandHandler(["aide", "help"], final(help_command)), group=-1)
    application.add_handler(CommandHandler("langue", final(language_command)), group=-1)
    application.add_handler(CallbackQueryHandler(final(language_chosen), pattern=r"^lang\|"),
                            group=-1)
    application.add_handler(CommandHandler("mesdonnees", final(my_data)), group=-1)
