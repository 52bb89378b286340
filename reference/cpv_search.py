"""CPV codes for a member's description of its trades, read the same whatever the interface language.

`cpv_search(text, limit, lang)` returns at most `limit` codes, best first; `lang` only chooses the
label the caller shows (`CpvCode.label(lang)`): the search itself reads the text against the
French and the English labels together, plus the synonyms members use (`reference.lexicon`),
so "Entretien des espaces verts" finds the green-space codes on an English Telegram too, and
"Green space maintenance" on a French one.

How a description is read:
1. A CPV code typed as such is returned as is.
2. The text is cut into phrases, one per trade (`reference.text.phrase_parts`: commas, "et",
   "and"…); a part after "et" that opens with "de", "des"… continues the part before it, and a
   lone word before "et" shares the complement after it ("collecte et tri des déchets" reads
   "collecte des déchets" and "tri des déchets"). Each phrase is read on its own.
3. A phrase's words (`reference.text.tokens`: stop words of both languages dropped) become units:
   a synonym's words together ("second œuvre"), or one word. A label meets a unit when it has,
   by `reference.lexicon.same_word`, every word of one of its readings: the member's own words
   (unless the synonym replaces them) or one of the synonym's readings ("espaces verts", "green
   areas"). Generic words ("services", "travaux", "work") count on neither side. A unit that
   meets no label ("proposons", a place name) says nothing about the trade and is left out; what
   comes after "pour", "chez", "for" (for whom) counts only where a label has it.
4. Each unit weighs what it tells apart, log(codes / codes it meets). A code's *coverage* is the
   weight of the units its labels meet (a synonym's reading counts `ALT_SHARE`) over the
   phrase's; its *precision* the share of its (French or English) label's words that the phrase
   met, words of doing ("entretien", "maintenance") neutral. Score = half each, plus
   `HEAD_BONUS` when the label is about a word met (its first word in French, its last in
   English), minus `EQUIPMENT_COST` when it names the things a trade uses ("Fournitures pour
   blanchisserie"), minus a little for the deepest levels of the tree.
5. People describe what they do: unless they speak of making or selling, goods are dropped when a
   service or works code reads the phrase as fully ("Travaux de peinture", not "Peintures").
6. No suggestion is better than a wrong one: a code is kept only when it scores `MIN_SCORE` and
   within `MARGIN` of the phrase's best; when `TIE` codes or more of different branches read the
   phrase alike, the text does not say which and none is kept.
7. One code per branch (a code below or above one kept says the same thing; a parent that meets
   the same units nearly as well takes its child's place) and at most `SIBLINGS` children of one
   parent. The phrases then take turns: the best code of each, then the second of each, up to
   `limit`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from reference.cpv import CpvCode, cpv_get, cpv_level, cpv_parent, normalise_cpv
from reference.cpv import all_cpv as _all_cpv
from reference.lexicon import Synonym, is_known, same_word, synonyms
from reference.text import (
    STOP,
    TYPO_MIN_LENGTH,
    fold,
    one_typo_apart,
    phrase_parts,
    tokens,
    word_keys,
)

# Words that only say a label is an activity. They count on neither side: "Services de
# nettoyage" is as close to "nettoyage" as a label can be, and "prestations de nettoyage" means
# "nettoyage". Supply words ("produits", "fournitures") are not in the list on purpose: people
# describe what they do, so "Produits de nettoyage" should rank below the cleaning services.
GENERIC = frozenset(
    tokens(
        "services service travaux prestations prestation divers diverses connexes autres autre "
        "activites activite work works related other miscellaneous"
    )
)

# A label whose first word is one of these names the things a trade uses or sells ("Fournitures
# pour blanchisserie", "Équipement de restauration"), not the trade: it ranks below the trade
# unless the member's words ask for things too ("matériel informatique reconditionné").
EQUIPMENT = frozenset(
    tokens(
        "fournitures fourniture equipement equipements materiel materiels materiaux machines "
        "machine appareils appareil pieces piece accessoires outils outillage dispositifs "
        "instruments systemes systeme kits "
        "supplies supply equipment machinery parts accessories tools apparatus devices "
        "instruments systems kit materials"
    )
)
# Words that open the complement of a trade ("de jardins", "des déchets", "of offices"): a part
# after "et" that starts with one continues the part before it, and a lone word before "et"
# shares the complement after it ("collecte et tri des déchets": collecte des déchets, tri des
# déchets).
LINKS = frozenset("de des du d la le les l au aux a pour en of the for to".split())
COMPLEMENTS = frozenset("de des du d au aux pour of for".split())
# Words after which a phrase says for whom or where ("pour les EHPAD", "chez les particuliers",
# "for industry"): the trade is what comes before them.
FOR_WHOM = frozenset("pour chez aupres a for".split())

# Words by which a member asks for goods rather than a service ("production de miel").
GOODS = frozenset(
    tokens(
        "fabrication fabricant production producteur vente vendeur fourniture fournitures "
        "manufacture manufacturing making production producer sale sales selling supply"
    )
)

# Words of doing in labels: neutral unless the member wrote them (see _precision).
ACTIONS = frozenset(
    tokens(
        "entretien realisation reparation gestion exploitation installation pose mise "
        "maintenance planting repair management operation installation"
    )
)

MIN_COVERAGE = 0.3
ALT_SHARE = 0.8  # a unit met through a synonym's reading, not the member's own words
EQUIPMENT_COST = 0.15
MARGIN = 0.08  # a code is shown when it scores within this of the phrase's best
MIN_SCORE = 0.7  # and at least this (full coverage, half the label's words: 0.75)
SIBLINGS = 2
TIE = 3  # this many codes or more reading the phrase alike: the text does not tell them apart
COVERAGE_SHARE = 0.5
HEAD_BONUS = 0.1
DEEP_LEVEL = 6  # significant digits from which a code counts as a rare leaf
DEEP_COST = 0.01  # per level past DEEP_LEVEL
PARENT_MARGIN = 0.05  # a parent within this score of its child, meeting the same units, wins


@dataclass(slots=True)
class _Index:
    codes: list[CpvCode]
    position: dict[str, int]
    words: list[tuple[frozenset[str], frozenset[str]]]  # per code: (fr, en) content words
    postings: tuple[dict[str, set[int]], dict[str, set[int]]]  # (fr, en): word -> codes
    by_key: dict[str, set[str]]  # stem key -> label words
    by_start: dict[tuple[str, int], list[str]]  # (first letter, length) -> label words
    synonyms_by_first: dict[str, list[Synonym]]  # first word's key -> synonyms
    equipment: list[bool]  # per code: the label names things for a trade, not the trade
    heads: list[tuple[str | None, str | None]]  # per code: (fr, en) head words


def _content(label: str) -> frozenset[str]:
    return frozenset(word for word in tokens(label) if not _generic(word))


def _head(label: str, lang: str) -> str | None:
    """The word a label is about: the first content word of a French label ("Fournitures pour
    blanchisserie"), the last of an English one ("Laundry supplies"), words of doing aside."""
    words = [word for word in tokens(label) if not _generic(word) and word not in ACTIONS]
    if not words:
        return None
    return words[0] if lang == "fr" else words[-1]


@lru_cache(maxsize=1 << 14)
def _generic(word: str) -> bool:
    return word in GENERIC or any(not set(word_keys(word)).isdisjoint(word_keys(g)) for g in GENERIC)


@lru_cache(maxsize=1)
def _index() -> _Index:
    codes = _all_cpv()
    index = _Index(
        codes=codes,
        position={code.code: i for i, code in enumerate(codes)},
        words=[],
        postings=(defaultdict(set), defaultdict(set)),
        by_key=defaultdict(set),
        by_start=defaultdict(list),
        synonyms_by_first=defaultdict(list),
        equipment=[],
        heads=[],
    )
    for i, code in enumerate(codes):
        labels = (code.label_fr, code.label_en)
        content = tuple(_content(label) for label in labels)
        index.words.append(content)
        for postings, words in zip(index.postings, content, strict=True):
            for word in words:
                postings[word].add(i)
        heads = (_head(code.label_fr, "fr"), _head(code.label_en, "en"))
        index.heads.append(heads)
        index.equipment.append(any(head in EQUIPMENT for head in heads))
    vocabulary = set(index.postings[0]) | set(index.postings[1])
    for word in vocabulary:
        for key in word_keys(word):
            index.by_key[key].add(word)
        index.by_start[(word[0], len(word))].append(word)
    for synonym in synonyms():
        for key in word_keys(synonym.term[0]):
            index.synonyms_by_first[key].append(synonym)
    return index


def _label_words_like(word: str, index: _Index) -> frozenset[str]:
    """The label words that are `same_word` as `word` (label words are all known words, so a
    typo counts only when `word` is not one)."""
    return _words_like(word, index.by_key, index.by_start)


@lru_cache(maxsize=1 << 14)
def _words_like_cached(word: str) -> frozenset[str]:
    index = _index()
    return _words_like(word, index.by_key, index.by_start)


def _words_like(word, by_key, by_start) -> frozenset[str]:
    found: set[str] = set()
    for key in word_keys(word):
        found |= by_key.get(key, set())
    if len(word) >= TYPO_MIN_LENGTH and not is_known(word):
        for length in (len(word) - 1, len(word), len(word) + 1):
            choices = by_start.get((word[0], length), ())
            for choice, _distance, _ in process.extract(
                word, choices, scorer=OSA.distance, score_cutoff=1, limit=None
            ):
                if one_typo_apart(word, choice):
                    found.add(choice)
    return frozenset(found)


@dataclass(slots=True)
class _Unit:
    words: tuple[str, ...]
    label_words: frozenset[str]  # label words that met one of the unit's words
    codes: frozenset[int]  # codes with a label that has all the words of one reading
    literal: frozenset[int]  # those whose label has the member's own words
    for_whom: bool = False  # after a FOR_WHOM word
    weight: float = 0.0  # what it tells apart


def _synonym_at(words: list[str], start: int, index: _Index) -> Synonym | None:
    """The longest synonym whose words begin at `start` (each the same word as the text's)."""
    best: Synonym | None = None
    candidates = {
        id(s): s for key in word_keys(words[start]) for s in index.synonyms_by_first.get(key, ())
    }
    for synonym in candidates.values():
        size = len(synonym.term)
        if start + size <= len(words) and all(
            same_word(a, b) for a, b in zip(synonym.term, words[start : start + size], strict=True)
        ):
            if best is None or size > len(best.term):
                best = synonym
    return best


def _reading_codes(reading: tuple[str, ...], index: _Index) -> tuple[set[int], set[str]]:
    """Codes with one label (French or English) that has every word of `reading`, and the label
    words that met them."""
    likes = [_words_like_cached(word) for word in reading]
    codes: set[int] = set()
    for postings in index.postings:
        met: set[int] | None = None
        for like in likes:
            found: set[int] = set()
            for word in like:
                found |= postings.get(word, set())
            met = found if met is None else met & found
            if not met:
                break
        codes |= met or set()
    return codes, set().union(*likes) if likes else set()


def _units(phrase: str, index: _Index) -> list[_Unit]:
    words: list[str] = []
    for_whom: list[bool] = []
    after = False
    for word in fold(phrase).split():
        if word in FOR_WHOM and words:
            after = True
        if len(word) > 1 and word not in STOP and not _generic(word):
            words.append(word)
            for_whom.append(after)
    units: list[_Unit] = []
    position = 0
    while position < len(words):
        unit_for_whom = for_whom[position]
        synonym = _synonym_at(words, position, index)
        if synonym is not None:
            own = synonym.term
            readings = list(synonym.means) + ([] if synonym.replaces else [own])
            position += len(own)
        else:
            own = (words[position],)
            readings = [own]
            position += 1
        codes: set[int] = set()
        literal: set[int] = set()
        label_words: set[str] = set()
        for reading in readings:
            met, like = _reading_codes(reading, index)
            codes |= met
            label_words |= like
            if reading == own:
                literal |= met
        if codes:
            units.append(
                _Unit(own, frozenset(label_words), frozenset(codes), frozenset(literal),
                      unit_for_whom)
            )
    total = len(index.codes)
    for unit in units:
        unit.weight = math.log(total / len(unit.codes))
    return units


def _trade_phrases(text: str) -> list[str]:
    """The phrases of a description, each about one trade (folded; see LINKS)."""
    out: list[str] = []
    for parts in phrase_parts(text):
        merged: list[list[str]] = []
        for part in parts:
            words = fold(part).split()
            if merged and words[0] in LINKS:
                merged[-1] += words
            else:
                merged.append(words)
        last = merged[-1]
        link = next((i for i, w in enumerate(last) if i > 0 and w in COMPLEMENTS), None)
        for words in merged[:-1]:
            if link is not None and len(tokens(" ".join(words))) == 1:
                words += last[link:]
        out.extend(" ".join(words) for words in merged)
    return out


@dataclass(slots=True)
class _Candidate:
    position: int
    score: float
    covered: frozenset[int]  # indices of the units met
    coverage: float


def _precision(label_words: frozenset[str], matched: frozenset[str]) -> float:
    """Share of a label's words that the phrase met; words of doing ("entretien", "réalisation",
    "maintenance") count only when met: "Réalisation et entretien d'espaces verts" says
    "espaces verts" as fully as "Travaux d'aménagement paysager" says "aménagement paysager"."""
    met = len(label_words & matched)
    counted = met + sum(1 for word in label_words - matched if word not in ACTIONS)
    return met / counted if counted else 0.0


def _is_service(code: str) -> bool:
    """Works (45) and services (50 and above); 48 is software packages, goods."""
    return int(code[:2]) >= 45 and code[:2] != "48"


def _rank_phrase(phrase: str, units: list[_Unit], index: _Index) -> list[_Candidate]:
    # What the phrase says for whom (FOR_WHOM) counts when a label has it, and is not missed
    # when it has not.
    required = sum(unit.weight for unit in units if not unit.for_whom)
    if required <= 0:
        return []
    met: dict[int, set[int]] = defaultdict(set)
    for u, unit in enumerate(units):
        for code in unit.codes:
            met[code].add(u)
    matched_words = frozenset().union(*(unit.label_words for unit in units))
    wants_things = any(word in EQUIPMENT for unit in units for word in unit.words)
    wants_goods = wants_things or any(
        word in GOODS for word in tokens(phrase)
    )
    candidates: list[_Candidate] = []
    for position, covered in met.items():
        met_weight = sum(
            units[u].weight * (1.0 if position in units[u].literal else ALT_SHARE)
            for u in covered
        )
        extra = sum(units[u].weight for u in covered if units[u].for_whom)
        coverage = met_weight / (required + extra)
        if coverage < MIN_COVERAGE:
            continue
        precision = max(
            _precision(words, matched_words) for words in index.words[position]
        )
        code = index.codes[position].code
        score = COVERAGE_SHARE * coverage + (1 - COVERAGE_SHARE) * precision
        if any(head in matched_words for head in index.heads[position]):
            score += HEAD_BONUS
        if index.equipment[position] and not wants_things:
            score -= EQUIPMENT_COST
        score -= DEEP_COST * max(0, cpv_level(code) - DEEP_LEVEL)
        candidates.append(_Candidate(position, score, frozenset(covered), coverage))
    if not candidates:
        return []
    if not wants_goods:
        # People describe what they do: goods are shown only when no service or works code
        # reads the phrase as well.
        services = [c for c in candidates if _is_service(index.codes[c.position].code)]
        if services and max(c.coverage for c in services) >= max(
            c.coverage for c in candidates
        ) - 1e-9:
            candidates = services
    best = max(candidate.score for candidate in candidates)
    kept = [c for c in candidates if c.score >= max(best - MARGIN, MIN_SCORE)]
    # Codes of different branches that read the phrase alike (same words, same score): when
    # there are TIE of them or more, the text does not say which one is meant.
    alike: dict[tuple[frozenset[int], float], list[str]] = defaultdict(list)
    for candidate in kept:
        code = index.codes[candidate.position].code
        group = alike[(candidate.covered, round(candidate.score, 6))]
        if not any(_related(code, other) for other in group):
            group.append(code)
    kept = [c for c in kept if len(alike[(c.covered, round(c.score, 6))]) < TIE]
    kept.sort(key=lambda c: (-c.score, cpv_level(index.codes[c.position].code), c.position))
    # One code per branch: a code below or above one already kept says the same thing; and at
    # most SIBLINGS children of one parent (more would be variations of one answer).
    out: list[_Candidate] = []
    parents: dict[str | None, int] = defaultdict(int)
    for candidate in _prefer_parents(kept, index):
        code = index.codes[candidate.position].code
        parent = cpv_parent(code)
        if parents[parent] >= SIBLINGS:
            continue
        if not any(_related(code, index.codes[c.position].code) for c in out):
            out.append(candidate)
            parents[parent] += 1
    return out


def _prefer_parents(ranked: list[_Candidate], index: _Index) -> list[_Candidate]:
    """A code whose parent (among the candidates) meets the same units nearly as well gives way
    to that parent, which takes its place in the ranking."""
    by_code = {index.codes[c.position].code: c for c in ranked}
    out: list[_Candidate] = []
    seen: set[int] = set()
    for candidate in ranked:
        chosen = candidate
        parent = cpv_parent(index.codes[chosen.position].code)
        while parent is not None and parent in by_code:
            above = by_code[parent]
            if above.covered != chosen.covered or above.score < chosen.score - PARENT_MARGIN:
                break
            chosen = above
            parent = cpv_parent(parent)
        if chosen.position not in seen:
            seen.add(chosen.position)
            out.append(chosen)
    return out


def _related(a: str, b: str) -> bool:
    """One code lies within the other (the same branch of the tree)."""
    prefix_a, prefix_b = a[: cpv_level(a)], b[: cpv_level(b)]
    return prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)


def cpv_search(text: str, limit: int = 5, lang: str = "fr") -> list[CpvCode]:
    """The CPV codes that the description supports, best first (module docstring); `lang` is
    the member's language, for the caller's labels only."""
    return list(_cpv_search(text or "", limit))


@lru_cache(maxsize=1024)  # members of one trade describe it with the same few words
def _cpv_search(text: str, limit: int) -> tuple[CpvCode, ...]:
    if limit <= 0:
        return ()
    direct = cpv_get(text.strip()) if normalise_cpv(text) else None
    if direct is not None:
        return (direct,)
    index = _index()
    ranked = [
        _rank_phrase(phrase, _units(phrase, index), index) for phrase in _trade_phrases(text)
    ]
    chosen: list[str] = []
    for rank in range(max((len(r) for r in ranked), default=0)):
        for candidates in ranked:
            if rank < len(candidates) and len(chosen) < limit:
                code = index.codes[candidates[rank].position].code
                if code not in chosen:
                    chosen.append(code)
    return tuple(index.codes[index.position[code]] for code in chosen)
