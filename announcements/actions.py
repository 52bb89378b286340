"""The members' and advisors' requests of this package, by member id and `Request`, whatever the
channel: event answers (any member who was sent the event), and the advisors' own — /annonces,
cancelling an announcement, the registrants' CSV, cancelling an opportunity. Each advisors'
request checks the role first (alerts.advisors.is_advisor) and refuses others with the one
text (advisors_only_text), changing nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlmodel import Session

from alerts.actions import Reply, language_of, register_flow
from alerts.advisors import advisors_only_text, is_advisor
from alerts.announcement_messages import headline, when_text
from alerts.message import Action, Intent, Line, Message, Request, Span, bold, line
from announcements import events, sending
from locales import gettext_for
from store.alert_models import Delivery, DeliveryStatus
from store.announcement_models import Announcement, AnnouncementStatus
from store.announcements import registered_counts
from store.models import Member

EVENT_INTENTS = frozenset({Intent.EVENT_YES, Intent.EVENT_NO})
ADVISOR_INTENTS = frozenset({Intent.ANNOUNCEMENTS, Intent.ANNOUNCEMENT_CANCEL,
                             Intent.REGISTRANTS, Intent.OPPORTUNITIES, Intent.OPPORTUNITY_CANCEL,
                             Intent.OPPORTUNITY_EDIT, Intent.STATS})
INTENTS = EVENT_INTENTS | ADVISOR_INTENTS
LISTED = 10
S = AnnouncementStatus


def handle(session: Session, member_id: int | None, request: Request, now: datetime,
           tz: ZoneInfo, fallback_lang: str = "fr") -> Reply:
    if request.intent in EVENT_INTENTS:
        return events.respond(session, member_id, request, now, tz, fallback_lang)
    member = session.get(Member, member_id) if member_id is not None else None
    lang = language_of(member, fallback_lang)
    if not is_advisor(member):
        return Reply(lang, note=advisors_only_text(lang), refused=True)
    if request.intent == Intent.ANNOUNCEMENTS:
        return Reply(lang, messages=(listing(session, lang, tz, now),))
    if request.intent == Intent.ANNOUNCEMENT_CANCEL:
        return _cancel(session, request, now, tz, lang)
    if request.intent == Intent.REGISTRANTS:
        return _registrants(session, request, tz, lang)
    if request.intent == Intent.OPPORTUNITIES:
        return Reply(lang, messages=(opportunities_listing(session, lang, tz, now),))
    if request.intent == Intent.OPPORTUNITY_CANCEL:
        from announcements.opportunities import cancel_request

        return cancel_request(session, member, request, now, tz, lang)
    _ = gettext_for(lang)
    return Reply(lang, note=_("This button is no longer valid."), refused=True)


def _announcement(session: Session, request: Request) -> Announcement | None:
    return session.get(Announcement, request.target) if request.target else None


def _cancel(session: Session, request: Request, now: datetime, tz: ZoneInfo,
            lang: str) -> Reply:
    _ = gettext_for(lang)
    announcement = _announcement(session, request)
    if announcement is None:
        return Reply(lang, note=_("This announcement no longer exists."), refused=True)
    if announcement.status != S.SCHEDULED:
        return Reply(lang, note=_("Too late: this announcement has already left."),
                     refused=True, screen=listing(session, lang, tz, now))
    sending.cancel(session, announcement, now)
    return Reply(lang, note=_("Announcement cancelled: it will not be sent."), changed=True,
                 screen=listing(session, lang, tz, now))


def _registrants(session: Session, request: Request, tz: ZoneInfo, lang: str) -> Reply:
    _ = gettext_for(lang)
    announcement = _announcement(session, request)
    if announcement is None or announcement.event_at is None:
        return Reply(lang, note=_("This event no longer exists."), refused=True)
    message = Message(blocks=((line(_("Registrants of “{title}”.").format(
        title=headline(announcement, 60))),),),
        attachments=(events.registrants_attachment(session, announcement, tz),))
    return Reply(lang, messages=(message,))


# --- /annonces -----------------------------------------------------------------------------------


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    waiting: int = 0
    registered: int = 0


def _blocked():
    return or_(Delivery.last_error.like("Forbidden%"), Delivery.last_error.like(
        "%channel is closed%"))


def counts(session: Session, ids: list[int]) -> dict[int, Counts]:
    """From the deliveries' statuses: sent; failed (given up or uncertain); blocked (the member
    closed the channel); waiting (not sent yet, retries included); and registrations."""
    result = {announcement_id: Counts() for announcement_id in ids}
    if not ids:
        return result
    blocked = case((_blocked(), 1), else_=0)
    rows = session.execute(
        select(Delivery.announcement_id, Delivery.status, blocked, func.count())
        .where(Delivery.announcement_id.in_(ids), Delivery.kind == "announcement")
        .group_by(Delivery.announcement_id, Delivery.status, blocked)).all()
    for announcement_id, status, is_blocked, count in rows:
        tally = result[announcement_id]
        if status == DeliveryStatus.SENT:
            tally.sent += count
        elif status == DeliveryStatus.DEAD and is_blocked:
            tally.blocked += count
        elif status in (DeliveryStatus.DEAD, DeliveryStatus.UNCERTAIN):
            tally.failed += count
        else:
            tally.waiting += count
    for announcement_id, count in registered_counts(session, ids).items():
        result[announcement_id].registered = count
    return result


def listing(session: Session, lang: str, tz: ZoneInfo, now: datetime) -> Message:
    """The latest announcements, scheduled first, with their counts and buttons."""
    _ = gettext_for(lang)
    rows = list(session.execute(select(Announcement).order_by(
        (Announcement.status == S.SCHEDULED).desc(), Announcement.send_at.desc(),
        Announcement.id.desc()).limit(LISTED)).scalars())
    if not rows:
        return Message(_("Announcements"), ((line(_("No announcement yet: /diffuser writes "
                                                   "one.")),),), icon="📣")
    tallies = counts(session, [a.id for a in rows])
    labels = {S.SCHEDULED: _("scheduled for {when}"), S.SENT: _("sent on {when}"),
              S.CANCELLED: _("cancelled")}
    blocks = []
    actions = []
    for announcement in rows:
        tally = tallies[announcement.id]
        state = labels[announcement.status].format(
            when=when_text(announcement.sent_at or announcement.send_at, lang, tz))
        lines: list[Line] = [Line((bold(f"#{announcement.id} "),
                                   Span(headline(announcement, 70))))]
        lines.append(line(state))
        if announcement.status != S.SCHEDULED:
            lines.append(line(_("Sent {sent} · failed {failed} · blocked {blocked} · "
                                "waiting {waiting}").format(
                sent=tally.sent, failed=tally.failed, blocked=tally.blocked,
                waiting=tally.waiting)))
        if announcement.event_at is not None:
            seats = (_("{registered} registered of {seats} seats") if announcement.seats
                     else _("{registered} registered")).format(
                registered=tally.registered, seats=announcement.seats)
            lines.append(line("📅 " + when_text(announcement.event_at, lang, tz) + " · "
                              + seats))
            actions.append(Action(Intent.REGISTRANTS, _("📋 Registrants #{id}").format(
                id=announcement.id), announcement.id))
        if announcement.status == S.SCHEDULED:
            actions.append(Action(Intent.ANNOUNCEMENT_CANCEL, _("❌ Cancel #{id}").format(
                id=announcement.id), announcement.id))
        blocks.append(tuple(lines))
    return Message(_("Announcements"), tuple(blocks),
                   tuple((action,) for action in actions), icon="📣")


def opportunities_listing(session: Session, lang: str, tz: ZoneInfo, now: datetime) -> Message:
    from announcements.opportunities import open_opportunities

    _ = gettext_for(lang)
    rows = open_opportunities(session, now)
    if not rows:
        return Message(_("Opportunities"), ((line(_("No open opportunity: /opportunite posts "
                                                   "one.")),),), icon="🔎")
    blocks, actions = [], []
    for tender in rows[:LISTED]:
        blocks.append((Line((bold(f"#{tender.id} "), Span(headline_of(tender)))),
                       line(_("Deadline: {when}").format(when=when_text(tender.deadline, lang,
                                                                          tz)))))
        actions.append((Action(Intent.OPPORTUNITY_EDIT, _("✏️ Edit #{id}").format(id=tender.id),
                               tender.id),
                        Action(Intent.OPPORTUNITY_CANCEL, _("❌ Cancel #{id}").format(
                            id=tender.id), tender.id)))
    return Message(_("Opportunities"), tuple(blocks), tuple(actions), icon="🔎")


def headline_of(tender) -> str:
    from alerts.render import cut

    return cut(tender.title, 70)


def _flow(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
          lang: str) -> Reply:
    return handle(session, member.id, request, now, tz, lang)


# An email reply (channels.email.choices) reaches these intents through alerts.actions.handle.
register_flow(INTENTS, _flow)
