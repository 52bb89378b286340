"""Small helpers every handler uses: language, services, database calls off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from html import escape
from typing import Any, TypeVar

from sqlmodel import Session
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from locales import gettext_for, normalise_language
from store.db import session_scope

T = TypeVar("T")


def lang_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    chosen = (context.user_data or {}).get("lang")
    if chosen:
        return chosen
    user = update.effective_user
    return normalise_language(user.language_code if user else None)


def tr(update: Update, context: ContextTypes.DEFAULT_TYPE):
    return gettext_for(lang_of(update, context))


async def in_db(context: ContextTypes.DEFAULT_TYPE, work: Callable[[Session], T]) -> T:
    """Run `work(session)` in a worker thread, committed at the end."""
    engine = context.application.bot_data["engine"]

    def run() -> Any:
        with session_scope(engine) as session:
            return work(session)

    return await asyncio.to_thread(run)


async def say(update: Update, text: str, **kwargs) -> None:
    """Send plain text (escaped) to the chat of the update."""
    await update.effective_chat.send_message(escape(text), **kwargs)


def final(callback):
    """A handler that ends the update's handling: registered before the diagnostic conversation
    (group 0), whose entry points take any message or button, it keeps the update to itself."""
    async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await callback(update, context)
        raise ApplicationHandlerStop

    return run
