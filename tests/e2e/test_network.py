"""The bot's HTTP client: PTB's HTTPXRequest on httpcore's pool, with sockets kept by the stream
(bot.network). Checked against a real local HTTP server (the fake Bot API)."""

from __future__ import annotations

import asyncio
import socket

from telegram import Bot

from bot.network import (
    CONNECTION_POOL_SIZE,
    SocketBackend,
    SocketStream,
    bot_request,
    socket_readable,
)


def test_socket_readable_tells_an_idle_connection_from_a_closed_one():
    mine, peer = socket.socketpair()
    try:
        assert socket_readable(mine) is False  # idle keep-alive connection: reusable
        peer.sendall(b"x")
        assert socket_readable(mine) is True
        mine.recv(1)
        peer.close()
        assert socket_readable(mine) is True  # the server hung up: not reusable
    finally:
        mine.close()
    assert socket_readable(None) is True


async def test_the_bot_talks_through_the_lean_pool(fake_server):
    token = fake_server.add_bot()
    request = bot_request()
    bot = Bot(token, base_url=fake_server.base_url, request=request)
    async with bot:
        me = await bot.get_me()
        messages = await asyncio.gather(*(bot.send_message(i + 1, f"n°{i}") for i in range(40)))
    assert me.is_bot and len(messages) == 40
    pool = request._client._transport._pool  # the transport PTB was given, not a default one
    assert isinstance(pool._network_backend, SocketBackend)
    assert pool._max_connections == CONNECTION_POOL_SIZE


async def test_a_connection_closed_by_the_server_is_replaced(fake_server):
    token = fake_server.add_bot()
    request = bot_request()
    bot = Bot(token, base_url=fake_server.base_url, request=request)
    async with bot:
        await bot.get_me()
        pool = request._client._transport._pool
        [connection] = pool.connections
        stream = connection._connection._network_stream
        assert isinstance(stream, SocketStream)
        stream._socket.shutdown(socket.SHUT_RDWR)  # as if the server had closed it
        await bot.get_me()  # a fresh connection, no error
        assert connection not in pool.connections
