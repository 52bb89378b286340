"""Support requests: a member asks for help (*Besoin d'aide* on an alert, or /accompagnement with
a text); every advisor receives it with *Je prends*; the first to take it holds it; the member
and that advisor then talk in a thread (alerts.relay) until one of them closes it.

    open ──take (first advisor; one UPDATE … WHERE status = 'open')──▶ assigned ──close──▶ closed
      └──────────────────────────────close (the member)─────────────────────────────────┘

Each transition is one short transaction; nothing in a request is trusted: *Je prends* needs an
advisor and an open request, *Clore* the request's member or its advisor. Everything said to
someone else goes through the outbox, in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlmodel import Session

from alerts import actions, relay
from alerts.actions import Reply
from alerts.advisors import HelpFlow, advisors_only_text, is_advisor, register_help_flow
from alerts.compose import Loader, NothingToSend, register_builder
from alerts.message import Action, Intent, Message, Request, block, line
from alerts.outbox import enqueue_to_members
from alerts.render import cut
from channels.email import thread_replies
from locales import gettext_for
from store.alert_models import Delivery
from store.consortia_models import SupportRequest, SupportStatus, ThreadKind
from store.members import advisors
from store.models import Member
from store.tender_models import TenderRow

SUPPORT_REQUEST = "support_request"  # to every advisor: a new request, with Je prends
SUPPORT_NEWS = "support_news"  # taken / closed, to the member and the other advisors
TEXT_CAP = 1500
LISTED = 15
S = SupportStatus


def open_request(session: Session, member: Member, tender: TenderRow | None, text: str | None,
                 now: datetime) -> tuple[SupportRequest, int]:
    """The request, and how many deliveries to advisors were queued."""
    text = cut(text.strip(), TEXT_CAP) if text and text.strip() else None
    row = SupportRequest(member_id=member.id, tender_id=tender.id if tender else None, text=text,
                         created_at=now)
    session.add(row)
    session.flush()
    team = [advisor.id for advisor in advisors(session) if advisor.id != member.id]
    queued = enqueue_to_members(session, team, SUPPORT_REQUEST, {
        "request": row.id, "thread": ThreadKind.SUPPORT, "id": row.id}, now, version=f"s{row.id}")
    return row, queued


def _news(session: Session, member_ids, row: SupportRequest, event: str, now: datetime) -> None:
    enqueue_to_members(session, [m for m in member_ids if m is not None], SUPPORT_NEWS,
                       {"request": row.id, "event": event, "thread": ThreadKind.SUPPORT,
                        "id": row.id}, now, version=f"s{row.id}-{event}")


def take(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
         lang: str) -> Reply:
    _ = gettext_for(lang)
    if not is_advisor(member):
        return Reply(lang, note=advisors_only_text(lang), refused=True)
    row = session.get(SupportRequest, request.target or 0)
    if row is None:
        return Reply(lang, note=_("This request no longer exists."), refused=True)
    won = session.execute(update(SupportRequest).where(
        SupportRequest.id == row.id, SupportRequest.status == S.OPEN).values(
        status=S.ASSIGNED, advisor_id=member.id, assigned_at=now)).rowcount == 1
    session.refresh(row)
    if not won:
        if row.status == S.CLOSED:
            return Reply(lang, note=_("This request is closed."), refused=True, closed=True)
        if row.advisor_id == member.id:
            return Reply(lang, note=_("You already hold this request."), closed=True)
        return Reply(lang, note=_("Already taken by {who}.").format(
            who=_advisor_name(session, row.advisor_id, lang)), refused=True, closed=True)
    others = [a.id for a in advisors(session) if a.id != member.id]
    _news(session, [row.member_id, *others], row, "taken", now)
    return Reply(lang, note=_("You hold this request: reply to its messages to write to the "
                              "member."), changed=True, closed=True,
                 messages=(request_message(session, row, lang, for_advisor=True),))


def close(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
          lang: str) -> Reply:
    _ = gettext_for(lang)
    row = session.get(SupportRequest, request.target or 0)
    if row is None or member.id not in (row.member_id, row.advisor_id):
        return Reply(lang, note=_("This request is not yours."), refused=True)
    if row.status == S.CLOSED:
        return Reply(lang, note=_("This request is closed."), closed=True)
    row.status, row.closed_at, row.closed_by = S.CLOSED, now, member.id
    session.add(row)
    other = row.advisor_id if member.id == row.member_id else row.member_id
    _news(session, [other] if row.advisor_id else [a.id for a in advisors(session)], row,
          "closed", now)
    return Reply(lang, note=_("Request closed."), changed=True, closed=True)


def _advisor_name(session: Session, advisor_id: int | None, lang: str) -> str:
    _ = gettext_for(lang)
    advisor = session.get(Member, advisor_id) if advisor_id else None
    if advisor is None:
        return _("a former advisor")
    return _("advisor {id}").format(id=advisor.id) if not advisor.email else cut(
        advisor.email.split("@")[0], 60)


def request_message(session: Session, row: SupportRequest, lang: str, *,
                    for_advisor: bool) -> Message:
    _ = gettext_for(lang)
    who = relay.author_label(session, row.member_id, lang)
    tender = session.get(TenderRow, row.tender_id) if row.tender_id else None
    lines = [line(_("{who} asks for support.").format(who=who))]
    if tender is not None:
        lines.append(line(_("Tender: “{title}” (id {id}).").format(
            title=cut(tender.title, 120) or _("(untitled tender)"), id=tender.id)))
    if row.text:
        lines.append(line(row.text))
    status = {S.OPEN: _("waiting for an advisor"), S.ASSIGNED: _("taken by {who}").format(
        who=_advisor_name(session, row.advisor_id, lang)), S.CLOSED: _("closed")}[row.status]
    lines.append(line(_("Status: {status}").format(status=status)))
    buttons = []
    if for_advisor and row.status == S.OPEN:
        buttons.append(Action(Intent.SUPPORT_TAKE, _("I take it"), target=row.id))
    if row.status != S.CLOSED:
        buttons.append(Action(Intent.SUPPORT_CLOSE, _("Close"), target=row.id))
    return Message(_("Support request no. {id}").format(id=row.id), (block(*lines),),
                   actions=(tuple(buttons),) if buttons else (), icon="🆘")


def listing(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
            lang: str) -> Reply:
    """/demandes: the open and assigned requests, for advisors."""
    _ = gettext_for(lang)
    if not is_advisor(member):
        return Reply(lang, note=advisors_only_text(lang), refused=True)
    rows = session.execute(select(SupportRequest).where(
        SupportRequest.status.in_((S.OPEN, S.ASSIGNED))).order_by(SupportRequest.id)
        .limit(LISTED)).scalars().all()
    if not rows:
        return Reply(lang, note=_("No support request is waiting."))
    return Reply(lang, messages=tuple(request_message(session, row, lang, for_advisor=True)
                                      for row in rows))


def ask(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
        lang: str) -> Reply:
    """/accompagnement TEXT."""
    _ = gettext_for(lang)
    if not (request.arg or "").strip():
        return Reply(lang, note=_("Write your question after the command, for example: "
                                  "/accompagnement How do I answer a tender with lots?"))
    open_request(session, member, None, request.arg, now)
    return Reply(lang, note=_("Your request was sent to the advisors: one of them will answer "
                              "you here."), changed=True)


def _help(session: Session, member: Member, tender: TenderRow | None, now: datetime,
          text: str | None) -> int:
    return open_request(session, member, tender, text, now)[1]


def _attach(session: Session, member_id: int, tender_id: int, text: str) -> int:
    """An email's "AIDE question" on a tender: the request its AIDE just opened carries it."""
    row = session.execute(select(SupportRequest).where(
        SupportRequest.member_id == member_id, SupportRequest.tender_id == tender_id,
        SupportRequest.text.is_(None), SupportRequest.status == S.OPEN)
        .order_by(SupportRequest.id.desc())).scalars().first()
    if row is None:
        return 0
    row.text = cut(text.strip(), TEXT_CAP)
    session.add(row)
    return 1


def _resolver(session: Session, request_id: int, lang: str) -> relay.ThreadInfo | None:
    row = session.get(SupportRequest, request_id)
    if row is None or row.status != S.ASSIGNED:
        return None
    people = tuple(m for m in (row.member_id, row.advisor_id) if m is not None)
    _ = gettext_for(lang)
    return relay.ThreadInfo(_("Support request no. {id}").format(id=row.id), people, "🆘")


def _request_builder(session: Session, loader: Loader, group: list[Delivery], member: Member,
                     now: datetime, tz: ZoneInfo) -> Message:
    row = session.get(SupportRequest, int((group[0].payload or {}).get("request") or 0))
    if row is None:
        raise NothingToSend("the request is gone")
    return request_message(session, row, member.language or "fr", for_advisor=True)


def _news_builder(session: Session, loader: Loader, group: list[Delivery], member: Member,
                  now: datetime, tz: ZoneInfo) -> Message:
    payload = group[0].payload or {}
    row = session.get(SupportRequest, int(payload.get("request") or 0))
    if row is None:
        raise NothingToSend("the request is gone")
    lang = member.language or "fr"
    _ = gettext_for(lang)
    if payload.get("event") == "taken":
        text = _("{advisor} took support request no. {id}.").format(
            advisor=_advisor_name(session, row.advisor_id, lang), id=row.id)
        if member.id == row.member_id:
            text += " " + _("Reply to this message to write to your advisor.")
    else:
        text = _("Support request no. {id} was closed.").format(id=row.id)
    return Message(_("Support request no. {id}").format(id=row.id), (block(text),), icon="🆘")


def _guard_intent(session: Session, member: Member, request: Request, now: datetime,
                  tz: ZoneInfo, lang: str) -> Reply:
    flows = {Intent.SUPPORT_TAKE: take, Intent.SUPPORT_CLOSE: close,
             Intent.SUPPORT_LIST: listing, Intent.SUPPORT_ASK: ask}
    return flows[request.intent](session, member, request, now, tz, lang)


register_builder(SUPPORT_REQUEST, _request_builder)
register_builder(SUPPORT_NEWS, _news_builder)
def _answered(session: Session, request_id: int, author_id: int, now: datetime) -> None:
    session.execute(update(SupportRequest).where(
        SupportRequest.id == request_id, SupportRequest.advisor_id == author_id,
        SupportRequest.first_answer_at.is_(None)).values(first_answer_at=now))


relay.register_thread(ThreadKind.SUPPORT, _resolver, on_post=_answered)
def _thread_of(payload: dict) -> tuple[str, int] | None:
    return (ThreadKind.SUPPORT, int(payload["id"])) if payload.get("id") else None


# A reply to the request itself (the advisor who took it) or to its news is a post in the
# thread; by email the news belong to the request's thread (the request's own email keeps its
# numbered choices: Je prends, Clore).
relay.register_reply_kind(SUPPORT_NEWS, _thread_of)
relay.register_reply_kind(SUPPORT_REQUEST, _thread_of)
thread_replies.register_delivery_kind(SUPPORT_NEWS)
actions.register_flow((Intent.SUPPORT_TAKE, Intent.SUPPORT_CLOSE, Intent.SUPPORT_LIST,
                       Intent.SUPPORT_ASK), _guard_intent)
register_help_flow(HelpFlow(_help, _attach))  # the alert's button, AIDE by email, free text
