"""What the words of a notice say: reserved contracts and social clauses (folded text)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from reference.text import fold
from tenders.model import Reserved

# --------------------------------------------------------------------------------------------
# Reserved contracts and social clauses, read from the words of a notice (folded text)
# --------------------------------------------------------------------------------------------

# Words of a social clause (clause sociale d'insertion, article L2112-2 conditions of execution).
# "insertion par l'activité économique" is not one: it names the SIAE of a reserved contract.
_SOCIAL_CLAUSE = re.compile(
    r"\bclauses? (sociales?|d insertion)\b"
    r"|\binsertion (professionnelle|sociale et professionnelle)\b"
    r"|\bheures d insertion\b|\bactions? d insertion\b"
    r"|\b(personnes|publics?) eloigne(e)?s? de l emploi\b|\bl ?2112 2\b"
)
# Every _SOCIAL_CLAUSE match holds one of these words, at most 10 characters after its start
# ("personnes eloignee…", "actions d insertion"); every _RESERVED_TO match starts with "reserve".
_SOCIAL_WORDS, _SOCIAL_REACH = ("clause", "insertion", "eloigne", "2112"), 10
# The articles of the code de la commande publique that reserve a contract: on their own they say
# which reservation it is.
_LAW_SIAE = re.compile(r"\bl ?2113 13\b")
_LAW_DISABILITY = re.compile(r"\bl ?2113 12\b")
# The beneficiaries' names, which only count right after "réservé à / aux": "ESAT" or "structures
# d'insertion" also appear in notices that merely allow subcontracting to them.
_WHO_SIAE = re.compile(
    r"\bsiae\b|\bstructures? d insertion\b|\binsertion par l activite economique\b"
    r"|\boperateurs? economiques? .{0,40}integration sociale et professionnelle\b"
    r"|\bentreprises? d insertion\b"
)
_WHO_DISABILITY = re.compile(
    r"\besats?\b|\bentreprises? adaptees?\b|\betablissements? et services? d aide par le travail\b"
    r"|\bateliers? proteges?\b|\bpersonnes handicapees\b|\btravailleurs handicapes\b"
)
_RESERVED_TO = re.compile(r"\breserve(e|s|es)? (a|aux|au|en faveur des?)\b")
_WINDOW = 160  # characters after "réservé à" in which the beneficiaries are looked for


@dataclass(frozen=True, slots=True)
class NoticeSignals:
    """What the words of a notice say: reserved to SIAE, reserved to EA/ESAT, social clause."""

    siae: bool = False
    disability: bool = False
    social_clause: bool = False


# Every pattern above contains one of these (lower-case) words: only the text around them is
# folded and searched, which keeps a 50-kilobyte notice cheap to read.
_TRIGGERS = ("réserv", "reserv", "clause", "insertion", "2113", "2112", "éloign", "eloign")
_BEFORE, _AFTER = 80, 300  # characters kept around a trigger (≥ _WINDOW after "réservé à")


def _occurrences(text: str, word: str) -> Iterator[int]:
    """Start of every occurrence of `word`, each search resuming after the previous match."""
    start = text.find(word)
    while start != -1:
        yield start
        start = text.find(word, start + len(word))


def _trigger_starts(lowered: str) -> Iterator[int]:
    """Where each of `_TRIGGERS` occurs in `lowered` (as `_occurrences` finds each of them), "É"
    taken as "é" (see `_lower_case_letters`).

    Every scan of a notice costs a pass over tens of kilobytes, so the triggers sharing a stem are
    found together, by the stem, and told apart by the letters before or after it: "serv" for
    "réserv"/"reserv", "loign" for "éloign"/"eloign", "211" for "2112"/"2113". No stem can overlap
    itself, so the stem's occurrences are all of them; "2112" can ("2112112"), and an occurrence
    starting inside the previous one is skipped, as searching for "2112" alone would.
    """
    for start in _occurrences(lowered, "serv"):
        if start >= 2 and lowered[start - 2:start] in ("ré", "re", "rÉ"):
            yield start - 2
    for start in _occurrences(lowered, "loign"):
        if start >= 1 and lowered[start - 1] in "éeÉ":
            yield start - 1
    yield from _occurrences(lowered, "clause")
    yield from _occurrences(lowered, "insertion")
    free_from = {"2": 0, "3": 0}  # where the next "2112" / "2113" may start
    for start in _occurrences(lowered, "211"):
        last = lowered[start + 3:start + 4]
        if last in free_from and start >= free_from[last]:
            free_from[last] = start + 4
            yield start


def _is_plain(char: str) -> bool:
    """True for a character that lower-casing and NFC leave in place, one for one: its lower
    case is one character, and neither is changed by NFC or combines with what precedes it
    (not a combining mark; the other characters that compose with a preceding one are Indic
    vowel signs and Hangul jamo, outside the ranges below)."""
    lower = char.lower()
    return len(lower) == 1 and all(
        unicodedata.is_normalized("NFC", c) and not unicodedata.combining(c) for c in (char, lower)
    )


# Latin-1 (« » é ç…), Latin Extended-A and -B (œ…), general punctuation (’ – — … and the thin
# spaces) and currency signs (€): the characters of French notices besides ASCII. "İ" (lower case "i̇", two
# characters) and the two quads NFC replaces are left out by `_is_plain`.
_PLAIN = frozenset(
    char for code in (*range(0x80, 0x250), *range(0x2000, 0x20D0))
    if _is_plain(char := chr(code))
)
_ASCII = bytes(range(0x80))


def _lower_case_letters(text: str) -> str | None:
    """`text` with its ASCII letters in lower case, when that finds the triggers as
    `text.lower()` would, at the same positions; None otherwise.

    `text.lower()` then NFC is what the triggers are looked for in. Lower-casing every character
    and checking the result is normalised are the two dearest passes of a scan; when every
    character is ASCII or `_PLAIN`, both change nothing but the letters' case, one for one, so
    lower-casing the ASCII letters (bytes.lower, a table look-up) is enough: the triggers are
    ASCII but for "é", whose upper case "É" `_trigger_starts` accepts in its place, and the
    windows around them are lower-cased afterwards.
    """
    try:
        encoded = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (from a JSON \ud800 escape)
        return None
    others = encoded.translate(None, _ASCII)
    if others and not _PLAIN.issuperset(others.decode()):
        return None
    return encoded.lower().decode()


def _trigger_windows(text: str) -> str:
    lowered = _lower_case_letters(text)
    letters_only = lowered is not None  # the windows' other letters are lower-cased below
    if lowered is None:
        lowered = text.lower()
        if not lowered.isascii() and not unicodedata.is_normalized("NFC", lowered):
            lowered = unicodedata.normalize("NFC", lowered)  # "e" + combining accent -> "é"
    starts = sorted(_trigger_starts(lowered))
    if not starts:
        return ""
    merged = [(max(0, starts[0] - _BEFORE), starts[0] + _AFTER)]
    for start in starts[1:]:
        low, high = max(0, start - _BEFORE), start + _AFTER
        if low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    if letters_only:
        return "\n".join(fold(lowered[low:high].lower()) for low, high in merged)
    return "\n".join(fold(lowered[low:high]) for low, high in merged)


def scan_notice(*texts: str | None) -> NoticeSignals:
    """Read the reservation and social-clause words of a notice."""
    folded = _trigger_windows("\n".join(text for text in texts if text))
    if not folded:
        return NoticeSignals()
    # A regex that starts with \b (or with alternatives) is tried at every position of the
    # text; these are tried only where a match can start: before the words every match holds.
    law = "2113" in folded
    siae = law and bool(_LAW_SIAE.search(folded))
    disability = law and bool(_LAW_DISABILITY.search(folded))
    # What finditer would find: a match holds "reserve" only at its start, so none begins
    # inside another.
    for start in _starts_before(folded, ("reserve",), 0):
        if match := _RESERVED_TO.match(folded, start):
            window = folded[match.end(): match.end() + _WINDOW]
            siae = siae or bool(_WHO_SIAE.search(window))
            disability = disability or bool(_WHO_DISABILITY.search(window))
    social = any(_SOCIAL_CLAUSE.match(folded, start)
                 for start in _starts_before(folded, _SOCIAL_WORDS, _SOCIAL_REACH))
    return NoticeSignals(siae, disability, social)


def _starts_before(text: str, words: tuple[str, ...], reach: int) -> list[int]:
    """Every position at most `reach` characters before an occurrence of one of `words`, in
    order. (`pattern.match(text, position)` still reads the character before `position` for
    a word boundary.)"""
    starts: set[int] = set()
    for word in words:
        position = text.find(word)
        while position != -1:
            starts.update(range(max(0, position - reach), position + 1))
            position = text.find(word, position + 1)
    return sorted(starts)


def has_social_clause(*texts: str | None) -> bool:
    """True when a text describes a social clause ("clause sociale", "insertion
    professionnelle", "heures d'insertion", "article L2112-2"…)."""
    return scan_notice(*texts).social_clause


def reservation_kind(structured: bool, signals: NoticeSignals) -> Reserved:
    """The `Reserved` value from a structured flag (the notice says "reserved" without saying to
    whom, e.g. eForms res-ws or BOAMP MARCHE_RESERVE_OUI) and the words of the notice."""
    if signals.siae and signals.disability:
        return Reserved.BOTH
    if signals.siae:
        return Reserved.SIAE
    if signals.disability:
        return Reserved.DISABILITY
    return Reserved.BOTH if structured else Reserved.NONE


def reserved_kind(structured: bool, *texts: str | None) -> Reserved:
    """`reservation_kind` straight from texts."""
    return reservation_kind(structured, scan_notice(*texts))
