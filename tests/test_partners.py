"""Partner suggestions (matching/partners.py), pure: each exclusion rule, the pools (an ETTI
suggested to an ACI), interested and searching structures first, reasons in both languages,
at most five; the index (matching/partner_index.py) ranks exactly as brute force."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.partner_index import PartnerIndex
from matching.partners import Need, PartnerProfile, reason_text, suggest, suggest_brute

GREEN = "77310000"  # espaces verts
ROOF = "45261000"  # couverture


def profile(sid: int, family: str = "association", cpv=(GREEN,), deps=("43",), **extra):
    values = dict(name=f"S{sid}", family=family, siae_type=None, cpv_codes=tuple(cpv),
                  departements=tuple(deps), all_france=False, capacity=None, readiness_score=50,
                  experience=False, consortium_roles=("cocontractor",))
    values.update(extra)
    return PartnerProfile(structure_id=sid, member_id=100 + sid, **values)


REQUESTER = profile(1, family="siae_aci", deps=("63",))


def need(**extra) -> Need:
    values = dict(requester=REQUESTER, cpv_codes=(GREEN,), departements=("43",))
    values.update(extra)
    return Need(**values)


def ids(suggestions) -> list[int]:
    return [s.profile.structure_id for s in suggestions]


def test_each_exclusion_rule():
    candidates = [REQUESTER, profile(2, consortium_roles=("no",)), profile(3), profile(4),
                  profile(5, cpv=(ROOF,)), profile(6, deps=("13",)),
                  profile(7, deps=("13",), all_france=True), profile(8)]
    got = suggest(need(declined=frozenset({3}), asked=frozenset({4})), candidates)
    # 1 itself, 2 not open to consortia, 3 "pas pour nous", 4 already asked, 5 useless trade,
    # 6 useless area; 7 works everywhere.
    assert sorted(ids(got)) == [7, 8]


def test_interested_and_searching_first_then_the_pool_pairing():
    etti = profile(10, family="siae_etti")
    plain = profile(11, readiness_score=100, experience=True)
    interested = profile(12, readiness_score=0)
    got = suggest(need(interested=frozenset({12})), [plain, etti, interested])
    assert ids(got) == [12, 10, 11]  # the ETTI pairs with the requester's ACI
    french = [reason_text(r, "fr") for r in got[1].reasons]
    assert "ETTI : peut renforcer les équipes de votre ACI" in french
    assert "intervient en Haute-Loire (43), que vous ne couvrez pas" in french
    english = [reason_text(r, "en") for r in got[0].reasons]
    assert "also interested in this tender" in english


def test_at_most_five_and_a_lot_reason():
    lots = (("2", "Couverture", (ROOF,)),)
    candidates = [profile(20 + n) for n in range(8)] + [profile(40, cpv=(ROOF,))]
    got = suggest(need(lots=lots, lacks=frozenset({"lot"})), candidates)
    assert len(got) == 5 and got[0].profile.structure_id == 40
    assert "couvre le lot 2 Couverture" in [reason_text(r, "fr") for r in got[0].reasons]


# --- the index gives exactly the brute-force ranking ----------------------------------------------

CODES = ("77310000", "77300000", "77000000", "45261000", "45260000", "45000000", "90910000",
         "90900000", "15810000", "79620000")
DEPS = ("43", "63", "15", "83", "2A")
FAMILIES = ("association", "scop", "siae_aci", "siae_ei", "siae_ai", "siae_etti", "ea", "esat")


@st.composite
def profiles(draw, sid: int):
    return PartnerProfile(
        structure_id=sid, member_id=1000 + sid, name=f"S{sid}",
        family=draw(st.sampled_from(FAMILIES)), siae_type=None,
        cpv_codes=tuple(draw(st.lists(st.sampled_from(CODES), min_size=0, max_size=3))),
        departements=tuple(draw(st.lists(st.sampled_from(DEPS), max_size=2, unique=True))),
        all_france=draw(st.booleans()), capacity=draw(st.sampled_from((None, 40000.0, 1e6))),
        readiness_score=draw(st.integers(0, 100)), experience=draw(st.booleans()),
        consortium_roles=draw(st.sampled_from((("cocontractor",), ("no",), ("lead",)))))


@st.composite
def worlds(draw):
    count = draw(st.integers(1, 25))
    people = [draw(profiles(sid)) for sid in range(1, count + 1)]
    ids = st.sets(st.integers(1, count), max_size=4).map(frozenset)
    lots = draw(st.lists(st.tuples(st.sampled_from(("1", "2", "3")), st.just("Lot"),
                                   st.lists(st.sampled_from(CODES), max_size=2).map(tuple)),
                         max_size=2))
    need = Need(requester=people[0], cpv_codes=tuple(draw(st.lists(st.sampled_from(CODES),
                                                                   max_size=2))),
                departements=tuple(draw(st.lists(st.sampled_from(DEPS), max_size=2,
                                                 unique=True))),
                lots=tuple(lots), lots_wanted=tuple(draw(st.lists(st.sampled_from(("1", "2")),
                                                                  max_size=1))),
                lacks=frozenset(draw(st.sets(st.sampled_from(("trade", "lot", "area",
                                                              "capacity"))))),
                interested=draw(ids), searching=draw(ids), declined=draw(ids), asked=draw(ids))
    return need, people


@settings(max_examples=300, deadline=None)
@given(worlds())
def test_the_index_ranks_exactly_as_brute_force(world):
    need, people = world
    assert PartnerIndex(people).suggest(need) == suggest_brute(need, people)
    assert PartnerIndex(people).suggest(need, 50) == suggest_brute(need, people, 50)


def test_index_edge_cases():
    broad = profile(60, cpv=("45000000",))  # a shorter prefix than the tender's
    lot_only = profile(61, cpv=("45261000",))
    everywhere = profile(62, deps=("83",), all_france=True)
    people = [REQUESTER, broad, lot_only, everywhere]
    for case in (need(departements=()),  # no département: every area
                 need(cpv_codes=(), lots=(("2", "Couverture", ("45261000",)),)),
                 need(cpv_codes=("45261000",))):
        assert PartnerIndex(people).suggest(case) == suggest_brute(case, people)
    assert {s.profile.structure_id for s in PartnerIndex(people).suggest(
        need(cpv_codes=("45261000",)))} == {60, 61}
