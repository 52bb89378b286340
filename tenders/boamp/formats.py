"""Which format a BOAMP `donnees` tree is in, and its reader."""

from __future__ import annotations

from typing import Any

from tenders.boamp.body import Body
from tenders.boamp.eforms import read_eforms
from tenders.boamp.national import read_national
from tenders.boamp.tree import cpv_codes_in
from tenders.boamp.v230 import read_v230


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



def read_body(donnees: Any) -> Body:
    """The notice content of a `donnees` tree, whatever its format."""
    name = donnees_format(donnees)
    if name == "EFORMS":
        return read_eforms(donnees)
    if name == "v230":
        return read_v230(donnees)
    if name == "unknown":
        body = Body()
        body.cpv_codes = cpv_codes_in(donnees)
        return body
    return read_national(donnees, name)
