"""The guided diagnostic, declared once as data. The Telegram flow, the terminal demo and the
email channel all walk these same questions."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siret as stdnum_siret

from conversations import choices as C
from conversations.company_lookup import LookupUnavailable
from conversations.questions import Answers, Choice, Invalid, Kind, Question, Services
from locales import N_, gettext_for
from reference import activities, cpv, cpv_search, geography
from reference.text import phrases

MAX_NAME = 200
MAX_ACTIVITIES = 300
MAX_AREA = 300
ALL_FRANCE = "__all__"


def _choices(table: dict[str, str]) -> tuple[Choice, ...]:
    return tuple(Choice(value, label) for value, label in table.items())


def _too_long(text: str, limit: int) -> None:
    if len(text) > limit:
        raise Invalid(
            N_("Your answer is too long ({length} characters): {limit} at most, please."),
            length=len(text), limit=limit,
        )


# --- SIRET -------------------------------------------------------------------------------------

def validate_siret(text: str, answers: Answers, services: Services) -> str:
    if text == "none":
        return "none"
    digits = re.sub(r"[\s.\-]", "", text)
    _too_long(digits, 40)
    try:
        return stdnum_siret.validate(digits)
    except StdnumError:
        raise Invalid(
            N_("This SIRET is not valid. It has 14 digits, for example 800 329 849 00023 "
               "(you will find it on your Kbis or an URSSAF letter). Type it again, or tap "
               "“No SIRET yet”.")
        ) from None


async def enrich_siret(value: str, answers: Answers, services: Services) -> Answers:
    if value == "none" or services.company_lookup is None:
        return {"company": None, "company_status": "none" if value == "none" else "unavailable"}
    try:
        info = await services.company_lookup.lookup(value)
    except LookupUnavailable:
        return {"company": None, "company_status": "unavailable"}
    if info is None:
        return {"company": None, "company_status": "unknown"}
    return {"company": {
        "name": info.name, "legal_form": info.legal_form, "naf": info.naf,
        "departement": info.departement, "is_ess": info.is_ess, "is_siae": info.is_siae,
        "siae_type": info.siae_type, "is_association": info.is_association,
    }, "company_status": "found"}


def _siret_summary(value: Any, lang: str) -> str:
    _ = gettext_for(lang)
    return _("none yet") if value == "none" else value


def _siret_details(answers: Answers, lang: str) -> list[str]:
    _ = gettext_for(lang)
    status = answers.get("company_status")
    if status == "unavailable" and answers.get("siret") not in (None, "none"):
        return [_("The company register did not answer: we go on by hand.")]
    if status == "unknown":
        return [_("This SIRET is not in the company register: we go on by hand.")]
    return []


def _company_details(answers: Answers, lang: str) -> list[str]:
    _ = gettext_for(lang)
    company = answers.get("company") or {}
    lines = [_("Name: {name}").format(name=company.get("name") or "—")]
    if company.get("legal_form"):
        label = activities.legal_form_label(company["legal_form"]) or company["legal_form"]
        lines.append(_("Legal form: {label}").format(label=label))
    if company.get("naf"):
        label = activities.naf_label(company["naf"]) or ""
        lines.append(_("Activity (NAF): {code} {label}").format(code=company["naf"], label=label))
    dep = geography.departement(company.get("departement") or "")
    if dep:
        lines.append(_("Département: {name} ({code})").format(name=dep.name, code=dep.code))
    flags = [flag for flag, on in ((_("ESS"), company.get("is_ess")),
                                   (_("SIAE"), company.get("is_siae"))) if on]
    if flags:
        lines.append(_("Listed as: {flags}").format(flags=", ".join(flags)))
    return lines


def company_confirmed(answers: Answers) -> bool:
    return answers.get("company_status") == "found" and answers.get("company_ok") == "yes"


def name_needed(answers: Answers) -> bool:
    """The name is asked when no company was found, or the one found is not theirs; while the
    member has not said, it is not counted (so the counter keeps its total: "Is it yours?"
    takes the place of the name)."""
    return answers.get("company_status") != "found" or answers.get("company_ok") == "no"


# --- family ------------------------------------------------------------------------------------

def _family_details(answers: Answers, lang: str) -> list[str]:
    _ = gettext_for(lang)
    company = answers.get("company") or {}
    if not company_confirmed(answers):
        return []
    suggestion = C.family_from_company(company.get("legal_form"), company.get("siae_type"))
    if suggestion:
        return [_("The register suggests: {family}").format(family=_(C.FAMILIES[suggestion]))]
    return []


# --- activities and CPV --------------------------------------------------------------------------

def validate_activities(text: str, answers: Answers, services: Services) -> str:
    _too_long(text, MAX_ACTIVITIES)
    words = re.findall(r"\w{3,}", text)
    if not words:
        raise Invalid(N_("Describe your trades in a few words, for example: "
                         "“entretien d'espaces verts, nettoyage de locaux”."))
    return " ".join(text.split())


def keywords_from_activities(text: str) -> list[str]:
    """The member's own words, kept as matching keywords: one per part of the description
    (`reference.text.phrases`: commas, semicolons, “et”/“and”…)."""
    seen: list[str] = []
    for part in phrases(text or ""):
        words = " ".join(part.split()).strip(" .-'’").lower()
        if len(words) >= 3 and words not in seen:
            seen.append(words[:60])
    return seen[:10]


CPV_QUERY = "cpv_query"  # the word the member typed on the CPV step to search again
MAX_CPV_QUERY = 100


def cpv_query(answers: Answers) -> str:
    return answers.get(CPV_QUERY) or answers.get("activities") or ""


def _cpv_label(code: str, lang: str) -> str:
    found = cpv.cpv_get(code)
    return f"{code} {found.label(lang)}" if found else code


def cpv_choices(answers: Answers, lang: str) -> list[Choice]:
    """The codes the member's words support, in the member's language, after those already
    ticked (a new search keeps them)."""
    ticked = [code for code in answers.get("cpv") or [] if cpv.cpv_get(code)]
    found = [code.code for code in cpv_search.cpv_search(cpv_query(answers), limit=5)]
    return [Choice(code, _cpv_label(code, lang), translate=False)
            for code in dict.fromkeys(ticked + found)]


def _cpv_details(answers: Answers, lang: str) -> list[str]:
    _ = gettext_for(lang)
    query = cpv_query(answers)
    if not cpv_search.cpv_search(query, limit=5):
        # No suggestion is better than a wrong one: say so, and how to go on.
        return [_("I found no category of public contracts for “{words}”.").format(
                    words=query[:MAX_CPV_QUERY]),
                _("Type a word for your trade to search again (for example “nettoyage”), or "
                  "tap “Keywords only”: your own words are kept as keywords for the alerts.")]
    if answers.get(CPV_QUERY):
        return [_("Categories for “{words}”:").format(words=answers[CPV_QUERY])]
    return []


def _cpv_summary(value: Any, lang: str) -> str:
    labels = [_cpv_label(code, lang) for code in value or []]
    _ = gettext_for(lang)
    return "; ".join(labels) if labels else _("none (your keywords only)")


# --- area --------------------------------------------------------------------------------------

def validate_area(text: str, answers: Answers, services: Services) -> dict:
    _too_long(text, MAX_AREA)
    if text == ALL_FRANCE:
        return {"all_france": True, "departements": []}
    parsed = geography.parse_area(text)
    if parsed.unknown:
        token, suggestions = parsed.unknown[0]
        if suggestions:
            raise Invalid(N_("I don't know “{token}”. Did you mean {suggestions}? Type the "
                             "départements again, for example: 42, 43, Rhône."),
                          token=token[:50], suggestions=", ".join(suggestions))
        raise Invalid(N_("I don't know “{token}”. Type département numbers or names, or a "
                         "region, for example: 42, 43, Rhône."), token=token[:50])
    if not parsed.all_france and not parsed.departements:
        raise Invalid(N_("Type at least one département or region, for example: 42, 43, Rhône."))
    return {"all_france": parsed.all_france, "departements": parsed.departements}


def area_choices(answers: Answers, lang: str) -> list[Choice]:
    _ = gettext_for(lang)
    options = [Choice(ALL_FRANCE, _("All of France"), translate=False)]
    company = answers.get("company") or {}
    dep = geography.departement(company.get("departement") or "") if company_confirmed(
        answers) else None
    if dep:
        options.insert(0, Choice(dep.code, f"📍 {dep.name} ({dep.code})", translate=False))
    return options


def area_summary(value: Any, lang: str) -> str:
    _ = gettext_for(lang)
    if not value:
        return "—"
    if value.get("all_france"):
        return _("All of France")
    names = []
    for code in value.get("departements", []):
        dep = geography.departement(code)
        names.append(f"{dep.name} ({code})" if dep else code)
    return ", ".join(names)


# --- email -------------------------------------------------------------------------------------

EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                      r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


def is_email_address(text: str) -> bool:
    return bool(EMAIL_RE.match(text)) and ".." not in text


def validate_email(text: str, answers: Answers, services: Services) -> str:
    address = text.strip()
    _too_long(address, 254)
    if not is_email_address(address):
        raise Invalid(N_("This email address does not look right. Type it again, for example: "
                         "contact@mon-association.fr"))
    return address.lower()


def validate_name(text: str, answers: Answers, services: Services) -> str:
    name = " ".join(text.split())
    _too_long(name, MAX_NAME)
    if len(name) < 2:
        raise Invalid(N_("Type the name of your structure, for example: Les Jardins de Cocagne."))
    return name


def wants_email(answers: Answers) -> bool:
    return answers.get("channel") in ("email", "both")


_QUESTIONS: tuple[Question, ...] = (
    Question(
        "consent", N_("Welcome to Centrale! I will ask you about fifteen short questions about "
                      "your structure, so that we can send you the tenders that fit it and tell "
                      "you what to do next. Do you agree that we store your structure's answers "
                      "for this purpose? You can see or delete them at any time (/mesdonnees, "
                      "/supprimer)."),
        Kind.SINGLE, choices=(Choice("yes", N_("I agree")), Choice("no", N_("No thanks"))),
        stop_on={"no": N_("Understood: nothing has been stored. You can come back at any time "
                          "with /start.")},
        in_summary=False,
    ),
    Question(
        "siret", N_("What is your structure's SIRET number?"), Kind.SINGLE,
        choices=(Choice("none", N_("No SIRET yet")),), accepts_text=True, validate_choices=True,
        validator=validate_siret, enrich=enrich_siret, resets=("company_ok",),
        why=N_("With it, I fill in your name, legal form and activity from the public register."),
        summary=_siret_summary,
    ),
    Question(
        "company_ok", N_("I found this structure. Is it yours?"), Kind.SINGLE,
        choices=(Choice("yes", N_("Yes, that's us")), Choice("no", N_("No, let me type"))),
        condition=lambda a: a.get("company_status") == "found", details=_company_details,
        in_summary=False,
    ),
    Question(
        "name", N_("What is the name of your structure?"), Kind.TEXT, validator=validate_name,
        condition=name_needed, details=_siret_details,
    ),
    Question(
        "family", N_("What kind of structure are you?"), Kind.SINGLE,
        choices=_choices(C.FAMILIES), details=_family_details,
    ),
    Question(
        "ess_principles", N_("Centrale is open to structures whose work follows the principles "
                             "of the social and solidarity economy: a social purpose, limited "
                             "profit and democratic governance. Is that your case?"),
        Kind.SINGLE, choices=_choices(C.YES_NO),
        stop_on={"no": N_("Centrale is reserved to structures that follow ESS principles, so I "
                          "stop here and nothing has been stored. An advisor can tell you more: "
                          "/aide.")},
        in_summary=False,
    ),
    Question(
        "activities", N_("What are your trades? Describe them in a few words."), Kind.TEXT,
        validator=validate_activities, max_length=MAX_ACTIVITIES,
        why=N_("For example: “entretien d'espaces verts, nettoyage de locaux, traiteur”. "
               "Your words are also kept as keywords for the alerts."),
    ),
    Question(
        "cpv", N_("Tick the categories of public contracts (CPV codes) that fit your trades."),
        Kind.MULTI, dynamic_choices=cpv_choices, summary=_cpv_summary, details=_cpv_details,
        search_key=CPV_QUERY, max_length=MAX_CPV_QUERY,
        done_empty_label=N_("Keywords only ➡️"),
        why=N_("Buyers classify each tender with these codes. None fits? Type a word to search "
               "again, or tap “Keywords only”: your keywords will do."),
    ),
    Question(
        "area", N_("Where can you work? Type départements (numbers or names) or regions."),
        Kind.SINGLE, accepts_text=True, validate_choices=True, validator=validate_area,
        dynamic_choices=area_choices, summary=area_summary, max_length=MAX_AREA,
        why=N_("For example: “42, 43, Rhône” or “Auvergne-Rhône-Alpes”."),
    ),
    Question(
        "headcount", N_("How many people work in your structure, people in insertion included?"),
        Kind.SINGLE, choices=_choices(C.HEADCOUNT),
    ),
    Question(
        "turnover", N_("What is your annual turnover?"), Kind.SINGLE,
        choices=_choices(C.TURNOVER), optional=True,
    ),
    Question(
        "capacity", N_("What is the largest contract you could take on?"), Kind.SINGLE,
        choices=_choices(C.CAPACITY),
        why=N_("So that I don't send you tenders far too big for you. You can change it later."),
    ),
    Question(
        "experience", N_("Have you already answered a tender?"), Kind.SINGLE,
        choices=_choices(C.EXPERIENCE),
    ),
    Question(
        "readiness", N_("Which of these documents and tools do you already have? Tick them."),
        Kind.MULTI, choices=_choices(C.READINESS),
        why=N_("Buyers ask for them in every answer. DUME: the European single procurement "
               "document."),
    ),
    Question(
        "consortium", N_("Would you answer a tender together with other structures "
                         "(a groupement)?"),
        Kind.MULTI, choices=_choices(C.CONSORTIUM), exclusive="no", min_selected=1,
        why=N_("The lead (mandataire) represents the group before the buyer; co-contractors "
               "share the work; a subcontractor works for a member."),
    ),
    Question(
        "rhythm", N_("How often do you want to receive the tenders that fit you?"), Kind.SINGLE,
        choices=_choices(C.RHYTHM),
    ),
    Question(
        "channel", N_("Where should the alerts go?"), Kind.SINGLE, choices=_choices(C.CHANNEL),
    ),
    Question(
        "email", N_("What email address should receive them?"), Kind.TEXT,
        validator=validate_email, condition=wants_email, max_length=254,
    ),
)

# Short names of the answers, for the summary and /profil.
LABELS: dict[str, str] = {
    "siret": N_("SIRET"), "name": N_("Name"), "family": N_("Kind of structure"),
    "activities": N_("Trades"), "cpv": N_("CPV codes"), "area": N_("Area"),
    "headcount": N_("Headcount"), "turnover": N_("Turnover"), "capacity": N_("Largest contract"),
    "experience": N_("Experience"), "readiness": N_("Documents ready"),
    "consortium": N_("Consortia"), "rhythm": N_("Alert rhythm"), "channel": N_("Alert channel"),
    "email": N_("Email"),
}

QUESTIONS: tuple[Question, ...] = tuple(replace(q, label=LABELS.get(q.key, "")) for q in _QUESTIONS)
QUESTIONS_BY_KEY = {q.key: q for q in QUESTIONS}
