"""Diagnostic answers <-> stored profile: which structure columns the answers stand for (keywords,
readiness score, SIAE flag, contract ceiling), and back; saved and loaded through store.members,
which only stores the values it is given."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from alerts.outbox import TELEGRAM
from alerts.policy import INSTANT
from conversations.choices import CAPACITY_MAX_VALUE
from conversations.diagnostic import company_confirmed, keywords_from_activities, wants_email
from conversations.questions import Answers
from conversations.readiness import readiness_score
from reference.families import SIAE_FAMILIES
from store import members
from store.models import AlertPreference, Member, Structure

DEFAULT_RHYTHM = INSTANT
DEFAULT_CHANNEL = TELEGRAM


def structure_fields(answers: Answers) -> dict[str, Any]:
    """Structure columns from diagnostic answers (only the keys present)."""
    fields: dict[str, Any] = {}
    company = answers.get("company") or {}
    if "siret" in answers:
        fields["siret"] = None if answers["siret"] in (None, "none") else answers["siret"]
    if company_confirmed(answers):
        fields.update(name=company.get("name") or answers.get("name") or "",
                      legal_form=company.get("legal_form"), naf=company.get("naf"),
                      is_ess=bool(company.get("is_ess")), is_siae=bool(company.get("is_siae")),
                      siae_type=company.get("siae_type"))
    elif "name" in answers:
        fields["name"] = answers["name"]
    if "family" in answers:
        fields["family"] = answers["family"]
        if answers["family"] in SIAE_FAMILIES:
            fields["is_siae"] = True
    if "activities" in answers:
        fields["keywords"] = keywords_from_activities(answers["activities"])
    if "cpv" in answers:
        fields["cpv_codes"] = list(answers["cpv"] or [])
    if "area" in answers and answers["area"]:
        fields["all_france"] = bool(answers["area"].get("all_france"))
        fields["departements"] = list(answers["area"].get("departements") or [])
    for key, column in (("headcount", "headcount_band"), ("turnover", "turnover_band"),
                        ("experience", "experience")):
        if key in answers:
            fields[column] = answers[key]
    if "capacity" in answers:
        fields["capacity_band"] = answers["capacity"]
        fields["max_contract_value"] = CAPACITY_MAX_VALUE.get(answers["capacity"] or "")
    if "readiness" in answers:
        fields["readiness"] = list(answers["readiness"] or [])
    if "consortium" in answers:
        fields["consortium_roles"] = list(answers["consortium"] or [])
    if "readiness" in answers or "experience" in answers:
        fields["readiness_score"] = readiness_score(answers)
    return fields


def alert_email(answers: Answers) -> str | None:
    """The address alerts go to: only kept when the member chose an email channel."""
    return answers.get("email") if wants_email(answers) else None


def answers_from_profile(structure: Structure, member: Member,
                         prefs: AlertPreference | None) -> Answers:
    """The diagnostic answers a stored profile stands for (to show and edit it)."""
    answers: Answers = {
        "siret": structure.siret or "none", "name": structure.name, "family": structure.family,
        "activities": ", ".join(structure.keywords), "cpv": list(structure.cpv_codes),
        "area": {"all_france": structure.all_france,
                 "departements": list(structure.departements)},
        "headcount": structure.headcount_band, "turnover": structure.turnover_band,
        "capacity": structure.capacity_band, "experience": structure.experience,
        "readiness": list(structure.readiness), "consortium": list(structure.consortium_roles),
        "company_status": "none",
        # Given when the profile was made; the profile cannot exist without them.
        "consent": "yes", "ess_principles": "yes",
    }
    if prefs:
        answers.update(rhythm=prefs.rhythm, channel=prefs.channel)
    if member.email:
        answers["email"] = member.email
    return answers


def save_diagnostic(session: Session, *, telegram_user_id: int | None, chat_id: int | None,
                    language: str, answers: Answers,
                    consent_at: datetime | None = None,
                    member: Member | None = None) -> tuple[Structure, Member]:
    """Create (or replace) the member's structure and preferences from a completed diagnostic
    (`member`: the one it is for when it is not found by Telegram id, e.g. by email)."""
    return members.save_profile(
        session, telegram_user_id=telegram_user_id, chat_id=chat_id, language=language,
        member=member,
        fields=structure_fields(answers), consent_at=consent_at, email=alert_email(answers),
        rhythm=answers.get("rhythm") or DEFAULT_RHYTHM,
        channel=answers.get("channel") or DEFAULT_CHANNEL)


def update_profile(session: Session, member: Member, answers: Answers) -> None:
    """Apply edited answers (from /profil) to the stored profile and preferences."""
    members.update_profile(session, member, structure_fields(answers),
                           rhythm=answers.get("rhythm"), channel=answers.get("channel"),
                           email=alert_email(answers))


def load_answers(session: Session, member: Member) -> tuple[Answers, int | None]:
    """The member's stored profile as diagnostic answers, with its readiness score."""
    structure, prefs = members.profile_rows(session, member)
    return answers_from_profile(structure, member, prefs), structure.readiness_score
