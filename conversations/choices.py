"""Closed lists used by the diagnostic and the profile: value codes and their labels (msgids)."""

from __future__ import annotations

from alerts.preferences import RHYTHM_LABELS
from locales import N_
from reference import families

# Labels of the family codes of reference/families.py (which defines them and their groups).
_FAMILY_LABELS: dict[str, str] = {
    families.ASSOCIATION: N_("Association"),
    families.SCOP: N_("SCOP"),
    families.SCIC: N_("SCIC"),
    families.SIAE_ACI: N_("SIAE – ACI (workshop)"),
    families.SIAE_EI: N_("SIAE – EI (enterprise)"),
    families.SIAE_ETTI: N_("SIAE – ETTI (temp work)"),
    families.SIAE_AI: N_("SIAE – AI (intermediary)"),
    families.SIAE_EITI: N_("SIAE – EITI (independents)"),
    families.EA: N_("EA (adapted enterprise)"),
    families.ESAT: N_("ESAT"),
    families.GEIQ: N_("GEIQ"),
    families.ESUS: N_("ESUS company"),
    families.INDEPENDENT: N_("Independent / micro"),
}
# Every code, in the reference order; a code without a label fails here, at import.
FAMILIES: dict[str, str] = {code: _FAMILY_LABELS[code] for code in families.FAMILY_CODES}

HEADCOUNT: dict[str, str] = {
    "1-4": N_("1 to 4 people"),
    "5-9": N_("5 to 9 people"),
    "10-19": N_("10 to 19 people"),
    "20-49": N_("20 to 49 people"),
    "50-249": N_("50 to 249 people"),
    "250+": N_("250 people or more"),
}

TURNOVER: dict[str, str] = {
    "lt100k": N_("Under €100k"),
    "100k-500k": N_("€100k to €500k"),
    "500k-2m": N_("€500k to €2M"),
    "2m-10m": N_("€2M to €10M"),
    "gt10m": N_("Over €10M"),
}

# Largest contract the structure could take on, with the upper bound used by matching.
CAPACITY: dict[str, str] = {
    "lt40k": N_("Under €40k"),
    "40k-100k": N_("€40k to €100k"),
    "100k-250k": N_("€100k to €250k"),
    "250k-1m": N_("€250k to €1M"),
    "gt1m": N_("Over €1M"),
    "unknown": N_("I don't know"),
}
CAPACITY_MAX_VALUE: dict[str, int | None] = {
    "lt40k": 40_000, "40k-100k": 100_000, "100k-250k": 250_000, "250k-1m": 1_000_000,
    "gt1m": None, "unknown": None,
}

EXPERIENCE: dict[str, str] = {
    "never": N_("Never answered"),
    "answered": N_("Answered, never won"),
    "won_public": N_("Won public contracts"),
    "won_private": N_("Won private contracts"),
}

READINESS: dict[str, str] = {
    "urssaf": N_("URSSAF certificate"),
    "tax": N_("Tax certificate"),
    "kbis": N_("Kbis or statutes"),
    "insurance": N_("Insurance certificate"),
    "dume": N_("DUME ready"),
    "references": N_("References"),
    "esignature": N_("Electronic signature"),
    "platforms": N_("Buyer platform accounts"),
}

CONSORTIUM: dict[str, str] = {
    "lead": N_("As lead"),
    "cocontractor": N_("As co-contractor"),
    "subcontractor": N_("As subcontractor"),
    "no": N_("Not interested"),
}

RHYTHM: dict[str, str] = RHYTHM_LABELS  # the alerts' rhythms, labelled once

CHANNEL: dict[str, str] = {
    "telegram": N_("Telegram"),
    "email": N_("Email"),
    "both": N_("Both"),
}

YES_NO: dict[str, str] = {"yes": N_("Yes"), "no": N_("No")}


def family_from_company(legal_form: str | None, siae_type: str | None) -> str | None:
    """A suggestion of family from the company register (the member confirms it)."""
    if family := families.family_for_type(siae_type):
        return family
    if not legal_form:
        return None
    if legal_form.startswith("92"):
        return families.ASSOCIATION
    if legal_form in {"5458", "5558", "5658"}:  # SCOP as SARL, SA with board, SA with directorate
        return families.SCOP
    # SCIC have no code of their own ("other cooperative" 5460/5560/5660): the member picks it.
    if legal_form == "1000":
        return families.INDEPENDENT
    return None
