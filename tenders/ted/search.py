"""Results of the TED search API v3 (`POST /v3/notices/search`, JSON) -> `Tender`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from tenders.model import Lot, NoticeKind, Tender
from tenders.procedure import procedure_code
from tenders.ted import SOURCE, TedAPIError, TedParseError, notice_url
from tenders.ted.reservation import has_social_clause, reservation
from tenders.ted.values import (
    amount,
    clean,
    cpv_list,
    deadline_at,
    departements_of,
    kind_for_notice_type,
    lot_number,
    parse_date,
)
from tenders.ted_ref import normalise_ted_ref

log = logging.getLogger(__name__)

# A result holds the requested fields only. Their shapes (seen in real answers): text fields are
# maps from ISO 639-2 language codes to a string or a list of strings ({"fra": "…"},
# {"fra": ["…"]}); coded and multi-valued fields are lists (often with repeats, one per lot);
# single values may come bare. `values_of` and `i18n_values` accept all of these.

SEARCH_FIELDS: tuple[str, ...] = (
    "publication-number",
    "publication-date",
    "notice-type",
    "notice-title",
    "title-proc",
    "description-proc",
    "buyer-name",
    "buyer-country",
    "classification-cpv",
    "place-of-performance",
    "place-of-performance-subdiv-proc",
    "place-of-performance-subdiv-lot",
    "deadline-receipt-tender-date-lot",
    "deadline-receipt-tender-time-lot",
    "estimated-value-proc",
    "estimated-value-cur-proc",
    "estimated-value-lot",
    "procedure-type",
    "identifier-lot",
    "title-lot",
    "reserved-procurement-lot",
    "social-objective-lot",
    "links",
)
_LANGUAGES = ("fra", "fr", "FRA", "eng", "en", "ENG")


def values_of(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [text for item in raw for text in values_of(item)]
    if isinstance(raw, dict):
        return [text for item in raw.values() for text in values_of(item)]
    text = clean(str(raw))
    return [text] if text else []


def i18n_values(raw: object) -> list[str]:
    """The texts of a multilingual field, French first, then English, then any language."""
    if isinstance(raw, dict):
        for lang in _LANGUAGES:
            if texts := values_of(raw.get(lang)):
                return texts
        for value in raw.values():
            if texts := values_of(value):
                return texts
        return []
    return values_of(raw)


def first_value(raw: object) -> str:
    values = i18n_values(raw)
    return values[0] if values else ""


def parse_search_result(item: dict) -> Tender:
    """One notice of a search API answer -> `Tender`; `TedParseError` when it cannot be used."""
    if not isinstance(item, dict):
        raise TedParseError("search result is not a JSON object")
    publication_number = normalise_ted_ref(first_value(item.get("publication-number")))
    if not publication_number:
        raise TedParseError("missing or malformed publication-number")
    # title-proc is the buyer's own title; notice-title is TED's "Country – CPV label – title".
    title = first_value(item.get("title-proc")) or first_value(item.get("notice-title"))
    if not title:
        raise TedParseError("missing title (title-proc and notice-title)")

    dates = values_of(item.get("deadline-receipt-tender-date-lot"))
    times = values_of(item.get("deadline-receipt-tender-time-lot"))
    # The two lists run per lot; a time is only trusted when the lists line up.
    paired = (
        zip(dates, times, strict=True) if len(times) == len(dates) else ((d, "") for d in dates)
    )
    deadlines = [moment for d, t in paired if (moment := deadline_at(d, t))]

    currency = first_value(item.get("estimated-value-cur-proc")) or None
    value = amount(first_value(item.get("estimated-value-proc")), currency)
    lot_ids = values_of(item.get("identifier-lot"))
    lot_titles = i18n_values(item.get("title-lot"))
    lot_values = values_of(item.get("estimated-value-lot"))
    lots = []
    if len(lot_ids) > 1:
        for index, lot_id in enumerate(lot_ids):
            lots.append(
                Lot(
                    number=lot_number(lot_id),
                    title=lot_titles[index] if len(lot_titles) == len(lot_ids) else "",
                    estimated_value=(
                        amount(lot_values[index], currency)
                        if len(lot_values) == len(lot_ids)
                        else None
                    ),
                )
            )
    if value is None and lots and all(lot.estimated_value is not None for lot in lots):
        value = sum(lot.estimated_value for lot in lots if lot.estimated_value is not None)

    notice_type = first_value(item.get("notice-type"))
    description = first_value(item.get("description-proc"))
    published = parse_date(first_value(item.get("publication-date")))
    nuts = (
        values_of(item.get("place-of-performance-subdiv-proc"))
        + values_of(item.get("place-of-performance-subdiv-lot"))
        + values_of(item.get("place-of-performance"))
    )
    reserved_codes = {code.lower() for code in values_of(item.get("reserved-procurement-lot"))}
    social = {code.lower() for code in values_of(item.get("social-objective-lot"))}
    return Tender(
        source=SOURCE,
        source_id=publication_number,
        title=title,
        buyer=first_value(item.get("buyer-name")),
        description=description,
        kind=kind_for_notice_type(notice_type) if notice_type else NoticeKind.OTHER,
        cpv_codes=cpv_list(values_of(item.get("classification-cpv"))),
        departements=departements_of(nuts),
        published=published[0] if published else None,
        deadline=min(deadlines, default=None),
        estimated_value=value,
        procedure=procedure_code(first_value(item.get("procedure-type"))),
        lots=lots,
        reserved=reservation(reserved_codes, [title, description]),
        social_clause="opp" in social or has_social_clause([title, description]),
        url=notice_url(publication_number),
    )


def parse_search_results(items: Iterable[dict]) -> tuple[list[Tender], list[tuple[str, str]]]:
    """Parse every result; a bad one is skipped as (publication number or "#index", reason)."""
    tenders: list[Tender] = []
    skipped: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        try:
            tenders.append(parse_search_result(item))
        except (TedParseError, ValueError, TypeError, AttributeError) as exc:
            raw_id = first_value(item.get("publication-number")) if isinstance(item, dict) else ""
            ident = raw_id or f"#{index}"
            log.warning("TED notice %s skipped: %s", ident, exc)
            skipped.append((ident, str(exc) or type(exc).__name__))
    return tenders, skipped


def parse_search_page(payload: bytes | str | dict) -> tuple[list[Tender], list[tuple[str, str]]]:
    """A whole saved API answer ({"notices": [...], "totalNoticeCount": n}) -> tenders, skipped."""
    return parse_search_results(notices_of(decode_answer(payload)))


def decode_answer(payload: bytes | str | dict) -> dict:
    if isinstance(payload, dict):
        return payload
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TedAPIError(f"malformed JSON from the TED API: {exc}") from None
    if not isinstance(data, dict):
        raise TedAPIError("unexpected TED API answer: not a JSON object")
    return data


def notices_of(data: dict) -> list:
    notices = data.get("notices")
    if notices is None:
        notices = []
    if not isinstance(notices, list):
        raise TedAPIError("unexpected TED API answer: 'notices' is not a list")
    return notices
