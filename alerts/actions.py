"""What a member asks of the alerts, by member id and `Intent`, whatever the channel.

`handle(session, member_id, request, …)` is the one entry: a Telegram button decodes to a
`Request` (channels/telegram.decode), an email reply will decode to the same. Nothing in the
request is trusted: the member must exist; a tender intent needs a tender that exists, is still
open, and that the member was sent or matched; arguments are checked against what the buttons
offer. A refused request changes nothing and gets a polite `Reply`.

Signals are `store.alert_models.Interest` rows, one per (member, tender, signal):
- `interested` and `not_for_us` exclude each other (choosing one removes the other); *undo*
  removes both; `not_for_us` carries the reason once one is chosen;
- `partners` and `help` are requests kept whatever the choice; a help request is queued to the
  advisors through the outbox (alerts.advisors), in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlmodel import Session

from alerts import preferences as prefs_
from alerts.advisors import enqueue_help_request, opportunity_contact
from alerts.message import TENDER_INTENTS, Intent, Message, Request
from alerts.message import note as note_message
from alerts.render import NOT_FOR_US_REASONS, AlertChoice, cut, render_alert
from locales import gettext_for, normalise_language
from store.alert_models import Delivery, Interest
from store.db import insert_ignoring
from store.models import Member
from store.tender_models import LotRow, MatchRow, TenderRow, TenderStatus

INTERESTED, NOT_FOR_US, PARTNERS, HELP = "interested", "not_for_us", "partners", "help"
SIGNALS = (INTERESTED, NOT_FOR_US, PARTNERS, HELP)
TITLE_CAP = 80
# The signals' statements, built once: a tap or a reply runs several, and building them again
# each time cost more than running them.
SIG = Interest.__table__
# (Parameters are not named after columns: UPDATE keeps those names for its SET clause.)
_MEMBER_TENDER = (SIG.c.member_id == bindparam("member"), SIG.c.tender_id == bindparam("tender"))
_CHOICE = select(SIG.c.signal, SIG.c.reason).where(*_MEMBER_TENDER)
_REMOVE = delete(SIG).where(*_MEMBER_TENDER, SIG.c.signal.in_(bindparam("signals",
                                                                       expanding=True)))
_NEW_REASON = update(SIG).where(*_MEMBER_TENDER, SIG.c.signal == bindparam("which"), or_(
    SIG.c.reason.is_(None), SIG.c.reason != bindparam("new_reason"))).values(
    reason=bindparam("new_reason"))
_SENT = select(exists().where(Delivery.member_id == bindparam("member"),
                              Delivery.tender_id == bindparam("tender")))
_MATCHED = select(exists().where(MatchRow.tender_id == bindparam("tender"),
                                 MatchRow.structure_id == bindparam("structure")))


@dataclass(frozen=True)
class Reply:
    """What to show after a request, for any channel."""

    lang: str
    note: str | None = None  # a short answer (a toast on Telegram, a line in an email)
    screen: Message | None = None  # the message acted on, as it must read now
    choice: AlertChoice | None = None  # tender intents: the member's choice now
    messages: tuple[Message, ...] = ()  # new messages for the member
    changed: bool = False  # something was recorded
    closed: bool = False  # the screen acted on keeps no buttons
    refused: bool = False  # not done: unknown member or tender, not theirs, not valid


# The later flows plug in here, from their own package (bot.flows imports them), so that a
# button, a command or an email reply reaches them through `handle` on every channel:
# - a tender flow follows a signal on a tender (PARTNERS: the partner search; HELP: a support
#   request) and gives the messages to show next; with one registered for HELP, the advisors
#   are no longer told here (the flow does it);
# - a flow carries out its own intents (a proposal's Accept, a groupement's status…), checking
#   everything like the rest of this module.
TenderFlow = Callable[[Session, Member, TenderRow, datetime, ZoneInfo, str], tuple[Message, ...]]
Flow = Callable[[Session, Member, Request, datetime, ZoneInfo, str], "Reply"]
_TENDER_FLOWS: dict[Intent, TenderFlow] = {}
_FLOWS: dict[Intent, Flow] = {}


def register_tender_flow(intent: Intent, flow: TenderFlow) -> None:
    _TENDER_FLOWS[intent] = flow


def register_flow(intents: Iterable[Intent], flow: Flow) -> None:
    for intent in intents:
        _FLOWS[intent] = flow


def language_of(member: Member | None, fallback: str) -> str:
    return normalise_language(member.language if member and member.language else fallback)


def choice_of(session: Session, member_id: int, tender_id: int,
              picking_reason: bool = False) -> AlertChoice:
    by_signal = dict(session.execute(_CHOICE, {"member": member_id, "tender": tender_id}).all())
    return AlertChoice(interested=INTERESTED in by_signal, not_for_us=NOT_FOR_US in by_signal,
                       reason=by_signal.get(NOT_FOR_US),
                       partners=PARTNERS in by_signal, help=HELP in by_signal,
                       picking_reason=picking_reason)


def no_profile_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("You have no profile yet. Type /start to answer a few questions (about 5 "
             "minutes), then you will receive the tenders that fit.")


def gone_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("This alert is no longer available.")


def handle(session: Session, member_id: int | None, request: Request, now: datetime,
           tz: ZoneInfo, fallback_lang: str = "fr") -> Reply:
    """Carry out one request of a member (None: the sender has no profile)."""
    member = session.get(Member, member_id) if member_id is not None else None
    lang = language_of(member, fallback_lang)
    if member is None:
        return Reply(lang, note=no_profile_text(lang), refused=True)
    if request.intent in TENDER_INTENTS:
        return _tender_request(session, member, request, now, tz, lang)
    if request.intent in _FLOWS:
        return _FLOWS[request.intent](session, member, request, now, tz, lang)
    return _preferences_request(session, member, request, now, tz, lang)


# --- tenders -------------------------------------------------------------------------------------


def may_see(session: Session, member: Member, tender_id: int) -> bool:
    """The member was sent something about this tender, or it matched their structure."""
    sent = session.execute(_SENT, {"member": member.id, "tender": tender_id}).scalar()
    if sent or member.structure_id is None:
        return bool(sent)
    return bool(session.execute(_MATCHED, {"tender": tender_id,
                                           "structure": member.structure_id}).scalar())


def is_open(tender: TenderRow, now: datetime) -> bool:
    return tender.status not in TenderStatus.FINAL and (
        tender.deadline is None or tender.deadline > now)


def _tender_request(session: Session, member: Member, request: Request, now: datetime,
                    tz: ZoneInfo, lang: str) -> Reply:
    _ = gettext_for(lang)
    tender = session.get(TenderRow, request.target) if request.target is not None else None
    if tender is None or not may_see(session, member, tender.id):
        return Reply(lang, note=gone_text(lang), refused=True)
    if not is_open(tender, now):
        return Reply(lang, note=_("This tender is closed: there is nothing more to do on it."),
                     choice=choice_of(session, member.id, tender.id), refused=True)
    if request.intent == Intent.OPEN:
        return Reply(lang, messages=(alert_for(session, member, tender, now, tz, lang),))
    return _signal(session, member, tender, request, now, tz, lang)


def alert_for(session: Session, member: Member, tender: TenderRow, now: datetime,
              tz: ZoneInfo, lang: str) -> Message:
    """The full alert of one tender (a digest's number button), with the score and reasons
    matching gave for the member's structure and the member's current choice."""
    match = None
    if member.structure_id is not None:
        match = session.execute(select(MatchRow).where(
            MatchRow.tender_id == tender.id,
            MatchRow.structure_id == member.structure_id)).scalars().first()
    lots = list(session.execute(select(LotRow).where(LotRow.tender_id == tender.id)
                                .order_by(LotRow.id)).scalars())
    return render_alert(tender, lots, list(match.reasons) if match else [],
                        match.score if match else 0, lang, now, tz,
                        choice_of(session, member.id, tender.id))


def _remove(session: Session, member_id: int, tender_id: int, *signals: str) -> int:
    result = session.execute(_REMOVE, {"member": member_id, "tender": tender_id,
                                       "signals": list(signals)})
    return result.rowcount or 0


def _add(session: Session, member_id: int, tender_id: int, signal: str, now: datetime,
         reason: str | None = None) -> bool:
    """Record a signal (or its new reason); False when it was already recorded as is."""
    if insert_ignoring(session, SIG, {"member_id": member_id, "tender_id": tender_id,
                                    "signal": signal, "reason": reason, "created_at": now},
                       ["member_id", "tender_id", "signal"]):
        return True
    if reason is None:
        return False
    return session.execute(_NEW_REASON, {"member": member_id, "tender": tender_id,
                                         "which": signal, "new_reason": reason}).rowcount > 0


def _signal(session: Session, member: Member, tender: TenderRow, request: Request,
            now: datetime, tz: ZoneInfo, lang: str) -> Reply:
    _ = gettext_for(lang)
    mid, tid, intent = member.id, tender.id, request.intent
    title = cut(tender.title, TITLE_CAP)
    picking = False
    follow_up: str | None = None
    if intent == Intent.INTERESTED:
        changed = _add(session, mid, tid, INTERESTED, now)
        changed = _remove(session, mid, tid, NOT_FOR_US) > 0 or changed
        note = _("Noted: you are interested. We will remind you 7 and 2 days before the "
                 "deadline.")
    elif intent == Intent.NOT_FOR_US and request.arg is None:
        changed = _add(session, mid, tid, NOT_FOR_US, now)
        changed = _remove(session, mid, tid, INTERESTED) > 0 or changed
        picking, changed = True, True  # the reasons are shown: the buttons change
        note = _("Noted. Why is it not for you? It helps us send better tenders.")
    elif intent == Intent.NOT_FOR_US and request.arg in NOT_FOR_US_REASONS:
        changed = _add(session, mid, tid, NOT_FOR_US, now, reason=request.arg)
        changed = _remove(session, mid, tid, INTERESTED) > 0 or changed
        note = _("Thank you, noted.")
    elif intent == Intent.UNDO:
        changed = _remove(session, mid, tid, INTERESTED, NOT_FOR_US) > 0
        note = _("Choice cancelled.")
    elif intent == Intent.PARTNERS:
        changed = _add(session, mid, tid, PARTNERS, now)
        note = _("Noted.") if changed else _("Already noted.")
        follow_up = _("Noted: you are looking for partners for “{title}”. We will soon suggest "
                      "structures whose trades or areas complement yours.").format(title=title)
    elif intent == Intent.HELP:
        changed = _add(session, mid, tid, HELP, now)
        note = _("Noted.") if changed else _("Already noted.")
        follow_up = _("Noted: an advisor will contact you about “{title}” to help you answer "
                      "it.").format(title=title)
        if changed and intent not in _TENDER_FLOWS:
            enqueue_help_request(session, member, tender, now)
    else:
        return Reply(lang, note=_("This button is no longer valid."),
                     choice=choice_of(session, mid, tid), refused=True)
    session.flush()
    messages = (note_message(follow_up),) if follow_up and changed else ()
    if changed and intent in _TENDER_FLOWS:  # once, on the first tap; its own messages if any
        messages = _TENDER_FLOWS[intent](session, member, tender, now, tz, lang) or messages
    if changed and intent in (Intent.INTERESTED, Intent.PARTNERS):
        contact = opportunity_contact(session, tender, lang)  # an advisor's opportunity
        messages += (contact,) if contact is not None else ()
    return Reply(lang, note=note, choice=choice_of(session, mid, tid, picking),
                 messages=messages, changed=changed)


# --- preferences ---------------------------------------------------------------------------------


def _preferences_request(session: Session, member: Member, request: Request, now: datetime,
                         tz: ZoneInfo, lang: str) -> Reply:
    _ = gettext_for(lang)
    prefs = prefs_.preferences(session, member)
    intent = request.intent
    if intent == Intent.MENU:
        which = request.arg if request.arg in prefs_.SCREENS else "main"
        return Reply(lang, screen=prefs_.screen(prefs, lang, now, tz, which))
    if intent == Intent.DONE:
        return Reply(lang, screen=prefs_.screen(prefs, lang, now, tz, closed=True), closed=True)
    was_paused = prefs_.paused_until(prefs, now) is not None
    changed = prefs_.apply(prefs, intent, request.arg, now)
    if intent == Intent.PAUSE and not changed and prefs_.paused_until(prefs, now) is None:
        return Reply(lang, note=prefs_.pause_error(lang), refused=True,
                     screen=prefs_.screen(prefs, lang, now, tz))
    if changed:
        session.add(prefs)
        _reschedule(session, member, now, tz)
    if intent == Intent.PAUSE:
        note = prefs_.pause_text(prefs_.paused_until(prefs, now), lang, tz)
    elif intent == Intent.RESUME:
        note = prefs_.resume_text(was_paused, lang)
    elif intent == Intent.STOP:
        note = prefs_.stop_text(lang)
    else:
        note = _("Saved.") if changed else None
    return Reply(lang, note=note, screen=prefs_.screen(prefs, lang, now, tz), changed=changed)


def _reschedule(session: Session, member: Member, now: datetime, tz: ZoneInfo) -> None:
    """Waiting deliveries follow the new preferences at once (a resumed member does not wait
    for the end of the old pause; a new digest hour applies to what is already queued)."""
    from alerts.outbox import reschedule_member

    session.flush()
    reschedule_member(session, member.id, now, tz)
