"""The one HTTP helper of the APIs Centrale reads: BOAMP, TED and the company lookup.

`request` sends one request and retries what is worth retrying, with tenacity: 429 and 5xx
answers, timeouts and connection errors. The wait before a retry is the server's `Retry-After`
when it gives one (on 429 and 503; seconds or an HTTP date), else an exponential back-off with
jitter (so that several workers told "no" at once do not come back at once); no wait is longer
than the policy's `max_wait`. Other 4xx answers are not retried: the request itself is wrong.

Each caller keeps its own budget in a `RetryPolicy`: the sources' ingestion can wait minutes, the
company lookup of the diagnostic must give up in seconds (one retry, and no retry at all when the
server asks for a wait longer than the member should bear). The policy also carries the sleep and
the clock, so that tests replace them instead of waiting.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]

# The statuses whose Retry-After says when to come back (RFC 9110 §10.2.3).
_TOLD_WHEN = frozenset({429, 503})
_SECONDS = re.compile(r"^\d{1,9}(\.\d+)?$")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one caller tries: `attempts` in all (the first try included), waits starting at
    `backoff` seconds and doubled at each retry plus up to `jitter` seconds at random, none longer
    than `max_wait` (whatever Retry-After says). With `give_up_after` set, a Retry-After longer
    than that ends the retries at once instead of waiting."""

    attempts: int = 5
    backoff: float = 1.0
    max_wait: float = 120.0
    jitter: float = 0.5
    give_up_after: float | None = None
    sleep: Sleep = asyncio.sleep
    clock: Clock = _utcnow


class Unavailable(Exception):
    """The server could not be reached or kept failing until the policy's budget was spent."""

    def __init__(self, problem: str, attempts: int):
        super().__init__(f"{problem} (after {attempts} attempts)")
        self.problem = problem
        self.attempts = attempts


class Refused(Exception):
    """The server refused the request itself (a 4xx other than 429): retrying cannot help."""

    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.status_code = response.status_code


class _Retryable(Exception):
    def __init__(self, problem: str, told_wait: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.told_wait = told_wait  # the server's Retry-After, in seconds


def retry_after(response: httpx.Response, now: datetime) -> float | None:
    """The wait a `Retry-After` header asks for, in seconds ("120", or an HTTP date compared with
    `now`); None when there is none or it cannot be read."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    if _SECONDS.match(value):
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        multiplier=policy.backoff, max=policy.max_wait, jitter=policy.jitter
    )

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.told_wait is not None:
            return min(policy.max_wait, error.told_wait)  # the server knows best; 0 means now
        return backoff(state)

    return wait


def _told_to_wait_too_long(policy: RetryPolicy) -> Callable[[RetryCallState], bool]:
    def stop(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        return (
            policy.give_up_after is not None
            and isinstance(error, _Retryable)
            and error.told_wait is not None
            and error.told_wait > policy.give_up_after
        )

    return stop


async def _attempt(client: httpx.AsyncClient, method: str, url: str, policy: RetryPolicy,
                   kwargs: dict[str, Any]) -> httpx.Response:
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.TransportError as exc:  # timeouts, refused connections, resets
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if status == 429 or status >= 500:
        told = retry_after(response, policy.clock()) if status in _TOLD_WHEN else None
        raise _Retryable(f"HTTP {status}", told)
    if response.is_error:
        raise Refused(response)
    return response


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy,
    what: str,
    **kwargs: Any,
) -> httpx.Response:
    """`client.request(method, url, **kwargs)` under `policy`; `what` names the API in the logs.

    Returns a successful (< 400) response; raises `Refused` for a 4xx other than 429 and
    `Unavailable` once the budget is spent.
    """
    attempts = 0

    def log_retry(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s: %s; retry %d in %.1f s", what, error, state.attempt_number, wait)

    retrying = AsyncRetrying(
        stop=stop_any(stop_after_attempt(max(1, policy.attempts)), _told_to_wait_too_long(policy)),
        wait=_wait(policy),
        retry=retry_if_exception_type(_Retryable),
        sleep=policy.sleep,
        before_sleep=log_retry,
        reraise=True,
    )
    response: httpx.Response | None = None
    try:
        async for attempt in retrying:
            with attempt:
                attempts += 1
                response = await _attempt(client, method, url, policy, kwargs)
    except _Retryable as exc:
        raise Unavailable(exc.problem, attempts) from None
    assert response is not None  # tenacity ends the loop only after a success or a raise
    return response
