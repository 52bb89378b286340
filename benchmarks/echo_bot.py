"""A bare python-telegram-bot echo bot: the baseline the conversation benchmark compares with
(same PTB, same fake Bot API, same harness; only the handlers differ).

As a script it polls like `centrale run`, configured by the same variables:
    TELEGRAM_BOT_TOKEN=123:ABC TELEGRAM_API_URL=http://127.0.0.1:8081/bot python benchmarks/echo_bot.py
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def file_url_for(base_url: str) -> str:
    """Telegram serves files under /file/bot<token>: derive it from the API's /bot<token>."""
    root, _, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{root}/file/bot" if root else base_url


def build_echo_application(token: str, base_url: str, *, base_file_url: str | None = None,
                           concurrent_updates: bool | int = False) -> Application:
    """An Application that answers every text message with the same text (no parse mode)."""
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url or file_url_for(base_url))
        .concurrent_updates(concurrent_updates)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    return application


def main() -> None:
    token = os.environ["TELEGRAM_BOT_TOKEN"]
    base_url = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org/bot")
    build_echo_application(token, base_url).run_polling(poll_interval=0, timeout=10)


if __name__ == "__main__":
    main()
