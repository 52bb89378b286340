"""One spelling of TED publication numbers for the BOAMP reader, the TED readers and the store."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenders.ted_ref import canonical_ted_ref, find_ted_ref, normalise_ted_ref


@pytest.mark.parametrize(
    "raw, expected",
    [
        # The spellings each reader met: OJ S references (BOAMP text, TED-export), eForms and
        # TED-export publication numbers, the search API's.
        ("2015/S 051-089000", "89000-2015"),
        ("2019/S 040-091489", "91489-2019"),
        ("JOUE 2019/S 098-239811 du 22/05/2019", "239811-2019"),
        ("2019/s 040-091489", "91489-2019"),
        ("00091489-2019", "91489-2019"),
        ("091489-2019", "91489-2019"),
        ("91489-2019", "91489-2019"),
        ("  91489 - 2019 ", "91489-2019"),
        ("00123456-2024", "123456-2024"),
        # Not TED numbers: a BOAMP idweb, a page reference, an eForms UUID, nothing.
        ("15-31501", None),
        ("2019-040", None),
        ("f252f386-55ac-4fa8-9be4-9f950b9904c8", None),
        ("", None),
        (None, None),
    ],
)
def test_every_spelling_has_one_canonical_form(raw, expected):
    assert normalise_ted_ref(raw) == expected


def test_the_store_key_keeps_what_is_not_a_publication_number():
    assert canonical_ted_ref("2015/S 051-089000") == "89000-2015"
    uuid = "f252f386-55ac-4fa8-9be4-9f950b9904c8"
    assert canonical_ted_ref(f" {uuid} ") == uuid
    assert canonical_ted_ref("x" * 60) == "x" * 40
    assert canonical_ted_ref("   ") is None and canonical_ted_ref(None) is None


def test_a_reference_is_found_in_the_text_of_a_notice():
    texts = ("Marché de nettoyage", "Avis de préinformation 2014/S 210-371234 paru au JOUE")
    assert find_ted_ref(*texts) == "371234-2014"
    assert find_ted_ref("Lots 1/Services 2015", "aucune référence") is None


@given(number=st.integers(1, 99_999_999), year=st.integers(1990, 2099),
       issue=st.integers(1, 250), zeros=st.integers(0, 3))
def test_the_three_spellings_of_one_notice_agree(number, year, issue, zeros):
    padded = "0" * zeros + str(number)
    spellings = (f"{padded}-{year}", f"{year}/S {issue:03d}-{padded}", f"{number}-{year}")
    assert {normalise_ted_ref(s) for s in spellings} == {f"{number}-{year}"}
    assert {canonical_ted_ref(s) for s in spellings} == {f"{number}-{year}"}
