"""Fake Telegram Bot API server and test harness (see server.py and client.py)."""

from tests.fakebot.client import (
    Replies,
    VirtualUser,
    instrument_application,
    start_application,
    stop_application,
)
from tests.fakebot.html_check import telegram_html_error, visible_length
from tests.fakebot.server import FakeBotServer, Fault, SentMessage

__all__ = [
    "FakeBotServer", "Fault", "Replies", "SentMessage", "VirtualUser", "instrument_application",
    "start_application", "stop_application", "telegram_html_error", "visible_length",
]
