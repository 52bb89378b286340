"""The bot's HTTP client (bot.network): PTB's BaseRequest on an aiohttp session, checked with
a real PTB Bot against a real local HTTP server (the fake Bot API)."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import create_engine
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.app import build_application
from bot.network import (
    CONNECTION_POOL_SIZE,
    AiohttpRequest,
    bot_request,
    client_timeout,
    proxy_for,
)
from bot.settings import load_settings
from tests.fakebot.server import FakeBotServer


def bot_on(server: FakeBotServer, request: AiohttpRequest) -> Bot:
    return Bot(server.add_bot(), base_url=server.base_url, request=request)


def test_the_application_sends_and_polls_through_aiohttp(fake_server):
    settings = load_settings(_env_file=None, TELEGRAM_BOT_TOKEN="1:x",
                             TELEGRAM_API_URL=fake_server.base_url)
    application = build_application(settings, engine=create_engine("sqlite://"))
    updates, calls = application.bot._request  # PTB keeps (getUpdates, everything else)
    assert isinstance(calls, AiohttpRequest) and calls.pool_size == CONNECTION_POOL_SIZE
    assert isinstance(updates, AiohttpRequest) and updates.pool_size == 1


async def test_concurrent_calls_share_one_bounded_pool(fake_server):
    request = bot_request()
    bot = bot_on(fake_server, request)
    async with bot:
        me = await bot.get_me()
        messages = await asyncio.gather(*(bot.send_message(i + 1, f"n°{i} <b>&amp;</b>",
                                                           parse_mode="HTML")
                                          for i in range(40)))
        assert request.session.connector.limit == CONNECTION_POOL_SIZE
    assert me.is_bot and [m.text for m in messages] == [f"n°{i} &" for i in range(40)]
    assert request.session.closed  # the Bot's shutdown closed it


async def test_a_connection_the_server_closed_is_not_reused():
    server = await FakeBotServer(keepalive_timeout=0.2).start()
    try:
        bot = bot_on(server, bot_request())
        async with bot:
            await bot.get_me()
            await asyncio.sleep(0.6)  # the server has closed the idle connection meanwhile
            assert (await bot.get_me()).is_bot
    finally:
        await server.stop()


async def test_a_dropped_connection_is_a_network_error_then_calls_go_on(fake_server):
    bot = bot_on(fake_server, bot_request())
    async with bot:
        fake_server.drop_next(bot.token, "sendMessage")
        with pytest.raises(NetworkError):
            await bot.send_message(1, "lost")
        assert (await bot.send_message(1, "next")).text == "next"


async def test_a_slow_answer_is_timed_out_then_calls_go_on(fake_server):
    bot = bot_on(fake_server, bot_request())
    async with bot:
        fake_server.delay_next(bot.token, "sendMessage", seconds=2)
        with pytest.raises(TimedOut):
            await bot.send_message(1, "slow", read_timeout=0.2)
        assert (await bot.send_message(1, "quick")).text == "quick"


async def test_an_unreachable_api_is_a_network_error():
    bot = Bot("1:x", base_url="http://127.0.0.1:9/bot", request=bot_request())
    await bot.request.initialize()
    try:
        with pytest.raises(NetworkError):
            await bot.get_me()
    finally:
        await bot.request.shutdown()


async def test_files_go_as_multipart_with_the_other_parameters(fake_server):
    bot = bot_on(fake_server, bot_request())
    payload = json.dumps({"nom": "Régie <Nord> & Cie"}).encode()
    async with bot:
        sent = await bot.send_document(42, payload, filename="mesdonnees.json",
                                       caption="Vos <b>données</b>", parse_mode="HTML")
    assert sent.document.file_name == "mesdonnees.json" and sent.caption == "Vos données"
    [message] = [m for m in fake_server.bot(bot.token).messages(42)]
    assert message.document.data == payload


def test_timeouts_bound_the_whole_exchange():
    timeout = client_timeout(5.0, 10.0, 20.0, 30.0)
    assert (timeout.sock_connect, timeout.sock_read) == (5.0, 10.0)
    assert timeout.connect == 35.0  # waiting for a pooled connection, then opening one
    assert timeout.total == 65.0  # aiohttp has no write timeout: the sum bounds an upload
    unbounded = client_timeout(None, None, None, None)
    assert (unbounded.total, unbounded.connect, unbounded.sock_read) == (None, None, None)


def test_the_proxy_comes_from_the_environment_once_per_origin(monkeypatch):
    proxy_for.cache_clear()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    try:
        assert proxy_for("https", "api.telegram.org") == "http://proxy.example:3128"
        assert proxy_for("http", "127.0.0.1") is None
        monkeypatch.setenv("HTTPS_PROXY", "http://other.example:3128")
        assert proxy_for("https", "api.telegram.org") == "http://proxy.example:3128"  # cached
    finally:
        proxy_for.cache_clear()
