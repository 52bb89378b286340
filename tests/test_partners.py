"""Partner suggestions (matching/partners.py), pure: each exclusion rule, the pools (an ETTI
suggested to an ACI), interested and searching structures first, reasons in both languages,
at most five. (`suggest` is still its brute-force twin: the indexed ranking and the test that
compares the two come with the benchmark.)"""

from __future__ import annotations

from matching.partners import Need, PartnerProfile, reason_text, suggest

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
