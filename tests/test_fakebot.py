"""The fake Bot API server and its harness, driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import html
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    AIORateLimiter,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
)
from telegram.request import HTTPXRequest

from benchmarks.echo_bot import build_echo_application
from tests.fakebot.client import BotRunner, RunningBot
from tests.fakebot.html_check import (
    ALLOWED_TAGS,
    parse_html,
    telegram_html_error,
    utf16_length,
    visible_length,
)
from tests.fakebot.server import FakeBotServer, is_drawn_blocked

ROOT = Path(__file__).resolve().parents[1]


# ---- HTML check (pure) ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "error"), [
    ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ("é <b", "Unclosed start tag at byte offset 3"),
    ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
    ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
    ("x</b>", "Unexpected end tag at byte offset 1"),
    ("<br>", 'Unsupported start tag "br" at byte offset 0'),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ("Tom & Jerry", "Unsupported HTML entity at byte offset 4: escape & as &amp;"),
    ("&nbsp;", "Unsupported HTML entity at byte offset 0: escape & as &amp;"),
])
def test_html_refused_with_telegrams_description(text, error):
    assert telegram_html_error(text) == "Bad Request: can't parse entities: " + error


@pytest.mark.parametrize("text", [
    "<b>gras</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <ins>i</ins> <s>s</s> "
    "<strike>s</strike> <del>d</del> <tg-spoiler>x</tg-spoiler> "
    '<span class="tg-spoiler">y</span> <a href="https://example.org/?a=1&amp;b=2">lien</a> '
    "<code>c</code> <pre>p</pre> <pre><code class=\"language-python\">x = 1</code></pre> "
    "<blockquote>q</blockquote> <blockquote expandable>q</blockquote> "
    '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &lt;&gt;&amp;&quot;&#39;&#x27;',
    "<b>nested <i>fine</i></b>",
    "<B>upper case tags</b>",
])
def test_html_accepted(text):
    assert telegram_html_error(text) is None


def test_html_entities_and_visible_text():
    parsed = parse_html('<b>A&amp;B</b> <a href="https://x.org">x</a> 😀')
    assert parsed.text == "A&B x 😀"
    assert [(e.type, e.offset, e.length) for e in parsed.entities] == [
        ("bold", 0, 3), ("text_link", 4, 1)]
    assert parsed.entities[1].argument == "https://x.org"
    assert visible_length("<b>😀</b>") == 2  # UTF-16 code units, like Telegram's offsets


def test_length_and_emptiness():
    assert telegram_html_error("x" * 4096) is None
    assert telegram_html_error("x" * 4097) == "Bad Request: message is too long"
    # tags do not count, entities count as one character
    assert telegram_html_error("<b>" + "&amp;" * 4096 + "</b>") is None
    assert telegram_html_error("<b> </b>\n") == "Bad Request: message text is empty"
    assert telegram_html_error("x" * 5000, max_length=None) is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_escaped_text_is_always_accepted_and_shown_as_is(text):
    escaped = html.escape(text)
    assert parse_html(escaped).text == text
    error = telegram_html_error(escaped)
    if text.strip():
        assert error is None
    else:
        assert error == "Bad Request: message text is empty"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200).filter(str.strip),
       st.sampled_from(["b", "i", "u", "s", "code", "pre", "blockquote", "tg-spoiler", "em"]))
def test_escaped_text_in_allowed_tags_is_accepted(text, tag):
    wrapped = f"<{tag}>{html.escape(text)}</{tag}>"
    assert telegram_html_error(wrapped) is None
    assert visible_length(wrapped) == utf16_length(text)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z][a-z0-9\-]{0,10}", fullmatch=True).filter(
    lambda name: name not in ALLOWED_TAGS), st.text(max_size=50))
def test_unknown_tags_are_refused(tag, text):
    error = telegram_html_error(f"{html.escape(text)}<{tag}>x</{tag}>")
    assert error is not None and f'Unsupported start tag "{tag}"' in error


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="<>&abi/ \"'=;#x0", max_size=40))
def test_random_markup_never_crashes_the_checker(text):
    error = telegram_html_error(text)
    assert error is None or error.startswith("Bad Request: ")


# ---- fixtures --------------------------------------------------------------------------------
@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server():
    async with FakeBotServer() as fake:
        yield fake


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def runner(server):
    bots = BotRunner(server)
    yield bots
    await bots.stop_all()


async def _menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✅ Oui", callback_data="yes"),
                                      InlineKeyboardButton("Non merci", callback_data="no")]])
    await update.effective_message.reply_text("<b>Choisissez</b>", parse_mode=ParseMode.HTML,
                                              reply_markup=keyboard)


async def _chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("noté")
    await query.edit_message_text(f"Choix : {query.data}")


async def _bad_html(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text("a < b", parse_mode=ParseMode.HTML)


async def _silent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    return None


def _stopping(callback):
    async def wrapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await callback(update, context)
        raise ApplicationHandlerStop

    return wrapped


def _build_demo(token: str, base_url: str):
    application = build_echo_application(token, base_url)
    # Commands first (group -1); they stop there so the echo in group 0 does not answer too.
    for name, callback in (("menu", _menu), ("bad", _bad_html), ("silent", _silent)):
        application.add_handler(CommandHandler(name, _stopping(callback)), group=-1)
    application.add_handler(CallbackQueryHandler(_chosen))
    return application


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def demo(runner, server) -> RunningBot:
    return await runner.shared("demo", lambda token: _build_demo(token, server.base_url))


def _ext_bot(server, token, **kwargs) -> ExtBot:
    return ExtBot(token, base_url=server.base_url, base_file_url=server.base_file_url, **kwargs)


@pytest_asyncio.fixture(loop_scope="session")
async def bot(server):
    async with Bot(server.add_bot(), base_url=server.base_url,
                   base_file_url=server.base_file_url) as client:
        yield client


# ---- the real Application through the harness ------------------------------------------------
async def test_echo_round_trip(demo):
    user = demo.user(language_code="en")
    replies = await user.send("Bonjour <&> 😀")
    assert [m.text for m in replies] == ["Bonjour <&> 😀"]
    assert replies.latency is not None and replies.latency >= 0
    assert user.last_message.text == "Bonjour <&> 😀"
    assert demo.state.users[user.user_id]["language_code"] == "en"


async def test_commands_carry_bot_command_entities(demo):
    user = demo.user()
    replies = await user.send("/menu")
    assert replies.text == "Choisissez"
    assert replies.last.html == "<b>Choisissez</b>"
    assert user.buttons() == ["✅ Oui", "Non merci"]
    update = demo.state.calls_to("getUpdates")  # the bot really polled
    assert update


async def test_tap_answers_and_edits(demo):
    user = demo.user()
    await user.send("/menu")
    replies = await user.tap("non")  # contained in a label, ignoring case
    assert replies.answer is not None and replies.answer.text == "noté"
    assert [m.text for m in replies] == ["Choix : no"]
    assert replies.last.edited and replies.last.history == ["Choisissez"]
    assert user.buttons() == []  # editMessageText without reply_markup removes the keyboard
    with pytest.raises(AssertionError, match="no message with an inline keyboard"):
        await user.tap("Oui")


async def test_tap_by_exact_label_or_data_and_unknown_button(demo):
    user = demo.user()
    await user.send("/menu")
    with pytest.raises(AssertionError, match=r"no button 'Peut-être'.*'✅ Oui', 'Non merci'"):
        await user.tap("Peut-être")
    replies = await user.tap("yes")
    assert replies.last.text == "Choix : yes"


async def test_harness_fails_when_telegram_would_refuse_the_answer(demo):
    user = demo.user()
    with pytest.raises(AssertionError, match=r"would refuse.*sendMessage -> 400 Bad Request: "
                                             r"can't parse entities: Unsupported start tag"):
        await user.send("/bad")


async def test_harness_reports_silence(demo):
    user = demo.user()
    with pytest.raises(AssertionError, match="handled message '/silent' but sent nothing"):
        await user.send("/silent")
    assert await user.send("/silent", expect=False) == []


async def test_wait_collects_messages_the_bot_sends_on_its_own(demo):
    user = demo.user()
    await demo.application.bot.send_message(user.chat_id, "Nouvel appel d'offres")
    replies = await user.wait()
    assert replies.text == "Nouvel appel d'offres"


async def test_users_and_bots_are_independent(server, demo, runner):
    other = await runner.start(lambda token: build_echo_application(token, server.base_url))
    try:
        first, second = demo.user(), other.user()
        a, b = await asyncio.gather(first.send("un"), second.send("deux"))
        assert (a.text, b.text) == ("un", "deux")
        assert demo.state.messages(second.user_id) == []
        assert other.state.messages(first.user_id) == []
    finally:
        await runner.stop(other)


async def test_many_users_at_once(demo):
    users = [demo.user() for _ in range(40)]
    results = await asyncio.gather(*(u.send(f"message {i}") for i, u in enumerate(users)))
    assert [r.text for r in results] == [f"message {i}" for i in range(40)]


# ---- the Bot API surface, with PTB's Bot ---------------------------------------------------
async def test_long_polling_waits_then_returns_pushed_update(server, bot):
    state = server.bot(bot.token)
    poll = asyncio.create_task(bot.get_updates(timeout=20))
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.wait_for(_until(lambda: state.calls_to("getUpdates")), 5)
    assert not poll.done()
    pushed = server.push_message(bot.token, 42, "/start")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [pushed["update_id"]]
    message = updates[0].message
    assert message.text == "/start" and message.chat.id == 42 and message.from_user.id == 42
    assert message.entities[0].type == "bot_command" and message.entities[0].length == 6
    # not confirmed yet: served again; confirmed by a higher offset
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [pushed["update_id"]]
    assert await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0) == ()
    assert len(state.updates) == 0


async def test_get_updates_honours_limit_and_negative_offset(server, bot):
    for n in range(5):
        server.push_message(bot.token, 7, f"m{n}")
    assert [u.message.text for u in await bot.get_updates(limit=2)] == ["m0", "m1"]
    assert [u.message.text for u in await bot.get_updates(offset=-2)] == ["m3", "m4"]


async def test_a_newer_poll_ends_the_older_with_conflict(server, bot):
    older = asyncio.create_task(bot.get_updates(timeout=20))
    await asyncio.wait_for(_until(lambda: server.bot(bot.token).calls_to("getUpdates")), 5)
    async with httpx.AsyncClient() as client:  # PTB's Bot keeps one connection for polling
        newer = await client.post(f"{server.base_url}{bot.token}/getUpdates", json={})
    assert newer.json() == {"ok": True, "result": []}
    with pytest.raises(Exception, match="terminated by other getUpdates request"):
        await older


async def test_messages_are_real_shaped_and_ids_increase_per_chat(server, bot):
    first = await bot.send_message(5, "un")
    second = await bot.send_message(5, "deux")
    elsewhere = await bot.send_message(6, "trois")
    assert (first.message_id, second.message_id, elsewhere.message_id) == (1, 2, 1)
    assert second.from_user.id == bot.id and second.from_user.is_bot
    assert second.chat.type == "private" and second.date is not None
    server.push_message(bot.token, 5, "réponse")
    after = await bot.send_message(5, "quatre")
    assert after.message_id == 4  # the user's message took id 3


async def test_invalid_html_is_refused_like_telegram(server, bot):
    with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
        await bot.send_message(1, "1 < 2", parse_mode=ParseMode.HTML)
    call = server.bot(bot.token).calls[-1]
    assert call.status == 400
    assert call.description == ("Bad Request: can't parse entities: Unsupported start tag \"\" "
                                "at byte offset 2")
    assert server.bot(bot.token).messages(1) == []


async def test_too_long_and_empty_texts_are_refused(server, bot):
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(1, "é" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(1, "<i>  </i>", parse_mode=ParseMode.HTML)
    message = await bot.send_message(1, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert len(message.text) == 4096 and message.entities[0].type == "bold"


async def test_bad_inline_keyboards_are_refused(server, bot):
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(1, "choix", reply_markup=too_long)
    accents = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 33)]])
    with pytest.raises(BadRequest, match="Button_data_invalid"):  # 66 bytes in UTF-8
        await bot.send_message(1, "choix", reply_markup=accents)
    empty_label = InlineKeyboardMarkup([[InlineKeyboardButton(" ", callback_data="x")]])
    with pytest.raises(BadRequest, match="(?i)text must be non-empty"):
        await bot.send_message(1, "choix", reply_markup=empty_label)
    fine = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="x" * 64)]])
    message = await bot.send_message(1, "choix", reply_markup=fine)
    assert message.reply_markup == fine


async def test_edits_are_applied_and_unchanged_edits_refused(server, bot):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(9, "avant", reply_markup=keyboard)
    edited = await bot.edit_message_text("<i>après</i>", chat_id=9, message_id=sent.message_id,
                                         parse_mode=ParseMode.HTML, reply_markup=keyboard)
    assert edited.text == "après" and edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<i>après</i>", chat_id=9, message_id=sent.message_id,
                                    parse_mode=ParseMode.HTML, reply_markup=keyboard)
    await bot.edit_message_reply_markup(chat_id=9, message_id=sent.message_id)
    stored = server.bot(bot.token).messages(9)[-1]
    assert stored.text == "après" and stored.reply_markup is None
    assert stored.history == ["avant"]
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=9, message_id=999)


async def test_callback_queries_are_answered_once(server, bot):
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(11, "q", reply_markup=keyboard)
    update = server.push_callback(bot.token, 11, sent.message_id, "a")
    query = update["callback_query"]
    assert query["message"]["reply_markup"] == keyboard.to_dict()
    assert await bot.answer_callback_query(query["id"], text="ok")
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query["id"])
    assert server.bot(bot.token).callback_answers[-1].text == "ok"


async def test_commands_are_stored_per_scope_and_language(server, bot):
    await bot.set_my_commands([BotCommand("profil", "Votre profil"),
                               BotCommand("aide", "Aide")])
    await bot.set_my_commands([BotCommand("profil", "Your profile")], language_code="en",
                              scope=BotCommandScopeAllPrivateChats())
    state = server.bot(bot.token)
    assert state.commands_for() == [("profil", "Votre profil"), ("aide", "Aide")]
    assert state.commands_for("all_private_chats", "en") == [("profil", "Your profile")]
    assert state.commands_for("default", "en") is None
    fetched = await bot.get_my_commands(language_code="en",
                                        scope=BotCommandScopeAllPrivateChats())
    assert [c.command for c in fetched] == ["profil"]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("mesdonnées", "accents")])
    await bot.delete_my_commands()
    assert state.commands_for() is None


async def test_documents_keep_name_and_bytes(server, bot):
    payload = '{"siret": "12345678901234", "nom": "Élan"}'.encode()
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Supprimer", callback_data="del")]])
    message = await bot.send_document(3, payload, filename="mesdonnees.json",
                                      caption="<b>Vos données</b>", parse_mode=ParseMode.HTML,
                                      reply_markup=keyboard)
    assert message.document.file_name == "mesdonnees.json"
    assert message.reply_markup == keyboard  # JSON fields inside a multipart body
    stored = server.bot(bot.token).messages(3)[-1]
    assert stored.kind == "document" and stored.document.data == payload
    assert stored.document.filename == "mesdonnees.json" and stored.caption == "Vos données"
    photo = await bot.send_photo(3, b"\x89PNG fake", caption="graphique")
    assert photo.photo[0].width > 0
    await bot.send_chat_action(3, "typing")
    assert await bot.set_chat_menu_button()


async def test_rate_limited_429_then_aioratelimiter_retries(server):
    token = server.add_bot()
    async with _ext_bot(server, token, rate_limiter=AIORateLimiter(max_retries=2)) as bot:
        server.fail_next(token, "sendMessage", 429, retry_after=1)
        message = await bot.send_message(21, "après une pause")
    state = server.bot(token)
    assert message.text == "après une pause"
    assert [c.status for c in state.calls_to("sendMessage")] == [429, 200]
    assert state.counters["http_429"] == 1
    assert len(state.messages(21)) == 1


async def test_429_without_retry_surfaces_retry_after(server, bot):
    server.fail_next(bot.token, "sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(1, "x")
    retry_after = raised.value.retry_after  # an int, or a timedelta with PTB's opt-in
    assert getattr(retry_after, "total_seconds", lambda: retry_after)() == 3


async def test_blocked_user_is_forbidden_for_that_chat_only(server, bot):
    server.block(bot.token, 31)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(31, "x")
    assert (await bot.send_message(32, "y")).text == "y"
    server.unblock(bot.token, 31)
    assert (await bot.send_message(31, "z")).text == "z"
    server.fail_next(bot.token, None, 403, chat_id=33)
    with pytest.raises(Forbidden):
        await bot.send_message(33, "x")
    assert (await bot.send_message(33, "x")).text == "x"
    assert server.bot(bot.token).errors() == []  # simulated, not the bot's mistake


async def test_server_errors_and_dropped_connections_are_network_errors(server, bot):
    server.fail_next(bot.token, "sendMessage", 502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(1, "x")
    server.fail_next(bot.token, "sendMessage", 500, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
    server.drop_next(bot.token, "sendMessage")
    with pytest.raises(NetworkError):
        await bot.send_message(1, "perdu")
    assert [m.text for m in server.bot(bot.token).messages(1)] == []
    assert (await bot.send_message(1, "ok")).text == "ok"


async def _outcome(bot: Bot, chat_id: int) -> str:
    try:
        await bot.send_message(chat_id, "x")
    except Forbidden:
        return "403"
    except NetworkError as error:
        assert "Bad Gateway" in str(error)
        return "502"
    return "200"


async def test_shares_of_502s_and_blocked_chats_drawn_from_a_seed(server):
    """configure(fail_5xx=…, blocked=…, seed=…): a share of the sends answer 502 (nothing
    delivered) and a share of the chats answer 403 to every send; the same seed gives the same
    faults for the same chat and send, whatever the order of the calls."""
    chats = list(range(5000, 5200))
    rounds = []
    for order in (chats, chats[::-1]):
        token = server.add_bot()
        server.configure(token, fail_5xx=0.2, blocked=0.1, seed=7)
        async with Bot(token, base_url=server.base_url) as bot:
            outcomes = {chat_id: [] for chat_id in order}
            for _ in range(2):  # two sends to every chat, one chat after the other
                for chat_id in order:
                    outcomes[chat_id].append(await _outcome(bot, chat_id))
        rounds.append((server.bot(token), outcomes))
    (state, outcomes), (_, reversed_outcomes) = rounds
    assert outcomes == reversed_outcomes  # the order of the calls changes nothing
    blocked = {c for c in chats if is_drawn_blocked(7, 0.1, c)}
    assert blocked == {c for c, seen in outcomes.items() if "403" in seen}
    assert all(outcomes[c] == ["403", "403"] for c in blocked)
    assert 5 <= len(blocked) <= 40  # about a tenth of 200
    assert dict(state.blocked_tries) == dict.fromkeys(blocked, 2)
    others = [seen for c, seen in outcomes.items() if c not in blocked]
    failed = sum(seen.count("502") for seen in others)
    assert 0.1 <= failed / (2 * len(others)) <= 0.3  # about a fifth of their sends
    assert state.counters["http_502"] == failed
    for chat_id, seen in outcomes.items():  # a 502 delivered nothing
        assert len(state.messages(chat_id)) == seen.count("200")
    assert state.errors() == []  # injected, not the bot's mistakes
    assert {c for c in chats if is_drawn_blocked(8, 0.1, c)} != blocked  # another seed
    server.configure(state.token)  # without them: every send goes through
    async with Bot(state.token, base_url=server.base_url) as bot:
        assert (await bot.send_message(min(blocked), "enfin")).text == "enfin"
    with pytest.raises(ValueError):
        server.configure(state.token, fail_5xx=1.5)


async def test_delay_makes_a_read_timeout_with_the_message_delivered(server):
    token = server.add_bot()
    request = HTTPXRequest(read_timeout=0.2)
    async with Bot(token, base_url=server.base_url, request=request) as bot:
        server.delay_next(token, "sendMessage", seconds=5)
        with pytest.raises(TimedOut):
            await bot.send_message(8, "incertain")
        # the uncertain case: Telegram did deliver it, the client never heard back
        assert [m.text for m in server.bot(token).messages(8)] == ["incertain"]
        server.drop_next(token, "sendMessage", apply=True)
        with pytest.raises(NetworkError):
            await bot.send_message(8, "aussi livré")
        assert len(server.bot(token).messages(8)) == 2


async def test_rate_cap_is_a_sliding_one_second_window(server, bot):
    state = server.bot(bot.token)
    now = [100.0]
    state.clock = lambda: now[0]  # a frozen clock: the window does not depend on CPU speed
    server.configure(bot.token, cap_per_s=3)
    await asyncio.gather(*(bot.send_message(100 + n, "x") for n in range(3)))
    with pytest.raises(RetryAfter):
        await bot.send_message(200, "x")
    now[0] += 0.99
    with pytest.raises(RetryAfter):
        await bot.send_message(200, "x")
    now[0] += 0.02  # the first three leave the window
    await bot.send_message(200, "x")
    assert state.counters["rate_capped"] == 2 and state.counters["http_429"] == 2
    assert state.errors() == []  # the cap is not something the bot did wrong
    server.configure(bot.token, chat_cap_per_s=1)
    await bot.send_message(300, "a")
    with pytest.raises(RetryAfter):
        await bot.send_message(300, "b")
    await bot.send_message(301, "c")
    now[0] += 1.5
    await bot.send_message(300, "b")
    server.configure(bot.token)


async def test_unknown_method_and_token(server, bot):
    async with httpx.AsyncClient() as client:
        answer = await client.post(f"{server.base_url}{bot.token}/sendTelepathy", json={})
        assert answer.status_code == 404
        assert answer.json() == {"ok": False, "error_code": 404,
                                 "description": "Not Found: method not found"}
        lower = await client.post(f"{server.base_url}{bot.token}/getme")
        assert lower.json()["result"]["id"] == bot.id
        as_json = await client.post(f"{server.base_url}{bot.token}/sendMessage",
                                    json={"chat_id": "55", "text": "123"})
        assert as_json.json()["result"]["chat"]["id"] == 55
        assert as_json.json()["result"]["text"] == "123"
    with pytest.raises(InvalidToken):
        async with Bot("999:unknown", base_url=server.base_url):
            pass


# ---- the bot as a subprocess, the server as a separate process -------------------------------
async def _until(predicate, step: float = 0.01):
    while not predicate():
        await asyncio.sleep(step)


async def _start_echo_process(server: FakeBotServer, token: str):
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": server.base_url}
    return await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "benchmarks" / "echo_bot.py"), env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)


async def test_subprocess_bot_killed_and_restarted(server):
    token = server.add_bot()
    state = server.bot(token)
    process = await _start_echo_process(server, token)
    try:
        user = server.user(token, quiet=0.2, timeout=30)
        first = await user.send("avant")
        assert first.text == "avant" and not state.instrumented
        process.send_signal(signal.SIGKILL)
        await process.wait()
        polls = len(state.calls_to("getUpdates"))
        # sent while the bot is dead: waits in the queue until the new process polls
        pending = asyncio.create_task(user.send("pendant", until=lambda r: bool(r), timeout=30))
        process = await _start_echo_process(server, token)
        replies = await pending
        assert replies.text == "pendant"
        assert len(state.calls_to("getUpdates")) > polls
        assert [m.text for m in user.messages] == ["avant", "pendant"]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_standalone_server_process_with_control_api():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakebot.server", "--port", "0", cwd=ROOT,
        stdout=asyncio.subprocess.PIPE)
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        base_url = line.rsplit(" ", 1)[1].strip()
        root = base_url.removesuffix("/bot")
        token = "4242:standalone"
        async with Bot(token, base_url=base_url) as bot, httpx.AsyncClient() as client:
            assert (await bot.get_me()).id == 4242
            pushed = await client.post(f"{root}/_control/{token}/push_message",
                                       json={"user_id": 77, "text": "salut"})
            assert pushed.json()["message"]["text"] == "salut"
            updates = await bot.get_updates(timeout=5)
            await bot.send_message(77, updates[0].message.text.upper())
            waited = await client.get(f"{root}/_control/{token}/wait",
                                      params={"chat_id": 77, "min_count": 1, "timeout": 5})
            assert [m["text"] for m in waited.json()["messages"]] == ["SALUT"]
            await client.post(f"{root}/_control/{token}/fault",
                              json={"kind": "error", "method": "sendMessage", "status": 403})
            with pytest.raises(Forbidden):
                await bot.send_message(77, "x")
            snapshot = (await client.get(f"{root}/_control/{token}/state")).json()
            assert snapshot["counters"]["http_403"] == 1
            configured = await client.post(f"{root}/_control/{token}/configure",
                                           json={"blocked": 1.0, "seed": 3})
            configured.raise_for_status()
            with pytest.raises(Forbidden):
                await bot.send_message(78, "x")
            snapshot = (await client.get(f"{root}/_control/{token}/state")).json()
            assert snapshot["blocked_tries"] == {"78": 1}
    finally:
        process.kill()
        await process.wait()
