"""Any TED XML notice: eForms UBL or TED-export R2.0.9, chosen by the root element."""

from __future__ import annotations

from tenders.model import Tender
from tenders.ted.eforms import eforms_from_root
from tenders.ted.export import ted_export_from_root
from tenders.ted.values import local_name
from tenders.xmlsafe import parse_xml_bytes


def parse_notice(data: bytes) -> Tender:
    """Any TED XML notice: eForms UBL or TED-export R2.0.9, chosen by the root element."""
    root = parse_xml_bytes(data)
    if local_name(root.tag) == "TED_EXPORT":
        return ted_export_from_root(root)
    return eforms_from_root(root)
