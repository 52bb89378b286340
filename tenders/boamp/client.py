"""The BOAMP open-data API (opendatasoft dataset `boamp`): pages of records, oldest first."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx

from tenders.boamp import BoampError
from tenders.http import Refused, RetryPolicy, Unavailable, request

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


# Ingestion can wait: five tries, up to two minutes between two of them.
RETRY = RetryPolicy(attempts=5, backoff=1.0, max_wait=120.0)


async def get_page(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, Any],
    *,
    retry: RetryPolicy = RETRY,
) -> dict[str, Any]:
    """One page of records ({total_count, results}), retrying what is worth retrying."""
    try:
        response = await request(client, "GET", url, policy=retry, what="BOAMP API",
                                 params=params)
    except Unavailable as exc:
        raise BoampError(
            f"BOAMP API unavailable after {exc.attempts} attempts ({exc.problem})"
        ) from None
    except Refused as exc:
        raise BoampError(
            f"BOAMP API refused the request (HTTP {exc.status_code}): {exc.response.text[:300]}"
        ) from None
    try:
        payload = response.json()
    except ValueError as exc:
        raise BoampError(f"BOAMP API answered malformed JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise BoampError("BOAMP API answer has no 'results' list")
    return payload


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
    retry: RetryPolicy = RETRY,
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
        client, base_url, since, until, page_size, retry, today or date.today()
    ):
        yield record


async def _fetch_window(
    client: httpx.AsyncClient,
    base_url: str,
    since: date,
    until: date | None,
    page_size: int,
    retry: RetryPolicy,
    today: date,
) -> AsyncIterator[dict[str, Any]]:
    params = {
        "where": _where(since, until),
        "order_by": "dateparution, idweb",
        "limit": page_size,
        "offset": 0,
    }
    first = await get_page(client, base_url, params, retry=retry)
    total = int(first.get("total_count") or 0)
    end = until or max(today, since)
    if total > MAX_WINDOW and end > since:
        middle = since + (end - since) // 2
        log.info("BOAMP: %d records from %s to %s, split at %s", total, since, end, middle)
        for low, high in ((since, middle), (middle + timedelta(days=1), until)):
            async for record in _fetch_window(
                client, base_url, low, high, page_size, retry, today
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
            retry=retry,
        )
