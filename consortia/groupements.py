"""Groupements: the structures that accepted to answer a tender together, their thread in the
bot (alerts.relay), their status and their contact details.

    forming ──formed──▶ formed ──submitted──▶ submitted ──won / lost──▶ (final)
       └────────────┴──────────abandoned (the lead; or fewer than two members; or the tender
                                           was cancelled)───────────────▶ (final)

Only the lead changes the status; any member leaves (the others are told; when the lead leaves,
the earliest remaining member leads); an advisor may join the thread. Every news item goes
through the outbox to the members present, as a thread's message: a reply to it is a post.
"""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts import actions, relay
from alerts.actions import Reply
from alerts.advisors import advisors_only_text, is_advisor
from alerts.compose import Loader, NothingToSend, register_builder
from alerts.message import Action, Intent, Message, Request, block, bold, line
from alerts.render import cut
from consortia import contacts
from consortia.search import role_label
from locales import gettext_for
from store.alert_models import Delivery
from store.consortia_models import (
    Groupement,
    GroupementMember,
    PartnerRole,
    PartnerSearch,
    Proposal,
    ThreadKind,
)
from store.consortia_models import GroupementStatus as G
from store.models import Member
from store.tender_models import TenderRow

GROUPEMENT_NEWS = "groupement_news"
ADVISOR = "advisor"  # GroupementMember.role of an advisor who joined the thread
TITLE_CAP = 80
NEXT = {G.FORMING: (G.FORMED, G.ABANDONED), G.FORMED: (G.SUBMITTED, G.ABANDONED),
        G.SUBMITTED: (G.WON, G.LOST, G.ABANDONED)}


def status_label(status: str, lang: str) -> str:
    _ = gettext_for(lang)
    return {G.FORMING: _("forming"), G.FORMED: _("team complete"), G.SUBMITTED: _("bid submitted"),
            G.WON: _("won"), G.LOST: _("lost"), G.ABANDONED: _("abandoned")}[status]


def action_label(status: str, lang: str) -> str:
    _ = gettext_for(lang)
    return {G.FORMED: _("Team complete"), G.SUBMITTED: _("Bid submitted"), G.WON: _("Won"),
            G.LOST: _("Lost"), G.ABANDONED: _("Give up")}[status]


def present(session: Session, groupement_id: int) -> list[GroupementMember]:
    """Who takes part now: not left (an erased member stays as "a former member", id NULL)."""
    return list(session.execute(select(GroupementMember).where(
        GroupementMember.groupement_id == groupement_id, GroupementMember.left_at.is_(None))
        .order_by(GroupementMember.id)).scalars())


def membership(session: Session, groupement_id: int, member_id: int) -> GroupementMember | None:
    return next((row for row in present(session, groupement_id) if row.member_id == member_id),
                None)


def title_of(session: Session, groupement: Groupement, lang: str) -> str:
    _ = gettext_for(lang)
    tender = session.get(TenderRow, groupement.tender_id)
    return _("Groupement no. {id} “{title}”").format(
        id=groupement.id, title=cut(tender.title, TITLE_CAP) if tender else "")


def _resolver(session: Session, groupement_id: int, lang: str) -> relay.ThreadInfo | None:
    groupement = session.get(Groupement, groupement_id)
    if groupement is None or groupement.status not in G.ACTIVE:
        return None
    people = tuple(row.member_id for row in present(session, groupement_id)
                   if row.member_id is not None)
    return relay.ThreadInfo(title_of(session, groupement, lang), people, "🤝")


def news(session: Session, groupement: Groupement, event: str, now: datetime, *,
         who: int | None = None, exclude: int | None = None, version: str,
         also: tuple[int, ...] = ()) -> int:
    readers = [row.member_id for row in present(session, groupement.id)
               if row.member_id is not None and row.member_id != exclude] + list(also)
    return relay.notify(session, ThreadKind.GROUPEMENT, groupement.id, readers, GROUPEMENT_NEWS,
                        {"groupement": groupement.id, "event": event, "who": who,
                         "status": groupement.status}, now, version=version)


def _add(session: Session, groupement: Groupement, member: Member, role: str, lots: list[str],
         now: datetime) -> GroupementMember:
    row = session.execute(select(GroupementMember).where(
        GroupementMember.groupement_id == groupement.id,
        GroupementMember.member_id == member.id)).scalars().first()
    if row is None:
        row = GroupementMember(groupement_id=groupement.id, member_id=member.id,
                               structure_id=member.structure_id, role=role, lots=lots,
                               joined_at=now)
    row.left_at = None
    session.add(row)
    session.flush()
    return row


def for_acceptance(session: Session, proposal: Proposal, now: datetime) -> Groupement:
    """The search's groupement (created by the first acceptance) with the candidate in it;
    the others are told. The caller holds the search's row lock."""
    found = session.execute(select(Proposal.groupement_id).where(
        Proposal.search_id == proposal.search_id, Proposal.groupement_id.is_not(None))
        .order_by(Proposal.id)).scalars().first()
    groupement = session.get(Groupement, found) if found else None
    if groupement is None or groupement.status not in G.ACTIVE:
        groupement = Groupement(tender_id=proposal.tender_id, created_at=now)
        session.add(groupement)
        session.flush()
        requester = session.get(Member, proposal.from_member_id)
        search = session.get(PartnerSearch, proposal.search_id)
        role = PartnerRole.COCONTRACTOR if proposal.role == PartnerRole.LEAD else PartnerRole.LEAD
        _add(session, groupement, requester, role, list(search.lots or ()) if search else [],
             now)
    candidate = session.get(Member, proposal.to_member_id)
    _add(session, groupement, candidate, proposal.role, list(proposal.lots or ()), now)
    news(session, groupement, "joined", now, who=candidate.id, exclude=candidate.id,
         version=f"g{groupement.id}-joined{candidate.id}-p{proposal.id}")
    return groupement


def lead_of(rows: list[GroupementMember]) -> GroupementMember | None:
    return next((row for row in rows if row.role == PartnerRole.LEAD), None)


def groupement_message(session: Session, groupement: Groupement, viewer: Member,
                       lang: str) -> Message:
    _ = gettext_for(lang)
    rows = present(session, groupement.id)
    labelled = [(row, session.get(Member, row.member_id) if row.member_id else None,
                 relay.author_label(session, row.member_id, lang)) for row in rows]
    lines = [line(_("Status: "), bold(status_label(groupement.status, lang)))]
    for row, _member, label in labelled:
        role = _("advisor") if row.role == ADVISOR else role_label(row.role, lang)
        lots = _(" (lots {lots})").format(lots=", ".join(row.lots)) if row.lots else ""
        lines.append(line(f"{label} — {role}{lots}", item=True))
    blocks = [tuple(lines)]
    shared = contacts.shared_lines(labelled, viewer.id, lang)
    if shared:
        blocks.append(block(_("Contact details shared with you:"), *shared))
    mine = next((row for row, member, _label in labelled if member and member.id == viewer.id),
                None)
    buttons: list[tuple[Action, ...]] = []
    if mine is not None and groupement.status in G.ACTIVE:
        blocks.append(block(_("Reply to this message, or write /groupe followed by your text, "
                              "to write to the others.")))
        lead = lead_of(rows)
        if lead is not None and lead.member_id == viewer.id:
            buttons.append(tuple(Action(Intent.GROUPEMENT_STATUS, action_label(status, lang),
                                        target=groupement.id, arg=status)
                                 for status in NEXT.get(groupement.status, ())))
        row = []
        if mine.role != ADVISOR:
            row.append(Action(Intent.GROUPEMENT_SHARE, _("Share my contact details"),
                              target=groupement.id))
        row.append(Action(Intent.GROUPEMENT_LEAVE, _("Leave"), target=groupement.id))
        buttons.append(tuple(row))
    elif mine is None and is_advisor(viewer) and groupement.status in G.ACTIVE:
        buttons.append((Action(Intent.GROUPEMENT_JOIN, _("Join the conversation"),
                               target=groupement.id),))
    return Message(title_of(session, groupement, lang), tuple(blocks), actions=tuple(buttons),
                   icon="🤝")


def _mine(session: Session, member: Member, request: Request, lang: str
          ) -> tuple[Groupement, GroupementMember] | Reply:
    _ = gettext_for(lang)
    groupement = session.get(Groupement, request.target or 0)
    row = membership(session, groupement.id, member.id) if groupement is not None else None
    if groupement is None or row is None:
        return Reply(lang, note=_("This groupement is not yours."), refused=True)
    if groupement.status not in G.ACTIVE:
        return Reply(lang, note=_("This groupement is closed."), refused=True, closed=True)
    return groupement, row


def _on_mine(action):
    """The action runs only on a groupement the member takes part in, still active."""
    @functools.wraps(action)
    def run(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
            lang: str) -> Reply:
        found = _mine(session, member, request, lang)
        return found if isinstance(found, Reply) else action(
            session, member, request, now, tz, lang, *found)
    return run


@_on_mine
def set_status(session: Session, member: Member, request: Request, now: datetime,
               tz: ZoneInfo, lang: str, groupement: Groupement,
               row: GroupementMember) -> Reply:
    _ = gettext_for(lang)
    if row.role != PartnerRole.LEAD:
        return Reply(lang, note=_("Only the lead changes the groupement's status."),
                     refused=True)
    if request.arg not in NEXT.get(groupement.status, ()):
        return Reply(lang, note=_("This button is no longer valid."), refused=True)
    groupement.status = request.arg
    if request.arg == G.FORMED:
        groupement.formed_at = now
    elif request.arg == G.SUBMITTED:
        groupement.submitted_at = now
    else:
        groupement.closed_at = now
        groupement.closed_reason = groupement.closed_reason or request.arg
    session.add(groupement)
    session.flush()
    news(session, groupement, "status", now, who=member.id, exclude=member.id,
         version=f"g{groupement.id}-status-{request.arg}")
    return Reply(lang, note=_("Saved."), changed=True,
                 screen=groupement_message(session, groupement, member, lang))


@_on_mine
def leave(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
          lang: str, groupement: Groupement,
          row: GroupementMember) -> Reply:
    _ = gettext_for(lang)
    row.left_at, row.shared = now, {}
    session.add(row)
    session.flush()
    others = [r for r in present(session, groupement.id) if r.role != ADVISOR]
    news(session, groupement, "left", now, who=member.id,
         version=f"g{groupement.id}-left{member.id}-{now.timestamp():.0f}")
    if len(others) < 2:
        close(session, groupement, "members_left", now)
    elif row.role == PartnerRole.LEAD:
        others[0].role = PartnerRole.LEAD
        session.add(others[0])
        news(session, groupement, "lead", now, who=others[0].member_id,
             version=f"g{groupement.id}-lead{others[0].id}-{now.timestamp():.0f}")
    return Reply(lang, note=_("You left the groupement; the others were told."), changed=True,
                 closed=True)


def close(session: Session, groupement: Groupement, reason: str, now: datetime) -> None:
    """Abandoned (the tender was cancelled, too few members left); the members are told."""
    if groupement.status not in G.ACTIVE:
        return
    readers = tuple(r.member_id for r in present(session, groupement.id) if r.member_id)
    groupement.status, groupement.closed_reason, groupement.closed_at = G.ABANDONED, reason, now
    session.add(groupement)
    session.flush()
    relay.notify(session, ThreadKind.GROUPEMENT, groupement.id, readers, GROUPEMENT_NEWS,
                 {"groupement": groupement.id, "event": "closed", "reason": reason,
                  "status": groupement.status}, now, version=f"g{groupement.id}-closed")


def join(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
         lang: str) -> Reply:
    _ = gettext_for(lang)
    if not is_advisor(member):
        return Reply(lang, note=advisors_only_text(lang), refused=True)
    groupement = session.get(Groupement, request.target or 0)
    if groupement is None or groupement.status not in G.ACTIVE:
        return Reply(lang, note=_("This groupement is closed."), refused=True, closed=True)
    if membership(session, groupement.id, member.id) is not None:
        return Reply(lang, note=_("You already take part in this conversation."), closed=True)
    _add(session, groupement, member, ADVISOR, [], now)
    news(session, groupement, "advisor", now, who=member.id, exclude=member.id,
         version=f"g{groupement.id}-advisor{member.id}-{now.timestamp():.0f}")
    return Reply(lang, note=_("You joined the conversation."), changed=True, closed=True,
                 messages=(groupement_message(session, groupement, member, lang),))


@_on_mine
def share(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
          lang: str, groupement: Groupement,
          row: GroupementMember) -> Reply:
    _ = gettext_for(lang)
    if row.role == ADVISOR:
        return Reply(lang, note=_("This button is no longer valid."), refused=True)
    if request.arg is None:
        return Reply(lang, messages=(contacts.share_screen(row, member, lang),))
    if request.arg not in contacts.FIELDS:
        return Reply(lang, note=_("This button is no longer valid."), refused=True)
    done = contacts.toggle(row, member, request.arg)
    if done is None:
        return Reply(lang, note=_("We do not know this detail of yours."), refused=True)
    session.add(row)
    session.flush()
    if done:
        news(session, groupement, "shared", now, who=member.id, exclude=member.id,
             version=f"g{groupement.id}-shared{member.id}-{request.arg}-{now.timestamp():.0f}")
    return Reply(lang, note=_("Shared with the groupement.") if done else _("No longer shared."),
                 changed=True, screen=contacts.share_screen(row, member, lang))


def post(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
         lang: str) -> Reply:
    """/groupe [no.] TEXT: to the member's only groupement, or the one numbered."""
    _ = gettext_for(lang)
    text = (request.arg or "").strip()
    mine = [row.groupement_id for row in session.execute(select(GroupementMember)
            .join(Groupement, Groupement.id == GroupementMember.groupement_id).where(
            GroupementMember.member_id == member.id, GroupementMember.left_at.is_(None),
            Groupement.status.in_(G.ACTIVE))).scalars()]
    first, _sep, rest = text.partition(" ")
    target = request.target
    if target is None and first.isdigit() and int(first) in mine:
        target, text = int(first), rest.strip()
    if not mine:
        return Reply(lang, note=_("You are in no groupement yet."), refused=True)
    if target is None and len(mine) > 1:
        return Reply(lang, note=_("You are in several groupements: write /groupe, its number "
                                  "and your text, for example /groupe {id} Hello. Numbers are "
                                  "in /groupements.").format(id=mine[0]), refused=True)
    target = target if target is not None else mine[0]
    if target not in mine:
        return Reply(lang, note=_("This groupement is not yours."), refused=True)
    if not text:
        return Reply(lang, note=_("Write your message after the command, for example: /groupe "
                                  "We meet on Monday?"))
    posted = relay.post(session, ThreadKind.GROUPEMENT, target, member.id, text, now)
    if posted is None:
        return Reply(lang, note=_("This groupement is not yours."), refused=True)
    return Reply(lang, note=_("Sent to the others in the thread."), changed=True)


def _news_builder(session: Session, loader: Loader, group: list[Delivery], member: Member,
                  now: datetime, tz: ZoneInfo) -> Message:
    payload = group[0].payload or {}
    groupement = session.get(Groupement, int(payload.get("groupement") or 0))
    if groupement is None:
        raise NothingToSend("the groupement is gone")
    event = payload.get("event")
    if event != "closed" and membership(session, groupement.id, member.id) is None:
        raise NothingToSend("the member left the groupement")
    lang = member.language or "fr"
    _ = gettext_for(lang)
    who = relay.author_label(session, payload.get("who"), lang)
    if event == "joined":
        text = _("{who} accepted and joined the groupement.").format(who=who)
    elif event == "left":
        text = _("{who} left the groupement.").format(who=who)
    elif event == "lead":
        text = _("{who} is now the lead.").format(who=who)
    elif event == "status":
        text = _("The lead set the status to: {status}.").format(
            status=status_label(str(payload.get("status")), lang))
    elif event == "shared":
        text = _("{who} shared contact details with you.").format(who=who)
    elif event == "advisor":
        text = _("A Centrale advisor joined the conversation.")
    elif payload.get("reason") == "tender_cancelled":
        text = _("The tender was cancelled: the groupement is closed.")
    else:
        text = _("The groupement is closed.")
    message = groupement_message(session, groupement, member, lang)
    return Message(message.title, (block(text), *message.blocks), actions=message.actions,
                   icon="🤝")


def listing(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
            lang: str) -> Reply:
    from consortia.listing import overview

    return overview(session, member, now, tz, lang)


def _flow(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
          lang: str) -> Reply:
    flows = {Intent.GROUPEMENTS: listing, Intent.GROUPEMENT_STATUS: set_status,
             Intent.GROUPEMENT_LEAVE: leave, Intent.GROUPEMENT_JOIN: join,
             Intent.GROUPEMENT_SHARE: share, Intent.GROUPEMENT_POST: post}
    return flows[request.intent](session, member, request, now, tz, lang)


register_builder(GROUPEMENT_NEWS, _news_builder)
relay.register_thread(ThreadKind.GROUPEMENT, _resolver)
relay.register_reply_kind(GROUPEMENT_NEWS, lambda payload: (
    (ThreadKind.GROUPEMENT, int(payload["groupement"])) if payload.get("groupement") else None))
actions.register_flow((Intent.GROUPEMENTS, Intent.GROUPEMENT_STATUS, Intent.GROUPEMENT_LEAVE,
                       Intent.GROUPEMENT_JOIN, Intent.GROUPEMENT_SHARE, Intent.GROUPEMENT_POST),
                      _flow)
