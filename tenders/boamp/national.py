"""The national forms of `donnees`: {"FNSimple" | "MAPA" | "DSP" | <a new one>: {"organisme",
"initial" | "rectificatif" | …: {…}}}. Paths follow public parsers of the same API; CPV codes are
also collected wherever their keys occur, so that a path that moves does not lose them."""

from __future__ import annotations

from tenders.boamp.body import Body
from tenders.boamp.dates import parse_deadline
from tenders.boamp.tree import (
    amount,
    as_list,
    cpv_codes_in,
    first_text,
    get_in,
    lot_title,
    text_of,
    unique,
    walk,
)
from tenders.model import Lot
from tenders.procedure import procedure_code


def _national_document(block: dict) -> dict:
    """The notice inside a national form block: `initial`, `rectificatif`, `attribution`…"""
    for key in ("initial", "rectificatif", "attribution", "annulation", "modification"):
        if isinstance(block.get(key), dict):
            return block[key]
    for key, value in block.items():
        if key != "organisme" and isinstance(value, dict):
            return value
    return {}



_LOT_CONTAINERS = (
    ("lots", "lot"), ("natureMarche", "lots", "lot"), ("natureMarche", "lotsMarche"),
    ("lots",), ("description", "lots", "lot"), ("lot",),
)


def _national_lots(document: dict) -> list[Lot]:
    for path in _LOT_CONTAINERS:
        raw = get_in(document, *path)
        items = [item for item in as_list(raw) if isinstance(item, dict)]
        if not items:
            continue
        lots = []
        for position, item in enumerate(items, start=1):
            description = first_text(item, ("description",), ("descriptionLot",))
            lots.append(Lot(
                number=first_text(item, ("numero",), ("num",), ("numLot",), ("numeroLot",))
                or str(position),
                title=lot_title(
                    first_text(item, ("intitule",), ("titre",), ("intituleLot",), ("libelle",)),
                    description,
                ),
                cpv_codes=cpv_codes_in(item),
                estimated_value=amount(
                    get_in(item, "valeurEstimee", "valeur") or get_in(item, "valeurEstimee")
                    or get_in(item, "montant")
                ),
                description=description,
            ))
        return lots
    return []


def read_national(donnees: dict, name: str) -> Body:
    block = donnees.get(name) or {}
    document = _national_document(block) if isinstance(block, dict) else {}
    body = Body(format=name)
    body.title = first_text(
        document, ("natureMarche", "intitule"), ("description", "objet"),
        ("descriptionMarche", "titreMarche"), ("objet",), ("intitule",),
    )
    body.description = first_text(
        document, ("natureMarche", "description"), ("caracteristiques", "principales"),
        ("descriptionMarche", "description"), ("description", "description"),
    )
    body.buyer = first_text(block, ("organisme", "nomOfficiel"), ("organisme", "nom"))
    body.lots = _national_lots(document)
    lot_codes = {code for lot in body.lots for code in lot.cpv_codes}
    all_codes = cpv_codes_in(document)
    main = cpv_codes_in(get_in(document, "natureMarche", "codeCPV")) or cpv_codes_in(
        get_in(document, "description", "CPV")
    )
    # The main classification, else every code that is not only a lot's.
    body.cpv_codes = main or [code for code in all_codes if code not in lot_codes]
    body.estimated_value = amount(
        get_in(document, "natureMarche", "valeurEstimee", "valeur")
        or get_in(document, "natureMarche", "valeurEstimee", "fourchette", "valeurHaute")
    )
    body.deadline = parse_deadline(
        first_text(document, ("procedure", "dateReceptionOffres"),
                    ("delai", "dateReceptionOffres"), ("delais", "receptionOffres"),
                    ("conditionsDelais", "receptionOffres"),
                    ("procedure", "dateReceptionCandidatures"))
    )
    body.procedure = procedure_code(first_text(document, ("procedure", "typeProcedure"),
                                               ("procedure", "libelleProcedure")))
    body.nuts = unique(
        text_of(value) for _, key, value in walk(document) if key in ("codeNuts", "codeNUTS")
    )
    # The national forms' "reserved contract" box (e.g. marcheReserve / reserveAtelier…): any key
    # that speaks of reservation with a positive value. A profession reservation
    # (prestationReservee) is not an ESS reservation.
    for _, key, value in walk(document):
        lowered = key.lower()
        if "reserv" in lowered and "prestation" not in lowered and not lowered.endswith("non"):
            text = text_of(value).lower() if not isinstance(value, dict | list) else "oui"
            if text in ("", "oui", "true", "1", "yes") and value not in (None, False):
                body.reserved_flag = True
    return body
