"""`centrale match`: new and changed tenders scored against every structure, one row per pair."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

import alerts.match_job as match_job
from alerts.match_job import run_matching
from alerts.profiles import load_profiles
from store.db import session_scope
from store.models import Member, Structure
from store.tender_models import MatchRow, TenderRow
from tenders.ingest import ingest_files
from tenders.model import Lot, NoticeKind, Tender
from tenders.store import upsert_tenders

PARIS = ZoneInfo("Europe/Paris")

SOON = datetime.now(UTC) + timedelta(days=30)


def add_structures(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        garden = Structure(siret="73282932000074", name="Jardins solidaires", family="siae_aci",
                           is_siae=True, departements=["42", "43"], cpv_codes=["77300000"],
                           keywords=["espaces verts"])
        printer = Structure(siret="80032984900015", name="Imprimerie coopérative", family="scop",
                            departements=["06"], cpv_codes=["22000000"])
        cleaner = Structure(siret="35600000000048", name="Nettoyage Loire", family="ea",
                            departements=["42"], cpv_codes=["90910000"],
                            excluded_keywords=["amiante"])
        session.add_all([garden, printer, cleaner])
        session.flush()
        session.add(Member(structure_id=garden.id, email="a@jardins.example", language="en"))
        return {s.name: s.id for s in (garden, printer, cleaner)}


def green_spaces(source_id="27-1001", **fields) -> Tender:
    values = dict(
        title="Entretien des espaces verts de la commune", buyer="Ville de Saint-Étienne",
        cpv_codes=["77310000"], departements=["42"], published=date.today(), deadline=SOON,
        lots=[Lot("1", "Parcs", ["77311000"]), Lot("2", "Nettoyage des vestiaires",
                                                   ["90910000"])],
    )
    values.update(fields)
    return Tender(source="boamp", source_id=source_id, **values)


def store(engine, *tenders) -> None:
    with session_scope(engine) as session:
        upsert_tenders(session, list(tenders))


def match_rows(engine) -> list[MatchRow]:
    with session_scope(engine) as session:
        return list(session.execute(select(MatchRow).order_by(MatchRow.id)).scalars())


def test_profiles_come_from_structures_with_their_members_language(engine):
    ids = add_structures(engine)
    with session_scope(engine) as session:
        profiles = {p.name: p for p in load_profiles(session)}
    garden = profiles["Jardins solidaires"]
    assert garden.structure_id == ids["Jardins solidaires"]
    assert garden.cpv_codes == ("77300000",) and garden.departements == ("42", "43")
    assert garden.keywords == ("espaces verts",) and garden.siae_eligible
    assert garden.language == "en" and garden.siret == "73282932000074"
    assert profiles["Nettoyage Loire"].language == "fr"
    assert profiles["Nettoyage Loire"].excluded_keywords == ("amiante",)


def test_match_stores_one_row_per_pair_and_running_twice_adds_nothing(cli, capsys, engine):
    ids = add_structures(engine)
    store(engine, green_spaces(), green_spaces("27-1002", title="Impression de brochures",
                                               cpv_codes=["22100000"], departements=["06"],
                                               lots=[]))
    capsys.readouterr()
    assert cli("match", "--json") == 0
    stored = json.loads(capsys.readouterr().out)
    pairs = {(m["tender"]["source_id"], m["structure"]["name"]) for m in stored}
    assert pairs == {("27-1001", "Jardins solidaires"), ("27-1001", "Nettoyage Loire"),
                     ("27-1002", "Imprimerie coopérative")}
    garden = next(m for m in stored if m["structure"]["name"] == "Jardins solidaires")
    assert garden["tender"]["source"] == "boamp"
    assert garden["structure"] == {"id": ids["Jardins solidaires"], "siret": "73282932000074",
                                   "name": "Jardins solidaires"}
    assert 0 < garden["score"] <= 100
    raw = garden["reasons_raw"]
    assert {"kind": "cpv", "code": "77310000", "field": "77300000", "relation": "within"} in raw
    assert {"kind": "keyword", "keyword": "espaces verts", "words": "espaces verts"} in raw
    assert len(garden["reasons"]) == len(raw)
    # French rendering, whatever the operator's language.
    assert any(text.startswith("CPV 77310000") and "77300000" in text
               for text in garden["reasons"])
    assert "Loire (42) est dans votre zone" in garden["reasons"] or (
        "Loire (42) is in your area" in garden["reasons"])  # until the catalogs are compiled

    rows = match_rows(engine)
    assert len(rows) == 3 and all(r.reasons for r in rows)
    with session_scope(engine) as session:
        assert not session.execute(select(func.count()).select_from(TenderRow).where(
            TenderRow.needs_matching.is_(True))).scalar_one()

    assert cli("match", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli("match", "--all", "--json") == 0  # even scoring everything again
    assert json.loads(capsys.readouterr().out) == []
    assert len(match_rows(engine)) == 3

    assert cli("match") == 0
    assert capsys.readouterr().out.startswith("0 tenders scored, 0 new matches, 0 refreshed.")


def test_a_changed_tender_is_matched_again_without_duplicates(engine):
    ids = add_structures(engine)
    store(engine, green_spaces(lots=[]))
    with session_scope(engine) as session:
        first = run_matching(session, tz=PARIS)
    assert [m.structure_name for m in first.stored] == ["Jardins solidaires"]
    rectificatif = green_spaces("27-2002", kind=NoticeKind.RECTIFICATION, refers_to="27-1001",
                                title="Entretien des parcs et des vestiaires",
                                lots=[Lot("1", "Parcs", ["77311000"]),
                                      Lot("2", "Vestiaires", ["90910000"])])
    store(engine, rectificatif)
    with session_scope(engine) as session:
        second = run_matching(session, tz=PARIS)
    assert second.tenders == 1
    assert [m.structure_id for m in second.stored] == [ids["Nettoyage Loire"]]
    assert second.refreshed == 1  # the garden's keyword reason is gone with the old title
    rows = match_rows(engine)
    assert sorted(r.structure_id for r in rows) == sorted(
        [ids["Jardins solidaires"], ids["Nettoyage Loire"]])


def test_cancelled_and_past_tenders_never_match(engine):
    add_structures(engine)
    store(engine, green_spaces(), green_spaces("27-1003", deadline=datetime.now(UTC)
                                               - timedelta(days=1), title="Tonte des talus"))
    store(engine, green_spaces("27-3003", kind=NoticeKind.CANCELLATION, refers_to="27-1001"))
    with session_scope(engine) as session:
        run = run_matching(session, tz=PARIS)
    assert run.stored == [] and match_rows(engine) == []


def test_each_new_match_goes_through_the_hook_in_the_same_transaction(engine, monkeypatch):
    add_structures(engine)
    store(engine, green_spaces())
    seen = []

    def hook(session, match_row, tz):
        assert match_row.id is not None and session.get(MatchRow, match_row.id) is match_row
        seen.append((match_row.tender_id, match_row.structure_id))

    monkeypatch.setattr(match_job, "on_match", hook)
    with session_scope(engine) as session:
        run = run_matching(session, tz=PARIS)
    assert sorted(seen) == sorted((m.tender_id, m.structure_id) for m in run.stored)
    assert len(seen) == 2


def test_deleting_a_structure_deletes_its_matches(engine):
    ids = add_structures(engine)
    store(engine, green_spaces())
    with session_scope(engine) as session:
        run_matching(session, tz=PARIS)
    with session_scope(engine) as session:
        # Its member goes first (members.structure_id has no cascade: that is store/members.py's).
        for member in session.execute(select(Member)).scalars():
            session.delete(member)
        session.flush()
        session.delete(session.get(Structure, ids["Jardins solidaires"]))
    assert [r.structure_id for r in match_rows(engine)] == [ids["Nettoyage Loire"]]


def test_real_samples_match_at_their_publication_time(engine, shared_data):
    with session_scope(engine) as session:
        printer = Structure(siret="80032984900015", name="Imprimerie coopérative", family="scop",
                            departements=["06"], cpv_codes=["22800000"])
        session.add(printer)
    ingest_files(engine, "boamp", shared_data / "boamp" / "ods_records_2015.json")
    with session_scope(engine) as session:
        run = run_matching(session, tz=PARIS, now=datetime(2015, 3, 5, tzinfo=UTC))
    assert [(m.tender_source_id, m.structure_name) for m in run.stored] == [
        ("15-31001", "Imprimerie coopérative")]
    (stored,) = run.stored
    assert {"kind": "area", "scope": "departement", "departement": "06"} in [
        r.to_dict() for r in stored.reasons]
    # The same tenders are past their deadline today: nothing more with --all.
    with session_scope(engine) as session:
        assert run_matching(session, tz=PARIS, everything=True).tenders == 0
