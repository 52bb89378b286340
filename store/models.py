"""Tables of the members' side: structures, members, alert preferences, bot state.

Lists (départements, CPV codes, keywords…) are JSON columns: they are read and written whole with
their profile and never queried element by element in SQL (matching builds its own index).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Structure(SQLModel, table=True):
    __tablename__ = "structures"

    id: int | None = Field(default=None, primary_key=True)
    siret: str | None = Field(default=None, unique=True, max_length=14)
    name: str = Field(max_length=300)
    legal_form: str | None = Field(default=None, max_length=4)  # INSEE nature juridique code
    family: str | None = Field(default=None, max_length=20)  # see conversations.choices.FAMILIES
    siae_type: str | None = Field(default=None, max_length=10)  # ACI, EI, ETTI, AI, EITI
    is_ess: bool = False
    is_siae: bool = False
    naf: str | None = Field(default=None, max_length=6)
    all_france: bool = False
    departements: list[str] = json_list()
    cpv_codes: list[str] = json_list()
    keywords: list[str] = json_list()
    excluded_keywords: list[str] = json_list()
    headcount_band: str | None = Field(default=None, max_length=20)
    turnover_band: str | None = Field(default=None, max_length=20)
    capacity_band: str | None = Field(default=None, max_length=20)
    max_contract_value: int | None = None  # euros; None when "don't know"
    experience: str | None = Field(default=None, max_length=20)
    readiness: list[str] = json_list()
    consortium_roles: list[str] = json_list()
    readiness_score: int | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Role:
    MEMBER = "member"
    ADVISOR = "advisor"


class Member(SQLModel, table=True):
    __tablename__ = "members"

    id: int | None = Field(default=None, primary_key=True)
    structure_id: int | None = Field(default=None, foreign_key="structures.id", index=True)
    telegram_user_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, unique=True, nullable=True)
    )
    telegram_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    telegram_active: bool = True
    email: str | None = Field(default=None, max_length=254, index=True)
    email_active: bool = True
    language: str | None = Field(default=None, max_length=5)  # None: follow Telegram's
    role: str = Field(default="member", max_length=10)  # Role
    consent_data_at: datetime | None = None
    consent_email_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # Contact details a member may share with its groupement's members, field by field
    # (consortia.contacts): never shown to anyone else.
    contact_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=20)
    telegram_username: str | None = Field(default=None, max_length=32)


class AlertPreference(SQLModel, table=True):
    __tablename__ = "alert_preferences"

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="members.id", unique=True)
    rhythm: str = Field(default="instant", max_length=10)  # instant | daily | weekly
    channel: str = Field(default="telegram", max_length=10)  # telegram | email | both
    digest_hour: int = 8
    weekly_day: int = 0  # Monday
    quiet_start: int = 20
    quiet_end: int = 8
    quiet_weekends: bool = True
    paused_until: datetime | None = None


class BotState(SQLModel, table=True):
    """PTB persistence: one row per user/chat/bot data blob or conversation key."""

    __tablename__ = "bot_state"
    __table_args__ = (UniqueConstraint("kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=80)  # user_data | chat_data | bot_data | callback_data | conv:<name>
    key: str = Field(max_length=200)
    value: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(default_factory=utcnow)
