"""The bot's HTTP client to the Bot API: PTB's HTTPXRequest on a leaner connection pool.

Measured with `benchmarks/conversation.py`, about a fifth of the bot's CPU went to httpcore's
pool bookkeeping: before and after each request it asks every idle connection whether the
server closed it, and anyio answers by rebuilding the socket's whole attribute table (with a
`getpeername` system call) each time. Here the stream keeps its socket and answers that question
with one `poll`, the same check httpcore makes; everything else is httpcore's own stream.

The pool holds 16 connections, not PTB's 256: the pool is scanned on every request, so its size
costs CPU, while 16 keep-alive connections at a 30 ms round trip to Telegram carry some 500
requests a second, well above what Telegram accepts from one bot.
"""

from __future__ import annotations

import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx
from telegram.request import HTTPXRequest

CONNECTION_POOL_SIZE = 16
POOL_TIMEOUT = 30.0  # seconds an update may wait for a free connection (a burst of answers)


def socket_readable(sock: socket.socket | None) -> bool:
    """True when a read would not block: data, or the peer closed (an idle keep-alive
    connection that is readable has been closed by the server). A missing socket counts as
    closed, as in httpcore."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


class SocketStream(httpcore.AsyncNetworkStream):
    """httpcore's stream, with its socket looked up once instead of on every check."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return SocketStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return socket_readable(self._socket)
        if info == "socket":
            return self._socket
        return self._inner.get_extra_info(info)


class SocketBackend(httpcore.AsyncNetworkBackend):
    """httpcore's asyncio backend (through anyio), handing out `SocketStream`s."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return SocketStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)
        return SocketStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class BotTransport(httpx.AsyncHTTPTransport):
    """httpx's transport and pool, the pool opening its connections through `SocketBackend`."""

    def __init__(self, pool_size: int = CONNECTION_POOL_SIZE) -> None:
        super().__init__(limits=httpx.Limits(max_connections=pool_size,
                                             max_keepalive_connections=pool_size))
        # httpx offers no choice of backend; the pool reads this one each time it connects.
        self._pool._network_backend = SocketBackend()


def bot_request(pool_size: int = CONNECTION_POOL_SIZE) -> HTTPXRequest:
    """The request object for the bot's API calls (getUpdates keeps PTB's own). The pool is the
    transport's: PTB's own pool size setting does not apply to a transport it is given."""
    return HTTPXRequest(
        pool_timeout=POOL_TIMEOUT,
        httpx_kwargs={"transport": BotTransport(pool_size)},
    )
