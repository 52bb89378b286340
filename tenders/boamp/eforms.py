"""The eForms shape of `donnees`: {"EFORMS": {"ContractNotice" | "ContractAwardNotice" | …:
<eForms UBL as JSON, keys "cac:…"/"cbc:…">}}. Paths follow the eForms SDK."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from tenders.boamp.body import Body
from tenders.boamp.dates import eforms_deadline
from tenders.boamp.tree import (
    amount,
    as_list,
    cpv_codes_in,
    get_in,
    lot_title,
    text_of,
    unique,
    walk,
)
from tenders.model import Lot
from tenders.procedure import procedure_code


def _eforms_text(node: Any, *path: str) -> str:
    value = get_in(node, *path)
    items = as_list(value)
    # Several languages may be given: French first.
    for item in items:
        if isinstance(item, dict) and str(item.get("@languageID", "")).upper() == "FRA":
            return text_of(item)
    return text_of(items[0]) if items else ""


def _eforms_lot_number(lot_id: str, position: int) -> str:
    match = re.match(r"^LOT-0*(\d+)$", lot_id.strip())
    return match.group(1) if match else (lot_id.strip() or str(position))


def _eforms_codes(node: Any, listname: str) -> set[str]:
    codes = set()
    for _, key, value in walk(node):
        if key in ("cbc:TendererRequirementTypeCode", "cbc:ProcurementTypeCode"):
            for item in as_list(value):
                if isinstance(item, dict) and item.get("@listName") == listname:
                    codes.add(text_of(item).lower())
    return codes


def read_eforms(donnees: dict) -> Body:
    block = donnees.get("EFORMS") or {}
    notice = next((v for v in block.values() if isinstance(v, dict)), {}) if isinstance(
        block, dict) else {}
    body = Body(format="EFORMS")
    project = notice.get("cac:ProcurementProject") or {}
    body.title = _eforms_text(project, "cbc:Name")
    body.description = _eforms_text(project, "cbc:Description")
    body.cpv_codes = cpv_codes_in({
        "main": project.get("cac:MainCommodityClassification"),
        "more": project.get("cac:AdditionalCommodityClassification"),
    }) if isinstance(project, dict) else []
    body.estimated_value = amount(
        get_in(project, "cac:RequestedTenderTotal", "cbc:EstimatedOverallContractAmount")
    )
    code = text_of(get_in(notice, "cac:TenderingProcess", "cbc:ProcedureCode"))
    body.procedure = procedure_code(code)
    body.nuts = unique(
        text_of(item)
        for _, key, value in walk(project)
        if key == "cbc:CountrySubentityCode"
        for item in as_list(value)
    )
    body.buyer = _eforms_buyer(notice)
    deadlines: list[datetime] = []
    lots: list[Lot] = []
    lots_reserved: list[bool] = []
    social = "opp" in _eforms_codes(project, "social-objective")
    for position, raw in enumerate(as_list(notice.get("cac:ProcurementProjectLot")), start=1):
        if not isinstance(raw, dict):
            continue
        lot_project = raw.get("cac:ProcurementProject") or {}
        lot_description = _eforms_text(lot_project, "cbc:Description")
        lots.append(Lot(
            number=_eforms_lot_number(text_of(raw.get("cbc:ID")), position),
            title=lot_title(_eforms_text(lot_project, "cbc:Name"), lot_description),
            cpv_codes=cpv_codes_in(lot_project),
            estimated_value=amount(
                get_in(lot_project, "cac:RequestedTenderTotal", "cbc:EstimatedOverallContractAmount")
            ),
            description=lot_description,
        ))
        deadline = eforms_deadline(
            get_in(raw, "cac:TenderingProcess", "cac:TenderSubmissionDeadlinePeriod")
        )
        if deadline:
            deadlines.append(deadline)
        lots_reserved.append("res-ws" in _eforms_codes(raw.get("cac:TenderingTerms"),
                                                       "reserved-procurement"))
        social = social or "opp" in _eforms_codes(lot_project, "social-objective")
        body.nuts.extend(
            code for code in (
                text_of(item)
                for _, key, value in walk(lot_project)
                if key == "cbc:CountrySubentityCode"
                for item in as_list(value)
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
    for _, key, value in walk(notice):
        if key == "efbc:NoticePublicationID":
            body.ted_ref = text_of(value) or None
            break
    return body


def _eforms_buyer(notice: dict) -> str:
    """The name of the organisation the ContractingParty points at."""
    party_ids = {
        text_of(get_in(party, "cac:Party", "cac:PartyIdentification", "cbc:ID"))
        for party in as_list(notice.get("cac:ContractingParty"))
    }
    organisations = [
        item.get("efac:Company") or {}
        for _, key, value in walk(notice)
        if key == "efac:Organization"
        for item in as_list(value)
        if isinstance(item, dict)
    ]
    for company in organisations:
        if text_of(get_in(company, "cac:PartyIdentification", "cbc:ID")) in party_ids:
            return _eforms_text(company, "cac:PartyName", "cbc:Name")
    return _eforms_text(organisations[0], "cac:PartyName", "cbc:Name") if organisations else ""
