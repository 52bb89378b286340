"""BOAMP: the API client (replayed with respx) and the parsers (real samples and fixtures)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reference.geography import all_departements
from tenders.boamp import BoampError
from tenders.boamp import record as boamp_record
from tenders.boamp.client import MAX_WINDOW, RETRY, fetch_since, make_client
from tenders.boamp.dates import parse_deadline
from tenders.boamp.formats import donnees_format
from tenders.boamp.record import (
    RecordError,
    notice_kind,
    parse_api_answer,
    parse_record,
    parse_records,
)
from tenders.boamp.xml_notice import parse_xml
from tenders.model import NoticeKind, Reserved
from tenders.ted_ref import normalise_ted_ref
from tenders.xmlsafe import UnsafeXMLError, XMLError

FIXTURES = Path(__file__).parent / "fixtures" / "boamp"
URL = "https://boamp.test/api/explore/v2.1/catalog/datasets/boamp/records"
PARIS = ZoneInfo("Europe/Paris")


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeSleep:
    """Records the waits instead of waiting (no wall clock in tests)."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def collect(since=date(2015, 3, 1), until=None, **kwargs):
    async with httpx.AsyncClient() as client:
        return [r async for r in fetch_since(client, URL, since, until, **kwargs)]


# ============================================================================ real samples


@pytest.fixture(scope="module")
def ods_tenders(shared_data):
    answer = json.loads((shared_data / "boamp" / "ods_records_2015.json").read_text())
    tenders, skipped = parse_api_answer(answer)
    assert skipped == []
    return {t.source_id: t for t in tenders}


def test_every_api_sample_parses(ods_tenders):
    assert sorted(ods_tenders) == ["15-27549", "15-29477", "15-30976", "15-31001", "15-31501"]
    for tender in ods_tenders.values():
        assert tender.source == "boamp"
        assert tender.kind is NoticeKind.CALL
        assert tender.deadline is not None and tender.deadline.utcoffset() is not None
        assert tender.url == f"https://www.boamp.fr/pages/avis/?q=idweb:{tender.source_id}"
        assert tender.cpv_codes and tender.departements


def test_api_sample_zac_concession(ods_tenders):
    t = ods_tenders["15-31501"]
    assert t.title == (
        "Concession d'aménagement pour la réalisation de la ZAC de Château-Gaillard"
    )
    assert t.buyer == "Cté Cnes Moyenne Vilaine et Semnon"
    assert t.cpv_codes == ["45111291", "71000000", "70122100", "70122200"]
    assert t.departements == ["35"]
    assert t.published == date(2015, 3, 3)
    # The notice says "avant le 20 avril 2015 à 12 heures"; BOAMP stamps it "12:00:00+01:00" and
    # the API's datelimitereponse "11:00:00+00:00" (13:00 in Paris): noon Paris is kept.
    assert t.deadline == datetime(2015, 4, 20, 12, 0, tzinfo=PARIS)
    assert t.description.startswith("Choix d'un concessionnaire d'aménagement")
    assert t.procedure == ""  # "Procédure NC": not communicated
    assert t.lots == []
    assert t.reserved is Reserved.NONE and not t.social_clause


def test_api_sample_colmar_33_lots(ods_tenders):
    t = ods_tenders["15-27549"]
    assert t.buyer == "Ville de Colmar"
    assert t.title == "Pièces détachées pour véhicules"
    assert t.cpv_codes == ["34300000"]
    # Place of performance first, then the other publication département.
    assert t.departements == ["68", "67"]
    # Stamped "12:00:00+01:00" in April (Paris is at +02:00): noon in Paris, 10:00 UTC.
    assert t.deadline == datetime(2015, 4, 13, 12, 0, tzinfo=PARIS)
    assert t.deadline.astimezone(UTC).hour == 10
    assert t.procedure == "open"  # "Procédure Ouverte"
    assert len(t.lots) == 33
    assert [lot.number for lot in t.lots[:3]] == ["101", "102", "103"]
    assert t.lots[-1].number == "312"
    assert t.lots[0].title.startswith("Fourniture de pièces détachées d'origine et de conception")
    assert all(lot.cpv_codes == ["34300000"] for lot in t.lots)


def test_api_sample_single_digit_departement_and_lot(ods_tenders):
    t = ods_tenders["15-31001"]
    assert t.buyer == "C.H.U. de Nice"
    assert t.departements == ["06"]  # code_departement ["6"]
    assert t.cpv_codes == ["22852000", "22900000", "22800000"]
    assert t.deadline == datetime(2015, 4, 24, 16, 0, tzinfo=PARIS)
    assert len(t.lots) == 1
    assert t.lots[0].number == "1"
    assert t.lots[0].cpv_codes == ["22852000", "22900000", "22800000"]


def test_api_sample_transport_and_heating(ods_tenders):
    t = ods_tenders["15-29477"]
    assert t.buyer == "CO Championnats monde aviron 2015"
    assert t.cpv_codes == ["60100000", "60112000", "60140000"]
    assert t.departements == ["73"]
    heating = ods_tenders["15-30976"]
    assert heating.cpv_codes == ["50721000"]
    assert heating.departements == ["93"]
    assert heating.deadline.astimezone(PARIS).hour == 12


XML_EXPECTED = {
    # file: (idweb, kind, buyer, cpv, départements, deadline (Paris), lots, refers_to, value)
    "test-pub-2.xml": ("16-181902", NoticeKind.CALL, "Grand Port Maritime de Marseille",
                       ["71240000", "79311000", "71335000"], ["13"],
                       datetime(2017, 1, 30, 16, 0, tzinfo=PARIS), 0, None, 50000.0),
    "test-pub-3.xml": ("16-186063", NoticeKind.CALL, "SEMMY", ["45211000"], ["77"],
                       datetime(2017, 2, 10, 15, 0, tzinfo=PARIS), 0, None, None),
    "test-pub-4.xml": ("16-186173", NoticeKind.CALL, "COMMUNE DE LES ANDELYS",
                       ["65110000", "65100000"], ["27"],
                       datetime(2017, 2, 28, 12, 0, tzinfo=PARIS), 0, None, None),
    "test-pub-5.xml": ("16-186359", NoticeKind.CALL, "MTSFP", ["79952000"], ["75"],
                       datetime(2017, 2, 17, 12, 0, tzinfo=PARIS), 2, None, 7416666.0),
    "test-attribution-2.xml": ("16-138580", NoticeKind.AWARD,
                               "Communauté d'Agglomération de Saintes", [], ["17"], None, 0,
                               "16-119846", None),
    "test-attribution-3.xml": ("16-178891", NoticeKind.AWARD, "Université paris Sud", [], ["91"],
                               None, 0, "16-139506", None),
    "test-attribution-4.xml": ("16-183123", NoticeKind.AWARD, "Ville de Troyes", [], ["10"],
                               None, 0, "16-155545", None),
    "test-attribution-5.xml": ("17-1028", NoticeKind.AWARD, "Bordeaux Métropole", [], ["33"],
                               None, 0, "16-36319", None),
    "test-attribution-6.xml": ("17-1515", NoticeKind.AWARD,
                               "Communauté d'agglomérat. du gapençais", ["24542000"], ["05"],
                               None, 0, "16-162580", None),
}


def test_every_xml_sample_is_covered(shared_data):
    assert sorted(p.name for p in (shared_data / "boamp" / "xml").glob("*.xml")) == sorted(
        XML_EXPECTED
    )


@pytest.mark.parametrize("name", sorted(XML_EXPECTED))
def test_xml_samples(shared_data, name):
    idweb, kind, buyer, cpv, depts, deadline, n_lots, refers_to, value = XML_EXPECTED[name]
    t = parse_xml((shared_data / "boamp" / "xml" / name).read_bytes())
    assert t.source_id == idweb
    assert t.kind is kind
    assert t.buyer == buyer
    assert t.cpv_codes == cpv
    assert t.departements == depts
    assert t.deadline == deadline
    assert len(t.lots) == n_lots
    assert t.refers_to == refers_to
    assert t.estimated_value == value
    assert t.title and t.published is not None
    assert t.url == f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}"
    assert t.reserved is Reserved.NONE  # every sample says MARCHE_RESERVE_NON


def test_xml_lots_and_titles(shared_data):
    t = parse_xml((shared_data / "boamp" / "xml" / "test-pub-5.xml").read_bytes())
    assert t.title == (
        "Conception, organisation et réalisation de manifestations pour les ministères sociaux"
    )
    assert [(lot.number, lot.estimated_value) for lot in t.lots] == [
        ("1", 1083333.0), ("2", 6333333.0)
    ]
    assert t.lots[0].title.startswith("Conception, organisation et réalisation de manifestations")
    assert t.lots[1].cpv_codes == ["79952000", "79951000"]
    assert t.procedure == "open"
    award = parse_xml((shared_data / "boamp" / "xml" / "test-attribution-4.xml").read_bytes())
    # The award follows an initial notice and a rectificatif: it refers to the initial one.
    assert award.refers_to == "16-155545"
    assert award.title.startswith("réalisation, fabrication, impression et diffusion")
    assert award.procedure == "adapted"


def test_xml_external_entity_is_refused():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE ANNONCE [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ANNONCE><GESTION><REFERENCE><IDWEB>&xxe;</IDWEB></REFERENCE></GESTION></ANNONCE>"""
    with pytest.raises(UnsafeXMLError):
        parse_xml(data)


def test_xml_entity_bomb_is_refused():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE ANNONCE [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<ANNONCE><GESTION><REFERENCE><IDWEB>&c;</IDWEB></REFERENCE></GESTION></ANNONCE>"""
    with pytest.raises(UnsafeXMLError):
        parse_xml(data)


def test_xml_that_is_not_a_boamp_notice():
    with pytest.raises(BoampError):
        parse_xml(b"<TED_EXPORT/>")
    with pytest.raises(XMLError):
        parse_xml(b"<ANNONCE><unclosed></ANNONCE>")
    with pytest.raises(RecordError):
        parse_xml(b"<ANNONCE><GESTION/></ANNONCE>")


# ============================================================================ other formats


def test_fnsimple_record():
    t = parse_record(fixture("record_fnsimple.json"))
    assert t.source_id == "26-101234"
    assert t.title == "Entretien des espaces verts et fauchage des accotements"
    assert t.buyer == "Commune de Saint-Chamond"
    assert t.description.startswith("Entretien courant des espaces verts communaux")
    assert t.cpv_codes == ["77310000", "77312000", "77314000"]
    assert t.departements == ["42"]
    # No offset in the record: Paris time.
    assert t.deadline == datetime(2026, 12, 4, 12, 0, tzinfo=PARIS)
    assert t.estimated_value == 180000.0
    assert [(lot.number, lot.title, lot.cpv_codes, lot.estimated_value) for lot in t.lots] == [
        ("1", "Entretien des espaces verts", ["77310000"], 120000.0),
        ("2", "Fauchage des accotements", ["77312000"], 60000.0),
    ]
    assert t.social_clause  # "clause sociale d'insertion … L2112-2"
    assert t.reserved is Reserved.NONE  # "heures … réservées à des personnes" is no reservation
    assert t.procedure == "adapted"


def test_fnsimple_without_record_fields_uses_the_form():
    record = fixture("record_fnsimple.json")
    for key in ("nomacheteur", "datelimitereponse", "procedure_libelle", "type_procedure"):
        record.pop(key)
    t = parse_record(record)
    assert t.buyer == "Commune de Saint-Chamond"
    assert t.deadline == datetime(2026, 12, 4, 12, 0, tzinfo=PARIS)
    assert t.procedure == "adapted"  # "Procédure adaptée ouverte"


def test_mapa_record_reserved_to_siae():
    t = parse_record(fixture("record_mapa.json"))
    assert t.title == "Nettoyage des locaux du CCAS"
    assert t.description.startswith("Nettoyage quotidien des bureaux")
    assert t.cpv_codes == []  # MAPA forms carry no CPV
    assert t.departements == ["06"]
    assert t.reserved is Reserved.SIAE
    assert not t.social_clause
    # A date without time: until the end of that day, Paris time.
    assert t.deadline == datetime(2026, 11, 27, 23, 59, 59, tzinfo=PARIS)


def test_eforms_record():
    t = parse_record(fixture("record_eforms.json"))
    assert t.title == "Service d'entretien de remise en état et de nettoyage des espaces verts"
    assert t.cpv_codes == ["77310000"]
    assert t.departements == ["76"]
    # datelimitereponse is empty: the lots' BT-131 EndDate/EndTime.
    assert t.deadline == datetime(2019, 6, 24, 16, 0, tzinfo=UTC)
    assert [(lot.number, lot.title, lot.estimated_value) for lot in t.lots] == [
        ("1", "Agence centre", 120000.0), ("2", "Agence Hauts de Rouen", 95000.0)
    ]
    assert t.estimated_value == 215000.0  # the lots' sum
    assert t.reserved is Reserved.BOTH  # res-ws on every lot, no words narrowing it
    assert t.social_clause  # social objective "opp" on lot 1
    assert t.ted_ref == "219497-2019"
    assert t.procedure == "open"


def test_eforms_reads_buyer_place_and_reservation_from_the_notice():
    record = fixture("record_eforms.json")
    record["nomacheteur"] = None
    record["code_departement"] = None
    donnees = json.loads(record["donnees"])
    lots = donnees["EFORMS"]["ContractNotice"]["cac:ProcurementProjectLot"]
    # Only lot 1 reserved: the tender as a whole is not.
    requests = lots[1]["cac:TenderingTerms"]["cac:TendererQualificationRequest"]
    requests[0]["cac:SpecificTendererRequirement"]["cbc:TendererRequirementTypeCode"][
        "#text"] = "none"
    record["donnees"] = json.dumps(donnees)
    t = parse_record(record)
    assert t.buyer == "Rouen Habitat"
    assert t.departements == ["76"]  # NUTS FRD22 (Seine-Maritime)
    assert t.reserved is Reserved.NONE


def test_eforms_single_lot_is_the_tender():
    record = fixture("record_eforms.json")
    record["procedure_libelle"] = record["type_procedure"] = None
    donnees = json.loads(record["donnees"])
    notice = donnees["EFORMS"]["ContractNotice"]
    notice["cac:ProcurementProjectLot"] = notice["cac:ProcurementProjectLot"][:1]
    del notice["cac:ProcurementProject"]["cac:MainCommodityClassification"]
    record["donnees"] = json.dumps(donnees)
    t = parse_record(record)
    assert t.lots == []
    assert t.cpv_codes == ["77310000"]  # from the only lot
    assert t.estimated_value == 120000.0
    assert t.reserved is Reserved.BOTH  # the only lot is reserved
    assert t.procedure == "open"  # the eForms code


def test_dsp_and_unknown_national_forms():
    dsp = {"DSP": {"organisme": {"nomOfficiel": "Syndicat des eaux"}, "initial": {
        "descriptionMarche": {"titreMarche": "Délégation du service public de l'eau potable",
                              "description": "Exploitation du service de l'eau.",
                              "CPV": {"objetPrincipal": {"classPrincipale": "65100000-4"}}}}}}
    t = parse_record({"idweb": "26-7", "nature": "APPEL_OFFRE", "donnees": json.dumps(dsp)})
    assert (t.title, t.buyer, t.cpv_codes) == (
        "Délégation du service public de l'eau potable", "Syndicat des eaux", ["65100000"]
    )
    other = {"NOUVEAU": {"initial": {"objet": "Travaux de voirie", "lot": [
        {"numero": "1", "intitule": "Chaussée", "CPV": {"objetPrincipal": {"classPrincipale":
                                                                          "45233140"}}}]}}}
    t = parse_record({"idweb": "26-8", "donnees": json.dumps(other)})
    assert t.title == "Travaux de voirie"
    assert [(lot.number, lot.title, lot.cpv_codes) for lot in t.lots] == [
        ("1", "Chaussée", ["45233140"])
    ]
    assert donnees_format(other) == "NOUVEAU"
    assert donnees_format({"foo": 1}) == "unknown"


def test_rectificatif_and_cancellation():
    rect = parse_record(fixture("record_rectificatif.json"))
    assert rect.kind is NoticeKind.RECTIFICATION
    assert rect.refers_to == "26-101234"
    assert rect.deadline == datetime(2026, 12, 11, 12, 0, tzinfo=PARIS)
    cancel = parse_record(fixture("record_annulation.json"))
    assert cancel.kind is NoticeKind.CANCELLATION  # etat AVIS_ANNULE wins over APPEL_OFFRE
    assert cancel.refers_to == "26-102345"
    assert cancel.deadline is None


@pytest.mark.parametrize(
    "nature, etat, statut, kind",
    [
        ("APPEL_OFFRE", "INITIAL", None, NoticeKind.CALL),
        ("RECTIFICATIF", None, None, NoticeKind.RECTIFICATION),
        ("APPEL_OFFRE", None, "RECTIFICATIF", NoticeKind.RECTIFICATION),
        ("ATTRIBUTION", "INITIAL", None, NoticeKind.AWARD),
        ("APPEL_OFFRE", "AVIS_ANNULE", None, NoticeKind.CANCELLATION),
        ("ANNULATION", None, None, NoticeKind.CANCELLATION),
        ("PRE-INFORMATION", None, None, NoticeKind.OTHER),
        ("EX_ANTE_VOLONTAIRE", None, None, NoticeKind.OTHER),
        (None, None, None, NoticeKind.OTHER),
    ],
)
def test_notice_kind(nature, etat, statut, kind):
    assert notice_kind(nature, etat, statut) is kind


def test_reserved_and_social_words():
    base = fixture("record_fnsimple.json")

    def with_text(text: str):
        record = dict(base, donnees=json.dumps({"FNSimple": {"initial": {"natureMarche": {
            "intitule": "Entretien des espaces verts", "description": text}}}}))
        return parse_record(record)

    assert with_text("Marché réservé aux ESAT et aux entreprises adaptées (article L. 2113-12)."
                     ).reserved is Reserved.DISABILITY
    assert with_text("Le marché est réservé à des opérateurs économiques qui emploient des "
                     "travailleurs handicapés.").reserved is Reserved.DISABILITY
    assert with_text("Lot 2 réservé aux structures d'insertion par l'activité économique."
                     ).reserved is Reserved.SIAE
    assert with_text("Marché réservé (articles L2113-12 et L2113-13).").reserved is Reserved.BOTH
    # Beneficiaries named without a reservation: subcontracting allowed, no reservation.
    plain = with_text("La sous-traitance à un ESAT ou à une entreprise adaptée est possible.")
    assert plain.reserved is Reserved.NONE and not plain.social_clause
    assert with_text("Clauses sociales : 300 heures d'insertion.").social_clause
    assert with_text("Conditions d'exécution : article L2112-2.").social_clause


def test_missing_fields_and_bad_values_do_not_fail():
    t = parse_record({
        "idweb": "26-1", "objet": "Nettoyage", "code_departement": ["6", "2a", "99", None],
        "dateparution": "not a date", "datelimitereponse": "2026-13-45", "donnees": "[]",
    })
    assert t.departements == ["06", "2A"]
    assert t.published is None and t.deadline is None
    assert t.cpv_codes == [] and t.lots == [] and t.buyer == ""
    assert t.kind is NoticeKind.OTHER


def test_parse_records_skips_bad_records_and_keeps_going(caplog):
    tenders, skipped = parse_api_answer(fixture("page_mixed.json"))
    assert [t.source_id for t in tenders] == ["15-31001", "15-99999"]
    # Broken `donnees`: still a tender, from the record's own fields.
    assert tenders[1].title == "fourniture de pochettes et divers imprimes à Nice"
    assert tenders[1].cpv_codes == []
    assert skipped == [
        ("?", "no notice id (idweb)"),
        ("15-99998", "no title"),
        ("?", "not a record (a JSON object was expected)"),
    ]
    assert "15-99998 skipped: no title" in caplog.text


def test_parse_records_logs_unexpected_errors(monkeypatch):
    def boom(donnees):
        raise RuntimeError("surprise")

    monkeypatch.setattr(boamp_record, "read_body", boom)
    tenders, skipped = parse_records([fixture("record_mapa.json")])
    assert tenders == []
    assert skipped == [("26-102345", "unreadable record (RuntimeError: surprise)")]


def test_parse_api_answer_rejects_other_json():
    with pytest.raises(BoampError):
        parse_api_answer({"error": "x"})


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("2015/S 051-089000", "89000-2015"),
        ("JOUE 2019/S 098-239811 du 22/05/2019", "239811-2019"),
        ("00219497-2019", "219497-2019"),
        ("219497-2019", "219497-2019"),
        ("15-31501", None),
        (None, None),
    ],
)
def test_normalise_ted_ref(raw, expected):
    assert normalise_ted_ref(raw) == expected


def test_ted_reference_in_v230_text():
    record = fixture("page_1.json")["results"][0]
    donnees = json.loads(record["donnees"])
    donnees["PUBLICATION_ANTERIEURE"] = {
        "REF_PUBLICATION": "Avis de préinformation 2014/S 210-371234"
    }
    t = parse_record(dict(record, donnees=json.dumps(donnees)))
    assert t.ted_ref == "371234-2014"


# ---------------------------------------------------------------------------- properties

DEPARTEMENT_CODES = [d.code for d in all_departements()]


@given(
    code=st.sampled_from(DEPARTEMENT_CODES),
    strip_zero=st.booleans(),
    lower=st.booleans(),
    as_list=st.booleans(),
)
def test_departement_forms_in_records(code, strip_zero, lower, as_list):
    raw = code[1:] if strip_zero and code.startswith("0") else code
    raw = raw.lower() if lower else raw
    t = parse_record({"idweb": "26-1", "objet": "x",
                            "code_departement": [raw] if as_list else raw})
    assert t.departements == [code]


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)))
def test_naive_deadlines_are_paris_time(moment):
    # A naive time is Paris wall-clock time, whatever the season.
    parsed = parse_deadline(moment.replace(microsecond=0).isoformat())
    assert parsed.tzinfo is not None
    assert parsed.replace(tzinfo=None) == moment.replace(microsecond=0)
    assert parsed.tzinfo == PARIS


@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1),
                    timezones=st.sampled_from([UTC, PARIS, ZoneInfo("America/Cayenne")])))
def test_aware_deadlines_keep_their_instant(moment):
    # Timestamps: Python never finds an ambiguous autumn hour equal across zones.
    assert parse_deadline(moment.isoformat()).timestamp() == moment.timestamp()


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
RECORD_KEYS = st.sampled_from([
    "idweb", "objet", "nomacheteur", "dateparution", "datelimitereponse", "code_departement",
    "code_departement_prestation", "nature", "etat", "donnees", "gestion", "annonce_lie",
    "procedure_libelle", "url_avis",
])


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(st.lists(st.dictionaries(RECORD_KEYS, JSONISH | st.builds(json.dumps, JSONISH))
                | JSONISH, max_size=5))
def test_parse_records_never_raises(records):
    tenders, skipped = parse_records(records)
    assert len(tenders) + len(skipped) == len(records)
    for tender in tenders:
        assert tender.source_id and tender.title
        assert tender.deadline is None or tender.deadline.tzinfo is not None


# ============================================================================ HTTP client


def _page(name: str) -> httpx.Response:
    return httpx.Response(200, json=fixture(name))


def _single() -> httpx.Response:
    """A whole answer of one record (15-31001)."""
    return httpx.Response(200, json={"total_count": 1,
                                     "results": fixture("page_3.json")["results"]})


@respx.mock
async def test_fetch_paginates_in_date_order():
    seen: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        offset = int(params["offset"])
        return _page({0: "page_1.json", 2: "page_2.json", 4: "page_3.json"}[offset])

    respx.get(URL).mock(side_effect=answer)
    records = await collect(since=date(2015, 3, 2), until=date(2015, 3, 3), page_size=2)
    assert [r["idweb"] for r in records] == [
        "15-31501", "15-27549", "15-29477", "15-30976", "15-31001"
    ]
    assert [p["offset"] for p in seen] == ["0", "2", "4"]
    assert all(p["limit"] == "2" for p in seen)
    assert seen[0]["where"] == (
        "dateparution >= date'2015-03-02' AND dateparution <= date'2015-03-03'"
    )
    assert seen[0]["order_by"] == "dateparution, idweb"


@respx.mock
async def test_fetch_stops_on_an_empty_page():
    answers = iter([
        httpx.Response(200, json={"total_count": 500,
                                  "results": fixture("page_1.json")["results"]}),
        httpx.Response(200, json={"total_count": 500, "results": []}),
    ])
    respx.get(URL).mock(side_effect=lambda request: next(answers))
    records = await collect(page_size=2)
    assert len(records) == 2
    assert respx.calls.call_count == 2


def _fake_api(records: list[dict], calls: list[dict]):
    """An opendatasoft-like endpoint over `records`: ODSQL date range, order, window limit."""
    pattern = re.compile(r"date'(\d{4}-\d{2}-\d{2})'")

    def answer(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        calls.append(params)
        offset, limit = int(params["offset"]), int(params["limit"])
        if offset + limit > MAX_WINDOW or limit > 100:
            return httpx.Response(400, json={"error": "offset + limit > 10000"})
        bounds = [date.fromisoformat(d) for d in pattern.findall(params["where"])]
        low, high = bounds[0], bounds[1] if len(bounds) > 1 else date.max
        selected = sorted(
            (r for r in records if low <= date.fromisoformat(r["dateparution"]) <= high),
            key=lambda r: (r["dateparution"], r["idweb"]),
        )
        return httpx.Response(200, json={
            "total_count": len(selected), "results": selected[offset: offset + limit],
        })

    return answer


@respx.mock
async def test_fetch_splits_ranges_beyond_the_10000_window():
    start = date(2026, 1, 5)
    records = [
        {"idweb": f"26-{day}{n:05d}", "dateparution": (start + timedelta(days=day)).isoformat()}
        for day in range(5)
        for n in range(2600)
    ]
    calls: list[dict] = []
    respx.get(URL).mock(side_effect=_fake_api(records, calls))
    got = await collect(since=start, today=date(2026, 1, 9))
    assert len(got) == len(records) == 13000
    assert sorted(r["idweb"] for r in got) == sorted(r["idweb"] for r in records)
    assert all(int(c["offset"]) + int(c["limit"]) <= MAX_WINDOW for c in calls)
    # Oldest first, as the cursor expects.
    assert [r["dateparution"] for r in got] == sorted(r["dateparution"] for r in got)


@respx.mock
async def test_fetch_reads_one_oversized_day_up_to_the_window(caplog):
    records = [{"idweb": f"26-{n:05d}", "dateparution": "2026-01-05"} for n in range(10050)]
    calls: list[dict] = []
    respx.get(URL).mock(side_effect=_fake_api(records, calls))
    got = await collect(since=date(2026, 1, 5), until=date(2026, 1, 5))
    assert len(got) == MAX_WINDOW
    assert "only the first 10000 can be read" in caplog.text


@respx.mock
async def test_429_then_success_honours_retry_after():
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), _single()])
    respx.get(URL).mock(side_effect=lambda request: next(answers))
    sleep = FakeSleep()
    records = await collect(retry=replace(RETRY, sleep=sleep))
    assert [r["idweb"] for r in records] == ["15-31001"]
    assert sleep.waits == [7.0]


@respx.mock
async def test_429_with_http_date_retry_after():
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    when = (now + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    answers = iter([httpx.Response(429, headers={"Retry-After": when}), _single()])
    respx.get(URL).mock(side_effect=lambda request: next(answers))
    sleep = FakeSleep()
    await collect(retry=replace(RETRY, sleep=sleep, clock=lambda: now))
    assert sleep.waits == [30.0]


@respx.mock
async def test_500_then_success_backs_off():
    answers = iter([httpx.Response(500), httpx.Response(503), _single()])
    respx.get(URL).mock(side_effect=lambda request: next(answers))
    sleep = FakeSleep()
    records = await collect(retry=replace(RETRY, backoff=1.5, jitter=0, sleep=sleep))
    assert len(records) == 1
    assert sleep.waits == [1.5, 3.0]


@respx.mock
async def test_500_forever_fails_after_the_attempts():
    respx.get(URL).mock(return_value=httpx.Response(500))
    sleep = FakeSleep()
    with pytest.raises(BoampError, match="after 4 attempts .*HTTP 500"):
        await collect(retry=replace(RETRY, attempts=4, backoff=1.0, max_wait=3, jitter=0,
                                    sleep=sleep))
    assert sleep.waits == [1.0, 2.0, 3.0]  # doubled, capped at max_wait
    assert respx.calls.call_count == 4


@respx.mock
async def test_timeout_then_success():
    answers = iter([httpx.ReadTimeout("slow"), httpx.ConnectError("down"), _single()])

    def answer(request):
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    respx.get(URL).mock(side_effect=answer)
    sleep = FakeSleep()
    assert len(await collect(retry=replace(RETRY, sleep=sleep))) == 1
    assert len(sleep.waits) == 2


@respx.mock
async def test_malformed_json_is_an_error_not_a_crash():
    respx.get(URL).mock(return_value=httpx.Response(200, text="<html>maintenance</html>"))
    with pytest.raises(BoampError, match="malformed JSON"):
        await collect(retry=replace(RETRY, sleep=FakeSleep()))
    respx.get(URL).mock(return_value=httpx.Response(200, json={"total": 3}))
    with pytest.raises(BoampError, match="no 'results' list"):
        await collect(retry=replace(RETRY, sleep=FakeSleep()))


@respx.mock
async def test_client_errors_are_not_retried():
    respx.get(URL).mock(return_value=httpx.Response(400, json={"error": "bad where"}))
    sleep = FakeSleep()
    with pytest.raises(BoampError, match="HTTP 400"):
        await collect(retry=replace(RETRY, sleep=sleep))
    assert sleep.waits == [] and respx.calls.call_count == 1


@respx.mock
async def test_fetched_pages_parse_end_to_end():
    answers = iter([_page("page_1.json"), _page("page_2.json"), _page("page_3.json")])
    respx.get(URL).mock(side_effect=lambda request: next(answers))
    tenders, skipped = parse_records(await collect(page_size=2))
    assert skipped == [] and len(tenders) == 5
    assert {t.source_id: t.departements for t in tenders}["15-31001"] == ["06"]


def test_make_client_has_timeouts():
    client = make_client()
    assert client.timeout.connect == 10.0 and client.timeout.read == 30.0
