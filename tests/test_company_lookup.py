import json
from dataclasses import replace

import httpx
import pytest
import respx

from conversations.company_lookup import (
    RETRY,
    TIMEOUT_S,
    CompanyLookup,
    LookupUnavailable,
    parse_search_answer,
)

URL = "http://company.test/search"


def load(shared_data, name):
    data = json.loads((shared_data / "recherche_entreprises" / name).read_text())
    return data.get("result", data)


def test_parse_ess_association(shared_data):
    info = parse_search_answer(load(shared_data, "search_response_q_800329849.json"),
                               "80032984900023")
    assert info.name == "THEATRE STEPHANE GILDAS"
    assert info.legal_form == "9220"
    assert info.naf == "90.01Z"
    assert info.departement == "75"
    assert info.is_ess and info.is_association and not info.is_siae


def test_parse_siae_enterprise(shared_data):
    info = parse_search_answer(load(shared_data, "search-533744991.json"), "53374499100035")
    assert info.is_siae and info.siae_type == "EI"
    assert info.departement == "13"


def test_parse_matching_establishment_closed(shared_data):
    info = parse_search_answer(load(shared_data, "search-88087814500015.json"), "88087814500015")
    assert info.name == "GANYMEDE" and info.naf == "62.02A"
    assert info.active is False


def test_unknown_siren_is_none(shared_data):
    assert parse_search_answer(load(shared_data, "search-533744991.json"),
                               "80032984900023") is None


@respx.mock
async def test_lookup_replays_and_caches(shared_data):
    route = respx.get(URL).mock(return_value=httpx.Response(
        200, json=load(shared_data, "search-383657467.json")))
    lookup = CompanyLookup(URL)
    first = await lookup.lookup("38365746700036")
    second = await lookup.lookup("38365746700036")
    assert first == second and first.is_ess and first.departement == "34"
    assert route.call_count == 1
    assert route.calls[0].request.url.params["q"] == "38365746700036"


@respx.mock
async def test_lookup_retries_once_then_gives_up():
    route = respx.get(URL).mock(side_effect=[httpx.Response(503), httpx.Response(503)])
    with pytest.raises(LookupUnavailable):
        await CompanyLookup(URL).lookup("80032984900023")
    assert route.call_count == 2


@respx.mock
async def test_lookup_timeout_then_success(shared_data):
    respx.get(URL).mock(side_effect=[httpx.ReadTimeout("slow"), httpx.Response(
        200, json=load(shared_data, "search_response_q_800329849.json"))])
    info = await CompanyLookup(URL).lookup("80032984900023")
    assert info is not None and info.name == "THEATRE STEPHANE GILDAS"


@respx.mock
async def test_lookup_malformed_json():
    respx.get(URL).mock(return_value=httpx.Response(200, content=b"<html>oops"))
    with pytest.raises(LookupUnavailable):
        await CompanyLookup(URL).lookup("80032984900023")


class FakeSleep:
    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def quick_lookup() -> tuple[CompanyLookup, FakeSleep]:
    sleep = FakeSleep()
    return CompanyLookup(URL, retry=replace(RETRY, sleep=sleep)), sleep


def test_the_lookup_budget_is_one_retry_within_seconds():
    # The diagnostic waits for this call: 3 s per try, two tries, a short pause between them.
    assert TIMEOUT_S == 3.0 and RETRY.attempts == 2
    assert RETRY.max_wait <= 1.0 and RETRY.give_up_after is not None


@respx.mock
async def test_lookup_gives_up_fast_when_the_api_stays_down():
    route = respx.get(URL).mock(return_value=httpx.Response(503))
    lookup, sleep = quick_lookup()
    with pytest.raises(LookupUnavailable):
        await lookup.lookup("80032984900023")
    assert route.call_count == 2 and len(sleep.waits) == 1 and sleep.waits[0] <= RETRY.max_wait
    assert route.calls[0].request.extensions["timeout"]["read"] == TIMEOUT_S


@respx.mock
async def test_lookup_does_not_wait_out_a_long_rate_limit():
    route = respx.get(URL).mock(return_value=httpx.Response(429, headers={"Retry-After": "60"}))
    lookup, sleep = quick_lookup()
    with pytest.raises(LookupUnavailable):
        await lookup.lookup("80032984900023")
    assert route.call_count == 1 and sleep.waits == []


@respx.mock
async def test_lookup_honours_a_short_retry_after(shared_data):
    respx.get(URL).mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(200, json=load(shared_data, "search_response_q_800329849.json")),
    ])
    lookup, sleep = quick_lookup()
    info = await lookup.lookup("80032984900023")
    assert info is not None and sleep.waits == [1.0]


@respx.mock
async def test_lookup_does_not_retry_a_refused_request():
    route = respx.get(URL).mock(return_value=httpx.Response(400, json={"erreur": "q"}))
    lookup, sleep = quick_lookup()
    with pytest.raises(LookupUnavailable):
        await lookup.lookup("80032984900023")
    assert route.call_count == 1 and sleep.waits == []
