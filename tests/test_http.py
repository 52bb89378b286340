"""The HTTP helper shared by BOAMP, TED and the company lookup: what is retried, how long it waits,
and that each caller's budget holds. Answers replayed with respx; sleep and clock are fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx

from tenders.http import Refused, RetryPolicy, Unavailable, request, retry_after

URL = "https://api.test/records"
NOW = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)


class FakeSleep:
    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def policy(**fields) -> tuple[RetryPolicy, FakeSleep]:
    sleep = FakeSleep()
    return RetryPolicy(sleep=sleep, clock=lambda: NOW, **fields), sleep


async def get(retry: RetryPolicy) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await request(client, "GET", URL, policy=retry, what="test API")


def http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def test_retry_after_reads_seconds_and_http_dates():
    def answer(value: str) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": value})

    assert retry_after(answer("120"), NOW) == 120.0
    assert retry_after(answer(" 1.5 "), NOW) == 1.5
    assert retry_after(answer(http_date(NOW + timedelta(seconds=45))), NOW) == 45.0
    assert retry_after(answer(http_date(NOW - timedelta(minutes=5))), NOW) == 0.0  # past: now
    for garbage in ("soon", "-3", "inf", "nan", ""):
        assert retry_after(answer(garbage), NOW) is None
    assert retry_after(httpx.Response(429), NOW) is None


@respx.mock
async def test_a_429_waits_what_retry_after_says():
    route = respx.get(URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": http_date(NOW + timedelta(seconds=20))}),
        httpx.Response(200, json={"ok": True}),
    ])
    retry, sleep = policy(attempts=5, jitter=3.0)
    response = await get(retry)
    assert response.json() == {"ok": True} and route.call_count == 3
    assert sleep.waits == [7.0, 20.0]  # the server's word, no jitter added


@respx.mock
async def test_a_503_with_retry_after_is_honoured_and_capped_at_max_wait():
    respx.get(URL).mock(side_effect=[
        httpx.Response(503, headers={"Retry-After": "3600"}),
        httpx.Response(200),
    ])
    retry, sleep = policy(max_wait=90.0)
    await get(retry)
    assert sleep.waits == [90.0]


@respx.mock
async def test_5xx_and_connection_errors_back_off_with_jitter():
    respx.get(URL).mock(side_effect=[
        httpx.Response(500), httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
        httpx.Response(502), httpx.Response(200),
    ])
    retry, sleep = policy(attempts=5, backoff=1.0, max_wait=6.0, jitter=0.5)
    await get(retry)
    assert len(sleep.waits) == 4
    for wait, base in zip(sleep.waits, (1.0, 2.0, 4.0, 6.0), strict=True):
        assert base <= wait <= min(6.0, base + 0.5)  # doubled, jittered, capped


@respx.mock
async def test_the_attempt_budget_is_respected():
    route = respx.get(URL).mock(return_value=httpx.Response(500))
    retry, sleep = policy(attempts=3, jitter=0)
    with pytest.raises(Unavailable) as failure:
        await get(retry)
    assert route.call_count == 3 and sleep.waits == [1.0, 2.0]
    assert (failure.value.attempts, failure.value.problem) == (3, "HTTP 500")


@respx.mock
async def test_a_request_the_server_refuses_is_not_retried():
    route = respx.get(URL).mock(return_value=httpx.Response(404, text="no such dataset"))
    retry, sleep = policy()
    with pytest.raises(Refused) as refused:
        await get(retry)
    assert refused.value.status_code == 404 and refused.value.response.text == "no such dataset"
    assert route.call_count == 1 and sleep.waits == []


@respx.mock
async def test_a_wait_longer_than_the_caller_bears_gives_up_at_once():
    route = respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "30"}))
    retry, sleep = policy(attempts=5, give_up_after=1.0)
    with pytest.raises(Unavailable, match="HTTP 429"):
        await get(retry)
    assert route.call_count == 1 and sleep.waits == []


@respx.mock
async def test_each_retry_is_logged_with_its_wait(caplog):
    respx.get(URL).mock(side_effect=[httpx.Response(503), httpx.Response(200)])
    retry, _ = policy(backoff=2.0, jitter=0)
    await get(retry)
    assert "test API: HTTP 503; retry 1 in 2.0 s" in caplog.text
