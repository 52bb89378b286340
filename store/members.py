"""Members and their structures: store the values given, read back, export, erase. Which columns
a diagnostic stands for is conversations.profile_fields' to say."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, select

from store.models import AlertPreference, BotState, Member, Role, Structure, utcnow


def member_by_telegram(session: Session, telegram_user_id: int) -> Member | None:
    return session.exec(select(Member).where(Member.telegram_user_id == telegram_user_id)).first()


def member_by_email(session: Session, address: str) -> Member | None:
    """The (first) member with this email address, case ignored."""
    from sqlalchemy import func

    return session.exec(select(Member).where(func.lower(Member.email) == address.lower())
                        .order_by(Member.id)).first()


def save_profile(session: Session, *, telegram_user_id: int | None, chat_id: int | None,
                 language: str, fields: dict[str, Any], rhythm: str, channel: str,
                 email: str | None = None,
                 consent_at: datetime | None = None,
                 member: Member | None = None) -> tuple[Structure, Member]:
    """Create (or replace) the member's structure with `fields` (structure columns) and its alert
    preferences (`member`: the one it is for when it is not found by Telegram id, e.g. by email).
    The structure is the one with the same SIRET, else the member's own, else new."""
    if member is None and telegram_user_id:
        member = member_by_telegram(session, telegram_user_id)
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
    if email:
        member.email = email
        member.consent_email_at = member.consent_email_at or utcnow()
    session.add(member)
    session.flush()
    prefs = preferences(session, member) or AlertPreference(member_id=member.id)
    prefs.rhythm, prefs.channel = rhythm, channel
    session.add(prefs)
    return structure, member


def update_profile(session: Session, member: Member, fields: dict[str, Any], *,
                   rhythm: str | None = None, channel: str | None = None,
                   email: str | None = None) -> None:
    """Write `fields` (structure columns) to the member's structure; a preference given as None
    is kept; a new email address records a new consent."""
    structure = session.get(Structure, member.structure_id) if member.structure_id else None
    if structure is not None:
        for column, value in fields.items():
            setattr(structure, column, value)
        structure.updated_at = utcnow()
        session.add(structure)
    prefs = preferences(session, member) or AlertPreference(member_id=member.id)
    prefs.rhythm = rhythm or prefs.rhythm
    prefs.channel = channel or prefs.channel
    session.add(prefs)
    if email and email != member.email:
        member.email = email
        member.consent_email_at = utcnow()
    session.add(member)


def preferences(session: Session, member: Member) -> AlertPreference | None:
    return session.exec(select(AlertPreference).where(
        AlertPreference.member_id == member.id)).first()


def profile_rows(session: Session, member: Member) -> tuple[Structure, AlertPreference | None]:
    """The member's structure and alert preferences (the member has a structure)."""
    return session.get(Structure, member.structure_id), preferences(session, member)


def set_language(session: Session, telegram_user_id: int, language: str) -> None:
    member = member_by_telegram(session, telegram_user_id)
    if member:
        member.language = language
        session.add(member)


def remember_telegram(session: Session, member: Member, username: str | None,
                      full_name: str | None) -> None:
    """The Telegram username and name a member may share in a groupement (consortia.contacts)."""
    member.telegram_username = (username or "")[:32] or None
    member.contact_name = member.contact_name or ((full_name or "").strip()[:100] or None)
    session.add(member)


def export_member(session: Session, member: Member) -> dict[str, Any]:
    """Every piece of personal data stored about a member, as one JSON-ready document."""
    def row(obj) -> dict[str, Any]:
        return json.loads(obj.model_dump_json()) if obj is not None else None

    structure = session.get(Structure, member.structure_id) if member.structure_id else None
    prefs = preferences(session, member)
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
                if (fk.ondelete or "").upper() == "SET NULL":  # e.g. an advisor's announcements
                    session.exec(update(table).where(fk.parent == row_id)
                                 .values({fk.parent.name: None}))
                else:
                    session.exec(delete(table).where(fk.parent == row_id))


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
