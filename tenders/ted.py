"""TED (Tenders Electronic Daily, the EU journal): notices into the normalised `Tender`.

Three inputs, one output:
- eForms UBL XML notices (ContractNotice, ContractAwardNotice, PriorInformationNotice):
  `parse_eforms`;
- TED-export R2.0.9 XML notices (root TED_EXPORT, the format before eForms): `parse_ted_export`;
- results of the search API v3 (`POST /v3/notices/search`, JSON): `parse_search_result` for one,
  `parse_search_results` for a batch (bad ones skipped with a reason), `parse_search_page` for a
  saved answer.
`parse_notice` reads either XML format (it dispatches on the root element). `search_since` is the
httpx client of the search API. Parsing is pure; only `search_since` and `fetch_notice_xml` do I/O.

Choices worth knowing (each is also said where it is made):
- `source_id` is the TED publication number in canonical form, "91489-2019": the OJ S number
  without leading zeros, a dash, the year. TED writes the same number "00091489-2019" in eForms,
  "091489-2019" in TED-export and "2019/S 040-091489" in the OJ reference, and the search API
  writes "91489-2019"; `normalise_publication_number` maps all of them to one form so that a
  notice read from XML and from the API is the same tender. A notice not yet published (no
  publication number, e.g. the eForms SDK examples) falls back to its eForms notice id (a UUID).
- `refers_to`: for a change notice, the changed notice's eForms id (UUID, version suffix dropped);
  for an award notice, the earlier notice it cites (publication number, or eForms id).
- `deadline`: the earliest deadline for tenders over the lots (the first date a bidder must
  respect); when the notice only has a deadline for requests to participate (restricted and
  negotiated procedures), that one. A date without a time means the end of that day; a date or
  time without offset is Europe/Paris time (TED-export dates never carry one).
- Lots are kept only when a notice has two lots or more: eForms gives every notice at least one
  lot (LOT-0000 when it is not divided), whose data then fill the tender itself.
- `reserved`: eForms `res-ws` (participation reserved to sheltered workshops and to operators whose
  aim is the integration of disabled or disadvantaged persons) is `Reserved.BOTH`, narrowed to
  `DISABILITY` or `SIAE` when the notice's own text names only one side (L2113-12 / entreprises
  adaptées / ESAT, or L2113-13 / insertion par l'activité économique). `res-pub-ser` (reserved to
  public-service-mission organisations, directive art. 77) is not an ESS reservation: NONE.
  `reserved-execution` is *not* used: in eForms it means the execution is reserved to a
  particular profession (architects…), not to sheltered employment. Search results carry the
  codes but not the text, so a res-ws result stays BOTH (`fetch_notice_xml` gets the full text).
- `social_clause`: the eForms social objective `opp` (employment opportunities for the long-term
  unemployed, disadvantaged or disabled persons), or the words of a clause sociale / d'insertion in
  the execution conditions, award criteria or description. "insertion dans le site" is no clause.
- `departements`: from the places of performance (NUTS 2021, 2016 or 2013 codes); "anywhere" or
  "FR" is every département; a notice without any place takes its buyer's.
- Values: only amounts in euros (or without currency) are kept.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

import httpx

from reference.cpv import normalise_cpv
from reference.geography import departement_for_nuts, sort_departements
from reference.text import fold
from tenders.model import Lot, NoticeKind, Reserved, Tender
from tenders.xmlsafe import XMLError, parse_xml_bytes

log = logging.getLogger(__name__)

SOURCE = "ted"
PARIS = ZoneInfo("Europe/Paris")
NOTICE_URL = "https://ted.europa.eu/en/notice/-/detail/{}"


class TedParseError(ValueError):
    """A notice (XML or search result) that cannot become a tender; the message says why."""


class TedAPIError(RuntimeError):
    """The search API failed for good (after retries), refused the query or answered garbage."""


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------

_PUBNO = re.compile(r"^\s*0*(\d{1,8})\s*-\s*(\d{4})\s*$")
_OJS_REF = re.compile(r"^\s*(\d{4})\s*/\s*S\s*\d{1,3}\s*-\s*0*(\d{1,8})\s*$", re.IGNORECASE)
_VERSIONED_UUID = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-\d{2}$", re.IGNORECASE
)
_SPACES = re.compile(r"\s+")


def normalise_publication_number(raw: str | None) -> str | None:
    """ "00091489-2019", "091489-2019", "91489-2019" or "2019/S 040-091489" -> "91489-2019"."""
    if not raw:
        return None
    if match := _PUBNO.match(raw):
        return f"{int(match.group(1))}-{match.group(2)}"
    if match := _OJS_REF.match(raw):
        return f"{int(match.group(2))}-{match.group(1)}"
    return None


def notice_url(publication_number: str) -> str:
    return NOTICE_URL.format(publication_number)


def _strip_version(notice_id: str) -> str:
    """eForms references carry the version ("<uuid>-01"); the notice itself only the uuid."""
    match = _VERSIONED_UUID.match(notice_id.strip())
    return match.group(1) if match else notice_id.strip()


def _clean(text: str | None) -> str:
    return _SPACES.sub(" ", text or "").strip()


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _cpvs(raw_codes: Iterable[str]) -> list[str]:
    return _unique(code for raw in raw_codes if (code := normalise_cpv(raw)))


def _departements(nuts_codes: Iterable[str]) -> list[str]:
    found: list[str] = []
    for code in nuts_codes:
        code = code.strip().upper()
        # Only French NUTS; "FRA" alone is the ISO country code the search API mixes in.
        if code.startswith("FR") and code != "FRA":
            found.extend(departement_for_nuts(code))
    return sort_departements(set(found))


def _amount(text: str | None, currency: str | None) -> float | None:
    if currency and currency.strip().upper() != "EUR":
        return None
    try:
        value = float((text or "").replace(" ", "").replace(",", "."))
    except ValueError:
        return None
    return value if value > 0 else None


_DATE = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})(Z|[+-]\d{2}:?\d{2})?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def _offset(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _parse_date(text: str | None) -> tuple[date, timezone | None] | None:
    match = _DATE.match((text or "").strip())
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return day, _offset(match.group(4))


def _deadline(date_text: str | None, time_text: str | None) -> datetime | None:
    """EndDate + EndTime ("2019-03-22+01:00", "15:00:00+01:00") -> an aware datetime.

    The time's offset wins, then the date's, then Europe/Paris. No time: end of that day.
    """
    parsed = _parse_date(date_text)
    if parsed is None:
        return None
    day, tz = parsed
    moment = time(23, 59, 59)
    if time_match := _TIME.match((time_text or "").strip()):
        hour, minute = int(time_match.group(1)), int(time_match.group(2))
        second = int(time_match.group(3) or 0)
        if hour < 24 and minute < 60 and second < 60:
            moment = time(hour, minute, second)
            tz = _offset(time_match.group(4)) or tz
    return datetime.combine(day, moment, tzinfo=tz or PARIS)


def _kind_for_notice_type(code: str) -> NoticeKind:
    code = code.strip().lower()
    if code in _CALL_TYPES:
        return NoticeKind.CALL
    if code.startswith("can-"):
        return NoticeKind.AWARD
    if code == "corr":  # a corrigendum in the search API's notice types
        return NoticeKind.RECTIFICATION
    return NoticeKind.OTHER  # prior information, ex-ante transparency (veat), qualification…


# Calls for competition: contract notices, design contests, subcontracting, and prior information
# notices used as the call for competition (pin-cfc-*). qu-sy and veat stay OTHER (model.py).
_CALL_TYPES = frozenset(
    {"cn-standard", "cn-social", "cn-desg", "subco", "pin-cfc-standard", "pin-cfc-social"}
)
_CANCEL_REASONS = frozenset({"cancel", "cancel-intent"})

# Words of a social clause in French notices, matched on folded text (accents and case ignored).
_SOCIAL_CLAUSE = re.compile(
    r"\bclauses? (sociales?|d insertion)\b|\binsertion (professionnelle|sociale et professionnelle"
    r"|par l activite economique)\b|\bheures d insertion\b|\baction d insertion\b"
    r"|\bpersonnes eloignees de l emploi\b"
)
# Legal markers of the two French reservations (code de la commande publique and its sources).
_DISABILITY = re.compile(
    r"\bl ?2113 12\b|\bl ?5213 13\b|\bl ?344 2\b|\bentreprises? adaptees?\b|\besats?\b"
    r"|\betablissements? et services? d aide par le travail\b"
)
_INSERTION = re.compile(
    r"\bl ?2113 13\b|\bl ?5132 4\b|\bsiae\b|\binsertion par l activite economique\b"
    r"|\bstructures? d insertion\b"
)
_RESERVED_WORDS = re.compile(r"\breserve(e|s|es)? (a|aux)\b")


def _has_social_clause(texts: Iterable[str]) -> bool:
    return any(_SOCIAL_CLAUSE.search(fold(text)) for text in texts if text)


def _reserved(reserved_codes: set[str], texts: Iterable[str]) -> Reserved:
    """The ESS reservation of a notice from its codes (res-ws) and the words of its text."""
    folded = " ".join(fold(text) for text in texts if text)
    disability = bool(_DISABILITY.search(folded))
    insertion = bool(_INSERTION.search(folded))
    if "res-ws" not in reserved_codes:
        # Older or sloppier notices only say it in words: "le présent marché est réservé aux EA".
        if not _RESERVED_WORDS.search(folded):
            return Reserved.NONE
        if disability == insertion:
            return Reserved.BOTH if disability else Reserved.NONE
    if disability and not insertion:
        return Reserved.DISABILITY
    if insertion and not disability:
        return Reserved.SIAE
    return Reserved.BOTH


def _lot_number(raw: str) -> str:
    """ "LOT-0003" -> "3"; anything else as written."""
    match = re.match(r"^LOT-0*(\d+)$", raw.strip(), re.IGNORECASE)
    return match.group(1) if match else raw.strip()


# --------------------------------------------------------------------------------------------
# eForms UBL
# --------------------------------------------------------------------------------------------

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "ext": "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2",
    "efac": "http://data.europa.eu/p27/eforms-ubl-extension-aggregate-components/1",
    "efbc": "http://data.europa.eu/p27/eforms-ubl-extension-basic-components/1",
    "efext": "http://data.europa.eu/p27/eforms-ubl-extensions/1",
}
EFORMS_ROOTS = ("ContractNotice", "ContractAwardNotice", "PriorInformationNotice")
_UBL_ROOT_NS = "urn:oasis:names:specification:ubl:schema:xsd:{}-2"
_EXT = "ext:UBLExtensions/ext:UBLExtension/ext:ExtensionContent/efext:EformsExtension"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _text(element: Element | None, path: str) -> str:
    found = element.find(path, NS) if element is not None else None
    return _clean(found.text) if found is not None else ""


def _texts(element: Element | None, path: str) -> list[str]:
    if element is None:
        return []
    return [text for found in element.findall(path, NS) if (text := _clean(found.text))]


def _in_language(elements: list[Element], notice_language: str) -> str:
    """The text in French if there is one, else in the notice's language, else the first."""
    texts = [(el.get("languageID", "").upper(), _clean(el.text)) for el in elements]
    texts = [(lang, text) for lang, text in texts if text]
    for wanted in ("FRA", notice_language.upper()):
        for lang, text in texts:
            if lang == wanted:
                return text
    return texts[0][1] if texts else ""


def _lang_text(element: Element | None, path: str, notice_language: str) -> str:
    return _in_language(element.findall(path, NS), notice_language) if element is not None else ""


def _is_real_lot(lot: Element) -> bool:
    """Lots, not groups of lots (GLO-0001), which repeat their lots' data."""
    ident = lot.find("cbc:ID", NS)
    if ident is None:
        return False
    return ident.get("schemeName") != "LotsGroup" and not _clean(ident.text).upper().startswith(
        "GLO-"
    )


@dataclass(slots=True)
class _EformsLot:
    number: str
    title: str
    description: str
    cpv_codes: list[str]
    nuts: list[str]
    value: float | None
    tender_deadlines: list[datetime]
    request_deadlines: list[datetime]
    reserved_codes: set[str]
    social_objectives: set[str]
    texts: list[str]  # execution conditions, criteria, notes: read for clauses and reservations


def _project_cpvs(project: Element | None) -> list[str]:
    return _texts(project, "cac:MainCommodityClassification/cbc:ItemClassificationCode") + _texts(
        project, "cac:AdditionalCommodityClassification/cbc:ItemClassificationCode"
    )


_WHOLE_FRANCE = re.compile(r"\btoute la france\b|\bfrance entiere\b|\bterritoire national\b")


def _project_nuts(project: Element | None) -> list[str]:
    """NUTS codes of the places of performance; "FR" when a place is the whole country.

    eForms says "anywhere" with a region code (BT-727: anyw, anyw-eea, or anyw-cou with the
    country); some notices only write it ("Toute la France."). "FR" then stands for every
    département, as it does in TED-export notices.
    """
    if project is None:
        return []
    codes: list[str] = []
    for address in project.findall("cac:RealizedLocation/cac:Address", NS):
        codes += _texts(address, "cbc:CountrySubentityCode")
        region = _text(address, "cbc:Region").lower()
        country = _text(address, "cac:Country/cbc:IdentificationCode").upper()
        words = fold(" ".join(_texts(address, "cbc:StreetName") + _texts(address, "cbc:CityName")))
        if region in ("anyw", "anyw-eea") or (region == "anyw-cou" and country in ("", "FRA")):
            codes.append("FR")
        elif _WHOLE_FRANCE.search(words):
            codes.append("FR")
    return codes


def _project_value(project: Element | None) -> float | None:
    if project is None:
        return None
    found = project.find("cac:RequestedTenderTotal/cbc:EstimatedOverallContractAmount", NS)
    return _amount(found.text, found.get("currencyID")) if found is not None else None


def _periods(process: Element | None, path: str) -> list[datetime]:
    if process is None:
        return []
    found = []
    for period in process.findall(path, NS):
        moment = _deadline(_text(period, "cbc:EndDate"), _text(period, "cbc:EndTime"))
        if moment is not None:
            found.append(moment)
    return found


def _all_descriptions(element: Element, notice_language: str, paths: Iterable[str]) -> list[str]:
    return [
        text
        for path in paths
        for holder in element.findall(path, NS)
        if (text := _in_language(holder.findall("cbc:Description", NS), notice_language))
    ]


def _eforms_lot(lot: Element, language: str) -> _EformsLot:
    project = lot.find("cac:ProcurementProject", NS)
    terms = lot.find("cac:TenderingTerms", NS)
    process = lot.find("cac:TenderingProcess", NS)
    reserved = {
        code.lower()
        for code in _texts(
            terms,
            "cac:TendererQualificationRequest/cac:SpecificTendererRequirement/"
            "cbc:TendererRequirementTypeCode[@listName='reserved-procurement']",
        )
    }
    social = {
        code.lower()
        for code in _texts(
            project,
            "cac:ProcurementAdditionalType/cbc:ProcurementTypeCode[@listName='social-objective']",
        )
    }
    texts: list[str] = []
    if terms is not None:
        texts += _all_descriptions(
            terms,
            language,
            (
                "cac:ContractExecutionRequirement",
                "cac:TendererQualificationRequest/cac:SpecificTendererRequirement",
                "cac:AwardingTerms/cac:AwardingCriterion/cac:SubordinateAwardingCriterion",
            ),
        )
        texts += [
            _in_language(criterion.findall("cbc:Name", NS), language)
            for criterion in terms.findall(
                "cac:AwardingTerms/cac:AwardingCriterion/cac:SubordinateAwardingCriterion", NS
            )
        ]
    texts.append(_lang_text(project, "cbc:Note", language))
    texts += _texts(project, "cac:ProcurementAdditionalType/cbc:ProcurementType")
    return _EformsLot(
        number=_lot_number(_text(lot, "cbc:ID")),
        title=_lang_text(project, "cbc:Name", language),
        description=_lang_text(project, "cbc:Description", language),
        cpv_codes=_cpvs(_project_cpvs(project)),
        nuts=_project_nuts(project),
        value=_project_value(project),
        tender_deadlines=_periods(process, "cac:TenderSubmissionDeadlinePeriod"),
        request_deadlines=_periods(process, "cac:ParticipationRequestReceptionPeriod"),
        reserved_codes=reserved,
        social_objectives=social,
        texts=[text for text in texts if text],
    )


def _eforms_buyer(root: Element, extension: Element | None, language: str) -> tuple[str, list[str]]:
    """Name and NUTS code(s) of the buyer: the first contracting party (the lead one in a joint
    procurement), looked up among the notice's organisations."""
    companies: dict[str, Element] = {}
    if extension is not None:
        for company in extension.findall("efac:Organizations/efac:Organization/efac:Company", NS):
            companies.setdefault(_text(company, "cac:PartyIdentification/cbc:ID"), company)
    for party_id in _texts(root, "cac:ContractingParty/cac:Party/cac:PartyIdentification/cbc:ID"):
        company = companies.get(party_id)
        if company is None:
            continue
        name = _in_language(company.findall("cac:PartyName/cbc:Name", NS), language)
        if name:
            return name, _texts(company, "cac:PostalAddress/cbc:CountrySubentityCode")
    return "", []


def _eforms_kind(root: Element, extension: Element | None) -> tuple[NoticeKind, str | None]:
    changes = extension.find("efac:Changes", NS) if extension is not None else None
    if changes is not None:
        reasons = {r.lower() for r in _texts(changes, "efac:ChangeReason/cbc:ReasonCode")}
        changed = _text(changes, "efbc:ChangedNoticeIdentifier")
        kind = NoticeKind.CANCELLATION if reasons & _CANCEL_REASONS else NoticeKind.RECTIFICATION
        return kind, (_strip_version(changed) if changed else None)
    kind = _kind_for_notice_type(_text(root, "cbc:NoticeTypeCode"))
    refers_to = None
    if kind is NoticeKind.AWARD:
        # An award cites the notice that opened the competition, so the store can close it.
        for reference in root.findall(
            "cac:TenderingProcess/cac:NoticeDocumentReference/cbc:ID", NS
        ):
            raw = _clean(reference.text)
            if reference.get("schemeName") == "ojs-notice-id":
                refers_to = normalise_publication_number(raw) or raw
            elif raw:
                refers_to = _strip_version(raw)
            if refers_to:
                break
    return kind, refers_to


def parse_eforms(data: bytes) -> Tender:
    """An eForms UBL notice (contract, award or prior information notice) -> `Tender`.

    Raises `XMLError`/`UnsafeXMLError` for bad XML and `TedParseError` for a notice that is not
    eForms or has no identifier or title.
    """
    return _eforms_from_root(parse_xml_bytes(data))


def _eforms_from_root(root: Element) -> Tender:
    name = _local(root.tag)
    if name not in EFORMS_ROOTS or _namespace(root.tag) != _UBL_ROOT_NS.format(name):
        raise TedParseError(f"not an eForms notice (root element {name!r})")
    extension = root.find(_EXT, NS)
    language = _text(root, "cbc:NoticeLanguageCode") or "FRA"
    publication = extension.find("efac:Publication", NS) if extension is not None else None
    publication_number = normalise_publication_number(
        _text(publication, "efbc:NoticePublicationID")
    )
    source_id = publication_number or _text(root, "cbc:ID")
    if not source_id:
        raise TedParseError("eForms notice without publication number or notice id")

    project = root.find("cac:ProcurementProject", NS)
    lots = [
        _eforms_lot(lot, language)
        for lot in root.findall("cac:ProcurementProjectLot", NS)
        if _is_real_lot(lot)
    ]
    title = _lang_text(project, "cbc:Name", language)
    title = title or next((lot.title for lot in lots if lot.title), "")
    if not title:
        raise TedParseError(f"notice {source_id} has no title")
    description = _lang_text(project, "cbc:Description", language)
    description = description or next((lot.description for lot in lots if lot.description), "")

    tender_deadlines = [moment for lot in lots for moment in lot.tender_deadlines]
    request_deadlines = [moment for lot in lots for moment in lot.request_deadlines]
    value = _project_value(project)
    if value is None and lots and all(lot.value is not None for lot in lots):
        value = sum(lot.value for lot in lots if lot.value is not None)
    kind, refers_to = _eforms_kind(root, extension)
    texts = [description, _lang_text(project, "cbc:Note", language)]
    texts += [text for lot in lots for text in lot.texts]
    published = _parse_date(
        _text(publication, "efbc:PublicationDate") or _text(root, "cbc:IssueDate")
    )
    buyer, buyer_nuts = _eforms_buyer(root, extension, language)
    # Where the work is done; failing that, where the buyer is (a notice without a place of
    # performance is nearly always performed at the buyer's: a school, a town hall).
    places = _project_nuts(project) + [code for lot in lots for code in lot.nuts]

    return Tender(
        source=SOURCE,
        source_id=source_id,
        title=title,
        buyer=buyer,
        description=description,
        kind=kind,
        cpv_codes=_cpvs(_project_cpvs(project) + [c for lot in lots for c in lot.cpv_codes]),
        departements=_departements(places or buyer_nuts),
        published=published[0] if published else None,
        deadline=min(tender_deadlines or request_deadlines, default=None),
        estimated_value=value,
        procedure=_text(root, "cac:TenderingProcess/cbc:ProcedureCode"),
        lots=[
            Lot(
                number=lot.number,
                title=lot.title,
                cpv_codes=lot.cpv_codes,
                estimated_value=lot.value,
                description=lot.description,
            )
            for lot in lots
        ]
        if len(lots) > 1
        else [],
        reserved=_reserved({code for lot in lots for code in lot.reserved_codes}, texts),
        social_clause=any("opp" in lot.social_objectives for lot in lots)
        or _has_social_clause([title, *texts]),
        url=notice_url(publication_number) if publication_number else "",
        refers_to=refers_to,
    )


# --------------------------------------------------------------------------------------------
# TED-export R2.0.9 (notices published before eForms)
# --------------------------------------------------------------------------------------------
# Element names are matched whatever their namespace ("{*}"): NUTS codes come in the n2016 or
# n2021 namespaces (NUTS 2013 codes in older files), and the main namespace changes with the
# schema release.


def _x(element: Element | None, path: str) -> Element | None:
    if element is None:
        return None
    return element.find("/".join(f"{{*}}{step}" for step in path.split("/")))


def _xall(element: Element | None, path: str) -> list[Element]:
    if element is None:
        return []
    return element.findall("/".join(f"{{*}}{step}" for step in path.split("/")))


def _paragraphs(element: Element | None) -> str:
    """The text of an element made of <P> paragraphs (TITLE, SHORT_DESCR…), one line."""
    if element is None:
        return ""
    return _clean(" ".join(element.itertext()))


# Procedure elements (PT_*) -> the eForms procedure codes, so both formats say the same thing.
_TED_PROCEDURES = {
    "PT_OPEN": "open",
    "PT_RESTRICTED": "restricted",
    "PT_COMPETITIVE_NEGOTIATION": "neg-w-call",
    "PT_NEGOTIATED_WITH_PRIOR_CALL": "neg-w-call",
    "PT_COMPETITIVE_DIALOGUE": "comp-dial",
    "PT_INNOVATION_PARTNERSHIP": "innovation",
    "PT_NEGOTIATED_WITHOUT_PUBLICATION": "neg-wo-call",
    "PT_AWARD_CONTRACT_WITHOUT_CALL": "neg-wo-call",
    "PT_AWARD_CONTRACT_WITHOUT_PUBLICATION": "neg-wo-call",
    "PT_AWARD_CONTRACT_WITH_PRIOR_PUBLICATION": "neg-w-call",
}
# NOTICE TYPE attribute of the F21/F22/F23 forms.
_TED_NOTICE_TYPES = {
    "CONTRACT": NoticeKind.CALL,
    "PRI_CALL_COMPETITION": NoticeKind.CALL,
    "QUALIFICATION_SYSTEM": NoticeKind.OTHER,
    "AWARD_CONTRACT": NoticeKind.AWARD,
    "CONCESSION_AWARD_CONTRACT": NoticeKind.AWARD,
}
# Standard forms: F02/F05 contract notices, F12 design contest, F24 concession notice; F03/F06/
# F13/F25 award results; F14 corrigendum; the rest (PIN F01/F04, F07 qualification, F15 VEAT,
# F20 modification) is OTHER.
_TED_FORMS = {
    "F02": NoticeKind.CALL,
    "F05": NoticeKind.CALL,
    "F12": NoticeKind.CALL,
    "F24": NoticeKind.CALL,
    "F03": NoticeKind.AWARD,
    "F06": NoticeKind.AWARD,
    "F13": NoticeKind.AWARD,
    "F25": NoticeKind.AWARD,
    "F14": NoticeKind.RECTIFICATION,
}


def parse_ted_export(data: bytes) -> Tender:
    """A TED-export R2.0.9 notice (root TED_EXPORT) -> `Tender`. Errors as `parse_eforms`."""
    return _ted_export_from_root(parse_xml_bytes(data))


def _ted_form(root: Element) -> Element:
    forms = list(_x(root, "FORM_SECTION") or [])
    if not forms:
        raise TedParseError("TED_EXPORT notice without FORM_SECTION")
    # One form per language; the original one is the reference text.
    for form in forms:
        if form.get("CATEGORY") == "ORIGINAL":
            return form
    return forms[0]


def _xtext(element: Element | None, path: str) -> str:
    found = _x(element, path)
    return _clean(found.text) if found is not None else ""


def _codes(elements: Iterable[Element]) -> list[str]:
    return [el.get("CODE", "") for el in elements]


def _ted_places(root: Element, form: Element, descriptions: list[Element]) -> list[str]:
    """NUTS codes of the places of performance: per lot (NUTS inside OBJECT_DESCR) and in the
    notice summary (PERFORMANCE_NUTS). Without any, the buyer's (CA_CE_NUTS, or the address of
    the contracting body), as for eForms; never the winners' (TENDERER_NUTS)."""
    notice_data = _x(root, "CODED_DATA_SECTION/NOTICE_DATA")
    places = _codes(el for d in descriptions for el in _xall(d, "NUTS"))
    places += _codes(_xall(notice_data, "PERFORMANCE_NUTS"))
    return (
        places
        or _codes(_xall(notice_data, "CA_CE_NUTS"))
        or _codes(_xall(form, "CONTRACTING_BODY/ADDRESS_CONTRACTING_BODY/NUTS"))
    )


def _ted_procedure(procedure: Element | None) -> str:
    # The PT_* element may sit inside a DIRECTIVE_2014_xx_EU wrapper.
    for element in procedure.iter() if procedure is not None else ():
        name = _local(element.tag)
        if name.startswith("PT_"):
            return _TED_PROCEDURES.get(name, name[3:].lower())
    return ""


def _ted_deadline(root: Element, procedure: Element | None) -> datetime | None:
    deadline = _deadline(
        _xtext(procedure, "DATE_RECEIPT_TENDERS"), _xtext(procedure, "TIME_RECEIPT_TENDERS")
    )
    if deadline is None:  # the coded summary: "20190322 15:00"
        raw = _xtext(root, "CODED_DATA_SECTION/CODIF_DATA/DT_DATE_FOR_SUBMISSION")
        day, _, hour = raw.partition(" ")
        deadline = _deadline(day, hour)
    return deadline


def _ted_kind(root: Element, form: Element) -> tuple[NoticeKind, str | None]:
    notice = _x(form, "NOTICE")
    notice_type = notice.get("TYPE", "").upper() if notice is not None else ""
    form_code = form.get("FORM", _local(form.tag)[:3]).upper()
    kind = _TED_NOTICE_TYPES.get(notice_type) or _TED_FORMS.get(form_code, NoticeKind.OTHER)
    refers_to = None
    if kind in (NoticeKind.AWARD, NoticeKind.RECTIFICATION):
        # The earlier notice: the corrected one, or the call that an award closes.
        reference = _xtext(root, "CODED_DATA_SECTION/NOTICE_DATA/REF_NOTICE/NO_DOC_OJS")
        reference = reference or _xtext(form, "PROCEDURE/NOTICE_NUMBER_OJ")
        refers_to = normalise_publication_number(reference)
    return kind, refers_to


def _ted_lots(obj: Element | None, descriptions: list[Element]) -> list[Lot]:
    if _x(obj, "LOT_DIVISION") is None or len(descriptions) < 2:
        return []
    lots = []
    for index, descr in enumerate(descriptions, start=1):
        value = _x(descr, "VAL_OBJECT")
        lots.append(
            Lot(
                number=_xtext(descr, "LOT_NO") or str(index),
                title=_paragraphs(_x(descr, "TITLE")),
                cpv_codes=_cpvs(_codes(_xall(descr, "CPV_ADDITIONAL/CPV_CODE"))),
                estimated_value=(
                    _amount(value.text, value.get("CURRENCY")) if value is not None else None
                ),
                description=_paragraphs(_x(descr, "SHORT_DESCR")),
            )
        )
    return lots


def _ted_export_from_root(root: Element) -> Tender:
    if _local(root.tag) != "TED_EXPORT":
        raise TedParseError(f"not a TED-export notice (root element {_local(root.tag)!r})")
    source_id = normalise_publication_number(root.get("DOC_ID")) or normalise_publication_number(
        _xtext(root, "CODED_DATA_SECTION/NOTICE_DATA/NO_DOC_OJS")
    )
    if not source_id:
        raise TedParseError("TED-export notice without DOC_ID")
    form = _ted_form(root)
    obj = _x(form, "OBJECT_CONTRACT")
    descriptions = _xall(obj, "OBJECT_DESCR")

    title = _paragraphs(_x(obj, "TITLE")) or next(
        (
            _paragraphs(_x(ml, "TI_TEXT"))
            for ml in _xall(root, "TRANSLATION_SECTION/ML_TITLES/ML_TI_DOC")
            if ml.get("LG") == "FR"
        ),
        "",
    )
    if not title:
        raise TedParseError(f"notice {source_id} has no title")
    description = _paragraphs(_x(obj, "SHORT_DESCR")) or next(
        (text for d in descriptions if (text := _paragraphs(_x(d, "SHORT_DESCR")))), ""
    )
    cpv_codes = _codes(_xall(obj, "CPV_MAIN/CPV_CODE"))
    cpv_codes += _codes(el for d in descriptions for el in _xall(d, "CPV_ADDITIONAL/CPV_CODE"))
    cpv_codes += _codes(_xall(root, "CODED_DATA_SECTION/NOTICE_DATA/ORIGINAL_CPV"))
    procedure = _x(form, "PROCEDURE")
    value = _x(obj, "VAL_ESTIMATED_TOTAL")
    kind, refers_to = _ted_kind(root, form)

    lefti = _x(form, "LEFTI")
    reserved_codes = set()
    if _x(lefti, "RESTRICTED_SHELTERED_WORKSHOP") is not None or (
        _x(lefti, "RESTRICTED_SHELTERED_PROGRAM") is not None
    ):
        reserved_codes.add("res-ws")  # the reservation eForms calls res-ws
    texts = [
        description,
        _paragraphs(_x(lefti, "PERFORMANCE_CONDITIONS")),
        _paragraphs(_x(form, "COMPLEMENTARY_INFO/INFO_ADD")),
        *(_paragraphs(_x(d, "SHORT_DESCR")) for d in descriptions),
        *(_paragraphs(el) for d in descriptions for el in _xall(d, "AC/AC_QUALITY/AC_CRITERION")),
    ]
    published = _parse_date(_xtext(root, "CODED_DATA_SECTION/REF_OJS/DATE_PUB"))

    return Tender(
        source=SOURCE,
        source_id=source_id,
        title=title,
        buyer=_xtext(form, "CONTRACTING_BODY/ADDRESS_CONTRACTING_BODY/OFFICIALNAME")
        or _xtext(root, "TRANSLATION_SECTION/ML_AA_NAMES/AA_NAME"),
        description=description,
        kind=kind,
        cpv_codes=_cpvs(cpv_codes),
        departements=_departements(_ted_places(root, form, descriptions)),
        published=published[0] if published else None,
        deadline=_ted_deadline(root, procedure),
        estimated_value=(_amount(value.text, value.get("CURRENCY")) if value is not None else None),
        procedure=_ted_procedure(procedure),
        lots=_ted_lots(obj, descriptions),
        reserved=_reserved(reserved_codes, texts),
        social_clause=_has_social_clause([title, *texts]),
        url=notice_url(source_id),
        refers_to=refers_to,
    )


def parse_notice(data: bytes) -> Tender:
    """Any TED XML notice: eForms UBL or TED-export R2.0.9, chosen by the root element."""
    root = parse_xml_bytes(data)
    if _local(root.tag) == "TED_EXPORT":
        return _ted_export_from_root(root)
    return _eforms_from_root(root)


# --------------------------------------------------------------------------------------------
# Search API v3: results
# --------------------------------------------------------------------------------------------
# A result holds the requested fields only. Their shapes (seen in real answers): text fields are
# maps from ISO 639-2 language codes to a string or a list of strings ({"fra": "…"},
# {"fra": ["…"]}); coded and multi-valued fields are lists (often with repeats, one per lot);
# single values may come bare. `_values` and `_i18n` accept all of these.

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


def _values(raw: object) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, list):
        return [text for item in raw for text in _values(item)]
    if isinstance(raw, dict):
        return [text for item in raw.values() for text in _values(item)]
    text = _clean(str(raw))
    return [text] if text else []


def _i18n(raw: object) -> list[str]:
    """The texts of a multilingual field, French first, then English, then any language."""
    if isinstance(raw, dict):
        for lang in _LANGUAGES:
            if texts := _values(raw.get(lang)):
                return texts
        for value in raw.values():
            if texts := _values(value):
                return texts
        return []
    return _values(raw)


def _first(raw: object) -> str:
    values = _i18n(raw)
    return values[0] if values else ""


def parse_search_result(item: dict) -> Tender:
    """One notice of a search API answer -> `Tender`; `TedParseError` when it cannot be used."""
    if not isinstance(item, dict):
        raise TedParseError("search result is not a JSON object")
    publication_number = normalise_publication_number(_first(item.get("publication-number")))
    if not publication_number:
        raise TedParseError("missing or malformed publication-number")
    # title-proc is the buyer's own title; notice-title is TED's "Country – CPV label – title".
    title = _first(item.get("title-proc")) or _first(item.get("notice-title"))
    if not title:
        raise TedParseError("missing title (title-proc and notice-title)")

    dates = _values(item.get("deadline-receipt-tender-date-lot"))
    times = _values(item.get("deadline-receipt-tender-time-lot"))
    # The two lists run per lot; a time is only trusted when the lists line up.
    paired = (
        zip(dates, times, strict=True) if len(times) == len(dates) else ((d, "") for d in dates)
    )
    deadlines = [moment for d, t in paired if (moment := _deadline(d, t))]

    currency = _first(item.get("estimated-value-cur-proc")) or None
    value = _amount(_first(item.get("estimated-value-proc")), currency)
    lot_ids = _values(item.get("identifier-lot"))
    lot_titles = _i18n(item.get("title-lot"))
    lot_values = _values(item.get("estimated-value-lot"))
    lots = []
    if len(lot_ids) > 1:
        for index, lot_id in enumerate(lot_ids):
            lots.append(
                Lot(
                    number=_lot_number(lot_id),
                    title=lot_titles[index] if len(lot_titles) == len(lot_ids) else "",
                    estimated_value=(
                        _amount(lot_values[index], currency)
                        if len(lot_values) == len(lot_ids)
                        else None
                    ),
                )
            )
    if value is None and lots and all(lot.estimated_value is not None for lot in lots):
        value = sum(lot.estimated_value for lot in lots if lot.estimated_value is not None)

    notice_type = _first(item.get("notice-type"))
    description = _first(item.get("description-proc"))
    published = _parse_date(_first(item.get("publication-date")))
    nuts = (
        _values(item.get("place-of-performance-subdiv-proc"))
        + _values(item.get("place-of-performance-subdiv-lot"))
        + _values(item.get("place-of-performance"))
    )
    reserved_codes = {code.lower() for code in _values(item.get("reserved-procurement-lot"))}
    social = {code.lower() for code in _values(item.get("social-objective-lot"))}
    return Tender(
        source=SOURCE,
        source_id=publication_number,
        title=title,
        buyer=_first(item.get("buyer-name")),
        description=description,
        kind=_kind_for_notice_type(notice_type) if notice_type else NoticeKind.OTHER,
        cpv_codes=_cpvs(_values(item.get("classification-cpv"))),
        departements=_departements(nuts),
        published=published[0] if published else None,
        deadline=min(deadlines, default=None),
        estimated_value=value,
        procedure=_first(item.get("procedure-type")),
        lots=lots,
        reserved=_reserved(reserved_codes, [title, description]),
        social_clause="opp" in social or _has_social_clause([title, description]),
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
            raw_id = _first(item.get("publication-number")) if isinstance(item, dict) else ""
            ident = raw_id or f"#{index}"
            log.warning("TED notice %s skipped: %s", ident, exc)
            skipped.append((ident, str(exc) or type(exc).__name__))
    return tenders, skipped


def parse_search_page(payload: bytes | str | dict) -> tuple[list[Tender], list[tuple[str, str]]]:
    """A whole saved API answer ({"notices": [...], "totalNoticeCount": n}) -> tenders, skipped."""
    return parse_search_results(_notices_of(_decode(payload)))


def _decode(payload: bytes | str | dict) -> dict:
    if isinstance(payload, dict):
        return payload
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise TedAPIError(f"malformed JSON from the TED API: {exc}") from None
    if not isinstance(data, dict):
        raise TedAPIError("unexpected TED API answer: not a JSON object")
    return data


def _notices_of(data: dict) -> list:
    notices = data.get("notices")
    if notices is None:
        notices = []
    if not isinstance(notices, list):
        raise TedAPIError("unexpected TED API answer: 'notices' is not a list")
    return notices


# --------------------------------------------------------------------------------------------
# Search API v3: client
# --------------------------------------------------------------------------------------------

PAGE_SIZE = 250  # the API's maximum
PAGE_WINDOW = 15_000  # page-number mode reaches at most this many results of one query
_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def france_query(since: date) -> str:
    """Expert query: notices of French buyers published since `since`, oldest first.

    The oldest-first order lets `search_since` move its window forward by date (see there).
    """
    return (
        f"buyer-country IN (FRA) AND publication-date >= {since:%Y%m%d} "
        "SORT BY publication-date ASC"
    )


def _retry_after(response: httpx.Response) -> float | None:
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


async def _post_page(
    client: httpx.AsyncClient,
    url: str,
    body: dict,
    *,
    max_attempts: int,
    backoff: float,
    max_wait: float,
    timeout: float,
    sleep: Callable[[float], Awaitable[None]],
) -> dict:
    """One page, retried on 429 (waiting Retry-After), 5xx and network errors/timeouts."""
    last_error = ""
    for attempt in range(max_attempts):
        wait = min(max_wait, backoff * 2**attempt)
        try:
            response = await client.post(url, json=body, timeout=timeout)
        except httpx.TransportError as exc:  # timeouts, refused connections, resets
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code in _RETRY_STATUS:
                last_error = f"HTTP {response.status_code}"
                retry_after = _retry_after(response) if response.status_code == 429 else None
                if retry_after is not None:  # the server says how long; 0 means now
                    wait = min(max_wait, retry_after)
            elif response.is_error:
                raise TedAPIError(
                    f"TED API refused the request (HTTP {response.status_code}): "
                    f"{response.text[:300]}"
                )
            else:
                return _decode(response.content)
        if attempt + 1 < max_attempts:
            log.warning(
                "TED API page %s: %s; retrying in %.1f s", body.get("page"), last_error, wait
            )
            await sleep(wait)
    raise TedAPIError(f"TED API still failing after {max_attempts} attempts ({last_error})")


async def search_since(
    client: httpx.AsyncClient,
    url: str,
    since: date,
    *,
    fields: Iterable[str] = SEARCH_FIELDS,
    page_size: int = PAGE_SIZE,
    scope: str = "ALL",
    max_attempts: int = 5,
    backoff: float = 1.0,
    max_wait: float = 60.0,
    timeout: float = 60.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> AsyncIterator[dict]:
    """Yield every search result (a dict per notice) for French buyers published since `since`.

    Pages of `page_size` (≤ 250) in page-number mode, until a page is short or empty or
    `totalNoticeCount` is reached. Scope ALL, not ACTIVE: award and change notices are needed
    too (they close and update tenders). Page-number mode stops at 15,000 results per query, so
    when a query has more, the window restarts from the publication date of the last result
    (results are sorted by date; the few already seen on that day are not yielded twice).
    Raises `TedAPIError` when a page cannot be had (after retries) or is not valid JSON.
    """
    page_size = max(1, min(page_size, PAGE_SIZE))
    field_list = list(fields)
    window_start = since
    already_seen: set[str] = set()  # results of window_start's day yielded by the last window
    while True:
        last_day: date | None = None
        last_day_numbers: set[str] = set()
        page = 1
        while True:
            body = {
                "query": france_query(window_start),
                "fields": field_list,
                "limit": page_size,
                "page": page,
                "scope": scope,
                "paginationMode": "PAGE_NUMBER",
            }
            data = await _post_page(
                client,
                url,
                body,
                max_attempts=max_attempts,
                backoff=backoff,
                max_wait=max_wait,
                timeout=timeout,
                sleep=sleep,
            )
            notices = _notices_of(data)
            for item in notices:
                number, day = _number_and_day(item)
                if number and number in already_seen:
                    continue
                if day is not None and day != last_day:
                    last_day, last_day_numbers = day, set()
                if number:
                    last_day_numbers.add(number)
                yield item
            total = data.get("totalNoticeCount")
            fetched = page * page_size
            if len(notices) < page_size or (isinstance(total, int) and fetched >= total):
                return
            if fetched + page_size > PAGE_WINDOW:
                break  # this query cannot page further: move the window
            page += 1
        if last_day is None or last_day <= window_start:
            # One day alone fills the whole window: page mode cannot reach the rest.
            log.error(
                "TED API: more than %d notices from %s on; the rest is skipped",
                PAGE_WINDOW,
                window_start,
            )
            return
        window_start, already_seen = last_day, last_day_numbers


def _number_and_day(item: object) -> tuple[str | None, date | None]:
    if not isinstance(item, dict):
        return None, None
    day = _parse_date(_first(item.get("publication-date")))
    return normalise_publication_number(_first(item.get("publication-number"))), (
        day[0] if day else None
    )


async def fetch_notice_xml(
    client: httpx.AsyncClient,
    item: dict,
    *,
    timeout: float = 60.0,
) -> bytes:
    """The full XML of a search result (its links.xml), e.g. to read lots and reservations the
    search fields leave out. Pass the bytes to `parse_notice`."""
    links = item.get("links") if isinstance(item, dict) else None
    xml_links = links.get("xml") if isinstance(links, dict) else None
    url = _first(xml_links) if xml_links else ""
    if not url:
        number = normalise_publication_number(_first(item.get("publication-number")))
        if not number:
            raise TedParseError("search result without XML link or publication number")
        url = f"https://ted.europa.eu/en/notice/{number}/xml"
    response = await client.get(url, timeout=timeout)
    if response.is_error:
        raise TedAPIError(f"TED notice XML {url}: HTTP {response.status_code}")
    return response.content


__all__ = [
    "PAGE_SIZE",
    "SEARCH_FIELDS",
    "TedAPIError",
    "TedParseError",
    "XMLError",
    "fetch_notice_xml",
    "france_query",
    "normalise_publication_number",
    "notice_url",
    "parse_eforms",
    "parse_notice",
    "parse_search_page",
    "parse_search_result",
    "parse_search_results",
    "parse_ted_export",
    "search_since",
]
