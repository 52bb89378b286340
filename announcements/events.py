"""Events: *Je m'inscris* / *Pas disponible*, seats then a waiting list, reminders.

- `respond`: a member's answer to an event they were sent. Registering takes a seat while there
  is one, else a place on the waiting list (first come first); *Pas disponible* after
  registering frees the seat, and the first in line takes it and is told through the outbox
  (an `event_promoted` delivery with the invitation). The announcement row is updated first, so
  two members taking the last seat at once are serialised by its row lock (PostgreSQL) or the
  database's write lock (SQLite): seats are never exceeded.
- `enqueue_event_reminders`: the day before (24 h) and one hour before, to those registered
  before that moment; keys `event_reminder:<member>:-:a<id>:<day|hour>:<channel>`.
- `registrants_csv`: the list for the advisor.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlmodel import Session

from alerts.actions import Reply, language_of, no_profile_text
from alerts.announcement_messages import event_actions, registered_message
from alerts.message import Attachment, Intent, Message, Request, block
from alerts.outbox import delivery_key, insert_deliveries, member_channels
from alerts.policy import Schedule, delivery_time
from locales import gettext_for
from store.alert_models import Delivery, DeliveryKind
from store.announcement_models import (
    Announcement,
    AnnouncementStatus,
    EventRegistration,
    RegistrationStatus,
)
from store.announcements import registered_count, registration, registrations, waiting_line
from store.models import AlertPreference, Member, Structure

R = RegistrationStatus
REMINDERS = (("day", timedelta(days=1)), ("hour", timedelta(hours=1)))


def _received(session: Session, member_id: int, announcement_id: int) -> bool:
    return bool(session.execute(select(exists().where(
        Delivery.member_id == member_id, Delivery.announcement_id == announcement_id))).scalar())


def _lock(session: Session, announcement: Announcement, now: datetime) -> None:
    """Take the announcement's row (and SQLite's write lock) before counting seats."""
    session.execute(update(Announcement).where(Announcement.id == announcement.id)
                    .values(updated_at=now))


def respond(session: Session, member_id: int | None, request: Request, now: datetime,
            tz: ZoneInfo, fallback_lang: str = "fr") -> Reply:
    member = session.get(Member, member_id) if member_id is not None else None
    lang = language_of(member, fallback_lang)
    _ = gettext_for(lang)
    if member is None:
        return Reply(lang, note=no_profile_text(lang), refused=True)
    announcement = session.get(Announcement, request.target) if request.target else None
    if announcement is None or announcement.event_at is None or not _received(
            session, member.id, announcement.id):
        return Reply(lang, note=_("This event is no longer available."), refused=True)
    if announcement.status == AnnouncementStatus.CANCELLED:
        return Reply(lang, note=_("This event was cancelled."), refused=True)
    if announcement.event_at <= now:
        return Reply(lang, note=_("This event is over."), refused=True)
    _lock(session, announcement, now)
    mine = registration(session, announcement.id, member.id)
    if request.intent == Intent.EVENT_YES:
        reply = _register(session, announcement, member, mine, now, tz, lang)
    else:
        reply = _decline(session, announcement, member, mine, now, tz, lang)
    # For an event answer `screen` carries only the buttons as they must read now.
    mine = registration(session, announcement.id, member.id)
    buttons = Message(actions=event_actions(announcement.id, lang, mine.status if mine else None))
    return replace(reply, screen=buttons)


def _register(session: Session, announcement: Announcement, member: Member,
              mine: EventRegistration | None, now: datetime, tz: ZoneInfo, lang: str) -> Reply:
    _ = gettext_for(lang)
    if mine is not None and mine.status == R.REGISTERED:
        return Reply(lang, note=_("You are already registered."))
    if mine is not None and mine.status == R.WAITING:
        return Reply(lang, note=_("You are already on the waiting list."))
    full = announcement.seats is not None and registered_count(
        session, announcement.id) >= announcement.seats
    status = R.WAITING if full else R.REGISTERED
    if mine is None:
        mine = EventRegistration(announcement_id=announcement.id, member_id=member.id,
                                 created_at=now)
    mine.status, mine.updated_at = status, now
    mine.created_at = now  # a place in line counts from this answer
    session.add(mine)
    session.flush()
    if full:
        position = [r.member_id for r in waiting_line(session, announcement.id)].index(
            member.id) + 1
        return Reply(lang, note=_("The event is full: you are on the waiting list."),
                     messages=(Message(blocks=(block(_(
                         "The event is full: you are number {position} on the waiting list. "
                         "If a seat frees up, you will be registered and told at once.").format(
                         position=position)),)),), changed=True)
    return Reply(lang, note=_("You are registered."),
                 messages=(registered_message(announcement, lang, tz),), changed=True)


def _decline(session: Session, announcement: Announcement, member: Member,
             mine: EventRegistration | None, now: datetime, tz: ZoneInfo, lang: str) -> Reply:
    _ = gettext_for(lang)
    was = mine.status if mine is not None else None
    if was == R.DECLINED:
        return Reply(lang, note=_("Already noted."))
    if mine is None:
        mine = EventRegistration(announcement_id=announcement.id, member_id=member.id,
                                 created_at=now)
    mine.status, mine.updated_at = R.DECLINED, now
    session.add(mine)
    session.flush()
    if was == R.REGISTERED:
        promote(session, announcement, now, tz)
        return Reply(lang, note=_("Your registration is cancelled: your seat goes to someone "
                                  "else."), changed=True)
    if was == R.WAITING:
        return Reply(lang, note=_("You are off the waiting list."), changed=True)
    return Reply(lang, note=_("Noted: not available."), changed=True)


def promote(session: Session, announcement: Announcement, now: datetime, tz: ZoneInfo) -> int:
    """Give the free seats to those waiting, first come first, and tell them. Returns how many
    moved up."""
    free = (None if announcement.seats is None
            else announcement.seats - registered_count(session, announcement.id))
    line = waiting_line(session, announcement.id)
    moving = line if free is None else line[:max(free, 0)]
    if not moving:
        return 0
    members = {m.id: m for m in session.execute(select(Member).where(
        Member.id.in_([r.member_id for r in moving]))).scalars()}
    preferences = {p.member_id: p for p in session.execute(select(AlertPreference).where(
        AlertPreference.member_id.in_(list(members)))).scalars()}
    rows = []
    for entry in moving:
        entry.status, entry.updated_at = R.REGISTERED, now
        session.add(entry)
        member = members.get(entry.member_id)
        if member is None:
            continue
        for channel in member_channels(member, preferences.get(member.id)):
            rows.append(_row(DeliveryKind.EVENT_PROMOTED, member.id, announcement, channel,
                             f"a{announcement.id}:{entry.id}", now, {}))
    session.flush()
    insert_deliveries(session, rows)
    return len(moving)


def _row(kind: str, member_id: int, announcement: Announcement, channel: str, version: str,
         due: datetime, payload: dict) -> dict:
    return {"member_id": member_id, "channel": channel, "kind": kind, "tender_id": None,
            "announcement_id": announcement.id, "payload": payload,
            "idempotency_key": delivery_key(kind, member_id, None, channel, version),
            "next_attempt_at": due, "created_at": due}


def enqueue_event_reminders(session: Session, now: datetime, tz: ZoneInfo) -> int:
    """Queue the reminders due at `now` (see the module docstring). Returns rows inserted."""
    rows = session.execute(
        select(Announcement, EventRegistration, Member, AlertPreference)
        .join(EventRegistration, EventRegistration.announcement_id == Announcement.id)
        .join(Member, Member.id == EventRegistration.member_id)
        .outerjoin(AlertPreference, AlertPreference.member_id == Member.id)
        .where(Announcement.status == AnnouncementStatus.SENT,
               Announcement.event_at.is_not(None), Announcement.event_at > now,
               Announcement.event_at <= now + REMINDERS[0][1],
               EventRegistration.status == R.REGISTERED)).all()
    values = []
    for announcement, entry, member, preference in rows:
        which = None
        for name, before in REMINDERS:  # the latest one due wins: an hour before, not both
            moment = announcement.event_at - before
            if now >= moment and entry.updated_at < moment:
                which = name
        if which is None:
            continue
        due = delivery_time(Schedule.of(preference), now, tz, digest=False) if which == "day" \
            else now  # an hour before cannot wait for the end of quiet hours
        for channel in member_channels(member, preference):
            values.append(_row(DeliveryKind.EVENT_REMINDER, member.id, announcement, channel,
                               f"a{announcement.id}:{which}", due, {"when": which}))
    return insert_deliveries(session, values)


CSV_COLUMNS = ("status", "position", "structure", "siret", "email", "telegram_user_id",
               "answered_at")


def registrants_csv(session: Session, announcement: Announcement, tz: ZoneInfo) -> bytes:
    """Registered first, then the waiting list in order, then those not available."""
    entries = registrations(session, announcement.id)
    members = {m.id: m for m in session.execute(select(Member).where(
        Member.id.in_([e.member_id for e in entries]))).scalars()} if entries else {}
    structures = {s.id: s for s in session.execute(select(Structure).where(
        Structure.id.in_([m.structure_id for m in members.values() if m.structure_id])))
        .scalars()} if members else {}
    order = {R.REGISTERED: 0, R.WAITING: 1, R.DECLINED: 2}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    waiting = 0
    for entry in sorted(entries, key=lambda e: (order.get(e.status, 3), e.created_at, e.id)):
        member = members.get(entry.member_id)
        structure = structures.get(member.structure_id) if member and member.structure_id \
            else None
        waiting += entry.status == R.WAITING
        writer.writerow([entry.status, waiting if entry.status == R.WAITING else "",
                         structure.name if structure else "",
                         structure.siret or "" if structure else "",
                         member.email or "" if member else "",
                         member.telegram_user_id or "" if member else "",
                         entry.updated_at.astimezone(tz).isoformat(timespec="minutes")])
    return ("\ufeff" + buffer.getvalue()).encode()  # a BOM: spreadsheets read UTF-8 right


def registrants_attachment(session: Session, announcement: Announcement,
                           tz: ZoneInfo) -> Attachment:
    return Attachment(f"inscrits-annonce-{announcement.id}.csv",
                      registrants_csv(session, announcement, tz), "text/csv")
