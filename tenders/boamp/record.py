"""A BOAMP API record (or the same fields built from an XML notice) -> `Tender`.

The record's flat fields (idweb, objet, nomacheteur, dateparution, datelimitereponse,
code_departement…) complete what its `donnees` say (`tenders.boamp.formats.read_body`); its
`gestion` block gives the kind of notice, the earlier notices and BOAMP's own dates.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from typing import Any

from locales import N_
from reference.cpv import normalise_cpv
from reference.geography import departement_for_nuts, normalise_departement, sort_departements
from tenders.boamp import NOTICE_URL, SOURCE, BoampError
from tenders.boamp.dates import parse_deadline, parse_published
from tenders.boamp.formats import read_body
from tenders.boamp.tree import as_list, get_in, strings_of, text_of, unique
from tenders.model import NoticeKind, Tender
from tenders.procedure import procedure_code
from tenders.signals import reservation_kind, scan_notice
from tenders.ted_ref import find_ted_ref, normalise_ted_ref

log = logging.getLogger(__name__)


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
        for item in as_list(value):
            text = text_of(item)
            if _IDWEB.match(text):
                found.append(text)
    return unique(found)


def _earlier_notices(gestion: Any) -> list[str]:
    """GESTION/MARCHE/ANNONCE_ANTERIEUR: the notices this one follows, the initial one first."""
    earlier = as_list(get_in(gestion, "MARCHE", "ANNONCE_ANTERIEUR"))
    initial = [
        text_of(get_in(item, "REFERENCE", "IDWEB"))
        for item in earlier
        if "INITIAL" in (get_in(item, "REFERENCE", "TYPE_AVIS", "STATUT") or {})
    ]
    others = [text_of(get_in(item, "REFERENCE", "IDWEB")) for item in earlier]
    return unique(initial + others)


def _statut(gestion: Any) -> str:
    value = get_in(gestion, "REFERENCE", "TYPE_AVIS", "STATUT")
    return next(iter(value), "") if isinstance(value, dict) else text_of(value)


def _nature(gestion: Any) -> str:
    value = get_in(gestion, "REFERENCE", "TYPE_AVIS", "NATURE")
    return next(iter(value), "") if isinstance(value, dict) else text_of(value)


def _departements(record: dict, gestion: Any, nuts: list[str]) -> list[str]:
    raw = (
        as_list(record.get("code_departement_prestation"))
        + as_list(record.get("code_departement"))
        + as_list(get_in(gestion, "INDEXATION", "DEP_PRESTATION"))
        + as_list(get_in(gestion, "INDEXATION", "DEP_PUBLICATION"))
    )
    codes = unique(normalise_departement(text_of(code)) for code in raw)
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
    idweb = text_of(record.get("idweb")) or text_of(get_in(gestion, "REFERENCE", "IDWEB"))
    if not idweb:
        raise RecordError(NO_ID)
    body = read_body(donnees)

    title = body.title or text_of(record.get("objet")) or text_of(
        get_in(gestion, "INDEXATION", "RESUME_OBJET")
    )
    if not title:
        raise RecordError(NO_TITLE)
    description = body.description or text_of(record.get("objet"))

    record_cpv = [
        normalise_cpv(text_of(code))
        for key in ("cpv", "code_cpv", "codes_cpv", "cpv_code")
        for code in as_list(record.get(key))
    ]
    cpv_codes = unique([*body.cpv_codes, *record_cpv])

    # The notice's own stamp first: the API's `datelimitereponse` is the same instant converted
    # to UTC, which loses the wall-clock time when BOAMP's +01:00 stamp was wrong (summer).
    deadline = (
        parse_deadline(get_in(gestion, "INDEXATION", "DATE_LIMITE_REPONSE"))
        or body.deadline
        or parse_deadline(record.get("datelimitereponse"))
    )
    published = parse_published(record.get("dateparution")) or parse_published(
        get_in(gestion, "INDEXATION", "DATE_PUBLICATION")
    )

    kind = notice_kind(
        text_of(record.get("nature")) or _nature(gestion),
        text_of(record.get("etat")),
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

    # BOAMP's label, else its enumeration, else the form's; "Procédure NC" (not communicated)
    # gives no code.
    procedure = (
        procedure_code(text_of(record.get("procedure_libelle")))
        or procedure_code(text_of(record.get("type_procedure")))
        or body.procedure
    )

    return Tender(
        source=SOURCE,
        source_id=idweb,
        title=title,
        buyer=text_of(record.get("nomacheteur")) or body.buyer,
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
        url=text_of(record.get("url_avis")) or NOTICE_URL.format(idweb),
        ted_ref=normalise_ted_ref(body.ted_ref) or find_ted_ref(
            blob, record["gestion"] if isinstance(record.get("gestion"), str)
            else "\n".join(strings_of(gestion))
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
    return "\n".join(strings_of(donnees))


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
        record_id = text_of(record.get("idweb")) if isinstance(record, dict) else ""
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
