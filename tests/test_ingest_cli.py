"""`centrale ingest` and `centrale tenders list`, end to end on the real samples.

The CLI is called as `bot.cli.main([...])` with DATABASE_URL pointing at the test database.
Variants of real records (a rectificatif, a cancellation, an award, a BOAMP notice carrying the
TED reference of a real TED notice) are built from the samples by changing the fields a real
notice of that kind has.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
import respx
from sqlalchemy import func, select

from bot.cli import main
from bot.settings import get_settings
from store.db import session_scope
from store.tender_models import IngestCursor, LotRow, TenderNotice, TenderRow
from tenders.boamp.record import parse_record
from tenders.ingest import ingest_fetch

BOAMP_URL = "https://boamp.test/api/explore/v2.1/catalog/datasets/boamp/records"
TED_URL = "https://ted.test/v3/notices/search"


@pytest.fixture
def cli(engine, db_url, monkeypatch):
    """Run `centrale …` on the test database; returns (exit code, stdout)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("BOAMP_API_URL", BOAMP_URL)
    monkeypatch.setenv("TED_API_URL", TED_URL)
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    get_settings.cache_clear()

    def run(*argv):
        return main(list(argv))

    yield run
    get_settings.cache_clear()


def run_json(cli, capsys, *argv):
    capsys.readouterr()
    assert cli(*argv) == 0
    return json.loads(capsys.readouterr().out)


def rows(engine) -> dict[str, TenderRow]:
    with session_scope(engine) as session:
        return {r.source_id: r for r in session.execute(select(TenderRow)).scalars()}


def count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def boamp_answer(shared_data):
    return json.loads((shared_data / "boamp" / "ods_records_2015.json").read_text())


def save(tmp_path, name, payload) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(payload, ensure_ascii=False))
    return str(path)


# --- files ---------------------------------------------------------------------------------------


def test_ingest_a_saved_boamp_answer_and_list_it(cli, capsys, engine, shared_data):
    report = run_json(cli, capsys, "ingest", "boamp", "--file",
                      str(shared_data / "boamp" / "ods_records_2015.json"), "--json")
    assert (report["records"], report["new"], report["skipped"]) == (5, 5, [])
    stored = rows(engine)
    nice = stored["15-31001"]
    assert nice.buyer == "C.H.U. de Nice"
    assert nice.departements == ["06"]
    assert nice.deadline.date() == date(2015, 4, 24) and nice.deadline.utcoffset().seconds == 0
    assert nice.status == "open" and nice.needs_matching
    assert count(engine, LotRow) == 34  # Colmar's 33 lots and Nice's one

    listed = run_json(cli, capsys, "tenders", "list", "--json")
    assert len(listed) == 5
    first = next(t for t in listed if t["source_id"] == "15-31001")
    assert first["deadline"] == nice.deadline.isoformat()
    assert first["deadline"].startswith("2015-04-24T") and first["deadline"].endswith("+00:00")
    assert first["boamp_ref"] == "15-31001" and first["departements"] == ["06"]

    capsys.readouterr()
    assert cli("tenders", "list", "--limit", "2") == 0
    text = capsys.readouterr().out
    assert len(text.strip().splitlines()) == 2


def test_reingesting_changes_nothing_and_the_summary_says_so(cli, capsys, engine, shared_data):
    path = str(shared_data / "boamp" / "ods_records_2015.json")
    assert cli("ingest", "boamp", "--file", path) == 0
    capsys.readouterr()
    assert cli("ingest", "boamp", "--file", path) == 0
    out = capsys.readouterr().out
    assert out.startswith("BOAMP: 5 records read, 0 new, 0 updated, 0 merged with an existing "
                          "tender, 5 unchanged, 0 skipped")
    assert count(engine, TenderRow) == 5 and count(engine, TenderNotice) == 5


def test_ingest_xml_notices_from_directories(cli, capsys, engine, shared_data):
    boamp = run_json(cli, capsys, "ingest", "boamp", "--file",
                     str(shared_data / "boamp" / "xml"), "--json")
    assert (boamp["files"], boamp["new"], boamp["skipped"]) == (9, 9, [])
    ted = run_json(cli, capsys, "ingest", "ted", "--file", str(shared_data / "ted" / "eforms"),
                   "--json")
    assert (ted["files"], ted["new"]) == (6, 6)
    stored = rows(engine)
    assert stored["16-181902"].buyer == "Grand Port Maritime de Marseille"
    assert stored["16-181902"].status == "open"
    # BOAMP award notices of calls never seen are stored closed, never matched.
    assert stored["16-138580"].status == "closed" and not stored["16-138580"].needs_matching
    meals = stored["91489-2019"]
    assert (meals.buyer, meals.departements, meals.ted_ref) == (
        "EPS Paul Guiraud", ["92"], "91489-2019")
    assert stored["404080-2018"].status == "closed"
    # The award's reference is kept, so the call it closes will join this tender if it comes.
    with session_scope(engine) as session:
        notice = session.execute(select(TenderNotice).where(
            TenderNotice.source_id == "92667-2018")).scalar_one()
        assert notice.tender_id == stored["404080-2018"].id and notice.content_hash == ""


def test_eforms_cancellation_cancels_the_contract_notice(cli, capsys, engine, shared_data):
    sdk = shared_data / "ted" / "eforms-sdk"
    run_json(cli, capsys, "ingest", "ted", "--file", str(sdk / "cn_24_minimal.xml"), "--json")
    report = run_json(cli, capsys, "ingest", "ted", "--file", str(sdk / "change-cn_24_void.xml"),
                      "--json")
    assert (report["new"], report["updated"]) == (0, 1)
    (row,) = rows(engine).values()
    assert row.source_id == "f42be27e-09cf-4f0e-a745-63ec689631e6"
    assert row.status == "cancelled" and not row.needs_matching


def test_a_file_that_is_neither_json_nor_xml_stops_with_a_message(cli, capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli("ingest", "boamp", "--file", str(bad)) == 1
    assert "bad.json" in capsys.readouterr().err
    assert cli("ingest", "boamp", "--file", str(tmp_path / "missing.json")) == 1


def test_an_unsafe_xml_notice_is_skipped_not_expanded(cli, capsys, engine, tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx">'
                    '<!ENTITY y "&x;&x;&x;&x;&x;&x;">]><ANNONCE>&y;</ANNONCE>')
    report = run_json(cli, capsys, "ingest", "boamp", "--file", str(bomb), "--json")
    assert report["new"] == 0 and report["skipped"][0]["id"] == "bomb.xml"
    assert count(engine, TenderRow) == 0


def test_bad_records_are_skipped_with_their_reason(cli, capsys, engine, tmp_path, boamp_answer):
    records = boamp_answer["results"][:2] + [{"idweb": "15-99999"}, {"objet": "sans id"}]
    report = run_json(cli, capsys, "ingest", "boamp", "--file",
                      save(tmp_path, "page.json", {"total_count": 4, "results": records}),
                      "--json")
    assert report["new"] == 2
    assert [item["id"] for item in report["skipped"]] == ["15-99999", "?"]
    capsys.readouterr()
    assert cli("ingest", "boamp", "--file", str(tmp_path / "page.json")) == 0
    assert "skipped 15-99999: no title" in capsys.readouterr().out


# --- update paths with variants of real records --------------------------------------------------


def variant(record: dict, idweb: str, replace: tuple[str, str] | None = None, **fields) -> dict:
    """A copy of a real record under another idweb, with some fields changed (and, with
    `replace`, a text changed everywhere in it, e.g. a date in every field that carries it)."""
    changed = copy.deepcopy(record)
    if replace:
        changed = json.loads(json.dumps(changed).replace(*replace))
    changed.update(idweb=idweb, id=idweb.replace("-", "_"),
                   url_avis=f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}", **fields)
    return changed


def test_rectificatif_cancellation_and_award_paths(cli, capsys, engine, tmp_path, boamp_answer):
    nice, colmar, villepinte = (boamp_answer["results"][i] for i in (4, 1, 3))
    run_json(cli, capsys, "ingest", "boamp", "--file", save(tmp_path, "calls.json", boamp_answer),
             "--json")
    with session_scope(engine) as session:
        session.execute(TenderRow.__table__.update().values(needs_matching=False))

    rectificatif = variant(nice, "15-40001", nature="RECTIFICATIF", etat="RECTIFICATIF",
                           dateparution="2015-03-20", annonce_lie=["15-31001"],
                           replace=("2015-04-24", "2015-05-04"))  # the deadline is postponed
    cancellation = variant(colmar, "15-40002", nature="ANNULATION", etat="AVIS_ANNULE",
                           dateparution="2015-03-21", annonce_lie="15-27549")
    award = variant(villepinte, "15-40003", nature="ATTRIBUTION", dateparution="2015-06-01",
                    annonces_anterieures=["15-30976"], datelimitereponse=None)
    page = save(tmp_path, "later.json", {"total_count": 3,
                                         "results": [rectificatif, cancellation, award]})
    report = run_json(cli, capsys, "ingest", "boamp", "--file", page, "--json")
    assert (report["new"], report["updated"]) == (0, 3)

    stored = rows(engine)
    assert set(stored) == set(r["idweb"] for r in boamp_answer["results"])
    assert stored["15-31001"].status == "changed" and stored["15-31001"].needs_matching
    assert stored["15-31001"].deadline == parse_record(rectificatif).deadline
    assert stored["15-31001"].deadline.date() == date(2015, 5, 4)
    assert stored["15-27549"].status == "cancelled" and not stored["15-27549"].needs_matching
    assert stored["15-30976"].status == "closed"
    assert not stored["15-29477"].needs_matching  # untouched

    again = run_json(cli, capsys, "ingest", "boamp", "--file", page, "--json")
    assert (again["new"], again["updated"], again["merged"], again["unchanged"]) == (0, 0, 0, 3)

    changed = run_json(cli, capsys, "tenders", "list", "--status", "changed", "--json")
    assert [t["source_id"] for t in changed] == ["15-31001"]


def test_the_same_tender_on_boamp_and_ted_is_stored_once(cli, capsys, engine, tmp_path,
                                                         shared_data, boamp_answer):
    # A BOAMP JOUE notice names the TED notice it was also published as; here a real BOAMP
    # record is given the reference of the real TED notice 2019/S 040-091489.
    record = copy.deepcopy(boamp_answer["results"][2])
    gestion = json.loads(record["gestion"])
    gestion["REFERENCE"]["REFERENCE_JOUE"] = "2019/S 040-091489"
    record["gestion"] = json.dumps(gestion)
    run_json(cli, capsys, "ingest", "boamp", "--file",
             save(tmp_path, "one.json", {"total_count": 1, "results": [record]}), "--json")
    report = run_json(cli, capsys, "ingest", "ted", "--file",
                      str(shared_data / "ted" / "eforms" / "19-090974-001-EXP.xml"), "--json")
    assert (report["new"], report["merged"]) == (0, 1)
    (row,) = rows(engine).values()
    assert (row.source, row.boamp_ref, row.ted_ref) == ("boamp", "15-29477", "91489-2019")
    assert "92" in row.departements and "73" in row.departements
    with session_scope(engine) as session:
        assert session.execute(select(func.count()).select_from(TenderNotice)).scalar_one() == 2
    listed = run_json(cli, capsys, "tenders", "list", "--json")
    assert [(t["boamp_ref"], t["ted_ref"]) for t in listed] == [("15-29477", "91489-2019")]


# --- fetching --------------------------------------------------------------------------------------


def _boamp_page(records, total):
    return httpx.Response(200, json={"total_count": total, "results": records})


@respx.mock
def test_ingest_fetches_from_the_cursor_and_moves_it(cli, capsys, engine, boamp_answer):
    route = respx.get(BOAMP_URL).mock(return_value=_boamp_page(boamp_answer["results"], 5))
    report = run_json(cli, capsys, "ingest", "boamp", "--since", "2015-03-01", "--json")
    assert report["new"] == 5 and report["since"] == "2015-03-01"
    assert report["cursor"] == "2015-03-03"  # the latest publication date stored
    assert "2015-03-01" in route.calls.last.request.url.params["where"]

    # Next run without --since starts from the cursor; nothing new.
    report = run_json(cli, capsys, "ingest", "boamp", "--json")
    assert report["since"] == "2015-03-03" and report["unchanged"] == 5
    assert "2015-03-03" in route.calls.last.request.url.params["where"]
    with session_scope(engine) as session:
        assert session.get(IngestCursor, "boamp").last_published == date(2015, 3, 3)


@respx.mock
def test_without_cursor_the_last_two_days_are_fetched(cli, capsys):
    route = respx.get(BOAMP_URL).mock(return_value=_boamp_page([], 0))
    report = run_json(cli, capsys, "ingest", "boamp", "--json")
    since = date.fromisoformat(report["since"])
    assert (datetime.now(UTC).date() - since).days == 2
    assert report["cursor"] is None and route.called


@respx.mock
def test_ted_fetch_stores_the_search_results_and_moves_the_cursor(cli, capsys, engine):
    # A search API answer rebuilt from the real French TED notices (tests/fixtures/ted).
    answer = (Path(__file__).parent / "fixtures" / "ted" / "search_page1.json").read_bytes()
    route = respx.post(TED_URL).mock(return_value=httpx.Response(200, content=answer))
    report = run_json(cli, capsys, "ingest", "ted", "--since", "2018-09-01", "--json")
    assert (report["records"], report["new"], report["cursor"]) == (3, 3, "2019-07-05")
    assert "publication-date >= 20180901" in json.loads(route.calls.last.request.content)["query"]
    stored = rows(engine)
    assert set(stored) == {"404080-2018", "91489-2019", "315003-2019"}
    assert stored["91489-2019"].buyer == "EPS Paul Guiraud"
    assert stored["404080-2018"].status == "closed"
    again = run_json(cli, capsys, "ingest", "ted", "--json")
    assert (again["since"], again["unchanged"], again["new"]) == ("2019-07-05", 3, 0)


@respx.mock
def test_ted_fetch_and_an_api_failure(cli, capsys, engine):
    respx.post(TED_URL).mock(return_value=httpx.Response(400, text="bad query"))
    assert cli("ingest", "ted", "--since", "2027-01-01") == 1
    assert "Ingestion stopped" in capsys.readouterr().err


def test_a_database_without_the_tables_is_reported(cli, capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    get_settings.cache_clear()
    assert cli("tenders", "list") == 2
    assert "centrale db upgrade" in capsys.readouterr().err


def test_since_must_be_a_date(cli, capsys):
    with pytest.raises(SystemExit):
        cli("ingest", "boamp", "--since", "yesterday")
    assert "YYYY-MM-DD" in capsys.readouterr().err


@respx.mock
async def test_ingest_fetch_stores_page_by_page(engine, boamp_answer):
    respx.get(BOAMP_URL).mock(return_value=_boamp_page(boamp_answer["results"], 5))
    seen = []
    report = await ingest_fetch(engine, BOAMP_URL, "boamp", date(2015, 3, 1), chunk_size=2,
                                progress=seen.append)
    assert seen == [2, 2, 1] and report.summary.new == 5 and report.records == 5
