"""The TED search API v3 client: every French notice published since a day, and a notice's XML."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from datetime import date

import httpx

from tenders.http import Refused, RetryPolicy, Unavailable, request
from tenders.ted import TedAPIError, TedParseError
from tenders.ted.search import SEARCH_FIELDS, decode_answer, first_value, notices_of
from tenders.ted.values import parse_date
from tenders.ted_ref import normalise_ted_ref

log = logging.getLogger(__name__)

PAGE_SIZE = 250  # the API's maximum
PAGE_WINDOW = 15_000  # page-number mode reaches at most this many results of one query
# Ingestion can wait: five tries, up to a minute between two of them.
RETRY = RetryPolicy(attempts=5, backoff=1.0, max_wait=60.0)


def france_query(since: date) -> str:
    """Expert query: notices of French buyers published since `since`, oldest first.

    The oldest-first order lets `search_since` move its window forward by date (see there).
    """
    return (
        f"buyer-country IN (FRA) AND publication-date >= {since:%Y%m%d} "
        "SORT BY publication-date ASC"
    )


async def _post_page(
    client: httpx.AsyncClient, url: str, body: dict, *, retry: RetryPolicy, timeout: float
) -> dict:
    """One page, retried on 429 (waiting Retry-After), 5xx and network errors/timeouts."""
    try:
        response = await request(client, "POST", url, policy=retry,
                                 what=f"TED API page {body.get('page')}", json=body,
                                 timeout=timeout)
    except Unavailable as exc:
        raise TedAPIError(
            f"TED API still failing after {exc.attempts} attempts ({exc.problem})"
        ) from None
    except Refused as exc:
        raise TedAPIError(
            f"TED API refused the request (HTTP {exc.status_code}): {exc.response.text[:300]}"
        ) from None
    return decode_answer(response.content)


async def search_since(
    client: httpx.AsyncClient,
    url: str,
    since: date,
    *,
    fields: Iterable[str] = SEARCH_FIELDS,
    page_size: int = PAGE_SIZE,
    scope: str = "ALL",
    retry: RetryPolicy = RETRY,
    timeout: float = 60.0,
) -> AsyncIterator[dict]:
    """Yield every search result (a dict per notice) for French buyers published since `since`.

    Pages of `page_size` (≤ 250) in page-number mode, until a page is short or empty or
    `totalNoticeCount` is reached. Scope ALL, not ACTIVE: award and change notices are needed
    too (they close and update tenders). Page-number mode stops at 15,000 results per query, so
    when a query has more, the window restarts from the publication date of the last result
    (results are sorted by date; the few already seen on that day are not yielded twice).
    Raises `TedAPIError` when a page cannot be had (after retries) or is not valid JSON.
    """
    page_size = max(1, min(page_size, PAGE_SIZE))
    field_list = list(fields)
    window_start = since
    already_seen: set[str] = set()  # results of window_start's day yielded by the last window
    while True:
        last_day: date | None = None
        last_day_numbers: set[str] = set()
        page = 1
        while True:
            body = {
                "query": france_query(window_start),
                "fields": field_list,
                "limit": page_size,
                "page": page,
                "scope": scope,
                "paginationMode": "PAGE_NUMBER",
            }
            data = await _post_page(client, url, body, retry=retry, timeout=timeout)
            notices = notices_of(data)
            for item in notices:
                number, day = _number_and_day(item)
                if number and number in already_seen:
                    continue
                if day is not None and day != last_day:
                    last_day, last_day_numbers = day, set()
                if number:
                    last_day_numbers.add(number)
                yield item
            total = data.get("totalNoticeCount")
            fetched = page * page_size
            if len(notices) < page_size or (isinstance(total, int) and fetched >= total):
                return
            if fetched + page_size > PAGE_WINDOW:
                break  # this query cannot page further: move the window
            page += 1
        if last_day is None or last_day <= window_start:
            # One day alone fills the whole window: page mode cannot reach the rest.
            log.error(
                "TED API: more than %d notices from %s on; the rest is skipped",
                PAGE_WINDOW,
                window_start,
            )
            return
        window_start, already_seen = last_day, last_day_numbers


def _number_and_day(item: object) -> tuple[str | None, date | None]:
    if not isinstance(item, dict):
        return None, None
    day = parse_date(first_value(item.get("publication-date")))
    return normalise_ted_ref(first_value(item.get("publication-number"))), (
        day[0] if day else None
    )


async def fetch_notice_xml(
    client: httpx.AsyncClient,
    item: dict,
    *,
    retry: RetryPolicy = RETRY,
    timeout: float = 60.0,
) -> bytes:
    """The full XML of a search result (its links.xml), e.g. to read lots and reservations the
    search fields leave out. Pass the bytes to `parse_notice`."""
    links = item.get("links") if isinstance(item, dict) else None
    xml_links = links.get("xml") if isinstance(links, dict) else None
    url = first_value(xml_links) if xml_links else ""
    if not url:
        number = normalise_ted_ref(first_value(item.get("publication-number")))
        if not number:
            raise TedParseError("search result without XML link or publication number")
        url = f"https://ted.europa.eu/en/notice/{number}/xml"
    try:
        response = await request(client, "GET", url, policy=retry, what="TED notice XML",
                                 timeout=timeout)
    except Unavailable as exc:
        raise TedAPIError(f"TED notice XML {url}: {exc}") from None
    except Refused as exc:
        raise TedAPIError(f"TED notice XML {url}: HTTP {exc.status_code}") from None
    return response.content
