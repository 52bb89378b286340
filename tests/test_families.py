"""Structure families are defined once (reference/families.py); every other list follows them."""

from conversations import choices
from matching.profile import Profile
from reference import families


def test_every_family_has_exactly_one_label():
    assert list(choices.FAMILIES) == list(families.FAMILY_CODES)
    assert set(choices._FAMILY_LABELS) == set(families.FAMILY_CODES)


def test_the_groups_are_families():
    assert families.RESERVED_FAMILIES <= set(families.FAMILY_CODES)
    assert not families.SIAE_FAMILIES & families.DISABILITY_FAMILIES
    assert set(families.FAMILY_BY_TYPE.values()) == families.RESERVED_FAMILIES


def test_type_codes():
    assert families.family_for_type(" aci ") == "siae_aci"
    assert families.family_for_type("ESAT") == "esat"
    assert families.family_for_type("SCOP") is None and families.family_for_type(None) is None
    assert [families.siae_type(f) for f in ("siae_eiti", "ea", "association", None)] == [
        "EITI", None, None, None]


def test_matching_reads_the_same_groups():
    assert Profile(1, "x", family="siae_ai").siae_eligible
    assert Profile(1, "x", family="esat").disability_eligible
    assert not Profile(1, "x", family="scic").siae_eligible


def test_the_register_suggestion_uses_the_type_codes():
    assert choices.family_from_company("9220", "EI") == "siae_ei"
    assert choices.family_from_company("9220", None) == "association"
    assert choices.family_from_company("5458", None) == "scop"
