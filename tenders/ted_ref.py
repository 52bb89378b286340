"""TED publication numbers in one spelling, whoever writes them.

TED writes the number of one notice "00091489-2019" (eForms), "091489-2019" (TED-export),
"2019/S 040-091489" (the Official Journal S reference, which BOAMP notices quote in their text)
and "91489-2019" (the search API). The canonical form is the last one: the number without leading
zeros, a dash, the year. It is the TED source id of a tender and the key on which the store joins
the BOAMP and TED copies of one call, so the three readers (BOAMP, TED, the store) use this module.
"""

from __future__ import annotations

import re

# "00091489-2019", "091489-2019", "91489-2019" (spaces tolerated around the dash).
_PUBNO = re.compile(r"^\s*0*(\d{1,10})\s*-\s*((?:19|20)\d\d)\s*$")
# "2019/S 040-091489", alone or inside a text ("JOUE 2019/S 098-239811 du 22/05/2019").
_OJS_REF = re.compile(r"\b((?:19|20)\d\d)\s*/\s*[Ss]\s*\d{1,3}\s*-\s*0*(\d{1,10})\b")
# "/S" or "/ S": the cheap test that a text may hold an OJ S reference (a regex search for a
# rare first character is several times faster than the full pattern over a long notice).
_OJS_HINT = re.compile(r"/ ?[Ss]")


def normalise_ted_ref(raw: str | None) -> str | None:
    """The canonical publication number of `raw` ("2019/S 040-091489", "00091489-2019",
    "JOUE 2019/S 098-239811 du 22/05/2019"…), or None when it holds none."""
    if not raw:
        return None
    if match := _PUBNO.match(raw):
        return f"{int(match.group(1))}-{match.group(2)}"
    if _OJS_HINT.search(raw) and (match := _OJS_REF.search(raw)):
        return f"{int(match.group(2))}-{match.group(1)}"
    return None


def find_ted_ref(*texts: str) -> str | None:
    """The first OJ S reference quoted in the texts, canonical; None when there is none."""
    for text in texts:
        if _OJS_HINT.search(text) and (match := _OJS_REF.search(text)):
            return f"{int(match.group(2))}-{match.group(1)}"
    return None


def canonical_ted_ref(ref: str | None) -> str | None:
    """The store's key for a TED notice: its canonical publication number, else the reference
    as written (an eForms notice not yet published is known by its UUID), at most 40 characters.
    """
    if not ref or not ref.strip():
        return None
    return normalise_ted_ref(ref) or ref.strip()[:40]
