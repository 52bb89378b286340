"""Members and their structures: create from the diagnostic, read back, export, erase."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from store.models import AlertPreference, BotState, Member, Role, Structure, utcnow


def member_by_telegram(session: Session, telegram_user_id: int) -> Member | None:
    return session.exec(select(Member).where(Member.telegram_user_id == telegram_user_id)).first()


def member_by_email(session: Session, address: str) -> Member | None:
    """The (first) member with this email address, case ignored."""
    from sqlalchemy import func

    return session.exec(select(Member).where(func.lower(Member.email) == address.lower())
                        .order_by(Member.id)).first()


def structure_fields(answers: dict[str, Any]) -> dict[str, Any]:
    """Structure columns from diagnostic answers (only the keys present)."""
    from conversations.choices import CAPACITY_MAX_VALUE, SIAE_TYPES
    from conversations.diagnostic import keywords_from_activities
    from conversations.readiness import readiness_score

    fields: dict[str, Any] = {}
    company = answers.get("company") or {}
    confirmed = answers.get("company_status") == "found" and answers.get("company_ok") == "yes"
    if "siret" in answers:
        fields["siret"] = None if answers["siret"] in (None, "none") else answers["siret"]
    if confirmed:
        fields.update(name=company.get("name") or answers.get("name") or "",
                      legal_form=company.get("legal_form"), naf=company.get("naf"),
                      is_ess=bool(company.get("is_ess")), is_siae=bool(company.get("is_siae")),
                      siae_type=company.get("siae_type"))
    elif "name" in answers:
        fields["name"] = answers["name"]
    if "family" in answers:
        fields["family"] = answers["family"]
        if answers["family"] in set(SIAE_TYPES.values()) - {"ea", "esat"}:
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


def answers_from_profile(structure: Structure, member: Member,
                         prefs: AlertPreference | None) -> dict[str, Any]:
    """The diagnostic answers a stored profile stands for (to show and edit it)."""
    answers: dict[str, Any] = {
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
                    language: str, answers: dict[str, Any],
                    consent_at: datetime | None = None,
                    member: Member | None = None) -> tuple[Structure, Member]:
    """Create (or replace) the member's structure and preferences from a completed diagnostic
    (`member`: the one it is for when it is not found by Telegram id, e.g. by email)."""
    if member is None and telegram_user_id:
        member = member_by_telegram(session, telegram_user_id)
    fields = structure_fields(answers)
    structure = None
    if fields.get("siret"):
        structure = session.exec(select(Structure).where(Structure.siret == fields["siret"])).first()
    if structure is None and member and member.structure_id:
        structure = session.get(Structure, member.structure_id)
    if structure is None:
        structure = Structure(name=fields.get("name") or "")
    for column, value in fields.items():
        setattr(structure, column, value)
    structure.updated_at = utcnow()
    session.add(structure)
    session.flush()
    if member is None:
        member = Member(telegram_user_id=telegram_user_id, telegram_chat_id=chat_id)
    member.structure_id = structure.id
    member.language = language
    member.consent_data_at = consent_at or utcnow()
    member.telegram_active = True
    email = answers.get("email") if answers.get("channel") in ("email", "both") else None
    if email:
        member.email = email
        member.consent_email_at = member.consent_email_at or utcnow()
    session.add(member)
    session.flush()
    prefs = session.exec(select(AlertPreference).where(
        AlertPreference.member_id == member.id)).first() or AlertPreference(member_id=member.id)
    prefs.rhythm = answers.get("rhythm") or "instant"
    prefs.channel = answers.get("channel") or "telegram"
    session.add(prefs)
    return structure, member


def update_profile(session: Session, member: Member, answers: dict[str, Any]) -> None:
    """Apply edited answers (from /profil) to the stored profile and preferences."""
    structure = session.get(Structure, member.structure_id) if member.structure_id else None
    if structure is not None:
        for column, value in structure_fields(answers).items():
            setattr(structure, column, value)
        structure.updated_at = utcnow()
        session.add(structure)
    prefs = session.exec(select(AlertPreference).where(
        AlertPreference.member_id == member.id)).first() or AlertPreference(member_id=member.id)
    prefs.rhythm = answers.get("rhythm") or prefs.rhythm
    prefs.channel = answers.get("channel") or prefs.channel
    session.add(prefs)
    email = answers.get("email") if answers.get("channel") in ("email", "both") else None
    if email and email != member.email:
        member.email = email
        member.consent_email_at = utcnow()
    session.add(member)


def set_language(session: Session, telegram_user_id: int, language: str) -> None:
    member = member_by_telegram(session, telegram_user_id)
    if member:
        member.language = language
        session.add(member)


def export_member(session: Session, member: Member) -> dict[str, Any]:
    """Every piece of personal data stored about a member, as one JSON-ready document."""
    def row(obj) -> dict[str, Any]:
        return json.loads(obj.model_dump_json()) if obj is not None else None

    structure = session.get(Structure, member.structure_id) if member.structure_id else None
    prefs = session.exec(select(AlertPreference).where(
        AlertPreference.member_id == member.id)).first()
    return {"member": row(member), "structure": row(structure), "alert_preferences": row(prefs),
            "exported_at": utcnow().isoformat()}


def delete_member(session: Session, member: Member) -> bool:
    """Erase a member, its preferences and its bot state; the structure too when no member is
    left. Returns True when the structure was erased."""
    structure_id = member.structure_id
    user_id = member.telegram_user_id
    _delete_referencing(session, "members", member.id)
    session.delete(member)
    session.flush()
    if user_id is not None:
        erase_bot_state(session, user_id)
    if structure_id is None:
        return False
    others = session.exec(select(Member).where(Member.structure_id == structure_id)).first()
    if others is None:
        structure = session.get(Structure, structure_id)
        if structure is not None:
            _delete_referencing(session, "structures", structure_id)
            session.delete(structure)
        return True
    return False


def erase_bot_state(session: Session, telegram_user_id: int) -> None:
    """Drop the user's PTB state: user data and any conversation keyed by its id."""
    import json

    uid = str(telegram_user_id)
    session.exec(delete(BotState).where(BotState.kind.in_(["user_data", "chat_data"]),
                                        BotState.key == uid))
    conversations = session.exec(select(BotState).where(BotState.kind.startswith("conv:")))
    for state in conversations:
        if telegram_user_id in json.loads(state.key):
            session.delete(state)


def _delete_referencing(session: Session, table_name: str, row_id: int) -> None:
    """Delete the rows of every table that points at `table_name.id` (alert preferences,
    matches, deliveries…), so that erasing a member leaves nothing behind whatever table a later
    feature adds."""
    from store.db import all_metadata

    for table in reversed(all_metadata().sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name == table_name and fk.column.name == "id":
                session.exec(delete(table).where(fk.parent == row_id))


def load_answers(session: Session, member: Member) -> tuple[dict[str, Any], int | None]:
    """The member's stored profile as diagnostic answers, with its readiness score."""
    structure = session.get(Structure, member.structure_id)
    prefs = session.exec(select(AlertPreference).where(
        AlertPreference.member_id == member.id)).first()
    return answers_from_profile(structure, member, prefs), structure.readiness_score


def seed_advisors(session: Session, telegram_ids: Iterable[int], emails: Iterable[str]) -> int:
    """Give the advisor role to the members with these Telegram ids or email addresses, creating
    the members that do not exist yet (a private chat's id is its user's id). Nobody loses the
    role here: advisors added another way stay. Returns how many members changed."""
    changed = 0
    for user_id in sorted(set(telegram_ids)):
        member = member_by_telegram(session, user_id)
        if member is None:
            member = Member(telegram_user_id=user_id, telegram_chat_id=user_id)
        changed += _make_advisor(session, member)
    for email in sorted({address.strip().lower() for address in emails if address.strip()}):
        member = session.exec(select(Member).where(Member.email == email)).first()
        if member is None:
            member = Member(email=email)
        changed += _make_advisor(session, member)
    session.flush()
    return changed


def _make_advisor(session: Session, member: Member) -> int:
    if member.role == Role.ADVISOR and member.id is not None:
        return 0
    member.role = Role.ADVISOR
    session.add(member)
    return 1


def advisors(session: Session) -> list[Member]:
    return list(session.exec(select(Member).where(Member.role == Role.ADVISOR)
                             .order_by(Member.id)))
