"""Any free text a member may type, at any question: never an unhandled error, never a message
Telegram would refuse. The real Application runs, through the in-process transport."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.settings import load_settings
from bot.transport import InProcessBotAPI, InProcessRequest
from tests.fakebot.html_check import telegram_html_error
from tests.fakebot.server import validate_reply_markup

# How to reach each question from /start: buttons (by callback data) and typed answers.
PATHS = {
    "siret": ["q|consent|c|0"],
    "name": ["q|consent|c|0", "q|siret|c|0"],
    "family": ["q|consent|c|0", "q|siret|c|0", "Nom"],
    "activities": ["q|consent|c|0", "q|siret|c|0", "Nom", "q|family|c|0",
                   "q|ess_principles|c|0"],
    "area": ["q|consent|c|0", "q|siret|c|0", "Nom", "q|family|c|0", "q|ess_principles|c|0",
             "menuiserie", "q|cpv|done"],
    "email": ["q|consent|c|0", "q|siret|c|0", "Nom", "q|family|c|0", "q|ess_principles|c|0",
              "menuiserie", "q|cpv|done", "42", "q|headcount|c|0", "q|turnover|skip",
              "q|capacity|c|0", "q|experience|c|0", "q|readiness|done", "q|consortium|c|3",
              "q|consortium|done", "q|rhythm|c|0", "q|channel|c|1"],
}

NASTY = st.sampled_from([
    "<b>gras</b>", "a < b & c > d", "&amp;&lt;", "\"'\\", "<script>alert(1)</script>",
    "x" * 10_000, "🙂" * 5000, "é" * 4097, "\u200b\u202e", "42, <43>, & Rhône", "/start",
    "1" * 14, "8003298490002", " ", "\n\n", "&#128512;", "<a href='x'>y</a>",
])
TEXTS = st.one_of(NASTY, st.text(max_size=300), st.text(min_size=4000, max_size=10_000))


class Harness:
    def __init__(self, db_url: str):
        from bot.app import build_application

        self.api = InProcessBotAPI()
        settings_ = load_settings(_env_file=None, DATABASE_URL=db_url,
                                  COMPANY_API_URL="http://127.0.0.1:9/search")
        self.application = build_application(settings_, rate_limit=False,
                                             request=InProcessRequest(self.api))
        self.user_id = 500_000_000
        self.update_id = 0

    def _update(self, user_id: int, action: str):
        from telegram import Update

        self.update_id += 1
        user = {"id": user_id, "is_bot": False, "first_name": "F", "language_code": "fr"}
        if action.startswith("q|"):
            last = max((m for m in self.api.messages.values() if m.chat_id == user_id),
                       key=lambda m: m.message_id)
            payload = {"update_id": self.update_id, "callback_query": {
                "id": str(self.update_id), "from": user, "chat_instance": "f", "data": action,
                "message": self.api._as_message(last)}}
        else:
            message = {"message_id": self.update_id, "date": 0, "text": action,
                       "chat": {"id": user_id, "type": "private"}, "from": user}
            if action.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(action.split()[0])}]
            payload = {"update_id": self.update_id, "message": message}
        return Update.de_json(payload, self.application.bot)

    async def run(self, key: str, text: str) -> list:
        self.user_id += 1
        for action in ["/start", *PATHS[key]]:
            await self.application.process_update(self._update(self.user_id, action))
        asking = max(m.message_id for m in self.api.messages.values()
                     if m.chat_id == self.user_id)
        data = [b.get("callback_data", "") for row in
                (self.api.messages[asking].reply_markup or {}).get("inline_keyboard", [])
                for b in row]
        assert any(d.startswith(f"q|{key}|") for d in data), (key, data)
        before = self.api.next_id
        await self.application.process_update(self._update(self.user_id, text))
        return [m for m in self.api.messages.values() if m.message_id >= before]


def check(messages) -> None:
    for message in messages:
        assert telegram_html_error(message.text) is None, (telegram_html_error(message.text),
                                                           message.text[:300])
        validate_reply_markup(message.reply_markup)
        assert "Désolé, un problème est survenu" not in message.text


def test_fuzz_every_free_text_answer(db_url, _schema):
    harness = Harness(db_url)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(harness.application.initialize())

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(key=st.sampled_from(sorted(PATHS)), text=TEXTS)
    def fuzz(key, text):
        check(loop.run_until_complete(harness.run(key, text)))

    try:
        fuzz()
    finally:
        loop.run_until_complete(harness.application.shutdown())
        loop.close()
