"""The figures of the bilan, by month, read from the tables and nothing else.

For each calendar month (in the configured time zone) of the period:
- structures diagnosed (created) — in all, by family, by département (a structure working in
  several counts once in each; "all France" is its own column);
- their readiness scores (the mean, and how many in 0–24, 25–49, 50–74, 75–100): the score's
  change over time is the change of these cohorts month after month (a structure's score history
  is not stored, only its current score);
- alerts sent (alert and digest deliveries that left, one per member and tender) and how many
  of those tenders the member then marked interesting — the interest rate;
- announcements sent and event registrations.

`CENTRALE_TERRITORY` scopes it (`territory`): structures working in it (or in all of France)
and alerts about tenders placed in it (or placed nowhere in particular).

- partners proposed, groupements formed and won, support requests opened and closed with the
  time to a first answer, bids submitted and contracts won (stats.consortia_figures), in
  `Month.extra` like any column added later with `register_figure(name, function)`
  (function(session, start, end, tz) -> {"YYYY-MM": number}); all appear in the CSV.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from stats.consortia_figures import MEANS, consortia_figures
from store.alert_models import Delivery, DeliveryKind, DeliveryStatus, Interest
from store.announcement_models import Announcement, AnnouncementStatus, EventRegistration
from store.models import Structure
from store.tender_models import TenderRow

READINESS_BANDS = ((0, 24), (25, 49), (50, 74), (75, 100))
ALL_FRANCE = "all"

Figure = Callable[[Session, date, date, ZoneInfo], dict[str, float]]
EXTRA_FIGURES: dict[str, Figure] = {}


def register_figure(name: str, function: Figure) -> None:
    """A column more in the bilan (see the module docstring)."""
    EXTRA_FIGURES[name] = function


@dataclass
class Month:
    month: str  # YYYY-MM
    diagnosed: int = 0
    by_family: Counter = field(default_factory=Counter)
    by_departement: Counter = field(default_factory=Counter)
    readiness: list[int] = field(default_factory=list)  # scores of those diagnosed
    alerts_sent: int = 0
    alerts_interested: int = 0
    announcements: int = 0
    registrations: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def interest_rate(self) -> float | None:
        return self.alerts_interested / self.alerts_sent if self.alerts_sent else None

    @property
    def readiness_mean(self) -> float | None:
        return sum(self.readiness) / len(self.readiness) if self.readiness else None

    def readiness_band(self, low: int, high: int) -> int:
        return sum(1 for score in self.readiness if low <= score <= high)


@dataclass
class Bilan:
    start: date
    end: date
    months: list[Month]

    def total(self, name: str) -> float:
        return sum(getattr(month, name) for month in self.months)

    def total_extra(self, name: str) -> float:
        return sum(month.extra.get(name) or 0 for month in self.months)


def month_key(moment: datetime | date, tz: ZoneInfo) -> str:
    if isinstance(moment, datetime):
        moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz)
    return f"{moment.year:04d}-{moment.month:02d}"


def months_between(start: date, end: date) -> list[str]:
    keys, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def _bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    return (datetime.combine(start, time(), tzinfo=tz).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time(), tzinfo=tz).astimezone(UTC))


def in_territory(departements: Iterable[str], all_france: bool,
                 territory: frozenset[str] | None) -> bool:
    if not territory:
        return True
    return all_france or bool(territory & set(departements))


def compute(session: Session, start: date, end: date, tz: ZoneInfo,
            territory: frozenset[str] | None = None) -> Bilan:
    months = {key: Month(key) for key in months_between(start, end)}
    low, high = _bounds(start, end, tz)

    for structure in session.execute(select(Structure).where(
            Structure.created_at >= low, Structure.created_at < high)).scalars():
        if not in_territory(structure.departements, structure.all_france, territory):
            continue
        month = months.get(month_key(structure.created_at, tz))
        if month is None:
            continue
        month.diagnosed += 1
        month.by_family[structure.family or "unknown"] += 1
        places = [ALL_FRANCE] if structure.all_france else list(structure.departements)
        for place in places or ["unknown"]:
            month.by_departement[place] += 1
        if structure.readiness_score is not None:
            month.readiness.append(structure.readiness_score)

    interested = {(member_id, tender_id) for member_id, tender_id in session.execute(
        select(Interest.member_id, Interest.tender_id).where(
            Interest.signal.in_(("interested", "partners"))))}
    alerted: dict[str, set[tuple[int, int]]] = defaultdict(set)
    rows = session.execute(
        select(Delivery.member_id, Delivery.tender_id, Delivery.sent_at, TenderRow.departements)
        .join(TenderRow, TenderRow.id == Delivery.tender_id)
        .where(Delivery.kind.in_((DeliveryKind.ALERT, DeliveryKind.DIGEST_ITEM)),
               Delivery.status == DeliveryStatus.SENT,
               Delivery.sent_at >= low, Delivery.sent_at < high))
    for member_id, tender_id, sent_at, departements in rows:
        if departements and not in_territory(departements, False, territory):
            continue
        alerted[month_key(sent_at, tz)].add((member_id, tender_id))
    for key, pairs in alerted.items():
        if key in months:
            months[key].alerts_sent = len(pairs)
            months[key].alerts_interested = len(pairs & interested)

    for sent_at, in session.execute(select(Announcement.sent_at).where(
            Announcement.status == AnnouncementStatus.SENT,
            Announcement.sent_at >= low, Announcement.sent_at < high)):
        if (key := month_key(sent_at, tz)) in months:
            months[key].announcements += 1
    for created_at, in session.execute(select(EventRegistration.created_at).where(
            EventRegistration.status == "registered",
            EventRegistration.created_at >= low, EventRegistration.created_at < high)):
        if (key := month_key(created_at, tz)) in months:
            months[key].registrations += 1

    for name, values in consortia_figures(session, low, high,
                                          lambda moment: month_key(moment, tz)).items():
        for key, month in months.items():  # a mean over nothing is no number (an empty cell)
            month.extra[name] = values.get(key, None if name in MEANS else 0)
    for name, function in EXTRA_FIGURES.items():
        for key, value in function(session, start, end, tz).items():
            if key in months:
                months[key].extra[name] = value
    return Bilan(start, end, list(months.values()))
