"""TED-export R2.0.9 notices (root TED_EXPORT, the format before eForms) -> `Tender`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from xml.etree.ElementTree import Element

from tenders.model import Lot, NoticeKind, Tender
from tenders.procedure import Procedure, procedure_code
from tenders.ted import SOURCE, TedParseError, notice_url
from tenders.ted.reservation import has_social_clause, reservation
from tenders.ted.values import (
    amount,
    clean,
    cpv_list,
    deadline_at,
    departements_of,
    local_name,
    parse_date,
)
from tenders.ted_ref import normalise_ted_ref
from tenders.xmlsafe import parse_xml_bytes

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
    return clean(" ".join(element.itertext()))


# Procedure elements (PT_*) -> the codes of tenders.procedure, so both formats say the same
# thing; an element not listed is read by its name.
_TED_PROCEDURES: dict[str, str] = {
    "PT_INVOLVING_NEGOTIATION": Procedure.NEGOTIATED_WITH_CALL,  # F21/F22 social regimes
    "PT_OPEN": Procedure.OPEN,
    "PT_RESTRICTED": Procedure.RESTRICTED,
    "PT_COMPETITIVE_NEGOTIATION": Procedure.NEGOTIATED_WITH_CALL,
    "PT_NEGOTIATED_WITH_PRIOR_CALL": Procedure.NEGOTIATED_WITH_CALL,
    "PT_COMPETITIVE_DIALOGUE": Procedure.COMPETITIVE_DIALOGUE,
    "PT_INNOVATION_PARTNERSHIP": Procedure.INNOVATION,
    "PT_NEGOTIATED_WITHOUT_PUBLICATION": Procedure.NEGOTIATED_WITHOUT_CALL,
    "PT_AWARD_CONTRACT_WITHOUT_CALL": Procedure.NEGOTIATED_WITHOUT_CALL,
    "PT_AWARD_CONTRACT_WITHOUT_PUBLICATION": Procedure.NEGOTIATED_WITHOUT_CALL,
    "PT_AWARD_CONTRACT_WITH_PRIOR_PUBLICATION": Procedure.NEGOTIATED_WITH_CALL,
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
    return ted_export_from_root(parse_xml_bytes(data))


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
    return clean(found.text) if found is not None else ""


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
        name = local_name(element.tag)
        if name.startswith("PT_"):
            return _TED_PROCEDURES.get(name) or procedure_code(name)
    return ""


def _ted_deadline(root: Element, procedure: Element | None) -> datetime | None:
    deadline = deadline_at(
        _xtext(procedure, "DATE_RECEIPT_TENDERS"), _xtext(procedure, "TIME_RECEIPT_TENDERS")
    )
    if deadline is None:  # the coded summary: "20190322 15:00"
        raw = _xtext(root, "CODED_DATA_SECTION/CODIF_DATA/DT_DATE_FOR_SUBMISSION")
        day, _, hour = raw.partition(" ")
        deadline = deadline_at(day, hour)
    return deadline


def _ted_kind(root: Element, form: Element) -> tuple[NoticeKind, str | None]:
    notice = _x(form, "NOTICE")
    notice_type = notice.get("TYPE", "").upper() if notice is not None else ""
    form_code = form.get("FORM", local_name(form.tag)[:3]).upper()
    kind = _TED_NOTICE_TYPES.get(notice_type) or _TED_FORMS.get(form_code, NoticeKind.OTHER)
    refers_to = None
    if kind in (NoticeKind.AWARD, NoticeKind.RECTIFICATION):
        # The earlier notice: the corrected one, or the call that an award closes.
        reference = _xtext(root, "CODED_DATA_SECTION/NOTICE_DATA/REF_NOTICE/NO_DOC_OJS")
        reference = reference or _xtext(form, "PROCEDURE/NOTICE_NUMBER_OJ")
        refers_to = normalise_ted_ref(reference)
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
                cpv_codes=cpv_list(_codes(_xall(descr, "CPV_ADDITIONAL/CPV_CODE"))),
                estimated_value=(
                    amount(value.text, value.get("CURRENCY")) if value is not None else None
                ),
                description=_paragraphs(_x(descr, "SHORT_DESCR")),
            )
        )
    return lots


def ted_export_from_root(root: Element) -> Tender:
    if local_name(root.tag) != "TED_EXPORT":
        raise TedParseError(f"not a TED-export notice (root element {local_name(root.tag)!r})")
    source_id = normalise_ted_ref(root.get("DOC_ID")) or normalise_ted_ref(
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
    published = parse_date(_xtext(root, "CODED_DATA_SECTION/REF_OJS/DATE_PUB"))

    return Tender(
        source=SOURCE,
        source_id=source_id,
        title=title,
        buyer=_xtext(form, "CONTRACTING_BODY/ADDRESS_CONTRACTING_BODY/OFFICIALNAME")
        or _xtext(root, "TRANSLATION_SECTION/ML_AA_NAMES/AA_NAME"),
        description=description,
        kind=kind,
        cpv_codes=cpv_list(cpv_codes),
        departements=departements_of(_ted_places(root, form, descriptions)),
        published=published[0] if published else None,
        deadline=_ted_deadline(root, procedure),
        estimated_value=(amount(value.text, value.get("CURRENCY")) if value is not None else None),
        procedure=_ted_procedure(procedure),
        lots=_ted_lots(obj, descriptions),
        reserved=reservation(reserved_codes, texts),
        social_clause=has_social_clause([title, *texts]),
        url=notice_url(source_id),
        refers_to=refers_to,
    )
