"""Reading BOAMP `donnees`/`gestion` trees: the XML converted the xmltodict way.

An element repeated becomes a list, present once a dict (or a string), an empty element "";
text beside attributes is "#text", attributes are "@name". Every path of the format readers goes
through `as_list`/`text_of`/`get_in`, which accept each form.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from reference.cpv import normalise_cpv


def as_list(value: Any) -> list[Any]:
    """An element repeated is a list, present once a dict/str, absent None: always a list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


# Type tuples for the isinstance tests of the tree helpers: `int | float` written in the call
# builds a new union object every time, and these helpers run thousands of times per notice.
_NUMBERS = (int, float)
_CONTAINERS = (dict, list)


def text_of(value: Any) -> str:
    """Text of a node: "x", {"#text": "x", "@languageID": "FRA"}, ["a", "b"] -> "a b"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return text_of(value.get("#text"))
    if isinstance(value, list):
        return " ".join(part for part in (text_of(item) for item in value) if part)
    return ""


def get_in(node: Any, *path: str) -> Any:
    """node[a][b]… through dicts; the first item is taken where a list is met mid-path."""
    for key in path:
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def walk(node: Any, parent: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (parent key, key, value) of a tree, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield parent, key, value
            yield from walk(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item, parent)


def strings_of(node: Any) -> list[str]:
    """Every text value in a tree, attributes left out (for the reservation / social-clause
    words). A loop with a stack, not recursion: big notices hold thousands of values."""
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item:
                found.append(item)
        elif isinstance(item, dict):
            stack.extend(value for key, value in item.items() if key[:1] != "@")
        elif isinstance(item, list):
            stack.extend(item)
    found.reverse()
    return found


def unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(filter(None, values)))  # the non-empty values, first seen first


# Where CPV codes live: v230 `CPV/PRINCIPAL` (its `SUPPLEMENTAIRE` are CPV supplementary codes,
# not CPV), the national forms' `classPrincipale` (under objetPrincipal/objetComplementaire) and
# eForms `cbc:ItemClassificationCode` (listName "cpv").
def cpv_codes_in(node: Any) -> list[str]:
    found: list[str | None] = []
    _collect_cpv(node, "", found)
    return unique(found)


def cpv_element(value: Any) -> list[str]:
    """The codes of a v230 <CPV> element: `cpv_codes_in({"CPV": value})` without the wrapper."""
    found: list[str | None] = []
    _collect_cpv(value, "CPV", found)
    return unique(found)


def _collect_cpv(node: Any, parent: str, found: list[str | None]) -> None:
    """`walk` order (depth first, a key before what is under it), without its generators: it
    runs for the notice and for every lot."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "PRINCIPAL":
                if parent == "CPV":
                    found.append(_cpv(text_of(value)))
            elif key == "classPrincipale":
                found.append(_cpv(text_of(value)))
            elif key == "cbc:ItemClassificationCode":
                for item in as_list(value):
                    listname = item.get("@listName", "cpv") if isinstance(item, dict) else "cpv"
                    if listname == "cpv":
                        found.append(_cpv(text_of(item)))
            if isinstance(value, _CONTAINERS):
                _collect_cpv(value, key, found)
    elif isinstance(node, list):
        for item in node:
            _collect_cpv(item, parent, found)


# The same few hundred codes come back notice after notice.
_cpv = lru_cache(maxsize=4096)(normalise_cpv)


def amount(value: Any) -> float | None:
    """"1083333", "159691.6", "1 000 000,00", {"#text": "50000", "@DEVISE": "EUR"} -> float.

    Only euros are kept (or amounts without a currency): a value in another currency would
    compare wrongly with a structure's capacity.
    """
    if isinstance(value, dict):
        currency = value.get("@DEVISE") or value.get("@currencyID") or value.get("@devise")
        if currency and str(currency).upper() != "EUR":
            return None
    text = text_of(value)
    if not text:
        return None
    text = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    text = text.removesuffix("€").removesuffix("EUR")
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        amount = float(text)
    except ValueError:
        return None
    return amount if amount > 0 else None



def first_text(node: Any, *paths: tuple[str, ...]) -> str:
    for path in paths:
        if text := text_of(get_in(node, *path)):
            return text
    return ""



def lot_title(title: str, description: str) -> str:
    if title:
        return title
    # Some lots have only a description: its first sentence, cut at 200 characters, names it.
    first = description[:_first_sentence_end(description)]
    return first if len(first) <= 200 else first[:199].rstrip() + "…"


def _first_sentence_end(text: str) -> int:
    """Index just after the first ".", "!" or "?" followed by whitespace (what the regex
    `[.!?]\\s` finds), else len(text). Three `str.find` loops: a regex character class is tried
    at every position, and this runs for every lot of every notice."""
    end = len(text)
    for mark in ".!?":
        position = text.find(mark, 0, end)
        while position != -1:
            if position + 1 < len(text) and text[position + 1].isspace():
                end = position + 1
                break
            position = text.find(mark, position + 1, end)
    return end
