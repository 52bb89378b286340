"""Reference data: CPV tree and search, départements/regions, NUTS, free-text areas, NAF."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import activities, cpv, cpv_search, geography
from reference.text import fold, tokens

# ---------------------------------------------------------------- text


def test_fold_removes_accents_case_and_punctuation():
    assert fold("Côte-d'Or") == "cote d or"
    assert fold("  ÉSAT / Œuvre  ") == "esat oeuvre"
    assert tokens("Réalisation et entretien d'espaces verts") == [
        "realisation", "entretien", "espaces", "verts",
    ]


def _fold_by_characters(text: str) -> str:
    """The obvious definition of `fold`, one character at a time (fold itself uses regexes):
    compatibility decomposition, Latin diacritics (U+0300-U+036F) dropped, lower case, anything
    but a-z and 0-9 as one space."""
    import re
    import unicodedata

    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not "\u0300" <= ch <= "\u036f")
    return re.sub(r"[^0-9a-z]+", " ", stripped.lower()).strip()


@given(st.text())
def test_fold_agrees_with_its_definition(text):
    assert fold(text) == _fold_by_characters(text)


# ---------------------------------------------------------------- CPV


def test_cpv_table_is_complete_and_bilingual():
    codes = cpv.all_cpv()
    assert len(codes) == 9454
    green = cpv.cpv_get("77310000-6")
    assert green == cpv.CpvCode(
        "77310000",
        "Réalisation et entretien d'espaces verts",
        "Planting and maintenance services of green areas",
    )
    assert green.label("en") == "Planting and maintenance services of green areas"
    assert green.label("fr").startswith("Réalisation")
    assert cpv.cpv_get("12345678") is None
    assert cpv.cpv_get("junk") is None


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("77310000-6", "77310000"),
        ("77310000", "77310000"),
        ("773100006", "77310000"),
        (" 77310000-6 ", "77310000"),
        ("7731000", None),
        ("77310000-66", None),
        ("abc", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_cpv(raw, expected):
    assert cpv.normalise_cpv(raw) == expected


def test_cpv_hierarchy_by_significant_digits():
    assert cpv.cpv_level("45000000") == 2
    assert cpv.cpv_level("03000000") == 2
    assert cpv.cpv_level("45200000") == 3
    assert cpv.cpv_level("45212110") == 7
    assert cpv.cpv_parent("45212000") == "45210000"
    assert cpv.cpv_parent("45210000") == "45200000"
    assert cpv.cpv_parent("45200000") == "45000000"
    assert cpv.cpv_parent("45000000") is None
    assert cpv.cpv_parent("03100000") == "03000000"
    assert cpv.cpv_ancestors("45212110") == [
        "45212100", "45212000", "45210000", "45200000", "45000000",
    ]
    # 90911200 (building cleaning) sits under 90911000, 90910000, 90900000, 90000000.
    assert cpv.cpv_ancestors("90911200-8") == ["90911000", "90910000", "90900000", "90000000"]


def test_every_code_has_an_existing_chain_up_to_its_division():
    for code in cpv.all_cpv():
        chain = cpv.cpv_ancestors(code.code)
        if cpv.cpv_level(code.code) > 2:
            assert chain and chain[-1] == code.code[:2] + "000000"
        for ancestor in chain:
            assert cpv.cpv_is_within(code.code, ancestor)


def test_cpv_is_within():
    assert cpv.cpv_is_within("77310000", "77300000")
    assert cpv.cpv_is_within("77310000", "77000000")
    assert cpv.cpv_is_within("77310000-6", "77310000")
    assert not cpv.cpv_is_within("77300000", "77310000")
    assert not cpv.cpv_is_within("45000000", "4500000")  # malformed field
    # A division is 2 digits even when its second digit is 0: 90000000 is not "9".
    assert not cpv.cpv_is_within("98300000", "90000000")
    assert cpv.cpv_is_within("90911200", "90000000")


def _codes(query: str, lang: str = "fr", limit: int = 5) -> list[str]:
    return [code.code for code in cpv_search.cpv_search(query, limit=limit, lang=lang)]


@pytest.mark.parametrize(
    "query, expected_first",
    [
        ("entretien espaces verts", "77310000"),
        ("Espaces verts", "77310000"),
        ("espace vert", "77310000"),
        ("nettoyage", "90910000"),
        ("nettoyage de locaux", "90911200"),  # building cleaning: "locaux" read as buildings
        ("netoyage", "90910000"),  # typo
        ("nettoyage des bureaux", "90919200"),
        ("traiteur", "55520000"),
        ("menuiserie bois", "45421000"),
        ("menuiserie", "45421000"),
        ("élagage", "77211500"),
        ("formation professionnelle", "80530000"),
        ("blanchisserie", "98311100"),  # 9831 laundry services before laundry supplies
        ("peinture", "45442100"),  # painting work, not paints
        ("maçonnerie", "45262522"),
        ("paysagiste", "77300000"),
        ("77310000-6", "77310000"),
    ],
)
def test_cpv_search_finds_the_trade(query, expected_first):
    assert _codes(query)[0] == expected_first


def test_cpv_search_keeps_the_family_together_and_avoids_look_alikes():
    assert _codes("espaces verts") == ["77310000", "45112710"]
    assert _codes("menuiserie bois") == ["45421000"]  # not "boisement" (afforestation)
    # "traiteur" must not find "tracteurs", nor "peinture" "teinture": exact words win.
    assert "16700000" not in _codes("traiteur")
    assert all(code[:3] in ("554", "555") for code in _codes("traiteur"))
    assert "98316000" not in _codes("peinture")
    assert _codes("jardinage")[0] == "77300000"


def test_cpv_search_in_english_and_edge_cases():
    assert _codes("green areas maintenance", lang="en")[0] == "77310000"
    assert _codes("cleaning", lang="en")[0] == "90910000"
    assert _codes("catering", lang="en") == ["55520000"]
    assert _codes("joinery", lang="en")[0] == "45421000"
    assert cpv_search.cpv_search("") == []
    assert cpv_search.cpv_search("de la et des") == []
    assert cpv_search.cpv_search("nettoyage", limit=0) == []
    assert len(_codes("nettoyage, blanchisserie, traiteur, menuiserie, élagage", limit=3)) == 3


# ---------------------------------------------------------------- départements and regions


def test_departements_and_regions_load():
    depts = geography.all_departements()
    assert len(depts) == 101
    assert len(geography.all_regions()) == 18
    loire = geography.departement("42")
    assert loire == geography.Departement("42", "Loire", "84", "Auvergne-Rhône-Alpes", "FRK25")
    ara = geography.region("84")
    assert ara.name == "Auvergne-Rhône-Alpes"
    assert "42" in ara.departements and len(ara.departements) == 12
    # Every département is in its region's list, once.
    for dept in depts:
        assert geography.region(dept.region_code).departements.count(dept.code) == 1


@pytest.mark.parametrize(
    "raw, code",
    [("6", "06"), ("06", "06"), (6, "06"), ("2a", "2A"), ("2A", "2A"), (" 971 ", "971"),
     ("976", "976"), ("20", None), ("975", None), ("99", None), ("", None), (None, None)],
)
def test_departement_codes(raw, code):
    found = geography.departement(raw)
    assert (found.code if found else None) == code


@given(st.sampled_from([d.code for d in geography.all_departements()]))
def test_departement_code_forms_all_normalise(code):
    variants = {code, code.lower(), f" {code} "}
    if code.startswith("0"):
        variants.add(code[1:])
        variants.add(int(code))
    for variant in variants:
        assert geography.normalise_departement(variant) == code


@given(st.text(max_size=4))
def test_normalise_departement_never_invents_a_code(text):
    result = geography.normalise_departement(text)
    assert result is None or geography.departement(result) is not None


def test_departement_for_nuts_2021_and_levels():
    assert geography.departement_for_nuts("FRK25") == ["42"]
    assert geography.departement_for_nuts("frk25") == ["42"]
    assert geography.departement_for_nuts("FRY40") == ["974"]
    assert geography.departement_for_nuts("FRK2") == ["01", "07", "26", "38", "42", "69", "73", "74"]
    assert geography.departement_for_nuts("FRK") == sorted(geography.region("84").departements)
    assert geography.departement_for_nuts("FRM0") == ["2A", "2B"]
    assert len(geography.departement_for_nuts("FR")) == 101
    assert geography.departement_for_nuts("FRZZZ") == []
    assert geography.departement_for_nuts("DE300") == []
    assert geography.departement_for_nuts("") == []
    assert geography.departement_for_nuts(None) == []


def test_departement_for_nuts_2013_codes():
    assert geography.departement_for_nuts("FR711") == ["01"]  # Ain
    assert geography.departement_for_nuts("FR715") == ["42"]  # Loire
    assert geography.departement_for_nuts("FR101") == ["75"]  # unchanged in 2016
    assert geography.departement_for_nuts("FR824") == ["13"]
    assert geography.departement_for_nuts("FR831") == ["2A"]
    assert geography.departement_for_nuts("FRA10") == ["971"]
    assert geography.departement_for_nuts("FR940") == ["974"]  # NUTS 2010
    assert geography.departement_for_nuts("FR62") == [
        "09", "12", "31", "32", "46", "65", "81", "82",
    ]
    assert geography.departement_for_nuts("FR7") == sorted(
        ["01", "07", "26", "38", "42", "69", "73", "74", "03", "15", "43", "63"]
    )


# The 2016 reform renamed the NUTS-2 regions but kept each département's position inside its
# former region: FR715 (2013) and FRK25 (2021) are both the 5th of Rhône-Alpes. This checks the
# hand-written 2013 table against the 2021 codes of departements.csv.
_NUTS_2013_TO_2021 = {
    "FR21": "FRF2", "FR22": "FRE2", "FR23": "FRD2", "FR24": "FRB0", "FR25": "FRD1",
    "FR26": "FRC1", "FR30": "FRE1", "FR41": "FRF3", "FR42": "FRF1", "FR43": "FRC2",
    "FR51": "FRG0", "FR52": "FRH0", "FR53": "FRI3", "FR61": "FRI1", "FR62": "FRJ2",
    "FR63": "FRI2", "FR71": "FRK2", "FR72": "FRK1", "FR81": "FRJ1", "FR82": "FRL0",
    "FR83": "FRM0", "FRA1": "FRY1", "FRA2": "FRY2", "FRA3": "FRY3", "FRA4": "FRY4",
    "FRA5": "FRY5",
}


def test_nuts_2013_table_agrees_with_2021_positions():
    metropolitan_and_overseas = {d.code for d in geography.all_departements()} - {
        "75", "77", "78", "91", "92", "93", "94", "95"
    }
    covered: set[str] = set()
    for old, new in _NUTS_2013_TO_2021.items():
        for digit in "0123456789":
            old_depts = geography.departement_for_nuts(old + digit)
            assert old_depts == geography.departement_for_nuts(new + digit), old + digit
            covered.update(old_depts)
    assert covered == metropolitan_and_overseas


# ---------------------------------------------------------------- free-text area


@pytest.mark.parametrize(
    "text, departements, regions",
    [
        ("42, 43, Rhône", ["42", "43", "69"], []),
        ("Loire; haute loire", ["42", "43"], []),
        ("69 et 01", ["01", "69"], []),
        ("42 43 69", ["42", "43", "69"], []),
        ("Bouches du Rhone", ["13"], []),
        ("Paris", ["75"], []),
        ("le Rhône", ["69"], []),
        ("département 42", ["42"], []),
        ("2a, 2B", ["2A", "2B"], []),
        ("6", ["06"], []),
        ("971", ["971"], []),
        ("Loir et Cher", ["41"], []),
        ("Saône-et-Loire", ["71"], []),
        ("Loire et Haute-Loire", ["42", "43"], []),
        ("Morbihant", ["56"], []),  # one letter too many, clearly Morbihan
        ("herault / GARD", ["30", "34"], []),
        ("Seine St Denis", ["93"], []),
        ("Guadeloupe", ["971"], []),
        ("Bretagne, 44", ["22", "29", "35", "44", "56"], ["53"]),
        ("PACA", ["04", "05", "06", "13", "83", "84"], ["93"]),
        ("Rhône-Alpes", ["01", "07", "26", "38", "42", "69", "73", "74"], []),
    ],
)
def test_parse_area_accepts(text, departements, regions):
    parsed = geography.parse_area(text)
    assert parsed.unknown == []
    assert parsed.departements == departements
    assert parsed.regions == regions
    assert not parsed.all_france
    assert parsed.ok


def test_parse_area_region_expands():
    parsed = geography.parse_area("Auvergne-Rhône-Alpes")
    assert parsed.regions == ["84"]
    assert parsed.departements == sorted(geography.region("84").departements)
    assert geography.parse_area("auvergne rhone alpes").departements == parsed.departements


@pytest.mark.parametrize(
    "text",
    ["toute la France", "France entière", "France", "national", "all of France", "Partout"],
)
def test_parse_area_all_france(text):
    parsed = geography.parse_area(text)
    assert parsed.all_france and parsed.unknown == [] and parsed.ok


@pytest.mark.parametrize(
    "text, first_suggestion",
    [
        ("Rhôn", "Rhône (69)"),  # 89: close, but below the threshold
        ("Loir", "Loire (42)"),  # Loire and Loiret are both one letter away
        ("Finistair", "Finistère (29)"),
        ("Marseille", None),
    ],
)
def test_parse_area_does_not_guess(text, first_suggestion):
    parsed = geography.parse_area(f"42, {text}")
    assert parsed.departements == ["42"]
    assert len(parsed.unknown) == 1
    token, suggestions = parsed.unknown[0]
    assert token == text
    assert 1 <= len(suggestions) <= 3
    if first_suggestion:
        assert suggestions[0] == first_suggestion
    assert not parsed.ok


def test_parse_area_unknown_codes_and_empty():
    parsed = geography.parse_area("99")
    assert parsed.unknown and parsed.unknown[0][0] == "99" and parsed.departements == []
    assert geography.parse_area("") == geography.AreaParse()
    assert not geography.parse_area("").ok


def test_fuzzy_threshold_is_documented_value():
    assert geography.FUZZY_ACCEPT == 90.0


# ---------------------------------------------------------------- NAF and legal forms


@pytest.mark.parametrize(
    "naf, divisions",
    [
        ("81.30Z", ["77000000"]),
        ("8130Z", ["77000000"]),
        ("81.21Z", ["90000000"]),
        ("81.22Z", ["90000000"]),
        ("56.10A", ["55000000"]),
        ("56.21Z", ["55000000"]),
        ("43.32A", ["45000000"]),
        ("41.20A", ["45000000"]),
        ("88.99B", ["85000000"]),
        ("38.11Z", ["90000000"]),
        ("49.39A", ["60000000"]),
        ("85.59A", ["80000000"]),
        ("90.01Z", ["92000000"]),
        ("62.01Z", ["72000000", "48000000"]),
        ("31.09B", ["39000000"]),
        ("96.01A", ["98000000"]),
        ("47.11A", []),  # retail: the goods matter, not the code
        ("81.10Z", []),
        ("junk", []),
        (None, []),
    ],
)
def test_naf_to_cpv_divisions(naf, divisions):
    result = activities.naf_to_cpv_divisions(naf)
    assert result == divisions
    for code in result:
        assert cpv.cpv_get(code) is not None and cpv.cpv_level(code) == 2


def test_naf_and_legal_form_labels():
    assert activities.naf_label("81.30Z") == "Services d'aménagement paysager"
    assert activities.naf_label("8130z") == "Services d'aménagement paysager"
    assert activities.naf_label("99.99Z") is None
    assert activities.legal_form_label("9220") == "Association déclarée"
    assert activities.legal_form_label(5458) == "SARL coopérative de production (SCOP)"
    assert activities.legal_form_label("0000").startswith("Organisme de placement")
    assert activities.legal_form_label("1") is None
    assert activities.legal_form_label(None) is None
