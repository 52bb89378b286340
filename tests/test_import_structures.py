"""`centrale import structures FILE.csv`: SIRET checks, rejected rows with reasons, updates."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from stdnum import luhn

from conversations.structures_import import ImportFileError, import_structures
from store.db import session_scope
from store.models import Member, Structure

# What matters is the check: 73282932000074 has a valid Luhn key; 35600000000001 is La Poste,
# whose SIREN 356000000 follows its own rule (the digit sum is a multiple of 5): not Luhn-valid.
GOOD = "73282932000074"
LA_POSTE = "35600000000001"

CSV = f"""siret,name,family,departements,cpv_codes,keywords,excluded_keywords,max_contract_value,email,language,colour
{GOOD},Jardins solidaires,ACI,42;43,77310000;90910000-9,espaces verts;élagage,amiante,150 000 €,Contact@Jardins.example,fr,green
{LA_POSTE},La Poste (test),independent,all,,courrier,,,,,
73282932000075,Mauvaise clé,association,42,,,,,,,
1234,Trop court,association,42,,,,,,,
,Sans siret,association,42,,,,,,,
80032984900015,Nom ok,unknown-family,42,,,,,,,
80032984900015,Département faux,association,420,,,,,,,
80032984900015,CPV faux,association,42,12345678,,,,,,
80032984900015,Montant faux,association,42,,,,beaucoup,,,
"""


def structures(engine) -> dict[str, Structure]:
    with session_scope(engine) as session:
        return {s.siret: s for s in session.execute(select(Structure)).scalars()}


def members(engine) -> list[Member]:
    with session_scope(engine) as session:
        return list(session.execute(select(Member)).scalars())


def test_import_creates_valid_rows_and_reports_the_others(cli, capsys, engine, tmp_path):
    path = tmp_path / "structures.csv"
    path.write_text(CSV, encoding="utf-8")
    assert cli("import", "structures", str(path), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["created"], report["updated"], report["members_created"]) == (2, 0, 1)
    assert report["ignored_columns"] == ["colour"]
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (4, "SIRET 73282932000075: the check digit is wrong (a typo?)"),
        (5, "SIRET 1234: it must have 14 digits"),
        (6, "the SIRET is missing (14 digits)"),
        (7, "unknown family “unknown-family” (for example: association, siae_aci, ea)"),
        (8, "unknown département “420” (use codes such as 42 or 2A)"),
        (9, "unknown CPV code “12345678” (8 digits, such as 77310000)"),
        (10, "max_contract_value “beaucoup” is not an amount in euros (such as 150000)"),
    ]
    stored = structures(engine)
    garden = stored[GOOD]
    assert garden.name == "Jardins solidaires"
    assert (garden.family, garden.is_siae, garden.siae_type) == ("siae_aci", True, "ACI")
    assert garden.departements == ["42", "43"] and not garden.all_france
    assert garden.cpv_codes == ["77310000", "90910000"]
    assert garden.keywords == ["espaces verts", "élagage"]
    assert garden.excluded_keywords == ["amiante"]
    assert garden.max_contract_value == 150_000
    assert not luhn.is_valid(LA_POSTE)  # accepted all the same: the La Poste exception
    poste = stored[LA_POSTE]
    assert poste.all_france and poste.departements == [] and poste.family == "independent"
    (member,) = members(engine)
    assert (member.structure_id, member.email, member.language) == (
        garden.id, "contact@jardins.example", "fr")
    assert member.consent_email_at is None


def test_reimporting_updates_by_siret(cli, capsys, engine, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text(CSV, encoding="utf-8")
    assert cli("import", "structures", str(first)) == 0
    capsys.readouterr()
    # A French spreadsheet export: semicolons, a BOM, lists separated by commas, fewer columns.
    second = tmp_path / "second.csv"
    second.write_text(
        "\ufeffSIRET;Name;Departements;Keywords;Email\n"
        f"{GOOD[:3]} {GOOD[3:6]} {GOOD[6:9]} {GOOD[9:]};Jardins solidaires du Forez;42,"
        "69;espaces verts,tonte;contact@jardins.example\n", encoding="utf-8")
    assert cli("import", "structures", str(second)) == 0
    out = capsys.readouterr().out
    assert "Structures: 0 created, 1 updated, 0 rejected." in out
    garden = structures(engine)[GOOD]
    assert garden.name == "Jardins solidaires du Forez"
    assert garden.departements == ["42", "69"] and garden.keywords == ["espaces verts", "tonte"]
    # Columns absent from the second file keep their values.
    assert garden.cpv_codes == ["77310000", "90910000"] and garden.family == "siae_aci"
    assert garden.max_contract_value == 150_000
    assert len(members(engine)) == 1  # the same email is not added twice
    assert len(structures(engine)) == 2


def test_a_siret_twice_in_one_file_is_rejected_the_second_time(engine):
    text = f"siret,name\n{GOOD},Un\n{GOOD},Deux\n"
    with session_scope(engine) as session:
        report = import_structures(session, text)
    assert report.created == 1
    assert [(r.line, r.text("en")) for r in report.rejected] == [
        (3, f"SIRET {GOOD} is already on line 2")]
    assert structures(engine)[GOOD].name == "Un"


def test_a_file_without_the_required_columns_is_refused(cli, capsys, engine, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("nom,ville\nA,B\n", encoding="utf-8")
    assert cli("import", "structures", str(path)) == 2
    assert "Missing column(s): siret, name" in capsys.readouterr().err
    with session_scope(engine) as session, pytest.raises(ImportFileError):
        import_structures(session, "")
    assert cli("import", "structures", str(tmp_path / "none.csv")) == 2
