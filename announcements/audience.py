"""Who an announcement goes to: the filters an advisor chose, as one query.

`audience(session, filters)` is the only way to get recipients: the preview counts what it
returns and the send queues exactly that, so the number shown is the number sent (at the time
of sending: a scheduled announcement takes the members as they are when it leaves).

Filters (all optional; together they narrow, within one they widen):
- `departements`: structures working in one of them, or in all of France;
- `families`: structure families (conversations.choices.FAMILIES);
- `cpv`: CPV prefixes ("45" construction, "7731"…): a structure with a code under one of them;
- `min_readiness`: readiness score at least this (0–100);
- `channel`: the members' alert channel preference (telegram, email, both);
- `never_answered`: structures that said they never answered a tender.
Members without a structure (advisors, half-finished diagnostics) are never in an audience.

Lists of codes are JSON columns; they are filtered here with LIKE on their text
(`"42"` in `["42", "43"]`), which both SQLite and PostgreSQL answer without decoding the rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from types import SimpleNamespace

from sqlalchemy import String, cast, or_, select
from sqlmodel import Session

from alerts.outbox import CHANNELS, member_channels
from store.models import AlertPreference, Member, Role, Structure


@dataclass(frozen=True)
class Filters:
    departements: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    cpv: tuple[str, ...] = ()
    min_readiness: int | None = None
    channel: str | None = None
    never_answered: bool = False

    def to_dict(self) -> dict:
        data = asdict(self)
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in data.items()}

    @classmethod
    def of(cls, data: dict | None) -> Filters:
        data = data or {}
        return cls(departements=tuple(data.get("departements") or ()),
                   families=tuple(data.get("families") or ()),
                   cpv=tuple(data.get("cpv") or ()),
                   min_readiness=data.get("min_readiness"),
                   channel=data.get("channel"),
                   never_answered=bool(data.get("never_answered")))


@dataclass
class Audience:
    """Recipients by channel (member ids): a member on two channels is in both lists."""

    by_channel: dict[str, list[int]] = field(default_factory=lambda: {c: [] for c in CHANNELS})
    members: int = 0

    def count(self, channel: str) -> int:
        return len(self.by_channel.get(channel, []))

    @property
    def deliveries(self) -> int:
        return sum(len(ids) for ids in self.by_channel.values())


def _json_has(column, values: tuple[str, ...], prefix: bool = False):
    text = cast(column, String)
    close = "" if prefix else '"'
    # Codes only (digits and letters): no LIKE wildcard can come from a filter.
    return or_(*(text.like(f'%"{value}{close}%') for value in values if value.isalnum()))


def _query(filters: Filters):
    query = (select(Member.id, Member.telegram_chat_id, Member.telegram_active, Member.email,
                    Member.email_active, AlertPreference.channel)
             .join(Structure, Structure.id == Member.structure_id)
             .outerjoin(AlertPreference, AlertPreference.member_id == Member.id)
             .where(Member.role == Role.MEMBER))
    if filters.departements:
        query = query.where(or_(Structure.all_france.is_(True),
                                _json_has(Structure.departements, filters.departements)))
    if filters.families:
        query = query.where(Structure.family.in_(filters.families))
    if filters.cpv:
        query = query.where(_json_has(Structure.cpv_codes, filters.cpv, prefix=True))
    if filters.min_readiness:
        query = query.where(Structure.readiness_score >= filters.min_readiness)
    if filters.channel == "telegram":
        query = query.where(or_(AlertPreference.channel.is_(None),
                                AlertPreference.channel == "telegram"))
    elif filters.channel in ("email", "both"):
        query = query.where(AlertPreference.channel == filters.channel)
    if filters.never_answered:
        query = query.where(Structure.experience == "never")
    return query.order_by(Member.id)


def audience(session: Session, filters: Filters) -> Audience:
    """The members the filters select and the channels each is reached on (their alert
    channel preference, the other one when it cannot be used: alerts.outbox.member_channels)."""
    result = Audience()
    for row in session.execute(_query(filters)):
        preference = SimpleNamespace(channel=row.channel) if row.channel else None
        channels = member_channels(row, preference)
        if not channels:
            continue
        result.members += 1
        for channel in channels:
            result.by_channel[channel].append(row.id)
    return result
