"""Readiness score (0–100) and the three next steps, from the diagnostic answers. Pure.

Score formula (documented in the README too):
- documents and tools, 80 points: URSSAF certificate 15, tax certificate 15, Kbis or statutes 10,
  insurance 10, DUME 10, references 10, electronic signature 5, buyer platform accounts 5;
- experience, 20 points: never answered 0, answered but never won 8, won private contracts 14,
  won public contracts 20.
The certificates weigh most because a missing one gets an offer rejected whatever its quality.
"""

from __future__ import annotations

from conversations.questions import Answers
from locales import N_
from reference.families import RESERVED_FAMILIES

READINESS_POINTS = {
    "urssaf": 15, "tax": 15, "kbis": 10, "insurance": 10, "dume": 10, "references": 10,
    "esignature": 5, "platforms": 5,
}
EXPERIENCE_POINTS = {"never": 0, "answered": 8, "won_private": 14, "won_public": 20}

def readiness_score(answers: Answers) -> int:
    items = set(answers.get("readiness") or [])
    score = sum(points for item, points in READINESS_POINTS.items() if item in items)
    score += EXPERIENCE_POINTS.get(answers.get("experience") or "never", 0)
    return max(0, min(100, score))


# Each rule: (condition on the answers, msgid). The first three that apply are the next steps,
# in this order: what blocks an answer outright first, then what raises the odds of winning.
def _missing(item: str):
    return lambda a: item not in (a.get("readiness") or [])


def _new_to_tenders(a: Answers) -> bool:
    return a.get("experience") in (None, "never", "answered")


def _open_to_consortium(a: Answers) -> bool:
    return any(r in (a.get("consortium") or []) for r in ("lead", "cocontractor", "subcontractor"))


NEXT_STEPS: tuple[tuple[object, str], ...] = (
    (_missing("urssaf"), N_("Get your URSSAF certificate (attestation de vigilance): it is free "
                            "on urssaf.fr and valid six months.")),
    (_missing("tax"), N_("Download your tax certificate (attestation de régularité fiscale) from "
                         "your professional space on impots.gouv.fr.")),
    (lambda a: a.get("family") in RESERVED_FAMILIES and _new_to_tenders(a),
     N_("Try a reserved contract first ♻️: only structures like yours may answer, so there is "
        "less competition.")),
    (_missing("kbis"), N_("Keep a recent Kbis extract (or your statutes for an association) "
                          "ready as a PDF.")),
    (_missing("insurance"), N_("Ask your insurer for a certificate of professional liability "
                               "insurance for the current year.")),
    (lambda a: _new_to_tenders(a) and _open_to_consortium(a),
     N_("Answer together 🤝: a groupement with a complementary structure reassures buyers. "
        "Tap “Looking for partners” on an alert.")),
    (_missing("dume"), N_("Prepare your DUME (the European single procurement document) once: "
                          "you will reuse it in every answer.")),
    (_missing("references"), N_("Gather three recent references (client, work done, amount, "
                                "contact) on one page.")),
    (_missing("esignature"), N_("Get an electronic signature certificate: some buyers require "
                                "it to sign the contract online.")),
    (_missing("platforms"), N_("Create an account on the buyer platforms of your area (for "
                               "example PLACE or your region's platform) to download tender "
                               "documents.")),
    (lambda a: a.get("capacity") in ("lt40k", "40k-100k"),
     N_("Aim at lots and contracts under €40,000: buyers may award them without a formal "
        "tender, so introduce yourself to local buyers.")),
    (lambda a: a.get("experience") == "answered",
     N_("Ask the buyer for a debriefing each time you lose: the reasons help the next answer.")),
    (lambda a: True, N_("Watch your alerts and tap “Interested” on the first tender that fits: "
                        "we will remind you of the deadline.")),
    (lambda a: True, N_("Tell an advisor about your plans with /aide: they know the local "
                        "buyers.")),
    (lambda a: True, N_("Update your profile with /profil when your trades or area change.")),
)


def next_steps(answers: Answers, count: int = 3) -> list[str]:
    """The msgids of the first `count` steps that apply."""
    return [msgid for condition, msgid in NEXT_STEPS if condition(answers)][:count]
