"""A bare python-telegram-bot echo bot: the baseline the conversation benchmark compares with
(same PTB, same fake Bot API, same harness; the handlers differ and, unless `--client aiohttp`,
the HTTP client: PTB's own httpx one).

As a script it polls like `centrale run` (the same pause between getUpdates calls) with 64
updates in flight, configured by the same variables:
    TELEGRAM_BOT_TOKEN=123:ABC TELEGRAM_API_URL=http://127.0.0.1:8081/bot python benchmarks/echo_bot.py
`--client aiohttp` puts it on the bot's HTTP client instead of PTB's own.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

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
                           concurrent_updates: bool | int = False,
                           client: str = "httpx") -> Application:
    """An Application that answers every text message with the same text (no parse mode), on
    PTB's own httpx client or (client="aiohttp") on the bot's (bot.network)."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url or file_url_for(base_url))
        .concurrent_updates(concurrent_updates)
    )
    if client == "aiohttp":
        from bot.network import bot_request, updates_request

        builder = builder.request(bot_request()).get_updates_request(updates_request())
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo))
    return application


def main() -> None:
    from bot.app import POLL_INTERVAL

    parser = argparse.ArgumentParser(description="A bare PTB echo bot.")
    parser.add_argument("--client", choices=("httpx", "aiohttp"), default="httpx",
                        help="PTB's own HTTP client (default) or the bot's")
    args = parser.parse_args()
    token = os.environ["TELEGRAM_BOT_TOKEN"]
    base_url = os.environ.get("TELEGRAM_API_URL", "https://api.telegram.org/bot")
    application = build_echo_application(token, base_url, concurrent_updates=64,
                                         client=args.client)
    application.run_polling(poll_interval=POLL_INTERVAL, timeout=10)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find `bot`
    main()
