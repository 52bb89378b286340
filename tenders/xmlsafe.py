"""Safe parsing of XML received from outside (TED and BOAMP notices).

Notices come from public feeds or from files an operator saves; either may carry a DTD that
declares entities. An external entity (`<!ENTITY e SYSTEM "file:///etc/passwd">`) would read
local files or reach the network, and nested internal entities ("billion laughs") would exhaust
memory. Real notices never declare entities, so any entity declaration is refused before it is
expanded (defusedxml does the refusing; we only translate its exceptions into ours).

API: `parse_xml_bytes(data) -> Element`, raising `UnsafeXMLError` for entity declarations or
external references and `XMLError` for anything that is not well-formed XML.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as defused_et
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden


class XMLError(ValueError):
    """The document is not well-formed XML (or is empty)."""


class UnsafeXMLError(XMLError):
    """The document declares entities or points at an external resource; it was not expanded."""


def parse_xml_bytes(data: bytes) -> Element:
    """Parse a whole XML document and return its root element, refusing anything unsafe."""
    if not data or not data.strip():
        raise XMLError("empty document")
    try:
        # A DOCTYPE alone is harmless; entity declarations and external references are not.
        return defused_et.fromstring(
            data, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except EntitiesForbidden as exc:
        kind = "external entity" if exc.sysid or exc.pubid else "entity"
        raise UnsafeXMLError(
            f"refused: the document declares the {kind} {exc.name!r} "
            "(entities can read local files or expand into an entity bomb)"
        ) from None
    except ExternalReferenceForbidden as exc:
        raise UnsafeXMLError(
            f"refused: the document refers to an external resource {exc.sysid!r}"
        ) from None
    except DTDForbidden:  # not raised with forbid_dtd=False; kept so a change stays safe
        raise UnsafeXMLError("refused: the document carries a DTD") from None
    except ParseError as exc:
        raise XMLError(f"malformed XML: {exc}") from None
