"""Issue 11: one reading of a trade — the text rules, the CPV search, the labelled set."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchmarks import trades as bench
from matching.keywords import similar_in
from reference import cpv_search
from reference.cpv import cpv_parent, cpv_prefix
from reference.lexicon import is_known, same_word, synonyms
from reference.text import phrase_parts, phrases, tokens, word_keys, word_spans

# ---------------------------------------------------------------- the word rule


@pytest.mark.parametrize(
    "a, b",
    [
        ("verts", "vertical"),
        ("espaces", "space"),
        ("tri", "triangle"),
        ("collecte", "collectivite"),
        ("nette", "nettoyage"),
        ("entretien", "entreprise"),
        ("formation", "format"),  # Snowball's "format": a stem exception
        ("collecte", "collective"),  # idem, "collect"
        ("traiteur", "tracteur"),  # one letter apart, but both are trade words
        ("moquette", "maquette"),
        ("lavage", "levage"),  # too short for a typo
        ("jardin", "jardinage"),
        ("vert", "ouvert"),
        ("couverture", "ouverture"),
    ],
)
def test_look_alikes_are_not_the_same_word(a, b):
    assert not same_word(a, b) and not same_word(b, a)


@pytest.mark.parametrize(
    "a, b",
    [
        ("netoyage", "nettoyage"),  # a typo of a long word
        ("nettoyages", "nettoyage"),
        ("vert", "verts"),
        ("verte", "vertes"),
        ("locaux", "local"),
        ("restauration", "restaurant"),
        ("formation", "formations"),
        ("collecte", "collected"),  # the English stem
        ("cleaning", "clean"),
        ("espace", "espaces"),
    ],
)
def test_true_pairs_are_the_same_word(a, b):
    assert same_word(a, b) and same_word(b, a)


def test_stems_are_tagged_by_language():
    # In English "animation" and "animal" are both "anim": a French word is compared with
    # French stems, an English one with English stems, and the exception table decides.
    assert not same_word("animation", "animal")
    assert word_keys("formation") == frozenset({"=formation"})
    assert is_known("nettoyage") and not is_known("netoyage")


def test_stop_words_of_both_languages_are_ignored():
    assert tokens("Cleaning of the offices and schools") == ["cleaning", "offices", "schools"]
    assert tokens("Nettoyage des locaux et de la cour") == ["nettoyage", "locaux", "cour"]
    assert tokens("IT services") == ["it", "services"]  # "it" is a trade here
    assert tokens("de la et des the of") == []


@given(st.text(alphabet=st.sampled_from("aeiouéèœ bcdt'’-,.;:/()«»nrslx\u0301ÀÉ"), max_size=40))
def test_word_spans_agree_with_tokens(text):
    assert [word for word, _start, _end in word_spans(text)] == tokens(text)


_WORDS = ["vert", "verts", "verte", "vertical", "ouvert", "nettoyage", "netoyage", "nettoyages",
          "nettoyer", "formation", "format", "formats", "collecte", "collective", "collectivite",
          "traiteur", "tracteur", "tri", "triangle", "locaux", "local", "space", "espaces"]


@given(st.sampled_from(_WORDS), st.lists(st.sampled_from(_WORDS), max_size=12))
def test_similar_in_is_same_word_over_the_choices(query, choices):
    assert similar_in(query, choices) == [c for c in choices if same_word(query, c)]


def test_phrases_cut_a_description_into_trades():
    text = "Entretien des espaces verts, débroussaillage et nettoyage de locaux"
    assert phrases(text) == ["Entretien des espaces verts", "débroussaillage",
                             "nettoyage de locaux"]
    assert phrase_parts("Collecte et tri des déchets; recyclerie") == [
        ["Collecte", "tri des déchets"], ["recyclerie"]]


def test_synonyms_are_data_shipped_with_the_package():
    data = resources.files("reference.data")
    assert (data / "cpv_synonyms.csv").is_file() and (data / "stem_exceptions.csv").is_file()
    terms = {synonym.term for synonym in synonyms()}
    for term in ("espaces verts", "menage", "repassage", "btp", "second oeuvre", "recyclerie",
                 "conciergerie"):
        assert tuple(term.split()) in terms, term


# ---------------------------------------------------------------- the CPV search

# What was seen (issue 11), and what a person would accept instead.
GREEN_CLEAN = "Entretien des espaces verts, débroussaillage et nettoyage de locaux"
SEEN = {
    GREEN_CLEAN: (
        ("7731", "45112", "45111220", "7721", "77312", "909"),
        {"60500000", "39515440", "24951310", "42912320", "42612200"},
    ),
    "Green space maintenance and office cleaning": (
        ("7731", "45112", "909"), {"66114000", "22211100"},
    ),
    "traiteur, restauration collective": (("555", "5532"), {"34223000", "34223300", "63726100"}),
    "Collecte et tri des déchets, recyclerie": (("905",), {"41000000"}),
}


def _within(code: str, prefixes: tuple[str, ...]) -> bool:
    return any(code.startswith(prefix) for prefix in prefixes)


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("text", list(SEEN))
def test_what_was_seen_is_read_right_in_both_interface_languages(text, lang):
    right, wrong = SEEN[text]
    found = cpv_search.cpv_search(text, limit=5, lang=lang)
    codes = [code.code for code in found]
    assert codes and all(_within(code, right) for code in codes), codes
    assert not wrong & set(codes)
    # The same reading whatever the language; only the labels shown differ.
    assert codes == [c.code for c in cpv_search.cpv_search(text, limit=5, lang="fr")]


def test_each_trade_of_a_description_gets_its_code():
    codes = [c.code for c in cpv_search.cpv_search(GREEN_CLEAN)]
    assert any(code.startswith("7731") for code in codes)  # espaces verts
    assert "45111220" in codes  # débroussaillage
    assert any(code.startswith("9091") for code in codes)  # nettoyage de locaux
    waste = [c.code for c in cpv_search.cpv_search("Collecte et tri des déchets, recyclerie")]
    assert "90511000" in waste and "90514000" in waste


@pytest.mark.parametrize(
    "text", ["xyzzy plonk", "Nous sommes une association", "de la et des", "", "1234"]
)
def test_nothing_is_suggested_when_nothing_fits(text):
    assert cpv_search.cpv_search(text) == []


def test_a_cpv_code_typed_as_such_is_returned():
    assert [c.code for c in cpv_search.cpv_search("77310000-6")] == ["77310000"]
    assert cpv_search.cpv_search("nettoyage", limit=0) == []


def test_services_before_the_things_they_use():
    # "Peintures" (paints) and "Fournitures pour blanchisserie" are not the trade.
    assert [c.code for c in cpv_search.cpv_search("peinture")] == ["45442100"]
    laundry = [c.code for c in cpv_search.cpv_search("Blanchisserie")]
    assert laundry and all(code.startswith("9831") for code in laundry)  # not 39291000
    assert [c.code for c in cpv_search.cpv_search("nettoyage")] == ["90910000"]
    # Goods when the member makes or sells them, or when no service reads the text.
    assert "03221000" in [c.code for c in cpv_search.cpv_search("maraîchage bio")]
    assert "44143000" in [c.code for c in cpv_search.cpv_search("fabrication de palettes")]


def test_suggestions_never_repeat_a_branch_nor_crowd_siblings():
    """For one trade, no two codes of one branch and never three children of one parent (a
    description of several trades may have one sibling for each: "désinfection, dératisation
    et désinsectisation")."""
    for description in bench.load_descriptions():
        codes = [c.code for c in cpv_search.cpv_search(description.text)]
        assert len(codes) == len(set(codes))
        if len(phrases(description.text)) == 1:
            parents = [cpv_parent(code) for code in codes]
            assert all(parents.count(p) < 3 for p in parents if p), (description.text, codes)
            for i, a in enumerate(codes):
                for b in codes[i + 1:]:
                    assert not cpv_prefix(a).startswith(cpv_prefix(b))
                    assert not cpv_prefix(b).startswith(cpv_prefix(a))


def test_a_recognisable_level_rather_than_a_rare_leaf():
    # Many kinds of "Services traiteur" (for households, schools, transport companies…): the
    # group itself is shown, not its leaves.
    assert [c.code for c in cpv_search.cpv_search("traiteur")] == ["55520000"]
    assert [c.code for c in cpv_search.cpv_search("formation")] == ["80500000"]


# ---------------------------------------------------------------- the labelled set


def test_the_labelled_set_meets_the_quality_targets():
    descriptions, pairs = bench.load_descriptions(), bench.load_pairs()
    assert sum(d.lang == "fr" for d in descriptions) >= 150
    assert sum(d.lang == "en" for d in descriptions) >= 50
    assert len(pairs) >= 100
    result = bench.evaluate(descriptions, pairs)
    assert result["top3_hit_rate"] >= 0.95, result["misses"]
    assert result["top5_precision"] >= 0.80, result["wrong"]
    assert result["keyword_accuracy"] >= 0.98, result["keyword_errors"]


def test_the_benchmark_prints_its_fields(capsys):
    result = bench.main(["--repeat", "1"])
    for key in ("descriptions", "top3_hit_rate", "top5_precision", "keyword_pairs",
                "keyword_accuracy", "p99_ms"):
        assert key in result
    assert capsys.readouterr().out.startswith('{"descriptions": ')
