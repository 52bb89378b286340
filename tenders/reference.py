"""Reference data: the CPV tree, départements and regions, NAF and legal-form labels.

Everything is read once from the CSV files in `tenders/data/` (copied from the public tables listed
in ../shared/data/SOURCES.txt) and cached; the functions below are pure look-ups after that.

CPV codes are handled in canonical form: 8 digits without the check digit ("77310000").
The CPV hierarchy is positional: trailing zeros mark the level. The division has 2 significant
digits (45000000), then each further significant digit goes one level down: group 45200000, class
45210000, category 45212000, and sub-categories 45212100, 45212110, 45212111.
"""

from __future__ import annotations

import csv
import re
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rapidfuzz import fuzz, process

from tenders.text import fold, tokens

DATA_DIR = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------------------------
# CPV
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CpvCode:
    code: str  # 8 digits, no check digit
    label_fr: str
    label_en: str

    def label(self, lang: str) -> str:
        return self.label_en if lang.lower().startswith("en") else self.label_fr


_CPV_RAW = re.compile(r"^(\d{8})(?:-?\d)?$")


def normalise_cpv(raw: str | None) -> str | None:
    """"77310000-6", "77310000", "773100006", " 77310000 " -> "77310000"; anything else -> None.

    Only the form is checked, not that the code exists (use `cpv_get` for that): sources
    occasionally carry codes of other CPV versions and they still say something about the trade.
    """
    if raw is None:
        return None
    match = _CPV_RAW.match(str(raw).strip().replace(" ", ""))
    return match.group(1) if match else None


@lru_cache(maxsize=1)
def _cpv_table() -> dict[str, CpvCode]:
    table: dict[str, CpvCode] = {}
    for row in _rows("cpv_2008.csv"):
        code = normalise_cpv(row["code"])
        if code:
            table[code] = CpvCode(code, row["label_fr"], row["label_en"])
    return table


def all_cpv() -> list[CpvCode]:
    return list(_cpv_table().values())


def cpv_get(code: str | None) -> CpvCode | None:
    normalised = normalise_cpv(code) if code else None
    return _cpv_table().get(normalised) if normalised else None


def cpv_level(code: str) -> int:
    """Significant digits of a canonical code: 2 for a division, up to 8."""
    return max(2, len(code.rstrip("0")))


def cpv_parent(code: str) -> str | None:
    """The nearest existing ancestor of `code` ("45212000" -> "45210000"); None for a division.

    The tree has a few gaps (a code whose positional parent is not itself a code): the search
    then goes one more level up.
    """
    normalised = normalise_cpv(code)
    if normalised is None:
        return None
    table = _cpv_table()
    level = cpv_level(normalised)
    while level > 2:
        level -= 1
        candidate = normalised[:level].ljust(8, "0")
        if candidate in table:
            return candidate
    return None


def cpv_ancestors(code: str) -> list[str]:
    """Existing ancestors, nearest first, ending with the division."""
    out: list[str] = []
    current = cpv_parent(code)
    while current is not None:
        out.append(current)
        current = cpv_parent(current)
    return out


def cpv_prefix(code: str) -> str:
    """The significant prefix that every code below `code` starts with ("45200000" -> "452")."""
    return code[: cpv_level(code)]


def cpv_is_within(code: str, field_code: str) -> bool:
    """True when `code` is `field_code` or lies below it in the tree (by position, so it also
    holds for codes missing from the table)."""
    a, b = normalise_cpv(code), normalise_cpv(field_code)
    if a is None or b is None:
        return False
    return a.startswith(cpv_prefix(b))


# Words that only say a label is an activity: they are matched when a person types them but do
# not count against a label that has them ("Services de nettoyage" is as close to "nettoyage" as
# a label can be). Supply words ("Produits", "Fournitures") are not in the list on purpose: people
# describe what they do, so "Produits de nettoyage" should rank below the cleaning services.
_GENERIC = {
    "fr": frozenset(tokens("services service travaux prestations divers connexes autres")),
    "en": frozenset(tokens("services service work works related other")),
}


@dataclass(slots=True)
class _CpvIndex:
    codes: list[str]
    label_tokens: list[frozenset[str]]
    content_sizes: list[int]  # label tokens that are not generic
    postings: dict[str, list[int]]  # token -> label indices
    vocabulary: list[str] = field(default_factory=list)  # sorted, for prefix look-ups


@lru_cache(maxsize=2)
def _cpv_index(lang: str) -> _CpvIndex:
    generic = _GENERIC[lang]
    index = _CpvIndex(codes=[], label_tokens=[], content_sizes=[], postings=defaultdict(list))
    for i, cpv in enumerate(_cpv_table().values()):
        words = frozenset(tokens(cpv.label(lang), lang))
        index.codes.append(cpv.code)
        index.label_tokens.append(words)
        index.content_sizes.append(max(1, len(words - generic)))
        for word in words:
            index.postings[word].append(i)
    index.vocabulary = sorted(index.postings)
    return index


# Everyday words for trades that the CPV labels name differently (folded, stemmed query word ->
# label words). Kept small: only words that ESS structures use for their own activity.
_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "fr": {
        "restauration": ("restaurant", "cantine", "repa", "traiteur"),
        "menage": ("nettoyage",),
        "proprete": ("nettoyage",),
        "jardinage": ("jardin", "horticole"),
        "jardinier": ("jardin", "horticole"),
        "paysagiste": ("paysager", "horticole"),
        "ebeniste": ("menuiserie", "mobilier"),
        "ebenisterie": ("menuiserie", "mobilier"),
        "btp": ("construction",),
        "repassage": ("blanchisserie",),
        "linge": ("blanchisserie",),
    },
    "en": {
        "gardening": ("garden", "horticultural"),
        "landscaping": ("landscaping", "green"),
        "housekeeping": ("cleaning",),
    },
}


def _token_matches(query_token: str, vocabulary: list[str], lang: str) -> dict[str, float]:
    """Label words that match one query word, with a similarity 0-100.

    The word itself scores 100, a longer label word it begins 90 ("menuis" -> "menuiserie"), an
    everyday synonym 85. Only a word that the labels do not contain at all is taken as a typo and
    compared by edit distance: otherwise "traiteur" would also find "tracteurs" and "peinture"
    "teinture".
    """
    found: dict[str, float] = {}
    vocabulary_set = _vocabulary_set(lang)
    if query_token in vocabulary_set:
        found[query_token] = 100.0
    if len(query_token) >= 4:
        # The vocabulary is sorted: the words it begins are one contiguous run.
        for word in vocabulary[bisect_left(vocabulary, query_token):]:
            if not word.startswith(query_token):
                break
            found.setdefault(word, 90.0)
    for word in _SYNONYMS[lang].get(query_token, ()):
        if word in vocabulary_set:
            found.setdefault(word, 85.0)
    if not found:
        # Stricter on short words, where one letter changes the meaning.
        cutoff = 88 if len(query_token) <= 5 else 80
        for word, score, _ in process.extract(
            query_token, vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None
        ):
            found[word] = float(score) * 0.9  # a guessed word never beats a typed one
    return found


@lru_cache(maxsize=2)
def _vocabulary_set(lang: str) -> frozenset[str]:
    return frozenset(_cpv_index(lang).vocabulary)


# Bonus for works and services divisions (45 and above) over supplies: the people who type here
# describe what they do ("menuiserie", "nettoyage"), so on a near tie the service is meant.
_SERVICE_BONUS = 2.0


def cpv_search(text: str, limit: int = 5, lang: str = "fr") -> list[CpvCode]:
    """The closest CPV codes to a free description of activities (see `_cpv_search`)."""
    return list(_cpv_search(text, limit, lang))


@lru_cache(maxsize=1024)  # members of one trade describe it with the same few words
def _cpv_search(text: str, limit: int, lang: str) -> tuple[CpvCode, ...]:
    """Closest CPV codes to a free description of activities, best first.

    Score of a label = 70 % coverage (how well each query word is matched by some label word)
    + 30 % precision (share of the label's meaningful words that were matched), so that
    "nettoyage" prefers "Services de nettoyage" over "Machines de nettoyage de fruits". Ties go
    to services/works, then to the more general code. A CPV code typed as such is returned as is.
    """
    lang = "en" if lang.lower().startswith("en") else "fr"
    direct = cpv_get(text.strip()) if normalise_cpv(text) else None
    if direct is not None:
        return (direct,)
    query = list(dict.fromkeys(tokens(text, lang)))
    if not query or limit <= 0:
        return ()
    index = _cpv_index(lang)
    generic = _GENERIC[lang]
    best: dict[int, list[float]] = {}
    matched_words: dict[int, set[str]] = defaultdict(set)
    for position, query_token in enumerate(query):
        for word, score in _token_matches(query_token, index.vocabulary, lang).items():
            for label in index.postings[word]:
                scores = best.setdefault(label, [0.0] * len(query))
                if score > scores[position]:
                    scores[position] = score
                if word not in generic:
                    matched_words[label].add(word)
    ranked: list[tuple[float, int, str]] = []
    for label, scores in best.items():
        coverage = sum(scores) / (100.0 * len(query))
        precision = len(matched_words[label]) / index.content_sizes[label]
        code = index.codes[label]
        score = 100.0 * (0.7 * coverage + 0.3 * min(1.0, precision))
        if int(code[:2]) >= 45:
            score += _SERVICE_BONUS
        ranked.append((-score, cpv_level(code), code))
    ranked.sort()
    table = _cpv_table()
    return tuple(table[code] for _, _, code in ranked[:limit])


# --------------------------------------------------------------------------------------------
# Départements and regions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Departement:
    code: str  # INSEE: "06", "2A", "971"
    name: str
    region_code: str
    region_name: str
    nuts3: str  # NUTS 2021 level 3, e.g. "FRK25"


@dataclass(frozen=True, slots=True)
class Region:
    code: str  # INSEE region code: "84"
    name: str
    departements: tuple[str, ...]


@lru_cache(maxsize=1)
def _departements() -> dict[str, Departement]:
    return {
        row["code"]: Departement(
            row["code"], row["name"], row["region_code"], row["region_name"], row["nuts3"]
        )
        for row in _rows("departements.csv")
    }


@lru_cache(maxsize=1)
def _regions() -> dict[str, Region]:
    return {
        row["code"]: Region(row["code"], row["name"], tuple(row["departements"].split()))
        for row in _rows("regions.csv")
    }


def normalise_departement(raw: str | int | None) -> str | None:
    """"6" -> "06", "2a" -> "2A", " 971 " -> "971"; None when it is not a known département."""
    if raw is None:
        return None
    text = str(raw).strip().upper()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    return text if text in _departements() else None


def departement(code: str | int | None) -> Departement | None:
    normalised = normalise_departement(code)
    return _departements()[normalised] if normalised else None


def region(code: str | int | None) -> Region | None:
    if code is None:
        return None
    text = str(code).strip()
    if text.isdigit() and len(text) == 1:
        text = "0" + text
    return _regions().get(text)


def all_departements() -> list[Departement]:
    return list(_departements().values())


def all_regions() -> list[Region]:
    return list(_regions().values())


# NUTS 2013 level-3 codes of the départements (before the 2016 regions reform; TED notices from
# those years use them). Derived from the Eurostat NUTS 2013 classification
# (NUTS_2013L_20151128): regions FR1 Île-de-France (same codes as 2021), FR2x Bassin parisien
# (21 Champagne-Ardenne, 22 Picardie, 23 Haute-Normandie, 24 Centre, 25 Basse-Normandie,
# 26 Bourgogne), FR30 Nord-Pas-de-Calais, FR4x Est (41 Lorraine, 42 Alsace, 43 Franche-Comté),
# FR5x Ouest (51 Pays de la Loire, 52 Bretagne, 53 Poitou-Charentes), FR6x Sud-Ouest
# (61 Aquitaine, 62 Midi-Pyrénées, 63 Limousin), FR7x Centre-Est (71 Rhône-Alpes, 72 Auvergne),
# FR8x Méditerranée (81 Languedoc-Roussillon, 82 PACA, 83 Corse), FRAx overseas (NUTS 2013) and
# FR9x overseas (NUTS 2010, still seen in old notices). Within a region the départements are
# numbered in the order of their INSEE codes, which is how the list below is written.
_NUTS_2013_REGIONS: dict[str, tuple[str, ...]] = {
    "FR21": ("08", "10", "51", "52"),
    "FR22": ("02", "60", "80"),
    "FR23": ("27", "76"),
    "FR24": ("18", "28", "36", "37", "41", "45"),
    "FR25": ("14", "50", "61"),
    "FR26": ("21", "58", "71", "89"),
    "FR30": ("59", "62"),
    "FR41": ("54", "55", "57", "88"),
    "FR42": ("67", "68"),
    "FR43": ("25", "39", "70", "90"),
    "FR51": ("44", "49", "53", "72", "85"),
    "FR52": ("22", "29", "35", "56"),
    "FR53": ("16", "17", "79", "86"),
    "FR61": ("24", "33", "40", "47", "64"),
    "FR62": ("09", "12", "31", "32", "46", "65", "81", "82"),
    "FR63": ("19", "23", "87"),
    "FR71": ("01", "07", "26", "38", "42", "69", "73", "74"),
    "FR72": ("03", "15", "43", "63"),
    "FR81": ("11", "30", "34", "48", "66"),
    "FR82": ("04", "05", "06", "13", "83", "84"),
    "FR83": ("2A", "2B"),
    "FRA1": ("971",),
    "FRA2": ("972",),
    "FRA3": ("973",),
    "FRA4": ("974",),
    "FRA5": ("976",),
    "FR91": ("971",),
    "FR92": ("972",),
    "FR93": ("973",),
    "FR94": ("974",),
}

# Names of the pre-2016 regions, so that "Rhône-Alpes" or "Picardie" typed by a person still
# expands to its départements.
_OLD_REGION_NAMES: dict[str, str] = {
    "Champagne-Ardenne": "FR21",
    "Picardie": "FR22",
    "Haute-Normandie": "FR23",
    "Basse-Normandie": "FR25",
    "Bourgogne": "FR26",
    "Nord-Pas-de-Calais": "FR30",
    "Lorraine": "FR41",
    "Alsace": "FR42",
    "Franche-Comté": "FR43",
    "Poitou-Charentes": "FR53",
    "Aquitaine": "FR61",
    "Midi-Pyrénées": "FR62",
    "Limousin": "FR63",
    "Rhône-Alpes": "FR71",
    "Auvergne": "FR72",
    "Languedoc-Roussillon": "FR81",
}


@lru_cache(maxsize=1)
def _nuts_table() -> list[tuple[str, str]]:
    """(NUTS level-3 code, département) for NUTS 2021 and the older versions above."""
    pairs = [(d.nuts3, d.code) for d in _departements().values()]
    for region_code, codes in _NUTS_2013_REGIONS.items():
        # A one-département region has the level-3 code "<region>0" (FRA10, FR910).
        for position, code in enumerate(codes, start=0 if len(codes) == 1 else 1):
            pairs.append((f"{region_code}{position}", code))
    return pairs


def departement_for_nuts(nuts: str | None) -> list[str]:
    """Départements under a French NUTS code of any level or version, sorted.

    "FRK25" -> ["42"]; "FRK2" -> the 8 former Rhône-Alpes départements; "FR711" (NUTS 2013) ->
    ["01"]; "FR" -> all; "FRZZZ" (extra-regio, not determinable) or a foreign code -> [].
    """
    if not nuts:
        return []
    code = nuts.strip().upper()
    if not code.startswith("FR") or "ZZ" in code:
        return []
    found = {dept for nuts3, dept in _nuts_table() if nuts3.startswith(code)}
    return sorted(found, key=_departement_sort_key)


def _departement_sort_key(code: str) -> tuple[str, str]:
    # "2A"/"2B" sort between "19" and "21", as in every French list.
    return (code.replace("2A", "20A").replace("2B", "20B").zfill(3), code)


def sort_departements(codes) -> list[str]:
    return sorted(set(codes), key=_departement_sort_key)


# --------------------------------------------------------------------------------------------
# Free-text area ("42, 43, Rhône", "Auvergne-Rhône-Alpes", "toute la France")
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class AreaParse:
    departements: list[str] = field(default_factory=list)  # sorted, regions expanded
    regions: list[str] = field(default_factory=list)  # region codes that were named
    all_france: bool = False
    unknown: list[tuple[str, list[str]]] = field(default_factory=list)  # (token, suggestions)

    @property
    def ok(self) -> bool:
        return not self.unknown and (self.all_france or bool(self.departements))


@dataclass(frozen=True, slots=True)
class _Place:
    label: str  # human form for suggestions: "Rhône (69)", "Bretagne"
    departements: tuple[str, ...]
    region: str | None = None  # INSEE code when the place is a current region


_ALL_FRANCE = frozenset(
    fold(text)
    for text in (
        "France", "toute la France", "France entière", "France entiere", "toute France",
        "national", "nationale", "niveau national", "partout", "partout en France",
        "tout le territoire", "territoire national", "all of France", "whole of France",
        "whole France", "nationwide", "everywhere", "France métropolitaine",
    )
)

# Words people put around a name: "le Rhône", "département 42", "région Bretagne".
_FILLERS = frozenset(
    "le la les l dans en departement dept dep dpt region the department region".split()
)

# Other names in common use.
_ALIASES: dict[str, tuple[str, ...]] = {
    "PACA": ("93",),
    "IDF": ("11",),
    "Ile de France": ("11",),
    "Région parisienne": ("11",),
    "Centre": ("24",),
    "Corse": ("94",),
    "Réunion": ("974",),
    "Belfort": ("90",),
    "Corse du Sud": ("2A",),
}

# Above this rapidfuzz ratio (0-100, on folded text) a misspelt name is accepted, provided no
# other place comes within _FUZZY_MARGIN: "Morbihant" (94) is Morbihan, while "Rhôn" (89 for
# Rhône) or "Loir" (89 Loire, 80 Loiret) are asked back with suggestions.
FUZZY_ACCEPT = 90.0
_FUZZY_MARGIN = 4.0


@lru_cache(maxsize=1)
def _places() -> dict[str, _Place]:
    """Folded name or code -> place. Départements win over a region of the same name
    (Guadeloupe, Martinique…: a one-département region is better kept as the département)."""
    places: dict[str, _Place] = {}
    for old_name, nuts in _OLD_REGION_NAMES.items():
        places[fold(old_name)] = _Place(old_name, _NUTS_2013_REGIONS[nuts])
    for reg in _regions().values():
        places[fold(reg.name)] = _Place(reg.name, reg.departements, reg.code)
    for alias, codes in _ALIASES.items():
        target = codes[0]
        if target in _regions():
            reg = _regions()[target]
            places[fold(alias)] = _Place(reg.name, reg.departements, reg.code)
        else:
            dept = _departements()[target]
            places[fold(alias)] = _Place(f"{dept.name} ({dept.code})", (dept.code,))
    for dept in _departements().values():
        place = _Place(f"{dept.name} ({dept.code})", (dept.code,))
        places[fold(dept.name)] = place
        places[fold(dept.code)] = place
        if len(dept.code) == 2 and dept.code.startswith("0"):
            places[dept.code[1]] = place
    places["20"] = _Place("Corse (2A, 2B)", ("2A", "2B"))  # the pre-1976 code, still typed
    return places


def _strip_fillers(folded: str) -> str:
    words = folded.split()
    while len(words) > 1 and words[0] in _FILLERS:
        words = words[1:]
    return " ".join(words)


def _exact(chunk: str) -> _Place | None:
    folded = _strip_fillers(fold(chunk))
    return _places().get(folded)


def _fuzzy(chunk: str) -> tuple[_Place | None, list[str]]:
    """A confident fuzzy match, or None and up to 3 suggestions."""
    folded = _strip_fillers(fold(chunk))
    places = _places()
    # Only names are compared (codes are exact or nothing: "43" must not become "42").
    names = [key for key in places if not key[:1].isdigit()]
    results = process.extract(folded, names, scorer=fuzz.ratio, limit=12)
    suggestions: list[str] = []
    distinct: list[tuple[_Place, float]] = []
    for key, score, _ in results:
        place = places[key]
        if any(place == seen for seen, _ in distinct):
            continue
        distinct.append((place, score))
        if place.label not in suggestions and len(suggestions) < 3:
            suggestions.append(place.label)
    if distinct and distinct[0][1] >= FUZZY_ACCEPT:
        runner_up = distinct[1][1] if len(distinct) > 1 else 0.0
        if distinct[0][1] - runner_up >= _FUZZY_MARGIN:
            return distinct[0][0], suggestions
    return None, suggestions


_SEPARATORS = re.compile(r"[,;/\n+|]+")
_CONJUNCTION = re.compile(r"\s+(?:et|and|&)\s+|\s*&\s*", re.IGNORECASE)


def parse_area(text: str) -> AreaParse:
    """Read the area a person works in: codes, département and region names, "toute la France".

    Each comma/semicolon-separated piece is tried as a whole first (so "Loir-et-Cher" and
    "Saône et Loire" stay one name), then split on "et"/"and", then on spaces when every word is a
    code or a name ("42 43 69"). A misspelt name is accepted only above FUZZY_ACCEPT and clearly
    ahead of the next candidate; otherwise it comes back in `unknown` with suggestions.
    """
    result = AreaParse()
    departements: set[str] = set()
    regions: list[str] = []

    def add(place: _Place) -> None:
        departements.update(place.departements)
        if place.region and place.region not in regions:
            regions.append(place.region)

    def resolve(chunk: str) -> bool:
        if fold(chunk) in _ALL_FRANCE:
            result.all_france = True
            return True
        place = _exact(chunk)
        if place is not None:
            add(place)
            return True
        return False

    for piece in _SEPARATORS.split(text or ""):
        piece = piece.strip(" .:-")
        if not fold(piece):
            continue
        if resolve(piece):
            continue
        fuzzy_place, suggestions = _fuzzy(piece)
        if fuzzy_place is not None:
            add(fuzzy_place)
            continue
        parts = [p for p in _CONJUNCTION.split(piece) if fold(p)]
        if len(parts) > 1:
            for part in parts:
                if resolve(part):
                    continue
                part_place, part_suggestions = _fuzzy(part)
                if part_place is not None:
                    add(part_place)
                else:
                    result.unknown.append((part.strip(), part_suggestions))
            continue
        words = piece.split()
        if len(words) > 1 and all(_exact(word) is not None for word in words):
            for word in words:
                resolve(word)
            continue
        result.unknown.append((piece, suggestions))

    result.departements = sort_departements(departements)
    result.regions = sorted(regions)
    return result


# --------------------------------------------------------------------------------------------
# NAF (activity) and legal forms
# --------------------------------------------------------------------------------------------


def normalise_naf(raw: str | None) -> str | None:
    """"8130Z", "81.30z", "81.30Z" -> "81.30Z"; None when the form is wrong."""
    if not raw:
        return None
    compact = re.sub(r"[\s.]", "", raw).upper()
    match = re.fullmatch(r"(\d{2})(\d{2})([A-Z])", compact)
    return f"{match[1]}.{match[2]}{match[3]}" if match else None


@lru_cache(maxsize=1)
def _naf_labels() -> dict[str, str]:
    return {row["code"]: row["label_fr"] for row in _rows("naf_rev2.csv")}


def naf_label(code: str | None) -> str | None:
    normalised = normalise_naf(code)
    return _naf_labels().get(normalised) if normalised else None


@lru_cache(maxsize=1)
def _legal_forms() -> dict[str, str]:
    return {row["code"]: row["label_fr"] for row in _rows("natures_juridiques.csv")}


def legal_form_label(code: str | int | None) -> str | None:
    if code is None:
        return None
    return _legal_forms().get(str(code).strip().zfill(4))


# NAF prefix (division "81", group "81.2" or class "81.30") -> CPV divisions, only where the link
# is obvious; the longest matching prefix wins. Trade, manufacturing of most goods and holding
# activities are left out on purpose: the goods sold say more than the NAF code.
_NAF_TO_CPV: dict[str, tuple[str, ...]] = {
    "01": ("03000000", "77000000"),  # agriculture -> products, agricultural services
    "02": ("03000000", "77000000"),  # forestry
    "03": ("03000000",),  # fishing
    "10": ("15000000",),  # food products
    "11": ("15000000",),  # beverages
    "13": ("19000000",),  # textiles
    "14": ("18000000",),  # clothing
    "16": ("44000000", "45000000", "39000000"),  # wood, joinery
    "18": ("22000000", "79000000"),  # printing
    "31": ("39000000",),  # furniture
    "33": ("50000000",),  # repair and installation of machinery
    "35": ("09000000", "65000000"),  # energy
    "36": ("65000000",),  # water supply
    "37": ("90000000",),  # sewerage
    "38": ("90000000",),  # waste collection, treatment, recycling
    "39": ("90000000",),  # remediation
    "41": ("45000000",),  # construction of buildings
    "42": ("45000000",),  # civil engineering
    "43": ("45000000",),  # specialised construction
    "45.2": ("50000000",),  # vehicle repair
    "49": ("60000000",),  # land transport
    "50": ("60000000",),  # water transport
    "51": ("60000000",),  # air transport
    "52": ("63000000",),  # warehousing, transport support
    "53": ("64000000",),  # postal and courier
    "55": ("55000000",),  # accommodation
    "56": ("55000000",),  # catering, restaurants
    "58": ("22000000", "48000000"),  # publishing (books, software)
    "59": ("92000000",),  # film, video, sound
    "60": ("92000000",),  # broadcasting
    "61": ("64000000",),  # telecommunications
    "62": ("72000000", "48000000"),  # IT services, software
    "63": ("72000000",),  # information services
    "64": ("66000000",),  # financial services
    "65": ("66000000",),  # insurance
    "66": ("66000000",),
    "68": ("70000000",),  # real estate
    "69": ("79000000",),  # legal, accounting
    "70": ("79000000",),  # management consultancy
    "71": ("71000000",),  # architecture, engineering, testing
    "72": ("73000000",),  # research and development
    "73": ("79000000",),  # advertising, market research
    "74": ("79000000",),  # design, photography, translation
    "75": ("85000000",),  # veterinary
    "78": ("79000000",),  # employment and temporary work agencies
    "79": ("63000000",),  # travel agencies
    "80": ("79000000",),  # security
    "81.2": ("90000000",),  # cleaning
    "81.30": ("77000000",),  # landscaping
    "82": ("79000000",),  # office and business support
    "84": ("75000000",),  # public administration
    "85": ("80000000",),  # education and training
    "86": ("85000000",),  # health
    "87": ("85000000",),  # residential care
    "88": ("85000000",),  # social work without accommodation
    "90": ("92000000",),  # arts and entertainment
    "91": ("92000000",),  # libraries, museums
    "93": ("92000000",),  # sport and recreation
    "95": ("50000000",),  # repair of computers and household goods
    "96.01": ("98000000",),  # laundry
}


def naf_to_cpv_divisions(naf: str | None) -> list[str]:
    """CPV divisions an activity code obviously points to ("81.30Z" -> ["77000000"])."""
    normalised = normalise_naf(naf)
    if normalised is None:
        return []
    digits = normalised[:5]  # "81.30"
    for prefix in (digits, digits[:4], digits[:2]):
        if prefix in _NAF_TO_CPV:
            return list(_NAF_TO_CPV[prefix])
    return []
