"""Raw BOAMP XML notices (<ANNONCE>, schema Boamp_v230): read into the record shape the API
gives, so that one parser (`tenders.boamp.record`) reads both."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from tenders.boamp import BoampError
from tenders.boamp.record import parse_record
from tenders.boamp.tree import get_in, text_of
from tenders.model import Tender
from tenders.xmlsafe import parse_xml_bytes


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
        "idweb": text_of(get_in(gestion, "REFERENCE", "IDWEB")),
        "dateparution": text_of(get_in(gestion, "INDEXATION", "DATE_PUBLICATION")),
        "datelimitereponse": text_of(get_in(gestion, "INDEXATION", "DATE_LIMITE_REPONSE")),
        "gestion": gestion,
        "donnees": donnees,
    }


def parse_xml(data: bytes) -> Tender:
    """A raw BOAMP XML notice -> Tender (raises BoampError, XMLError/UnsafeXMLError or
    RecordError)."""
    return parse_record(xml_to_record(data))
