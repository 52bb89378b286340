"""The bot's HTTP client to the Bot API: PTB's `BaseRequest` on an aiohttp session.

PTB lets an application choose how its Bot talks HTTP (`ApplicationBuilder.request`). Measured
with `benchmarks/conversation.py` (500 members, the bot in its own process), PTB's default
httpx client took more than half of the bot's CPU: a tap costs two API calls
(answerCallbackQuery, then editMessageText), and each went through httpx's client, httpcore's
pool and anyio, all pure Python. On aiohttp (its HTTP parser and pool in C) the same bot
handled about 400 updates/s instead of 215, and its p99 at 500 members fell from about 1 s to
under 250 ms. PTB still builds every request and parses every answer; only the transport
changes.

The delivery worker (`alerts/worker.py`) keeps PTB's httpx client: it paces itself at 29
messages/s, and its "sent or not" decision reads httpx's precise error classes.
"""

from __future__ import annotations

import functools
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

CONNECTION_POOL_SIZE = 16
# Seconds an API call may wait for a free connection in a burst of answers.
POOL_TIMEOUT = 30.0
# What PTB passes for a timeout the caller did not set (telegram's DefaultValue, not public).
_UNSET = type(BaseRequest.DEFAULT_NONE)
# PTB's HTTPXRequest defaults, so that moving transport changes no behaviour.
READ_TIMEOUT = CONNECT_TIMEOUT = WRITE_TIMEOUT = 5.0
MEDIA_WRITE_TIMEOUT = 20.0


@functools.lru_cache(maxsize=64)
def client_timeout(connect: float | None, read: float | None, write: float | None,
                   pool: float | None) -> aiohttp.ClientTimeout:
    """PTB's four timeouts as aiohttp's: aiohttp's `connect` covers the wait for a pooled
    connection and opening a new one, and it has no write timeout, so the whole exchange is
    bounded by their sum (a stalled upload does not hang for ever)."""
    parts = (connect, read, write, pool)
    total = None if None in parts else sum(parts)
    acquire = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=acquire, sock_connect=connect,
                                 sock_read=read)


@functools.lru_cache(maxsize=16)
def proxy_for(scheme: str, host: str) -> str | None:
    """The proxy that HTTP_PROXY, HTTPS_PROXY and NO_PROXY name for this origin, as httpx would
    use. Read once per origin: aiohttp's own `trust_env` reads the environment on every
    request, which cost a third of the bot's throughput."""
    if urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(scheme)


def form_for(request_data: RequestData | None) -> dict[str, str] | aiohttp.FormData | None:
    """The body PTB's HTTPXRequest would send: the parameters form-encoded, or multipart with
    the files as parts when there are files."""
    if request_data is None:
        return None
    parameters = request_data.json_parameters
    if not request_data.contains_files:
        return parameters
    form = aiohttp.FormData()
    for name, value in parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form


class AiohttpRequest(BaseRequest):
    """PTB's `BaseRequest` over one `aiohttp.ClientSession` (one pool of keep-alive
    connections), with HTTPXRequest's timeouts and errors: timeouts raise `TimedOut`, any other
    transport failure `NetworkError`."""

    def __init__(self, *, pool_size: int = CONNECTION_POOL_SIZE,
                 read_timeout: float | None = READ_TIMEOUT,
                 write_timeout: float | None = WRITE_TIMEOUT,
                 connect_timeout: float | None = CONNECT_TIMEOUT,
                 pool_timeout: float | None = POOL_TIMEOUT,
                 media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT) -> None:
        self.pool_size = pool_size
        self._defaults = {"read": read_timeout, "write": write_timeout,
                          "connect": connect_timeout, "pool": pool_timeout}
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._defaults["read"]

    @property
    def session(self) -> aiohttp.ClientSession | None:
        return self._session

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.pool_size),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    def _timeout(self, given: Any, name: str, has_files: bool) -> float | None:
        if not isinstance(given, _UNSET):
            return given
        if name == "write" and has_files:
            return self._media_write_timeout
        return self._defaults[name]

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        has_files = request_data is not None and request_data.contains_files
        timeout = client_timeout(self._timeout(connect_timeout, "connect", has_files),
                                 self._timeout(read_timeout, "read", has_files),
                                 self._timeout(write_timeout, "write", has_files),
                                 self._timeout(pool_timeout, "pool", has_files))
        parts = urlsplit(url)
        proxy = proxy_for(parts.scheme, parts.hostname or "")
        try:
            async with session.request(method, url, data=form_for(request_data),
                                       timeout=timeout, proxy=proxy) as response:
                return response.status, await response.read()
        except TimeoutError as err:  # aiohttp's own timeouts are TimeoutErrors too
            raise TimedOut(f"aiohttp.{type(err).__name__}: {err}") from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err


def bot_request(pool_size: int = CONNECTION_POOL_SIZE) -> AiohttpRequest:
    """The request object for the bot's API calls."""
    return AiohttpRequest(pool_size=pool_size)


def updates_request() -> AiohttpRequest:
    """The request object for getUpdates: one long poll at a time needs one connection."""
    return AiohttpRequest(pool_size=1)
