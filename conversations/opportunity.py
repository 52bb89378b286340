"""/opportunite, an advisor posting an opportunity no bulletin carries, declared as data like the
diagnostic: the buyer (public or private), the object, CPV codes suggested from it, the
départements, the deadline, the estimated value, the contact (shown only to members who mark
interest) and a link to the documents. announcements.opportunities stores it as a tender.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerts.announcement_messages import when_text
from alerts.render import safe_url
from announcements.opportunities import Posting
from conversations.announcement import _now, _tz
from conversations.dates import parse_moment
from conversations.diagnostic import _cpv_summary, area_summary, validate_area
from conversations.questions import Answers, Choice, Invalid, Kind, Question, Services
from locales import N_, format_amount, gettext_for
from reference import cpv_search

UNKNOWN = "unknown"
NONE = "none"


def validate_words(text: str, answers: Answers, services: Services) -> str:
    text = " ".join(text.split())
    if len(text) < 3:
        raise Invalid(N_("A few words, please, for example: Mairie de Firminy."))
    return text


def cpv_choices(answers: Answers, lang: str) -> list[Choice]:
    # Searched in French, the language of the orders themselves; labelled in the advisor's.
    return [Choice(code.code, f"{code.code} {code.label(lang)}", translate=False)
            for code in cpv_search.cpv_search(answers.get("title") or "", limit=6, lang="fr")]


def validate_deadline(text: str, answers: Answers, services: Services) -> str:
    text = text.strip()
    moment = parse_moment(text if " " in text else text + " 12h00", _now(services),
                          _tz(services))
    if moment is None:
        raise Invalid(N_("Type the deadline as day/month/year and time, for example "
                         "15/03/2027 12h00."))
    if moment <= _now(services):
        raise Invalid(N_("This deadline is past. Type a date to come, for example "
                         "15/03/2027 12h00."))
    return moment.isoformat()


def validate_value(text: str, answers: Answers, services: Services) -> float | None:
    if text == UNKNOWN:
        return None
    cleaned = text.replace(" ", "").replace("\u00a0", "").replace("€", "").replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise Invalid(N_("Type an amount in euros, for example 25000, or tap “Unknown”.")) \
            from None
    if not 0 < value < 1e10:
        raise Invalid(N_("Type an amount in euros, for example 25000, or tap “Unknown”."))
    return value


def validate_documents(text: str, answers: Answers, services: Services) -> str | None:
    if text == NONE:
        return None
    if safe_url(text.strip()) is None:
        raise Invalid(N_("Type a link starting with https://, or tap “No documents”."))
    return text.strip()


def _summary_deadline(value: Any, lang: str) -> str:
    moment = datetime.fromisoformat(value)
    return when_text(moment, lang, moment.tzinfo)


def _summary_value(value: Any, lang: str) -> str:
    _ = gettext_for(lang)
    return _("unknown") if value is None else format_amount(value, lang)


def _summary_documents(value: Any, lang: str) -> str:
    _ = gettext_for(lang)
    return value or _("none")


_QUESTIONS: tuple[Question, ...] = (
    Question("buyer_kind", N_("Who buys: a public buyer or a private company?"), Kind.SINGLE,
             choices=(Choice("public", N_("Public buyer")), Choice("private", N_("Private company")))),
    Question("buyer", N_("Name of the buyer?"), Kind.TEXT, validator=validate_words,
             max_length=200),
    Question("title", N_("What is to be done? Describe the order in one sentence."),
             Kind.TEXT, validator=validate_words, max_length=400, resets=("cpv",)),
    Question("cpv", N_("Tick the CPV codes that fit (suggested from your sentence)."),
             Kind.MULTI, dynamic_choices=cpv_choices, summary=_cpv_summary,
             why=N_("They decide which structures receive it, with the words of the object.")),
    Question("departements", N_("Where? Type the département(s)."), Kind.TEXT,
             validator=validate_area, summary=area_summary, why=N_("For example: 42.")),
    Question("deadline", N_("Deadline for answers? Day and time."), Kind.TEXT,
             validator=validate_deadline, summary=_summary_deadline,
             why=N_("For example 15/03/2027 12h00.")),
    Question("value", N_("Estimated value in euros?"), Kind.SINGLE,
             choices=(Choice(UNKNOWN, N_("Unknown")),), accepts_text=True,
             validate_choices=True, validator=validate_value, summary=_summary_value),
    Question("contact", N_("Who should interested structures contact? Name, phone, email."),
             Kind.TEXT, validator=validate_words, max_length=500,
             why=N_("Only members who mark their interest see it.")),
    Question("documents", N_("A link to the documents?"), Kind.SINGLE,
             choices=(Choice(NONE, N_("No documents")),), accepts_text=True,
             validate_choices=True, validator=validate_documents, summary=_summary_documents),
)
LABELS = {"buyer_kind": N_("Buyer type"), "buyer": N_("Buyer"), "title": N_("Object"),
          "cpv": N_("CPV codes"), "departements": N_("Area"), "deadline": N_("Deadline"),
          "value": N_("Estimated value"), "contact": N_("Contact"), "documents": N_("Documents")}
QUESTIONS = tuple(replace(q, label=LABELS[q.key]) for q in _QUESTIONS)


def posting_of(answers: Answers, tz: ZoneInfo) -> Posting:
    area = answers.get("departements") or {}
    return Posting(buyer_kind=answers.get("buyer_kind") or "public",
                   buyer=answers.get("buyer") or "", title=answers.get("title") or "",
                   departements=tuple(area.get("departements") or ()),
                   deadline=datetime.fromisoformat(answers["deadline"]),
                   contact=answers.get("contact") or "",
                   cpv_codes=tuple(answers.get("cpv") or ()),
                   estimated_value=answers.get("value"),
                   documents_url=answers.get("documents"))
