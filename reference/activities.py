"""Activity (NAF rev. 2) and legal-form (nature juridique) labels, and the CPV divisions an
activity code obviously points to."""

from __future__ import annotations

import re
from functools import lru_cache

from reference.tables import rows as _rows


def normalise_naf(raw: str | None) -> str | None:
    """"8130Z", "81.30z", "81.30Z" -> "81.30Z"; None when the form is wrong."""
    if not raw:
        return None
    compact = re.sub(r"[\s.]", "", raw).upper()
    match = re.fullmatch(r"(\d{2})(\d{2})([A-Z])", compact)
    return f"{match[1]}.{match[2]}{match[3]}" if match else None


@lru_cache(maxsize=1)
def _naf_labels() -> dict[str, str]:
    return {row["code"]: row["label_fr"] for row in _rows("naf_rev2.csv")}


def naf_label(code: str | None) -> str | None:
    normalised = normalise_naf(code)
    return _naf_labels().get(normalised) if normalised else None


@lru_cache(maxsize=1)
def _legal_forms() -> dict[str, str]:
    return {row["code"]: row["label_fr"] for row in _rows("natures_juridiques.csv")}


def legal_form_label(code: str | int | None) -> str | None:
    if code is None:
        return None
    return _legal_forms().get(str(code).strip().zfill(4))


# NAF prefix (division "81", group "81.2" or class "81.30") -> CPV divisions, only where the link
# is obvious; the longest matching prefix wins. Trade, manufacturing of most goods and holding
# activities are left out on purpose: the goods sold say more than the NAF code.
_NAF_TO_CPV: dict[str, tuple[str, ...]] = {
    "01": ("03000000", "77000000"),  # agriculture -> products, agricultural services
    "02": ("03000000", "77000000"),  # forestry
    "03": ("03000000",),  # fishing
    "10": ("15000000",),  # food products
    "11": ("15000000",),  # beverages
    "13": ("19000000",),  # textiles
    "14": ("18000000",),  # clothing
    "16": ("44000000", "45000000", "39000000"),  # wood, joinery
    "18": ("22000000", "79000000"),  # printing
    "31": ("39000000",),  # furniture
    "33": ("50000000",),  # repair and installation of machinery
    "35": ("09000000", "65000000"),  # energy
    "36": ("65000000",),  # water supply
    "37": ("90000000",),  # sewerage
    "38": ("90000000",),  # waste collection, treatment, recycling
    "39": ("90000000",),  # remediation
    "41": ("45000000",),  # construction of buildings
    "42": ("45000000",),  # civil engineering
    "43": ("45000000",),  # specialised construction
    "45.2": ("50000000",),  # vehicle repair
    "49": ("60000000",),  # land transport
    "50": ("60000000",),  # water transport
    "51": ("60000000",),  # air transport
    "52": ("63000000",),  # warehousing, transport support
    "53": ("64000000",),  # postal and courier
    "55": ("55000000",),  # accommodation
    "56": ("55000000",),  # catering, restaurants
    "58": ("22000000", "48000000"),  # publishing (books, software)
    "59": ("92000000",),  # film, video, sound
    "60": ("92000000",),  # broadcasting
    "61": ("64000000",),  # telecommunications
    "62": ("72000000", "48000000"),  # IT services, software
    "63": ("72000000",),  # information services
    "64": ("66000000",),  # financial services
    "65": ("66000000",),  # insurance
    "66": ("66000000",),
    "68": ("70000000",),  # real estate
    "69": ("79000000",),  # legal, accounting
    "70": ("79000000",),  # management consultancy
    "71": ("71000000",),  # architecture, engineering, testing
    "72": ("73000000",),  # research and development
    "73": ("79000000",),  # advertising, market research
    "74": ("79000000",),  # design, photography, translation
    "75": ("85000000",),  # veterinary
    "78": ("79000000",),  # employment and temporary work agencies
    "79": ("63000000",),  # travel agencies
    "80": ("79000000",),  # security
    "81.2": ("90000000",),  # cleaning
    "81.30": ("77000000",),  # landscaping
    "82": ("79000000",),  # office and business support
    "84": ("75000000",),  # public administration
    "85": ("80000000",),  # education and training
    "86": ("85000000",),  # health
    "87": ("85000000",),  # residential care
    "88": ("85000000",),  # social work without accommodation
    "90": ("92000000",),  # arts and entertainment
    "91": ("92000000",),  # libraries, museums
    "93": ("92000000",),  # sport and recreation
    "95": ("50000000",),  # repair of computers and household goods
    "96.01": ("98000000",),  # laundry
}


def naf_to_cpv_divisions(naf: str | None) -> list[str]:
    """CPV divisions an activity code obviously points to ("81.30Z" -> ["77000000"])."""
    normalised = normalise_naf(naf)
    if normalised is None:
        return []
    digits = normalised[:5]  # "81.30"
    for prefix in (digits, digits[:4], digits[:2]):
        if prefix in _NAF_TO_CPV:
            return list(_NAF_TO_CPV[prefix])
    return []
