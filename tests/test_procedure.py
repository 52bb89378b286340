"""One vocabulary for `Tender.procedure`: every reader writes its codes, members read a label in
their language, and the values stored before are migrated without making a tender look changed."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from locales import gettext_for
from store.db import make_engine, session_scope, upgrade
from tenders.boamp.record import parse_api_answer, parse_record
from tenders.boamp.xml_notice import parse_xml
from tenders.procedure import LABELS, Procedure, procedure_code, procedure_label
from tenders.store import REHASH, notice_hash, upsert_tenders
from tenders.ted.notice import parse_notice
from tenders.ted.search import parse_search_page

FIXTURES = Path(__file__).parent / "fixtures"
CODES = {code.value for code in Procedure}


@pytest.mark.parametrize(
    "written, code",
    [
        # eForms codes (TED, BOAMP's eForms notices), as they are and in capitals.
        ("open", "open"), ("neg-wo-call", "neg-wo-call"), ("OTH-MULT", "oth-mult"),
        # BOAMP's labels (`procedure_libelle`) and its enumeration (`type_procedure`, v230).
        ("Procédure Ouverte", "open"), ("Procédure adaptée", "adapted"),
        ("Procédure adaptée ouverte", "adapted"), ("PROCEDURE_ADAPTE", "adapted"),
        ("OUVERT", "open"), ("RESTREINT", "restricted"), ("Appel d'offres restreint", "restricted"),
        ("Procédure avec négociation", "neg-w-call"),
        ("Procédure concurrentielle avec négociation", "neg-w-call"), ("NEGOCIE", "neg-w-call"),
        ("Procédure négociée sans publicité préalable", "neg-wo-call"),
        ("Marché négocié sans publicité ni mise en concurrence", "neg-wo-call"),
        ("DIALOGUE_COMPETITIF", "comp-dial"), ("Dialogue compétitif", "comp-dial"),
        ("Partenariat d'innovation", "innovation"), ("CONCOURS", "contest"),
        ("Autre procédure en une étape", "oth-single"),
        ("Autre procédure en plusieurs étapes", "oth-mult"),
        # TED-export element names not in the reader's table.
        ("PT_INVOLVING_NEGOTIATION", "neg-w-call"), ("PT_COMPETITIVE_DIALOGUE", "comp-dial"),
        # Nothing said.
        ("Procédure NC", ""), ("", ""), (None, ""), ("   ", ""), ("xyz", ""),
    ],
)
def test_every_spelling_becomes_one_code(written, code):
    assert procedure_code(written) == code


def test_every_code_has_a_label_in_both_languages():
    assert set(LABELS) == set(Procedure)
    french, english = gettext_for("fr"), gettext_for("en")
    for code, message in LABELS.items():
        assert french(message) != message, f"{code}: no French label"
        assert english(message)
    assert procedure_label("adapted", "fr").startswith("Procédure adaptée")
    assert procedure_label("open", "fr") == "Procédure ouverte"
    assert procedure_label("open", "en") == "Open procedure"
    assert procedure_label("", "fr") == "" and procedure_label(None, "en") == ""
    assert procedure_label("Procédure spéciale", "fr") == "Procédure spéciale"  # not a code


def _every_parsed_tender(shared_data: Path):
    tenders, _ = parse_api_answer(json.loads(
        (shared_data / "boamp" / "ods_records_2015.json").read_text()))
    yield from tenders
    for path in sorted((FIXTURES / "boamp").glob("record_*.json")):
        yield parse_record(json.loads(path.read_text()))
    for path in sorted((FIXTURES / "boamp").glob("page_*.json")):
        yield from parse_api_answer(json.loads(path.read_text()))[0]
    for path in sorted((shared_data / "boamp" / "xml").glob("*.xml")):
        yield parse_xml(path.read_bytes())
    for folder in ("eforms", "r209", "eforms-sdk"):
        for path in sorted((shared_data / "ted" / folder).glob("*.xml")):
            yield parse_notice(path.read_bytes())
    for path in sorted((FIXTURES / "ted").glob("search_*.json")):
        yield from parse_search_page(path.read_bytes())[0]


def test_every_reader_writes_codes(shared_data):
    seen = [tender.procedure for tender in _every_parsed_tender(shared_data)]
    assert len(seen) > 40
    assert set(seen) <= CODES | {""}, set(seen) - CODES
    assert {"open", "adapted", "restricted", "neg-w-call"} <= set(seen)


def test_stored_labels_become_codes_and_their_notices_are_not_changes(empty_db_url, shared_data):
    """A database written by the former readers (French labels), migrated, then fed the same
    notices by the new readers: nothing changes but the hashes; a notice that did change still
    updates its tender."""
    answer = json.loads((shared_data / "boamp" / "ods_records_2015.json").read_text())
    records = {record["idweb"]: record for record in answer["results"]}
    same, changed = parse_record(records["15-29477"]), parse_record(records["15-31001"])
    assert (same.procedure, changed.procedure) == ("open", "open")
    upgrade(empty_db_url, "0003")
    engine = make_engine(empty_db_url)
    try:
        with session_scope(engine) as session:  # what the former readers stored
            upsert_tenders(session, [replace(same, procedure="Procédure Ouverte"),
                                     replace(changed, procedure="Procédure ouverte")])
        with engine.begin() as connection:
            connection.execute(text("UPDATE tenders SET needs_matching = false"))
            connection.execute(text(
                "INSERT INTO tenders (source, source_id, title, buyer, description, cpv_codes, "
                "departements, procedure, kind, status, reserved, social_clause, url, "
                "content_hash, needs_matching, first_seen, updated_at) VALUES ('ted', "
                "'1-2019', 't', 'b', '', '[]', '[]', 'involving_negotiation', 'call', 'open', "
                "'none', false, '', 'h', false, :now, :now)"), {"now": datetime.now(UTC)})
        upgrade(empty_db_url)
        with engine.connect() as connection:
            stored = dict(connection.execute(text(
                "SELECT source_id, procedure FROM tenders")).all())
            hashes = {row[0] for row in connection.execute(text(
                "SELECT content_hash FROM tender_notices"))}
        assert stored == {"15-29477": "open", "15-31001": "open", "1-2019": "neg-w-call"}
        assert hashes == {REHASH}

        later = replace(changed, deadline=changed.deadline + timedelta(days=7))
        with session_scope(engine) as session:
            summary = upsert_tenders(session, [same, later])
        assert (summary.unchanged, summary.updated, summary.new) == (1, 1, 0)
        with engine.connect() as connection:
            rows = {row[0]: row[1:] for row in connection.execute(text(
                "SELECT t.source_id, t.status, t.needs_matching, n.content_hash FROM tenders t "
                "JOIN tender_notices n ON n.tender_id = t.id"))}
        assert rows["15-29477"] == ("open", False, notice_hash(same))
        assert rows["15-31001"][:2] == ("changed", True)
        with session_scope(engine) as session:  # and from now on the usual fast path
            assert upsert_tenders(session, [same, later]).unchanged == 2
    finally:
        engine.dispose()
