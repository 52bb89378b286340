"""The Boamp_v230 shape of `donnees` (JOUE/MAPA/FNS notices until about 2019, and the raw XML
notices): {"IDENTITE", "OBJET": {"TITRE_MARCHE", "OBJET_COMPLET", "CPV", "LOTS"…},
"CONDITION_DELAI", "CONDITION_PARTICIPATION"…}. Paths checked against the real samples."""

from __future__ import annotations

from tenders.boamp.body import Body
from tenders.boamp.dates import parse_deadline
from tenders.boamp.tree import amount, as_list, cpv_element, get_in, lot_title, text_of, unique
from tenders.model import Lot
from tenders.procedure import procedure_code


def read_v230(donnees: dict) -> Body:
    objet = donnees.get("OBJET") or {}
    body = Body(format="v230")
    body.title = text_of(get_in(objet, "TITRE_MARCHE"))
    body.description = text_of(get_in(objet, "OBJET_COMPLET"))
    body.buyer = text_of(get_in(donnees, "IDENTITE", "DENOMINATION"))
    body.cpv_codes = cpv_element(objet.get("CPV")) if isinstance(objet, dict) else []
    lots = []
    numbered = False
    raw_lots = [lot for lot in as_list(get_in(objet, "LOTS", "LOT")) if isinstance(lot, dict)]
    for position, lot in enumerate(raw_lots, start=1):
        number = text_of(lot.get("NUM"))
        numbered = numbered or bool(number)
        description = text_of(lot.get("DESCRIPTION"))
        lots.append(Lot(
            number=number or str(position),
            title=lot_title(text_of(lot.get("INTITULE")), description),
            cpv_codes=cpv_element(lot.get("CPV")),
            estimated_value=amount(lot.get("VALEUR") or lot.get("VALEUR_ESTIMEE")),
            description=description,
        ))
    body.estimated_value = amount(
        get_in(objet, "VALEUR_ESTIMEE") or get_in(objet, "CARACTERISTIQUES", "VALEUR_ESTIMEE")
        or get_in(objet, "CARACTERISTIQUES", "VALEUR")
    )
    # The 2016 JOUE forms describe the contract in a LOT section even when it is not divided
    # (DIV_EN_LOTS/NON, or one LOT without number): that section is the tender itself.
    not_divided = "NON" in (get_in(objet, "DIV_EN_LOTS") or {})
    if len(lots) == 1 and (not_divided or not numbered):
        only = lots[0]
        body.cpv_codes = unique([*body.cpv_codes, *only.cpv_codes])
        body.estimated_value = body.estimated_value or only.estimated_value
        body.description = body.description or only.description
        lots = []
    body.lots = lots
    delays = donnees.get("CONDITION_DELAI") or {}
    body.deadline = parse_deadline(get_in(delays, "RECEPT_OFFRES")) or parse_deadline(
        get_in(delays, "RECEPT_CANDIDAT")
    )
    procedure = get_in(donnees, "PROCEDURE", "TYPE_PROCEDURE")
    if isinstance(procedure, dict) and procedure:
        code = next(iter(procedure))
        body.procedure = procedure_code(code)  # OUVERT, PROCEDURE_ADAPTE, CONCOURS…
    body.nuts = unique([
        text_of(get_in(objet, "LIEU_EXEC_LIVR", "CODE_NUTS")),
        *(text_of(lot.get("CODE_NUTS")) for lot in raw_lots),
    ])
    # MARCHE_RESERVE_OUI (with ATELIERS_PROTEGES / EMPLOIS_PROTEGES inside, or empty) is the
    # reserved-contract box of the form; PRESTATION_RESERVEE_OUI is a profession (architects).
    body.reserved_flag = any(
        isinstance(section, dict) and "MARCHE_RESERVE_OUI" in section
        for section in (donnees.get("CONDITION_PARTICIPATION"), objet, *raw_lots)
    )
    return body
