import json

import httpx
import pytest
import respx

from conversations.company_lookup import CompanyLookup, LookupUnavailable, parse_search_answer

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
