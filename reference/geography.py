"""French geography: départements, regions, NUTS codes, and free-text areas typed by members."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process

from reference.tables import rows as _rows
from reference.text import fold


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


