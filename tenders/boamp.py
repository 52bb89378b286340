"""BOAMP (Bulletin officiel des annonces des marchés publics): the open-data API and its notices.

Two inputs, one output (`tenders.model.Tender`):
- records of the opendatasoft API (`fetch_since` fetches them, `parse_record`/`parse_records`
  read them);
- raw BOAMP XML notices (root <ANNONCE>, schema Boamp_v230), read by `parse_xml`.

A record carries flat fields (idweb, objet, nomacheteur, dateparution, datelimitereponse,
code_departement…) and two JSON *strings*: `gestion` (BOAMP's management block) and `donnees`
(the notice itself). The shape of `donnees` depends on the form the buyer filled in:
- the Boamp_v230 shape (JOUE/MAPA/FNS notices until about 2019, and the raw XML notices):
  `{"IDENTITE":…, "OBJET": {"TITRE_MARCHE", "OBJET_COMPLET", "CPV": {"PRINCIPAL"}, "LOTS"…},
  "CONDITION_DELAI": {"RECEPT_OFFRES"}, "CONDITION_PARTICIPATION": {"MARCHE_RESERVE_OUI"}…}`;
- `{"FNSimple": {"organisme", "initial": {"natureMarche": {"intitule", "description",
  "codeCPV": {"objetPrincipal": {"classPrincipale"}}, "valeurEstimee"}, "procedure"…}}}`;
- `{"MAPA": {"organisme", "initial": {"description": {"objet"}, "caracteristiques":
  {"principales"}…}}}` (MAPA usually carries no CPV);
- `{"DSP": {… "descriptionMarche": {"titreMarche", "description"}…}}`;
- `{"EFORMS": {"ContractNotice" | "ContractAwardNotice" | …: <eForms UBL as JSON, keys
  "cac:…"/"cbc:…", attributes "@…", text "#text">}}`.
All are the XML converted the xmltodict way: an element repeated becomes a list, once a dict, an
empty element "". So every path below is read through `_list`/`_text`, which accept each form.
The paths for the v230 shape are checked against the real samples in ../shared/data/boamp; the
FNSimple/MAPA/DSP/EFORMS paths follow public parsers of the same API and the eForms SDK, and the
CPV codes are also collected wherever the known CPV keys occur, so a path that moves does not
silently lose them.

Choices (each also said where it is made):
- title: the buyer's own title (TITRE_MARCHE, intitule, objet, cbc:Name), else the record's
  `objet` (BOAMP's summary, truncated at 200 characters);
- départements: the place of performance (`code_departement_prestation`) then the publication
  départements (`code_departement`, string or list, "6" -> "06"); without either, the NUTS codes
  of the notice;
- deadline: the notice's own (management block, then form), else `datelimitereponse`; aware,
  Europe/Paris when no offset is given, the end of the day when only a date is given, and a
  "+01:00" stamp read as Paris wall-clock time (BOAMP writes +01:00 in summer too: all five API
  samples close at "12:00+01:00"-style times in April, when Paris is at +02:00);
- estimated value: the notice-level estimate, else the sum of the lots' values when every lot has
  one;
- reserved: structured flags (MARCHE_RESERVE_OUI, eForms `res-ws` on the notice or on every lot)
  and the words of the notice (`tenders.signals.reserved_kind`); social clause: eForms social
  objective `opp`, or the words of a clause sociale anywhere in the notice;
- refers_to (rectificatifs, cancellations, awards): the `annonce_lie`/`annonces_anterieures`
  fields, else the first earlier notice of the management block (the initial call for tenders);
- ted_ref: a TED publication number found in the notice, in TED's canonical form "89000-2015"
  (as `tenders.ted` stores it), so that the store can merge the two copies of one tender.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

import httpx

from locales import N_
from reference.cpv import normalise_cpv
from reference.geography import departement_for_nuts, normalise_departement, sort_departements
from tenders.model import Lot, NoticeKind, Tender
from tenders.signals import reservation_kind, scan_notice
from tenders.xmlsafe import parse_xml_bytes

log = logging.getLogger(__name__)

SOURCE = "boamp"
PARIS = ZoneInfo("Europe/Paris")
NOTICE_URL = "https://www.boamp.fr/pages/avis/?q=idweb:{}"

# The API refuses offset + limit above this (opendatasoft's pagination window).
MAX_WINDOW = 10_000
PAGE_SIZE = 100
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class BoampError(Exception):
    """The API could not be read (after retries), or answered something that is not a page."""


# --------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------


def make_client(timeout: httpx.Timeout = DEFAULT_TIMEOUT) -> httpx.AsyncClient:
    """An AsyncClient with the timeouts and headers this source expects."""
    return httpx.AsyncClient(
        timeout=timeout,
        headers={"Accept": "application/json", "User-Agent": "centrale/0.1 (tender watch)"},
        follow_redirects=True,
    )


Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class RetryPolicy:
    """Retries on 429 (honouring Retry-After), 5xx, timeouts and connection errors."""

    attempts: int = 5  # total tries per request
    backoff: float = 1.0  # first wait in seconds, doubled at each retry
    max_wait: float = 120.0  # no single wait longer than this, whatever Retry-After says


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:  # an HTTP date
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


async def get_page(
    client: httpx.AsyncClient,
    url: str,
    params: dict[str, Any],
    *,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> dict[str, Any]:
    """One page of records ({total_count, results}), retrying what is worth retrying."""
    retry = retry or RetryPolicy()
    last_problem = "no attempt made"
    for attempt in range(retry.attempts):
        wait = min(retry.max_wait, retry.backoff * (2**attempt))
        try:
            response = await client.get(url, params=params)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code == 429 or response.status_code >= 500:
                last_problem = f"HTTP {response.status_code}"
                if response.status_code == 429:
                    told = _retry_after(response)
                    wait = min(retry.max_wait, told) if told is not None else wait
            elif response.status_code >= 400:
                raise BoampError(
                    f"BOAMP API refused the request (HTTP {response.status_code}): "
                    f"{response.text[:300]}"
                )
            else:
                try:
                    payload = response.json()
                except ValueError as exc:
                    raise BoampError(f"BOAMP API answered malformed JSON: {exc}") from None
                if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
                    raise BoampError("BOAMP API answer has no 'results' list")
                return payload
        if attempt + 1 < retry.attempts:
            log.warning("BOAMP API: %s; retry %d in %.1f s", last_problem, attempt + 1, wait)
            await sleep(wait)
    raise BoampError(f"BOAMP API unavailable after {retry.attempts} attempts ({last_problem})")


def _where(since: date, until: date | None) -> str:
    clause = f"dateparution >= date'{since.isoformat()}'"
    if until is not None:
        clause += f" AND dateparution <= date'{until.isoformat()}'"
    return clause


async def fetch_since(
    client: httpx.AsyncClient,
    base_url: str,
    since: date,
    until: date | None = None,
    *,
    page_size: int = PAGE_SIZE,
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    today: date | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Raw records published from `since` to `until` (both included; no end when None), oldest
    first.

    Pages of `page_size` (≤ 100) by offset, ordered by publication date then idweb so that pages
    do not overlap. The API refuses offset + limit beyond 10,000: a longer range is split in two
    halves by date, recursively; a single day over 10,000 records (never seen: BOAMP publishes
    about 2,000 a day) yields its first 10,000 with a warning. `since` is the caller's cursor;
    records of that day are fetched again and the store's upsert absorbs them.
    """
    page_size = max(1, min(page_size, PAGE_SIZE))
    async for record in _fetch_window(
        client, base_url, since, until, page_size, retry, sleep, today or date.today()
    ):
        yield record


async def _fetch_window(
    client: httpx.AsyncClient,
    base_url: str,
    since: date,
    until: date | None,
    page_size: int,
    retry: RetryPolicy | None,
    sleep: Sleep,
    today: date,
) -> AsyncIterator[dict[str, Any]]:
    params = {
        "where": _where(since, until),
        "order_by": "dateparution, idweb",
        "limit": page_size,
        "offset": 0,
    }
    first = await get_page(client, base_url, params, retry=retry, sleep=sleep)
    total = int(first.get("total_count") or 0)
    end = until or max(today, since)
    if total > MAX_WINDOW and end > since:
        middle = since + (end - since) // 2
        log.info("BOAMP: %d records from %s to %s, split at %s", total, since, end, middle)
        for low, high in ((since, middle), (middle + timedelta(days=1), until)):
            async for record in _fetch_window(
                client, base_url, low, high, page_size, retry, sleep, today
            ):
                yield record
        return
    if total > MAX_WINDOW:
        log.warning("BOAMP: %d records on %s; only the first %d can be read", total, since,
                    MAX_WINDOW)
    page = first
    offset = 0
    while True:
        results = page["results"]
        for record in results:
            yield record
        offset += len(results)
        if not results or offset >= min(total, MAX_WINDOW):
            return
        limit = min(page_size, MAX_WINDOW - offset)
        page = await get_page(
            client, base_url, {**params, "offset": offset, "limit": limit},
            retry=retry, sleep=sleep,
        )


# --------------------------------------------------------------------------------------------
# Helpers over xmltodict-shaped trees
# --------------------------------------------------------------------------------------------


def _list(value: Any) -> list[Any]:
    """An element repeated is a list, present once a dict/str, absent None: always a list."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


# Type tuples for the isinstance tests of the tree helpers: `int | float` written in the call
# builds a new union object every time, and these helpers run thousands of times per notice.
_NUMBERS = (int, float)
_CONTAINERS = (dict, list)


def _text(value: Any) -> str:
    """Text of a node: "x", {"#text": "x", "@languageID": "FRA"}, ["a", "b"] -> "a b"."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, _NUMBERS) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict):
        return _text(value.get("#text"))
    if isinstance(value, list):
        return " ".join(part for part in (_text(item) for item in value) if part)
    return ""


def _get(node: Any, *path: str) -> Any:
    """node[a][b]… through dicts; the first item is taken where a list is met mid-path."""
    for key in path:
        if isinstance(node, list):
            node = node[0] if node else None
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _walk(node: Any, parent: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (parent key, key, value) of a tree, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield parent, key, value
            yield from _walk(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, parent)


def _strings(node: Any) -> list[str]:
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


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(filter(None, values)))  # the non-empty values, first seen first


# Where CPV codes live: v230 `CPV/PRINCIPAL` (its `SUPPLEMENTAIRE` are CPV supplementary codes,
# not CPV), the national forms' `classPrincipale` (under objetPrincipal/objetComplementaire) and
# eForms `cbc:ItemClassificationCode` (listName "cpv").
def _cpv_codes(node: Any) -> list[str]:
    found: list[str | None] = []
    _collect_cpv(node, "", found)
    return _unique(found)


def _cpv_element(value: Any) -> list[str]:
    """The codes of a v230 <CPV> element: `_cpv_codes({"CPV": value})` without the wrapper."""
    found: list[str | None] = []
    _collect_cpv(value, "CPV", found)
    return _unique(found)


def _collect_cpv(node: Any, parent: str, found: list[str | None]) -> None:
    """`_walk` order (depth first, a key before what is under it), without its generators: it
    runs for the notice and for every lot."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "PRINCIPAL":
                if parent == "CPV":
                    found.append(_cpv(_text(value)))
            elif key == "classPrincipale":
                found.append(_cpv(_text(value)))
            elif key == "cbc:ItemClassificationCode":
                for item in _list(value):
                    listname = item.get("@listName", "cpv") if isinstance(item, dict) else "cpv"
                    if listname == "cpv":
                        found.append(_cpv(_text(item)))
            if isinstance(value, _CONTAINERS):
                _collect_cpv(value, key, found)
    elif isinstance(node, list):
        for item in node:
            _collect_cpv(item, parent, found)


# The same few hundred codes come back notice after notice.
_cpv = lru_cache(maxsize=4096)(normalise_cpv)


def _amount(value: Any) -> float | None:
    """"1083333", "159691.6", "1 000 000,00", {"#text": "50000", "@DEVISE": "EUR"} -> float.

    Only euros are kept (or amounts without a currency): a value in another currency would
    compare wrongly with a structure's capacity.
    """
    if isinstance(value, dict):
        currency = value.get("@DEVISE") or value.get("@currencyID") or value.get("@devise")
        if currency and str(currency).upper() != "EUR":
            return None
    text = _text(value)
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


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_WINTER = timedelta(hours=1)
_DATE_ONLY = re.compile(r"^(\d{4}-\d{2}-\d{2})(Z|[+-]\d{2}:\d{2})?$")


def parse_deadline(value: Any) -> datetime | None:
    """An ISO date-time as BOAMP writes it -> aware datetime.

    "2015-04-20T11:00:00+00:00", "2026-09-29T12:00:00.000+02:00", "…Z" keep their offset; a
    time without offset is Paris time; a date alone ("2015-04-20", "2019-06-24Z") means the end
    of that day in Paris (a bidder may answer until then).
    """
    text = _text(value)
    if not text:
        return None
    if match := _DATE_ONLY.match(text):
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            return None
        return datetime.combine(day, time(23, 59, 59), tzinfo=PARIS)
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=PARIS)
    if moment.utcoffset() == _WINTER:
        # BOAMP stamps +01:00 all year round: "2015-04-20T12:00:00+01:00" is noon in Paris
        # (summer time, so 10:00 UTC); notice 15-31501 says so in words, "avant le 20 avril 2015
        # à 12 heures". Read as Paris wall-clock time, a +01:00 stamp is unchanged in winter
        # (fold=1 keeps the repeated autumn hour at +01:00) and right in summer.
        local = moment.replace(tzinfo=PARIS)
        winter = local.replace(fold=1)
        return winter if winter.utcoffset() == _WINTER else local
    return moment


def _eforms_deadline(period: Any) -> datetime | None:
    """eForms EndDate + EndTime ("2019-06-24Z", "16:00:00Z") -> aware datetime."""
    day_text = _text(_get(period, "cbc:EndDate"))
    time_text = _text(_get(period, "cbc:EndTime"))
    if not day_text:
        return None
    day_match = _DATE_ONLY.match(day_text)
    if not day_match:
        return parse_deadline(day_text)
    if not time_text:
        return parse_deadline(day_match.group(1))
    offset = ""
    time_match = re.match(r"^(\d{2}:\d{2}(?::\d{2})?)(Z|[+-]\d{2}:\d{2})?$", time_text)
    if not time_match:
        return parse_deadline(day_match.group(1))
    offset = time_match.group(2) or day_match.group(2) or ""
    return parse_deadline(f"{day_match.group(1)}T{time_match.group(1)}{offset}")


def parse_published(value: Any) -> date | None:
    text = _text(value)[:10]
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# The notice body, per format
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Body:
    """What one `donnees` shape says; the record-level fields complete it."""

    format: str = "unknown"
    title: str = ""
    description: str = ""
    buyer: str = ""
    cpv_codes: list[str] = field(default_factory=list)
    lots: list[Lot] = field(default_factory=list)
    estimated_value: float | None = None
    deadline: datetime | None = None
    procedure: str = ""
    nuts: list[str] = field(default_factory=list)
    reserved_flag: bool = False
    social_flag: bool = False
    ted_ref: str | None = None


def donnees_format(donnees: Any) -> str:
    """"EFORMS", "FNSimple", "MAPA", "DSP", "v230" (the JOUE/BOAMP XML shape) or "unknown"."""
    if not isinstance(donnees, dict):
        return "unknown"
    for name in ("EFORMS", "FNSimple", "MAPA", "DSP"):
        if name in donnees:
            return name
    if "OBJET" in donnees or "IDENTITE" in donnees:
        return "v230"
    for key in donnees:  # a national form not listed yet: {"XYZ": {"initial": …}}
        if isinstance(donnees[key], dict) and any(
            k in donnees[key] for k in ("initial", "rectificatif", "attribution", "organisme")
        ):
            return key
    return "unknown"


def _lot_title(title: str, description: str) -> str:
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


_PROCEDURES_V230 = {
    "OUVERT": "Procédure ouverte",
    "RESTREINT": "Procédure restreinte",
    "PROCEDURE_ADAPTE": "Procédure adaptée",
    "NEGOCIE": "Procédure négociée",
    "DIALOGUE_COMPETITIF": "Dialogue compétitif",
    "CONCOURS": "Concours",
}


def _body_v230(donnees: dict) -> _Body:
    objet = donnees.get("OBJET") or {}
    body = _Body(format="v230")
    body.title = _text(_get(objet, "TITRE_MARCHE"))
    body.description = _text(_get(objet, "OBJET_COMPLET"))
    body.buyer = _text(_get(donnees, "IDENTITE", "DENOMINATION"))
    body.cpv_codes = _cpv_element(objet.get("CPV")) if isinstance(objet, dict) else []
    lots = []
    numbered = False
    raw_lots = [lot for lot in _list(_get(objet, "LOTS", "LOT")) if isinstance(lot, dict)]
    for position, lot in enumerate(raw_lots, start=1):
        number = _text(lot.get("NUM"))
        numbered = numbered or bool(number)
        description = _text(lot.get("DESCRIPTION"))
        lots.append(Lot(
            number=number or str(position),
            title=_lot_title(_text(lot.get("INTITULE")), description),
            cpv_codes=_cpv_element(lot.get("CPV")),
            estimated_value=_amount(lot.get("VALEUR") or lot.get("VALEUR_ESTIMEE")),
            description=description,
        ))
    body.estimated_value = _amount(
        _get(objet, "VALEUR_ESTIMEE") or _get(objet, "CARACTERISTIQUES", "VALEUR_ESTIMEE")
        or _get(objet, "CARACTERISTIQUES", "VALEUR")
    )
    # The 2016 JOUE forms describe the contract in a LOT section even when it is not divided
    # (DIV_EN_LOTS/NON, or one LOT without number): that section is the tender itself.
    not_divided = "NON" in (_get(objet, "DIV_EN_LOTS") or {})
    if len(lots) == 1 and (not_divided or not numbered):
        only = lots[0]
        body.cpv_codes = _unique([*body.cpv_codes, *only.cpv_codes])
        body.estimated_value = body.estimated_value or only.estimated_value
        body.description = body.description or only.description
        lots = []
    body.lots = lots
    delays = donnees.get("CONDITION_DELAI") or {}
    body.deadline = parse_deadline(_get(delays, "RECEPT_OFFRES")) or parse_deadline(
        _get(delays, "RECEPT_CANDIDAT")
    )
    procedure = _get(donnees, "PROCEDURE", "TYPE_PROCEDURE")
    if isinstance(procedure, dict) and procedure:
        code = next(iter(procedure))
        body.procedure = _PROCEDURES_V230.get(code, code.replace("_", " ").capitalize())
    body.nuts = _unique([
        _text(_get(objet, "LIEU_EXEC_LIVR", "CODE_NUTS")),
        *(_text(lot.get("CODE_NUTS")) for lot in raw_lots),
    ])
    # MARCHE_RESERVE_OUI (with ATELIERS_PROTEGES / EMPLOIS_PROTEGES inside, or empty) is the
    # reserved-contract box of the form; PRESTATION_RESERVEE_OUI is a profession (architects).
    body.reserved_flag = any(
        isinstance(section, dict) and "MARCHE_RESERVE_OUI" in section
        for section in (donnees.get("CONDITION_PARTICIPATION"), objet, *raw_lots)
    )
    return body


def _national_document(block: dict) -> dict:
    """The notice inside a national form block: `initial`, `rectificatif`, `attribution`…"""
    for key in ("initial", "rectificatif", "attribution", "annulation", "modification"):
        if isinstance(block.get(key), dict):
            return block[key]
    for key, value in block.items():
        if key != "organisme" and isinstance(value, dict):
            return value
    return {}


def _first_text(node: Any, *paths: tuple[str, ...]) -> str:
    for path in paths:
        if text := _text(_get(node, *path)):
            return text
    return ""


_LOT_CONTAINERS = (
    ("lots", "lot"), ("natureMarche", "lots", "lot"), ("natureMarche", "lotsMarche"),
    ("lots",), ("description", "lots", "lot"), ("lot",),
)


def _national_lots(document: dict) -> list[Lot]:
    for path in _LOT_CONTAINERS:
        raw = _get(document, *path)
        items = [item for item in _list(raw) if isinstance(item, dict)]
        if not items:
            continue
        lots = []
        for position, item in enumerate(items, start=1):
            description = _first_text(item, ("description",), ("descriptionLot",))
            lots.append(Lot(
                number=_first_text(item, ("numero",), ("num",), ("numLot",), ("numeroLot",))
                or str(position),
                title=_lot_title(
                    _first_text(item, ("intitule",), ("titre",), ("intituleLot",), ("libelle",)),
                    description,
                ),
                cpv_codes=_cpv_codes(item),
                estimated_value=_amount(
                    _get(item, "valeurEstimee", "valeur") or _get(item, "valeurEstimee")
                    or _get(item, "montant")
                ),
                description=description,
            ))
        return lots
    return []


def _body_national(donnees: dict, name: str) -> _Body:
    block = donnees.get(name) or {}
    document = _national_document(block) if isinstance(block, dict) else {}
    body = _Body(format=name)
    body.title = _first_text(
        document, ("natureMarche", "intitule"), ("description", "objet"),
        ("descriptionMarche", "titreMarche"), ("objet",), ("intitule",),
    )
    body.description = _first_text(
        document, ("natureMarche", "description"), ("caracteristiques", "principales"),
        ("descriptionMarche", "description"), ("description", "description"),
    )
    body.buyer = _first_text(block, ("organisme", "nomOfficiel"), ("organisme", "nom"))
    body.lots = _national_lots(document)
    lot_codes = {code for lot in body.lots for code in lot.cpv_codes}
    all_codes = _cpv_codes(document)
    main = _cpv_codes(_get(document, "natureMarche", "codeCPV")) or _cpv_codes(
        _get(document, "description", "CPV")
    )
    # The main classification, else every code that is not only a lot's.
    body.cpv_codes = main or [code for code in all_codes if code not in lot_codes]
    body.estimated_value = _amount(
        _get(document, "natureMarche", "valeurEstimee", "valeur")
        or _get(document, "natureMarche", "valeurEstimee", "fourchette", "valeurHaute")
    )
    body.deadline = parse_deadline(
        _first_text(document, ("procedure", "dateReceptionOffres"),
                    ("delai", "dateReceptionOffres"), ("delais", "receptionOffres"),
                    ("conditionsDelais", "receptionOffres"),
                    ("procedure", "dateReceptionCandidatures"))
    )
    body.procedure = _first_text(document, ("procedure", "typeProcedure"),
                                 ("procedure", "libelleProcedure"))
    body.nuts = _unique(
        _text(value) for _, key, value in _walk(document) if key in ("codeNuts", "codeNUTS")
    )
    # The national forms' "reserved contract" box (e.g. marcheReserve / reserveAtelier…): any key
    # that speaks of reservation with a positive value. A profession reservation
    # (prestationReservee) is not an ESS reservation.
    for _, key, value in _walk(document):
        lowered = key.lower()
        if "reserv" in lowered and "prestation" not in lowered and not lowered.endswith("non"):
            text = _text(value).lower() if not isinstance(value, dict | list) else "oui"
            if text in ("", "oui", "true", "1", "yes") and value not in (None, False):
                body.reserved_flag = True
    return body


def _eforms_text(node: Any, *path: str) -> str:
    value = _get(node, *path)
    items = _list(value)
    # Several languages may be given: French first.
    for item in items:
        if isinstance(item, dict) and str(item.get("@languageID", "")).upper() == "FRA":
            return _text(item)
    return _text(items[0]) if items else ""


def _eforms_lot_number(lot_id: str, position: int) -> str:
    match = re.match(r"^LOT-0*(\d+)$", lot_id.strip())
    return match.group(1) if match else (lot_id.strip() or str(position))


def _eforms_codes(node: Any, listname: str) -> set[str]:
    codes = set()
    for _, key, value in _walk(node):
        if key in ("cbc:TendererRequirementTypeCode", "cbc:ProcurementTypeCode"):
            for item in _list(value):
                if isinstance(item, dict) and item.get("@listName") == listname:
                    codes.add(_text(item).lower())
    return codes


# eForms procurement-procedure-type codes, named as BOAMP's own `procedure_libelle` names them.
_PROCEDURES_EFORMS = {
    "open": "Procédure ouverte",
    "restricted": "Procédure restreinte",
    "neg-w-call": "Procédure avec négociation",
    "neg-wo-call": "Procédure négociée sans publicité préalable",
    "comp-dial": "Dialogue compétitif",
    "innovation": "Partenariat d'innovation",
    "oth-single": "Autre procédure en une étape",
    "oth-mult": "Autre procédure en plusieurs étapes",
}


def _body_eforms(donnees: dict) -> _Body:
    block = donnees.get("EFORMS") or {}
    notice = next((v for v in block.values() if isinstance(v, dict)), {}) if isinstance(
        block, dict) else {}
    body = _Body(format="EFORMS")
    project = notice.get("cac:ProcurementProject") or {}
    body.title = _eforms_text(project, "cbc:Name")
    body.description = _eforms_text(project, "cbc:Description")
    body.cpv_codes = _cpv_codes({
        "main": project.get("cac:MainCommodityClassification"),
        "more": project.get("cac:AdditionalCommodityClassification"),
    }) if isinstance(project, dict) else []
    body.estimated_value = _amount(
        _get(project, "cac:RequestedTenderTotal", "cbc:EstimatedOverallContractAmount")
    )
    code = _text(_get(notice, "cac:TenderingProcess", "cbc:ProcedureCode"))
    body.procedure = _PROCEDURES_EFORMS.get(code, code)
    body.nuts = _unique(
        _text(item)
        for _, key, value in _walk(project)
        if key == "cbc:CountrySubentityCode"
        for item in _list(value)
    )
    body.buyer = _eforms_buyer(notice)
    deadlines: list[datetime] = []
    lots: list[Lot] = []
    lots_reserved: list[bool] = []
    social = "opp" in _eforms_codes(project, "social-objective")
    for position, raw in enumerate(_list(notice.get("cac:ProcurementProjectLot")), start=1):
        if not isinstance(raw, dict):
            continue
        lot_project = raw.get("cac:ProcurementProject") or {}
        lot_description = _eforms_text(lot_project, "cbc:Description")
        lots.append(Lot(
            number=_eforms_lot_number(_text(raw.get("cbc:ID")), position),
            title=_lot_title(_eforms_text(lot_project, "cbc:Name"), lot_description),
            cpv_codes=_cpv_codes(lot_project),
            estimated_value=_amount(
                _get(lot_project, "cac:RequestedTenderTotal", "cbc:EstimatedOverallContractAmount")
            ),
            description=lot_description,
        ))
        deadline = _eforms_deadline(
            _get(raw, "cac:TenderingProcess", "cac:TenderSubmissionDeadlinePeriod")
        )
        if deadline:
            deadlines.append(deadline)
        lots_reserved.append("res-ws" in _eforms_codes(raw.get("cac:TenderingTerms"),
                                                       "reserved-procurement"))
        social = social or "opp" in _eforms_codes(lot_project, "social-objective")
        body.nuts.extend(
            code for code in (
                _text(item)
                for _, key, value in _walk(lot_project)
                if key == "cbc:CountrySubentityCode"
                for item in _list(value)
            ) if code not in body.nuts
        )
    # eForms gives every notice at least one lot (LOT-0000 when it is not divided): a single lot
    # is the tender itself, so its data fill the tender and no lot is listed.
    if len(lots) == 1:
        only = lots[0]
        body.title = body.title or only.title
        body.description = body.description or only.description
        body.cpv_codes = body.cpv_codes or only.cpv_codes
        body.estimated_value = body.estimated_value or only.estimated_value
        lots = []
    body.lots = lots
    body.deadline = min(deadlines) if deadlines else None
    notice_reserved = "res-ws" in _eforms_codes(notice.get("cac:TenderingTerms"),
                                                "reserved-procurement")
    # A reservation counts for the tender when the notice or every lot has it.
    body.reserved_flag = notice_reserved or (bool(lots_reserved) and all(lots_reserved))
    body.social_flag = social
    for _, key, value in _walk(notice):
        if key == "efbc:NoticePublicationID":
            body.ted_ref = _text(value) or None
            break
    return body


def _eforms_buyer(notice: dict) -> str:
    """The name of the organisation the ContractingParty points at."""
    party_ids = {
        _text(_get(party, "cac:Party", "cac:PartyIdentification", "cbc:ID"))
        for party in _list(notice.get("cac:ContractingParty"))
    }
    organisations = [
        item.get("efac:Company") or {}
        for _, key, value in _walk(notice)
        if key == "efac:Organization"
        for item in _list(value)
        if isinstance(item, dict)
    ]
    for company in organisations:
        if _text(_get(company, "cac:PartyIdentification", "cbc:ID")) in party_ids:
            return _eforms_text(company, "cac:PartyName", "cbc:Name")
    return _eforms_text(organisations[0], "cac:PartyName", "cbc:Name") if organisations else ""


def read_body(donnees: Any) -> _Body:
    """The notice content of a `donnees` tree, whatever its format."""
    name = donnees_format(donnees)
    if name == "EFORMS":
        return _body_eforms(donnees)
    if name == "v230":
        return _body_v230(donnees)
    if name == "unknown":
        body = _Body()
        body.cpv_codes = _cpv_codes(donnees)
        return body
    return _body_national(donnees, name)


# --------------------------------------------------------------------------------------------
# Record -> Tender
# --------------------------------------------------------------------------------------------

# TED publication numbers as BOAMP data may carry them: "2015/S 051-089000" (OJ S reference)
# or "00123456-2024" / "123456-2024" (eForms notice publication id).
_OJS_REF = re.compile(r"\b((?:19|20)\d\d)\s*/\s*S\s*\d{1,3}\s*-\s*(\d{3,9})\b")
_PUBNO = re.compile(r"^\s*(\d{1,9})-((?:19|20)\d\d)\s*$")


def normalise_ted_ref(raw: str | None) -> str | None:
    """"2015/S 051-089000", "00089000-2015", "89000-2015" -> "89000-2015" (TED's own form, the
    one `tenders.ted` uses as source id)."""
    if not raw:
        return None
    if match := _PUBNO.match(raw):
        return f"{int(match.group(1))}-{match.group(2)}"
    if match := _OJS_REF.search(raw):
        return f"{int(match.group(2))}-{match.group(1)}"
    return None


# "/S" or "/ S": the cheap test that a text may hold an OJ S reference (a regex search for a
# rare first character is several times faster than `in` over a long notice).
_OJS_HINT = re.compile(r"/ ?S")


def _find_ted_ref(*texts: str) -> str | None:
    for text in texts:
        if _OJS_HINT.search(text) and (match := _OJS_REF.search(text)):
            return normalise_ted_ref(match.group(0))
    return None


_KINDS = {
    "APPEL_OFFRE": NoticeKind.CALL,
    "RECTIFICATIF": NoticeKind.RECTIFICATION,
    "ATTRIBUTION": NoticeKind.AWARD,
    "RESULTAT": NoticeKind.AWARD,
    "ANNULATION": NoticeKind.CANCELLATION,
}


def notice_kind(
    nature: str | None, etat: str | None = None, statut: str | None = None
) -> NoticeKind:
    """BOAMP nature (APPEL_OFFRE, RECTIFICATIF, ATTRIBUTION…) and state -> NoticeKind.

    The state wins: a call for tenders whose `etat`/STATUT is a rectificatif or a cancellation
    ("AVIS_ANNULE", "ANNULATION") is that. Prior information, ex-ante transparency and contract
    modifications are OTHER.
    """
    for state in (etat, statut):
        state = (state or "").upper()
        if "ANNUL" in state:
            return NoticeKind.CANCELLATION
        if "RECTIF" in state:
            return NoticeKind.RECTIFICATION
    nature = (nature or "").upper().replace("-", "_")
    return _KINDS.get(nature, NoticeKind.OTHER)


def _decode(value: Any) -> Any:
    """`gestion`/`donnees` are JSON strings in API records and dicts once decoded."""
    if isinstance(value, str) and value.strip():
        return json.loads(value)
    return value if isinstance(value, dict) else {}


_IDWEB = re.compile(r"^\d{2}-\d{1,7}$")


def _idwebs(*values: Any) -> list[str]:
    found = []
    for value in values:
        for item in _list(value):
            text = _text(item)
            if _IDWEB.match(text):
                found.append(text)
    return _unique(found)


def _earlier_notices(gestion: Any) -> list[str]:
    """GESTION/MARCHE/ANNONCE_ANTERIEUR: the notices this one follows, the initial one first."""
    earlier = _list(_get(gestion, "MARCHE", "ANNONCE_ANTERIEUR"))
    initial = [
        _text(_get(item, "REFERENCE", "IDWEB"))
        for item in earlier
        if "INITIAL" in (_get(item, "REFERENCE", "TYPE_AVIS", "STATUT") or {})
    ]
    others = [_text(_get(item, "REFERENCE", "IDWEB")) for item in earlier]
    return _unique(initial + others)


def _statut(gestion: Any) -> str:
    value = _get(gestion, "REFERENCE", "TYPE_AVIS", "STATUT")
    return next(iter(value), "") if isinstance(value, dict) else _text(value)


def _nature(gestion: Any) -> str:
    value = _get(gestion, "REFERENCE", "TYPE_AVIS", "NATURE")
    return next(iter(value), "") if isinstance(value, dict) else _text(value)


def _departements(record: dict, gestion: Any, nuts: list[str]) -> list[str]:
    raw = (
        _list(record.get("code_departement_prestation"))
        + _list(record.get("code_departement"))
        + _list(_get(gestion, "INDEXATION", "DEP_PRESTATION"))
        + _list(_get(gestion, "INDEXATION", "DEP_PUBLICATION"))
    )
    codes = _unique(normalise_departement(_text(code)) for code in raw)
    if not codes:
        codes = sort_departements(code for ref in nuts for code in departement_for_nuts(ref))
        # A national-level place ("FR") says nothing about where: leave it empty.
        if len(codes) > 20:
            codes = []
    return codes


class RecordError(ValueError):
    """A record that cannot become a tender; the message is the reason logged and reported."""


# Reasons for skipping a record (shown in the ingest summary).
NO_ID = N_("no notice id (idweb)")
NO_TITLE = N_("no title")
NOT_A_RECORD = N_("not a record (a JSON object was expected)")


def parse_record(record: dict) -> Tender:
    """One API record (or the same fields built from an XML notice) -> Tender.

    Raises RecordError when the record has no id or no title; a field that cannot be read
    (a malformed date, `donnees` that is not JSON) is left empty and logged, not fatal.
    """
    if not isinstance(record, dict):
        raise RecordError(NOT_A_RECORD)
    gestion = _safe_decode(record, "gestion")
    donnees = _safe_decode(record, "donnees")
    idweb = _text(record.get("idweb")) or _text(_get(gestion, "REFERENCE", "IDWEB"))
    if not idweb:
        raise RecordError(NO_ID)
    body = read_body(donnees)

    title = body.title or _text(record.get("objet")) or _text(
        _get(gestion, "INDEXATION", "RESUME_OBJET")
    )
    if not title:
        raise RecordError(NO_TITLE)
    description = body.description or _text(record.get("objet"))

    record_cpv = [
        normalise_cpv(_text(code))
        for key in ("cpv", "code_cpv", "codes_cpv", "cpv_code")
        for code in _list(record.get(key))
    ]
    cpv_codes = _unique([*body.cpv_codes, *record_cpv])

    # The notice's own stamp first: the API's `datelimitereponse` is the same instant converted
    # to UTC, which loses the wall-clock time when BOAMP's +01:00 stamp was wrong (summer).
    deadline = (
        parse_deadline(_get(gestion, "INDEXATION", "DATE_LIMITE_REPONSE"))
        or body.deadline
        or parse_deadline(record.get("datelimitereponse"))
    )
    published = parse_published(record.get("dateparution")) or parse_published(
        _get(gestion, "INDEXATION", "DATE_PUBLICATION")
    )

    kind = notice_kind(
        _text(record.get("nature")) or _nature(gestion),
        _text(record.get("etat")),
        _statut(gestion),
    )
    refers_to = None
    if kind is not NoticeKind.CALL:
        earlier = _idwebs(record.get("annonce_lie"), record.get("annonces_anterieures"))
        earlier += [ref for ref in _earlier_notices(gestion) if ref not in earlier]
        refers_to = next((ref for ref in earlier if ref != idweb), None)

    # All the words of the notice, once: the reservation and the social clause are often said
    # in the conditions of participation or the additional information, not in the description.
    blob = "\n".join([title, description, *(lot.title for lot in body.lots),
                      *(lot.description for lot in body.lots), _all_text(record, donnees)])
    signals = scan_notice(blob)
    estimated = body.estimated_value
    if estimated is None and body.lots and all(lot.estimated_value for lot in body.lots):
        estimated = sum(lot.estimated_value or 0.0 for lot in body.lots)

    procedure = (
        _text(record.get("procedure_libelle")) if record.get("procedure_libelle") not in (
            None, "Procédure NC") else ""
    ) or _text(record.get("type_procedure")) or body.procedure

    return Tender(
        source=SOURCE,
        source_id=idweb,
        title=title,
        buyer=_text(record.get("nomacheteur")) or body.buyer,
        description=description,
        kind=kind,
        cpv_codes=cpv_codes,
        departements=_departements(record, gestion, body.nuts),
        published=published,
        deadline=deadline,
        estimated_value=estimated,
        procedure=procedure,
        lots=body.lots,
        reserved=reservation_kind(body.reserved_flag, signals),
        social_clause=body.social_flag or signals.social_clause,
        url=_text(record.get("url_avis")) or NOTICE_URL.format(idweb),
        ted_ref=normalise_ted_ref(body.ted_ref) or _find_ted_ref(
            blob, record["gestion"] if isinstance(record.get("gestion"), str)
            else "\n".join(_strings(gestion))
        ),
        refers_to=refers_to,
    )


def _all_text(record: dict, donnees: Any) -> str:
    """The notice's text values, for the word searches that read the whole notice.

    The API's `donnees` string is that text already, with keys and punctuation around it, which
    folding turns into spaces: it is read as is (ten times faster than walking the decoded tree)
    unless it holds \\u escapes, which only decoding turns back into letters.
    """
    raw = record.get("donnees")
    if isinstance(raw, str):
        if "\\" not in raw:  # no escape at all (one fast pass: a single character is looked for)
            return raw
        if "\\u" not in raw:
            # Quotes and backslashes fold to spaces; escaped line breaks would leave a stray
            # letter.
            return _LINE_ESCAPES.sub(" ", raw)
    return "\n".join(_strings(donnees))


# \n, \r and \t as JSON writes them. One regex pass (it looks for the rare backslash first) is
# several times faster than three `str.replace` over the whole notice, with the same result: the
# three never overlap and replacing one cannot form another.
_LINE_ESCAPES = re.compile(r"\\[nrt]")


def _safe_decode(record: dict, key: str) -> Any:
    try:
        return _decode(record.get(key))
    except (ValueError, TypeError) as exc:
        log.warning("BOAMP %s: %s is not JSON (%s); read without it",
                    record.get("idweb", "?"), key, exc)
        return {}


def parse_records(records: Iterable[Any]) -> tuple[list[Tender], list[tuple[str, str]]]:
    """Parse a batch; a record that fails is logged with its id and skipped, never fatal.

    Returns (tenders, skipped) where skipped holds (idweb or "?", reason).
    """
    tenders: list[Tender] = []
    skipped: list[tuple[str, str]] = []
    for record in records:
        record_id = _text(record.get("idweb")) if isinstance(record, dict) else ""
        try:
            tenders.append(parse_record(record))
        except RecordError as exc:
            reason = str(exc)
        except Exception as exc:  # one bad record must never stop the batch
            reason = f"unreadable record ({type(exc).__name__}: {exc})"
            log.exception("BOAMP record %s could not be parsed", record_id or "?")
        else:
            continue
        log.warning("BOAMP record %s skipped: %s", record_id or "?", reason)
        skipped.append((record_id or "?", reason))
    return tenders, skipped


def parse_api_answer(payload: Any) -> tuple[list[Tender], list[tuple[str, str]]]:
    """A saved API answer ({total_count, results}, or a bare list of records) -> tenders."""
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        return parse_records(payload["results"])
    if isinstance(payload, list):
        return parse_records(payload)
    raise BoampError("not a BOAMP API answer: expected {'results': [...]} or a list of records")


# --------------------------------------------------------------------------------------------
# Raw XML notices (<ANNONCE>, Boamp_v230)
# --------------------------------------------------------------------------------------------


def element_to_dict(element: Element) -> Any:
    """An element the way the API's JSON holds it (xmltodict conventions): children by tag,
    repeated tags as lists, attributes as "@name", text beside attributes or children as
    "#text", an empty element as ""."""
    children: dict[str, Any] = {f"@{name}": value for name, value in element.attrib.items()
                                if not name.startswith("{")}
    for child in element:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        value = element_to_dict(child)
        if child.tag in children:
            existing = children[child.tag]
            if isinstance(existing, list):
                existing.append(value)
            else:
                children[child.tag] = [existing, value]
        else:
            children[child.tag] = value
    text = (element.text or "").strip()
    if not children:
        return text
    if text:
        children["#text"] = text
    return children


def xml_to_record(data: bytes) -> dict[str, Any]:
    """A BOAMP XML notice -> a record with the fields the API would give (idweb, gestion,
    donnees…), so that one parser reads both. Unsafe XML (entities, external references) is
    refused by `tenders.xmlsafe`."""
    root = parse_xml_bytes(data)
    if root.tag != "ANNONCE":
        raise BoampError(f"not a BOAMP notice: root element is <{root.tag}>, not <ANNONCE>")
    gestion = element_to_dict(root.find("GESTION")) if root.find("GESTION") is not None else {}
    donnees = element_to_dict(root.find("DONNEES")) if root.find("DONNEES") is not None else {}
    gestion = gestion if isinstance(gestion, dict) else {}
    donnees = donnees if isinstance(donnees, dict) else {}
    return {
        "idweb": _text(_get(gestion, "REFERENCE", "IDWEB")),
        "dateparution": _text(_get(gestion, "INDEXATION", "DATE_PUBLICATION")),
        "datelimitereponse": _text(_get(gestion, "INDEXATION", "DATE_LIMITE_REPONSE")),
        "gestion": gestion,
        "donnees": donnees,
    }


def parse_xml(data: bytes) -> Tender:
    """A raw BOAMP XML notice -> Tender (raises BoampError, XMLError/UnsafeXMLError or
    RecordError)."""
    return parse_record(xml_to_record(data))
