"""eForms UBL notices (ContractNotice, ContractAwardNotice, PriorInformationNotice) -> `Tender`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element

from reference.text import fold
from tenders.model import Lot, NoticeKind, Tender
from tenders.procedure import procedure_code
from tenders.ted import SOURCE, TedParseError, notice_url
from tenders.ted.reservation import has_social_clause, reservation
from tenders.ted.values import (
    CANCEL_REASONS,
    amount,
    clean,
    cpv_list,
    deadline_at,
    departements_of,
    kind_for_notice_type,
    local_name,
    lot_number,
    parse_date,
    strip_version,
)
from tenders.ted_ref import normalise_ted_ref
from tenders.xmlsafe import parse_xml_bytes

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


def _namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _text(element: Element | None, path: str) -> str:
    found = element.find(path, NS) if element is not None else None
    return clean(found.text) if found is not None else ""


def _texts(element: Element | None, path: str) -> list[str]:
    if element is None:
        return []
    return [text for found in element.findall(path, NS) if (text := clean(found.text))]


def _in_language(elements: list[Element], notice_language: str) -> str:
    """The text in French if there is one, else in the notice's language, else the first."""
    texts = [(el.get("languageID", "").upper(), clean(el.text)) for el in elements]
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
    return ident.get("schemeName") != "LotsGroup" and not clean(ident.text).upper().startswith(
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
    return amount(found.text, found.get("currencyID")) if found is not None else None


def _periods(process: Element | None, path: str) -> list[datetime]:
    if process is None:
        return []
    found = []
    for period in process.findall(path, NS):
        moment = deadline_at(_text(period, "cbc:EndDate"), _text(period, "cbc:EndTime"))
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
        number=lot_number(_text(lot, "cbc:ID")),
        title=_lang_text(project, "cbc:Name", language),
        description=_lang_text(project, "cbc:Description", language),
        cpv_codes=cpv_list(_project_cpvs(project)),
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
        kind = NoticeKind.CANCELLATION if reasons & CANCEL_REASONS else NoticeKind.RECTIFICATION
        return kind, (strip_version(changed) if changed else None)
    kind = kind_for_notice_type(_text(root, "cbc:NoticeTypeCode"))
    refers_to = None
    if kind is NoticeKind.AWARD:
        # An award cites the notice that opened the competition, so the store can close it.
        for reference in root.findall(
            "cac:TenderingProcess/cac:NoticeDocumentReference/cbc:ID", NS
        ):
            raw = clean(reference.text)
            if reference.get("schemeName") == "ojs-notice-id":
                refers_to = normalise_ted_ref(raw) or raw
            elif raw:
                refers_to = strip_version(raw)
            if refers_to:
                break
    return kind, refers_to


def parse_eforms(data: bytes) -> Tender:
    """An eForms UBL notice (contract, award or prior information notice) -> `Tender`.

    Raises `XMLError`/`UnsafeXMLError` for bad XML and `TedParseError` for a notice that is not
    eForms or has no identifier or title.
    """
    return eforms_from_root(parse_xml_bytes(data))


def eforms_from_root(root: Element) -> Tender:
    name = local_name(root.tag)
    if name not in EFORMS_ROOTS or _namespace(root.tag) != _UBL_ROOT_NS.format(name):
        raise TedParseError(f"not an eForms notice (root element {name!r})")
    extension = root.find(_EXT, NS)
    language = _text(root, "cbc:NoticeLanguageCode") or "FRA"
    publication = extension.find("efac:Publication", NS) if extension is not None else None
    publication_number = normalise_ted_ref(
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
    published = parse_date(
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
        cpv_codes=cpv_list(_project_cpvs(project) + [c for lot in lots for c in lot.cpv_codes]),
        departements=departements_of(places or buyer_nuts),
        published=published[0] if published else None,
        deadline=min(tender_deadlines or request_deadlines, default=None),
        estimated_value=value,
        procedure=procedure_code(_text(root, "cac:TenderingProcess/cbc:ProcedureCode")),
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
        reserved=reservation({code for lot in lots for code in lot.reserved_codes}, texts),
        social_clause=any("opp" in lot.social_objectives for lot in lots)
        or has_social_clause([title, *texts]),
        url=notice_url(publication_number) if publication_number else "",
        refers_to=refers_to,
    )
