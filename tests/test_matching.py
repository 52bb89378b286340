"""Matching engine: each rule, the score order, reasons word for word, index == brute force."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks import matching as bench
from matching.engine import Match, brute_force_match
from matching.index import ProfileIndex
from matching.keywords import TenderText, keyword_tokens, similar, similar_in, text_tokens
from matching.profile import Profile
from matching.reasons import Reason, reasons_from_json, reasons_to_json, render_reason
from reference.cpv import all_cpv
from reference.geography import all_departements, region
from tenders.model import Lot, NoticeKind, Reserved, Tender

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
SOON = NOW + timedelta(days=20)
AUVERGNE_RHONE_ALPES = region("84").departements


def tender(**fields) -> Tender:
    base = dict(
        source="boamp",
        source_id="27-1",
        title="Entretien des espaces verts de la commune",
        cpv_codes=["77310000"],
        departements=["42"],
        deadline=SOON,
    )
    base.update(fields)
    return Tender(**base)


def profile(structure_id: int = 1, **fields) -> Profile:
    base = dict(structure_id=structure_id, name=f"S{structure_id}", departements=("42",))
    base.update(fields)
    return Profile(**base)


def match(profiles, t: Tender, now: datetime = NOW) -> list[Match]:
    """Both paths, checked equal, so every unit test also checks the index."""
    profiles = list(profiles)
    result = ProfileIndex(profiles).match(t, now)
    assert result == brute_force_match(profiles, t, now)
    return result


def only(profiles, t: Tender) -> Match:
    result = match(profiles, t)
    assert len(result) == 1
    return result[0]


def en(reasons) -> list[str]:
    return [render_reason(reason, "en") for reason in reasons]


def fr(reasons) -> list[str]:
    return [render_reason(reason, "fr") for reason in reasons]


# ---------------------------------------------------------------------------------------------
# CPV
# ---------------------------------------------------------------------------------------------


def test_cpv_tender_code_within_profile_field():
    m = only([profile(cpv_codes=("77300000",))], tender())
    assert en(m.reasons) == [
        "CPV 77310000 Planting and maintenance services of green areas, within your field 77300000",
        "Loire (42) is in your area",
    ]
    assert m.reasons[0] == Reason.of("cpv", code="77310000", field="77300000", relation="within")
    assert m.score == 55 + 10


def test_cpv_equal_code_scores_more_than_a_broader_field():
    equal, within = match(
        [profile(1, cpv_codes=("77300000",)), profile(2, cpv_codes=("77310000",))], tender()
    )
    assert (equal.structure_id, within.structure_id) == (2, 1)
    assert equal.score == 70 and within.score == 65
    assert en(equal.reasons)[0] == (
        "CPV 77310000 Planting and maintenance services of green areas, one of your fields"
    )


def test_cpv_division_field_covers_deep_codes():
    m = only([profile(cpv_codes=("77000000",))], tender(cpv_codes=["77312100"]))
    # 77 -> 773121: four levels apart, 60 - 20
    assert m.score == 40 + 10
    assert m.reasons[0].get("relation") == "within"


def test_cpv_broader_tender_code_matches_with_a_lower_score():
    m = only([profile(cpv_codes=("77310000",))], tender(cpv_codes=["77000000"]))
    assert m.reasons[0] == Reason.of("cpv", code="77000000", field="77310000", relation="broader")
    assert en(m.reasons)[0] == (
        "CPV 77000000 Agricultural, forestry, horticultural, aquacultural and apicultural "
        "services, which covers your field 77310000"
    )
    assert m.score == 30 + 10  # 40 - 2 levels x 5
    within = only([profile(cpv_codes=("77000000",))], tender(cpv_codes=["77310000"]))
    assert within.score > m.score


def test_cpv_unrelated_codes_and_siblings_do_not_match():
    assert (
        match([profile(cpv_codes=("45000000",))], tender(title="Marché", cpv_codes=["77310000"]))
        == []
    )
    # Siblings under the same group are not within each other.
    assert match([profile(cpv_codes=("77320000",))], tender(title="Marché")) == []


def test_cpv_tie_goes_to_the_smallest_profile_code():
    # Tender 03212210 (7 significant digits): the division 03 is 5 levels up (60 - 25 = 35) and
    # 03212211 one level down (40 - 5 = 35). Equal points: the smaller code is reported.
    p = profile(cpv_codes=("03212211", "03000000"))
    m = only([p], tender(title="Marché", cpv_codes=["03212210"]))
    assert m.reasons[0] == Reason.of("cpv", code="03212210", field="03000000", relation="within")
    assert m.score == 35 + 10


def test_cpv_from_a_lot_names_the_lot():
    t = tender(
        title="Travaux divers",
        cpv_codes=["45000000"],
        lots=[Lot("1", "Maçonnerie", ["45262500"]), Lot("2", "Plantations", ["77310000"])],
    )
    m = only([profile(cpv_codes=("77300000",))], t)
    assert m.reasons[0].get("lot") == "2"
    assert en(m.reasons)[0] == (
        "lot 2: CPV 77310000 Planting and maintenance services of green areas, "
        "within your field 77300000"
    )


def test_cpv_codes_with_check_digit_are_understood():
    m = only([profile(cpv_codes=("77300000-3",))], tender(cpv_codes=["77310000-6"]))
    assert m.reasons[0].get("code") == "77310000"


# ---------------------------------------------------------------------------------------------
# Keywords
# ---------------------------------------------------------------------------------------------


def test_multi_word_keyword_matches_through_stopwords():
    m = only([profile(keywords=("espaces verts",))], tender(cpv_codes=[]))
    assert en(m.reasons) == ["keyword “espaces verts”", "Loire (42) is in your area"]
    assert m.score == 20 + 10


@pytest.mark.parametrize(
    "keyword, title, found",
    [
        ("vert", "Ouverture d'un accueil de jour", False),
        ("vert", "Local ouvert au public", False),
        ("vert", "Toiture végétalisée et mur verts", True),
        ("ESPACES VÈRTS", "entretien des espaces verts", True),
        ("élagage", "Travaux d'ELAGAGE et d'abattage", True),
        ("netoyage", "Nettoyage des locaux", True),
        ("ouverture", "Travaux de couverture", False),
        ("couverture", "Ouverture des plis", False),
        ("espaces verts", "Espaces de stationnement et panneaux verts", False),
        ("espaces verts", "verts espaces", False),
        ("jardin", "Jardinage", False),
        ("le", "Le marché", False),  # only a stopword: means nothing
    ],
)
def test_keyword_rule(keyword, title, found):
    text = TenderText([text_tokens(title)])
    assert text.has(keyword_tokens(keyword)) is found
    result = match([profile(keywords=(keyword,))], tender(title=title, cpv_codes=[]))
    assert bool(result) is found


def test_keywords_searched_in_description_and_lot_titles_not_buyer():
    base = dict(title="Marché 2027", cpv_codes=[])
    assert match([profile(keywords=("élagage",))], tender(**base, description="Élagage")) != []
    assert (
        match(
            [profile(keywords=("élagage",))], tender(**base, lots=[Lot("3", "Élagage des arbres")])
        )
        != []
    )
    assert match([profile(keywords=("élagage",))], tender(**base, buyer="Élagage SA")) == []


def test_keyword_does_not_span_two_fields():
    t = tender(title="Entretien des espaces", description="verts", cpv_codes=[])
    assert match([profile(keywords=("espaces verts",))], t) == []


def test_several_keywords_add_up_to_a_cap():
    t = tender(title="Entretien espaces verts, élagage, tonte, débroussaillage", cpv_codes=[])
    one = only([profile(keywords=("tonte",))], t)
    two = only([profile(keywords=("tonte", "élagage"))], t)
    four = only([profile(keywords=("tonte", "élagage", "espaces verts", "débroussaillage"))], t)
    assert (one.score, two.score, four.score) == (30, 35, 40)
    assert en(two.reasons)[:2] == ["keyword “tonte”", "keyword “élagage”"]


def test_cpv_and_keyword_together_score_more():
    both = only([profile(cpv_codes=("77310000",), keywords=("espaces verts",))], tender())
    assert both.score == 60 + 20 + 10
    assert [r.kind for r in both.reasons] == ["cpv", "keyword", "area"]


def test_excluded_keyword_vetoes():
    p = profile(cpv_codes=("77300000",), excluded_keywords=("commune",))
    assert match([p], tender()) == []
    assert match([p], tender(title="Entretien des espaces verts du parc")) != []


def test_similar_in_agrees_with_similar():
    words = ["vert", "verte", "ouvert", "couvert", "vers", "verts", "vertical"]
    assert sorted(similar_in("vert", words)) == sorted(w for w in words if similar("vert", w))
    assert similar_in("vert", words) and "ouvert" not in similar_in("vert", words)


@pytest.mark.parametrize(
    "keyword, title, found",
    [
        ("entretien", "Entreprise générale de bâtiment", False),
        ("entretien", "Les entreprises candidates remettront leur offre", False),
        ("nettoyage de locaux", "Prestations de nettoyage des locaux de la mairie", True),
        ("formation", "Offres remises au format PDF", False),
        ("collecte", "Restauration collective des écoles", False),
        ("collecte", "Marché passé par la collectivité", False),
        ("tri", "Triangles de signalisation", False),
        ("verts", "Stores verticaux", False),
        ("espaces", "Space transport services", False),
        ("cleaning of offices", "Cleaning of offices and schools", True),  # English stop words
        ("office cleaning", "Office cleaning services", True),
        ("traiteur", "Location d'un tracteur", False),
    ],
)
def test_keyword_rule_is_the_reference_text_rule(keyword, title, found):
    """Issue 11, point 3: the words of the CPV search (reference/), in both languages."""
    assert bool(match([profile(keywords=(keyword,))], tender(title=title, cpv_codes=[]))) is found


@pytest.mark.parametrize(
    "lang, said",
    [
        ("en", "keyword “nettoyage de locaux”: the tender says “nettoyage des locaux”"),
        ("fr", "mot-clé « nettoyage de locaux » : l'avis dit « nettoyage des locaux »"),
    ],
)
def test_keyword_reason_shows_the_words_that_matched(lang, said):
    m = only(
        [profile(keywords=("nettoyage de locaux",))],
        tender(title="Prestations de nettoyage des locaux de la mairie", cpv_codes=[]),
    )
    assert m.reasons[0] == Reason.of(
        "keyword", keyword="nettoyage de locaux", words="nettoyage des locaux"
    )
    assert render_reason(m.reasons[0], lang) == said
    # The words as the notice wrote them, from the lot title where they are.
    m = only(
        [profile(keywords=("netoyage",))],
        tender(title="Marché 2027", cpv_codes=[], lots=[Lot("2", "NETTOYAGE des vitres")]),
    )
    assert m.reasons[0].get("words") == "NETTOYAGE"
    # Same words as the keyword (case and accents aside): the keyword alone says it.
    m = only([profile(keywords=("élagage",))], tender(title="Travaux d'ELAGAGE", cpv_codes=[]))
    assert en(m.reasons)[0] == "keyword “élagage”"


def test_stored_keyword_reasons_without_words_still_render():
    assert fr([Reason.of("keyword", keyword="tonte")]) == ["mot-clé « tonte »"]


# ---------------------------------------------------------------------------------------------
# Area
# ---------------------------------------------------------------------------------------------


def test_area_outside_does_not_match():
    assert match([profile(cpv_codes=("77300000",), departements=("43",))], tender()) == []


def test_area_any_of_the_tender_departements():
    m = only(
        [profile(cpv_codes=("77300000",), departements=("69",))], tender(departements=["42", "69"])
    )
    assert en(m.reasons)[1] == "Rhône (69) is in your area"


def test_area_whole_region_is_said_so():
    m = only([profile(cpv_codes=("77300000",), departements=AUVERGNE_RHONE_ALPES)], tender())
    assert m.reasons[1] == Reason.of("area", scope="region", departement="42", region="84")
    assert en(m.reasons)[1] == "Loire (42) is in your region Auvergne-Rhône-Alpes"
    # All but one département of the region: a plain département reason.
    partial = tuple(d for d in AUVERGNE_RHONE_ALPES if d != "01")
    m = only([profile(cpv_codes=("77300000",), departements=partial)], tender())
    assert m.reasons[1].get("scope") == "departement"


def test_area_one_departement_region_is_just_the_departement():
    m = only(
        [profile(cpv_codes=("77300000",), departements=("971",))], tender(departements=["971"])
    )
    assert en(m.reasons)[1] == "Guadeloupe (971) is in your area"


def test_area_all_france():
    m = only([profile(cpv_codes=("77300000",), departements=(), all_france=True)], tender())
    assert en(m.reasons)[1] == "Loire (42): you cover all of France"
    assert m.score == 55 + 4


def test_national_tender_matches_every_area():
    profiles = [
        profile(1, cpv_codes=("77300000",), departements=("971",)),
        profile(2, cpv_codes=("77300000",), departements=()),
        profile(3, cpv_codes=("77300000",), all_france=True),
    ]
    result = match(profiles, tender(departements=[]))
    assert [m.structure_id for m in result] == [1, 2, 3]
    assert en(result[0].reasons)[1] == "national tender, open to every area"
    # A profile with no area at all gets only national tenders.
    assert match(profiles[1:2], tender()) == []


def test_area_alone_is_not_enough():
    assert match([profile(keywords=("menuiserie",))], tender()) == []


# ---------------------------------------------------------------------------------------------
# Reserved contracts, social clause
# ---------------------------------------------------------------------------------------------


FAMILIES = {1: "siae_aci", 2: "ea", 3: "esat", 4: "association", 5: None, 6: "siae_ei"}


def reserved_result(reserved: Reserved) -> list[int]:
    profiles = [profile(i, family=f, cpv_codes=("77300000",)) for i, f in FAMILIES.items()]
    return sorted(m.structure_id for m in match(profiles, tender(reserved=reserved)))


def test_reserved_contracts_go_only_to_eligible_families():
    assert reserved_result(Reserved.NONE) == [1, 2, 3, 4, 5, 6]
    assert reserved_result(Reserved.SIAE) == [1, 6]
    assert reserved_result(Reserved.DISABILITY) == [2, 3]
    assert reserved_result(Reserved.BOTH) == [1, 2, 3, 6]


def test_reserved_ranks_eligible_structures_higher():
    p = profile(family="esat", cpv_codes=("77300000",))
    plain = only([p], tender())
    reserved = only([p], tender(reserved=Reserved.DISABILITY))
    assert reserved.score == plain.score + 20
    assert en(reserved.reasons)[-1] == "reserved for EA and ESAT"
    assert en(only([p], tender(reserved=Reserved.BOTH)).reasons)[-1] == (
        "reserved for SIAE, EA and ESAT"
    )


def test_social_clause_bonus_for_siae():
    siae = profile(1, family="siae_ei", cpv_codes=("77300000",))
    other = profile(2, family="association", cpv_codes=("77300000",))
    result = match([siae, other], tender(social_clause=True))
    assert [(m.structure_id, m.score) for m in result] == [(1, 75), (2, 65)]
    assert en(result[0].reasons)[-1] == (
        "social clause (part of the hours goes to people in insertion)"
    )
    assert [r.kind for r in result[1].reasons] == ["cpv", "area"]


def test_score_is_capped_at_100():
    p = profile(
        family="siae_aci",
        cpv_codes=("77310000",),
        keywords=("espaces verts", "entretien", "commune"),
    )
    m = only([p], tender(reserved=Reserved.SIAE, social_clause=True))
    assert m.score == 100  # 60 + 30 + 10 + 20 + 10 = 130
    assert en(m.reasons) == [
        "CPV 77310000 Planting and maintenance services of green areas, one of your fields",
        "keyword “espaces verts”",
        "keyword “entretien”",
        "keyword “commune”",
        "Loire (42) is in your area",
        "reserved for SIAE",
        "social clause (part of the hours goes to people in insertion)",
    ]


# ---------------------------------------------------------------------------------------------
# Closed tenders, capacity
# ---------------------------------------------------------------------------------------------


def test_cancelled_awarded_and_past_tenders_never_match():
    p = [profile(cpv_codes=("77300000",))]
    assert match(p, tender(kind=NoticeKind.CANCELLATION)) == []
    assert match(p, tender(kind=NoticeKind.AWARD)) == []
    assert match(p, tender(deadline=NOW - timedelta(minutes=1))) == []
    assert match(p, tender(deadline=NOW)) != []  # the last minute still counts
    assert match(p, tender(deadline=None)) != []
    assert match(p, tender(kind=NoticeKind.RECTIFICATION)) != []


def test_now_must_be_timezone_aware():
    with pytest.raises(ValueError):
        brute_force_match([profile(cpv_codes=("77300000",))], tender(), datetime(2027, 1, 4))


def test_capacity_three_times_the_declared_maximum():
    p = [profile(cpv_codes=("77300000",), max_contract_value=100_000)]
    assert match(p, tender(estimated_value=300_000)) != []
    assert match(p, tender(estimated_value=300_001)) == []
    assert match(p, tender(estimated_value=None)) != []
    assert match([replace(p[0], max_contract_value=None)], tender(estimated_value=9e9)) != []


def test_capacity_uses_the_smallest_lot():
    p = [profile(cpv_codes=("77300000",), max_contract_value=50_000)]
    lots = [Lot("1", "Tonte", [], 120_000.0), Lot("2", "Taille", [], 900_000.0)]
    assert match(p, tender(estimated_value=1_020_000, lots=lots)) != []
    lots[0].estimated_value = 150_001.0
    assert match(p, tender(estimated_value=1_050_001, lots=lots)) == []


# ---------------------------------------------------------------------------------------------
# Ordering, JSON
# ---------------------------------------------------------------------------------------------


def test_sorted_by_score_then_structure_id():
    profiles = [
        profile(9, cpv_codes=("77300000",)),
        profile(3, cpv_codes=("77310000",)),
        profile(5, cpv_codes=("77300000",)),
        profile(1, cpv_codes=("77000000",)),
    ]
    assert [(m.structure_id, m.score) for m in match(profiles, tender())] == [
        (3, 70),
        (5, 65),
        (9, 65),
        (1, 60),
    ]


def test_reasons_round_trip_through_json():
    m = only(
        [profile(family="siae_ei", cpv_codes=("77300000",), keywords=("espaces verts",))],
        tender(reserved=Reserved.SIAE, social_clause=True, departements=[]),
    )
    stored = json.dumps(m.reasons_json(), ensure_ascii=False)
    assert json.loads(stored)[0] == {
        "kind": "cpv",
        "code": "77310000",
        "field": "77300000",
        "relation": "within",
    }
    assert reasons_from_json(json.loads(stored)) == m.reasons
    assert reasons_to_json(m.reasons) == json.loads(stored)
    assert Reason.from_dict({"kind": "cpv", "code": "77310000", "lot": 2}).get("lot") == "2"


# ---------------------------------------------------------------------------------------------
# French rendering (needs the lead's merged catalog: locales/fragments/matching.po)
# ---------------------------------------------------------------------------------------------


def test_reasons_in_french_word_for_word():
    m = only(
        [profile(family="siae_ei", cpv_codes=("77300000",), keywords=("espaces verts",))],
        tender(reserved=Reserved.SIAE, social_clause=True),
    )
    assert fr(m.reasons) == [
        "CPV 77310000 Réalisation et entretien d'espaces verts, dans votre domaine 77300000",
        "mot-clé « espaces verts »",
        "Loire (42) est dans votre zone",
        "réservé aux SIAE",
        "clause sociale (une part des heures va à des personnes en insertion)",
    ]


def test_other_reasons_in_french_word_for_word():
    r = Reason.of
    assert fr(
        [
            r("cpv", code="77310000", field="77310000", relation="equal"),
            r("cpv", code="77000000", field="77310000", relation="broader", lot="2"),
            r("area", scope="region", departement="42", region="84"),
            r("area", scope="france", departement="2A"),
            r("area", scope="national"),
            r("reserved", reserved="disability"),
            r("reserved", reserved="both"),
        ]
    ) == [
        "CPV 77310000 Réalisation et entretien d'espaces verts, l'un de vos domaines",
        "lot 2 : CPV 77000000 Services agricoles, sylvicoles, horticoles, d'aquaculture et "
        "d'apiculture, qui englobe votre domaine 77310000",
        "Loire (42) est dans votre région Auvergne-Rhône-Alpes",
        "Corse-du-Sud (2A) : vous couvrez toute la France",
        "marché national, ouvert à toutes les zones",
        "réservé aux EA et ESAT",
        "réservé aux SIAE, EA et ESAT",
    ]


# ---------------------------------------------------------------------------------------------
# Index == brute force
# ---------------------------------------------------------------------------------------------


ALL_CODES = sorted(c.code for c in all_cpv())
# A dense corner of the tree, so that random codes are often related at every level.
DENSE_CODES = [c for c in ALL_CODES if c[:2] in ("77", "90")]
ALL_DEPARTEMENTS = [d.code for d in all_departements()]
FEW_DEPARTEMENTS = ["42", "69", "01", "2A", "2B", "971"]
WORDS = [
    "espaces verts",
    "vert",
    "verte",
    "ouvert",
    "ouverture",
    "couverture",
    "nettoyage",
    "netoyage",
    "entretien",
    "élagage",
    "Élagage",
    "tonte",
    "locaux",
    "peinture",
    "le",
    "de la",
    "voirie",
    "déchets",
    "ESPACES",
]

codes = st.one_of(st.sampled_from(DENSE_CODES), st.sampled_from(ALL_CODES))
departements = st.one_of(st.sampled_from(FEW_DEPARTEMENTS), st.sampled_from(ALL_DEPARTEMENTS))
words = st.sampled_from(WORDS)
text = st.lists(words, max_size=6).map(" ".join)


@st.composite
def profiles(draw) -> list[Profile]:
    count = draw(st.integers(0, 25))
    # Structure ids are unique in practice; repeated ones take the index's other sorting path.
    unique = draw(st.booleans())
    ids = draw(
        st.lists(
            st.integers(1, 10_000 if unique else 8), min_size=count, max_size=count, unique=unique
        )
    )
    out = []
    for structure_id in ids:
        area = draw(st.sampled_from(["some", "region", "france", "none"]))
        depts = draw(st.lists(departements, max_size=4))
        if area == "region":
            depts += list(AUVERGNE_RHONE_ALPES if draw(st.booleans()) else ("2A", "2B"))
        out.append(
            Profile(
                structure_id=structure_id,
                name="x",
                family=draw(st.sampled_from([None, "siae_aci", "siae_etti", "ea", "esat", "scop"])),
                cpv_codes=tuple(draw(st.lists(codes, max_size=4))),
                departements=tuple(depts) if area != "none" else (),
                all_france=area == "france",
                keywords=tuple(draw(st.lists(words, max_size=3))),
                excluded_keywords=tuple(draw(st.lists(words, max_size=1))),
                max_contract_value=draw(st.none() | st.integers(0, 500_000)),
            )
        )
    return out


@st.composite
def tenders(draw) -> Tender:
    lots = [
        Lot(
            number=str(n + 1),
            title=draw(text),
            cpv_codes=draw(st.lists(codes, max_size=2)),
            estimated_value=draw(st.none() | st.floats(0, 2_000_000)),
        )
        for n in range(draw(st.integers(0, 3)))
    ]
    return Tender(
        source="boamp",
        source_id=str(draw(st.integers(0, 10**6))),
        title=draw(text),
        description=draw(text),
        kind=draw(st.sampled_from(list(NoticeKind))),
        cpv_codes=draw(st.lists(codes, max_size=3)),
        departements=draw(st.lists(departements, max_size=2)),
        deadline=draw(st.none() | st.integers(-3, 30).map(lambda d: NOW + timedelta(days=d))),
        estimated_value=draw(st.none() | st.floats(0, 3_000_000)),
        lots=lots,
        reserved=draw(st.sampled_from(list(Reserved))),
        social_clause=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profiles(), st.lists(tenders(), min_size=1, max_size=4))
def test_index_equals_brute_force(profiles, tenders):
    index = ProfileIndex(profiles)  # one index, several tenders: its caches are shared
    every_list_in_bulk = ProfileIndex(profiles)
    every_list_in_bulk.bulk_from = 1  # the set-operations path, whatever the list length
    for t in tenders:
        expected = brute_force_match(profiles, t, NOW)
        assert index.match(t, NOW) == expected
        assert every_list_in_bulk.match(t, NOW) == expected


def test_index_equals_brute_force_on_benchmark_data():
    """Realistic data (the benchmark's generator): long candidate lists, every rule at once."""
    rng = random.Random(7)
    world = bench.World()
    profiles = bench.make_profiles(world, rng, 3000)
    tenders = bench.make_tenders(world, rng, 80)
    index = ProfileIndex(profiles)
    pairs = 0
    for t in tenders:
        expected = brute_force_match(profiles, t, bench.NOW)
        assert index.match(t, bench.NOW) == expected
        pairs += len(expected)
    assert pairs > 500


def test_benchmark_extrapolates_brute_force_over_open_tenders_only():
    """Brute force runs on every closed tender and on a sample of the open ones; its time is
    extrapolated over the open ones only, and every tender it ran on is compared."""
    result = bench.run(tender_count=60, profile_count=400, seed=3, brute_sample=5)
    closed = result["tenders"] - result["open_tenders"]
    assert closed > 0 and result["brute_sample_tenders"] == 5
    assert f"on all {closed} closed ones" in result["brute_method"]
    assert result["identical"] is True and result["brute_s"] > 0


def test_index_is_exercised_by_the_random_data():
    """The property above would be weak if random tenders never matched: check they do."""
    p = [
        profile(1, cpv_codes=("77300000",), departements=("69",)),
        profile(2, keywords=("élagage",), all_france=True),
        profile(3, cpv_codes=("90000000",), departements=("2A",), family="ea"),
    ]
    index = ProfileIndex(p)
    assert [m.structure_id for m in index.match(tender(departements=["69"]), NOW)] == [1]
    assert [m.structure_id for m in index.match(tender(title="Élagage", cpv_codes=[]), NOW)] == [2]
    t = tender(cpv_codes=["90910000"], departements=["2A"], reserved=Reserved.DISABILITY)
    assert [m.structure_id for m in index.match(t, NOW)] == [3]
    assert len(index) == 3
