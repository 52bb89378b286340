"""The BOAMP open-data API (opendatasoft dataset `boamp`): pages of records, oldest first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from tenders.boamp import BoampError

log = logging.getLogger(__name__)

# The API refuses offset + limit above this (opendatasoft's pagination window).
MAX_WINDOW = 10_000
PAGE_SIZE = 100
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def make_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """An AsyncClient with the timeouts and headers this source expects."""
    return httpx.AsyncClient(
        timeout=timeout,
        headers={"Accept": "application/json", "User-Agent": "centrale/0.1 (tender watch)"},
        follow_redirects=True,
    )


Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class RetryPolicy:
    """Retries on 429 (honouring Retry-After), 5xx, timeouts and connection errors."""

    attempts: int = 5  # total tries per request
    backoff: float = 1.0  # first wait in seconds, doubled at each retry
    max_wait: float = 120.0  # no single wait longer than this, whatever Retry-After says


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:  # an HTTP date
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


async def get_page(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, Any],
    *,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> dict[str, Any]:
    """One page of records ({total_count, results}), retrying what is worth retrying."""
    retry = retry or RetryPolicy()
    last_problem = "no attempt made"
    for attempt in range(retry.attempts):
        wait = min(retry.max_wait, retry.backoff * (2**attempt))
        try:
            response = await client.get(url, params=params)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 429 or response.status_code >= 500:
                last_problem = f"HTTP {response.status_code}"
                if response.status_code == 429:
                    told = _retry_after(response)
                    wait = min(retry.max_wait, told) if told is not None else wait
            elif response.status_code >= 400:
                raise BoampError(
                    f"BOAMP API refused the request (HTTP {response.status_code}): "
                    f"{response.text[:300]}"
                )
            else:
                try:
                    payload = response.json()
                except ValueError as exc:
                    raise BoampError(f"BOAMP API answered malformed JSON: {exc}") from None
                if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
                    raise BoampError("BOAMP API answer has no 'results' list")
                return payload
        if attempt + 1 < retry.attempts:
            log.warning("BOAMP API: %s; retry %d in %.1f s", last_problem, attempt + 1, wait)
            await sleep(wait)
    raise BoampError(f"BOAMP API unavailable after {retry.attempts} attempts ({last_problem})")


def _where(since: date, until: date | None) -> str:
    clause = f"dateparution >= date'{since.isoformat()}'"
    if until is not None:
        clause += f" AND dateparution <= date'{until.isoformat()}'"
    return clause


async def fetch_since(
    client: httpx.AsyncClient,
    base_url: str,
    since: date,
    until: date | None = None,
    *,
    page_size: int = PAGE_SIZE,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    today: date | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Raw records published from `since` to `until` (both included; no end when None), oldest
    first.

    Pages of `page_size` (≤ 100) by offset, ordered by publication date then idweb so that pages
    do not overlap. The API refuses offset + limit beyond 10,000: a longer range is split in two
    halves by date, recursively; a single day over 10,000 records (never seen: BOAMP publishes
    about 2,000 a day) yields its first 10,000 with a warning. `since` is the caller's cursor;
    records of that day are fetched again and the store's upsert absorbs them.
    """
    page_size = max(1, min(page_size, PAGE_SIZE))
    async for record in _fetch_window(
        client, base_url, since, until, page_size, retry, sleep, today or date.today()
    ):
        yield record


async def _fetch_window(
    client: httpx.AsyncClient,
    base_url: str,
    since: date,
    until: date | None,
    page_size: int,
    retry: RetryPolicy | None,
    sleep: Sleep,
    today: date,
) -> AsyncIterator[dict[str, Any]]:
    params = {
        "where": _where(since, until),
        "order_by": "dateparution, idweb",
        "limit": page_size,
        "offset": 0,
    }
    first = await get_page(client, base_url, params, retry=retry, sleep=sleep)
    total = int(first.get("total_count") or 0)
    end = until or max(today, since)
    if total > MAX_WINDOW and end > since:
        middle = since + (end - since) // 2
        log.info("BOAMP: %d records from %s to %s, split at %s", total, since, end, middle)
        for low, high in ((since, middle), (middle + timedelta(days=1), until)):
            async for record in _fetch_window(
                client, base_url, low, high, page_size, retry, sleep, today
            ):
                yield record
        return
    if total > MAX_WINDOW:
        log.warning("BOAMP: %d records on %s; only the first %d can be read", total, since,
                    MAX_WINDOW)
    page = first
    offset = 0
    while True:
        results = page["results"]
        for record in results:
            yield record
        offset += len(results)
        if not results or offset >= min(total, MAX_WINDOW):
            return
        limit = min(page_size, MAX_WINDOW - offset)
        page = await get_page(
            client, base_url, {**params, "offset": offset, "limit": limit},
            retry=retry, sleep=sleep,
        )
