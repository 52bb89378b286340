"""Proposals with mutual consent: the requester proposes a suggested structure (one tap each);
the candidate reads the tender, the requester's public profile and the role, and accepts or
refuses (with a reason, or none).

    pending ──accept (the candidate; one UPDATE … WHERE status = 'pending')──▶ accepted
       ├──refuse (the candidate, reason optional)──▶ refused
       ├──the tender's deadline passes──▶ expired
       └──the requester withdraws its search / the tender is cancelled──▶ cancelled

Nothing about a candidate reaches the requester before it accepts: a refusal is told without a
name, with its reason only when one was given. An acceptance puts both in the search's
groupement (created by the first one), in the same transaction.
"""

from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlmodel import Session

from alerts import actions
from alerts.actions import Reply, is_open
from alerts.compose import Loader, NothingToSend, register_builder
from alerts.message import Action, Intent, Message, Request, block, bold, line
from alerts.outbox import enqueue_to_members
from alerts.render import cut, format_deadline
from consortia import groupements
from consortia.profiles import asked_structures, contact_member, profile_of, suggestions
from consortia.search import LACKS, lack_label, role_label, search_of
from conversations.choices import FAMILIES
from locales import gettext_for
from matching.partners import PartnerProfile, reason_text
from reference.cpv import cpv_get
from reference.geography import departement
from store.alert_models import Delivery
from store.consortia_models import PartnerRole, PartnerSearch, Proposal, SearchStatus
from store.consortia_models import ProposalStatus as P
from store.models import Member, Structure
from store.tender_models import TenderRow

PARTNER_PROPOSAL = "partner_proposal"  # to the candidate, with Accepter / Refuser
PROPOSAL_NEWS = "proposal_news"  # to the requester: a refusal, anonymous
REFUSALS = ("busy", "trade", "area", "capacity", "none")
CHECKED = 50  # a candidate proposed must still be among this many suggestions
TRADES_SHOWN = 3
TITLE_CAP = 90
REASON_CAP = 300


def refusal_label(code: str, lang: str) -> str:
    _ = gettext_for(lang)
    return {"busy": _("Not available then"), "trade": _("Not our trade"),
            "area": _("Too far"), "capacity": _("Too big for us"),
            "none": _("No reason")}[code]


def public_profile(profile: PartnerProfile, lang: str) -> str:
    """What another structure may read: name, kind, area, trades. Never a contact detail."""
    _ = gettext_for(lang)
    parts = [profile.name or _("a member")]
    if profile.family in FAMILIES:
        parts.append(_(FAMILIES[profile.family]))
    if profile.all_france:
        parts.append(_("all of France"))
    elif profile.departements:
        first = departement(profile.departements[0])
        parts.append(f"{first.name} ({first.code})" if first else profile.departements[0])
    trades = [c.label(lang) for c in (cpv_get(code) for code in profile.cpv_codes) if c]
    if trades:
        parts.append(", ".join(cut(t, 60) for t in trades[:TRADES_SHOWN]))
    return " · ".join(parts)


def suggestions_message(session: Session, search: PartnerSearch, tender: TenderRow,
                        lang: str) -> Message:
    _ = gettext_for(lang)
    found = suggestions(session, search, with_asked=True)
    asked = asked_structures(session, search)
    head = line(_("Partners for: "), bold(cut(tender.title, TITLE_CAP) or _("(untitled tender)")))
    if not found:
        return Message(_("Suggested partners"), (block(head, _(
            "No structure fits yet. Come back later with /groupements: new members and "
            "searches are counted each time.")),), icon="🤝", actions=((Action(
                Intent.SEARCH_CONSENT, _("Withdraw my search"), target=search.id, arg="no"),),))
    lines = [head]
    buttons = []
    for number, suggestion in enumerate(found, 1):
        lines.append(line(f"{number}. ", bold(public_profile(suggestion.profile, lang)),
                          item=False))
        why = "; ".join(reason_text(r, lang) for r in suggestion.reasons)
        if why:
            lines.append(line(_("Why: {reasons}").format(reasons=why), item=True))
        done = suggestion.profile.structure_id in asked
        label = _("Proposed to {number}") if done else _("Propose to {number}")
        buttons.append(Action(Intent.PROPOSE, label.format(number=number), target=search.id,
                              arg=str(suggestion.profile.structure_id), selected=done))
    lines.append(line(_("They will see your structure's public profile and the role proposed, "
                        "and answer. You learn who they are when they accept.")))
    rows = tuple(tuple(buttons[i:i + 3]) for i in range(0, len(buttons), 3))
    rows += ((Action(Intent.SEARCH_CONSENT, _("Withdraw my search"), target=search.id,
                     arg="no"),),)
    return Message(_("Suggested partners"), (tuple(lines),), actions=rows, icon="🤝")


def _search_reply(session: Session, member: Member, request: Request, now: datetime,
                  lang: str) -> tuple[PartnerSearch, TenderRow] | Reply:
    _ = gettext_for(lang)
    search = search_of(session, member, request.target)
    tender = session.get(TenderRow, search.tender_id) if search is not None else None
    if search is None or tender is None:
        return Reply(lang, note=_("This search is not yours or no longer exists."), refused=True)
    if not is_open(tender, now):
        return Reply(lang, note=_("This tender is closed: there is nothing more to do on it."),
                     refused=True, closed=True)
    if search.status != SearchStatus.ACTIVE or search.consent_at is None:
        return Reply(lang, note=_("Your search is withdrawn: show your structure again from "
                                  "/groupements to see partners."), refused=True)
    return search, tender


def _guarded(check):
    """The action runs on what `check` found (a search and its tender, a proposal), or the
    Reply saying why not."""
    def decorate(action):
        @functools.wraps(action)
        def run(session: Session, member: Member, request: Request, now: datetime,
                tz: ZoneInfo, lang: str) -> Reply:
            found = check(session, member, request, now, lang)
            if isinstance(found, Reply):
                return found
            found = found if isinstance(found, tuple) else (found,)
            return action(session, member, request, now, tz, lang, *found)
        return run
    return decorate


@_guarded(_search_reply)
def show(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
         lang: str, search: PartnerSearch, tender: TenderRow) -> Reply:
    return Reply(lang, messages=(suggestions_message(session, search, tender, lang),))


@_guarded(_search_reply)
def propose(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
            lang: str, search: PartnerSearch, tender: TenderRow) -> Reply:
    _ = gettext_for(lang)
    structure_id = int(request.arg) if (request.arg or "").isdigit() else None
    if structure_id is None or structure_id not in {
            s.profile.structure_id for s in suggestions(session, search, CHECKED)}:
        return Reply(lang, note=_("This structure can no longer be proposed (already asked, or "
                                  "no longer available)."), refused=True)
    to_member = contact_member(session, structure_id)
    if to_member is None:
        return Reply(lang, note=_("This structure can no longer be proposed (already asked, or "
                                  "no longer available)."), refused=True)
    proposal = Proposal(search_id=search.id, tender_id=tender.id, from_member_id=member.id,
                        to_member_id=to_member, to_structure_id=structure_id,
                        role=search.role or PartnerRole.COCONTRACTOR, lots=list(search.lots or ()),
                        expires_at=tender.deadline, created_at=now)
    session.add(proposal)
    session.flush()
    enqueue_to_members(session, [to_member], PARTNER_PROPOSAL, {"proposal": proposal.id}, now,
                       version=f"p{proposal.id}", tender_id=tender.id)
    return Reply(lang, note=_("Proposal sent. We will tell you as soon as it is accepted."),
                 changed=True, screen=suggestions_message(session, search, tender, lang))


def proposal_message(session: Session, proposal: Proposal, lang: str, now: datetime,
                     tz: ZoneInfo, *, picking: bool = False) -> Message:
    """What the candidate reads: the tender, who proposes (public profile), the role."""
    _ = gettext_for(lang)
    tender = session.get(TenderRow, proposal.tender_id)
    requester = session.get(Member, proposal.from_member_id)
    structure = session.get(Structure, requester.structure_id) if requester and \
        requester.structure_id else None
    who = public_profile(profile_of(structure, requester.id), lang) if structure else _(
        "a former member")
    lines = [line(_("{who} proposes that you answer this tender together:").format(who=who)),
             line(bold(cut(tender.title, TITLE_CAP) or _("(untitled tender)")))]
    if tender.buyer:
        lines.append(line(_("Buyer: {buyer}").format(buyer=cut(tender.buyer, 120))))
    if tender.deadline:
        lines.append(line(_("Deadline: {date}").format(
            date=format_deadline(tender.deadline, lang, now, tz))))
    lines.append(line(_("Role proposed to you: {role}").format(
        role=role_label(proposal.role, lang))))
    if proposal.lots:
        lines.append(line(_("Lots: {lots}").format(lots=", ".join(proposal.lots))))
    search = session.get(PartnerSearch, proposal.search_id)
    lacks = [lack_label(code, lang) for code in (search.lacks if search else ()) if code in LACKS]
    if lacks:
        lines.append(line(_("What it lacks: {lacks}").format(lacks=", ".join(lacks))))
    if search is not None and search.lack_text:
        lines.append(line(_("In its words: {text}").format(text=search.lack_text)))
    status = {P.ACCEPTED: _("You accepted this proposal."),
              P.REFUSED: _("You declined this proposal."),
              P.EXPIRED: _("This proposal expired with the tender's deadline."),
              P.CANCELLED: _("This proposal was withdrawn.")}.get(proposal.status)
    rows: tuple = ()
    if status:
        lines.append(line(status))
    elif picking:
        lines.append(line(_("Why do you decline? The structure that asked will only read the "
                            "reason you choose, if any.")))
        rows = tuple((Action(Intent.PROPOSAL_REFUSE, refusal_label(code, lang),
                             target=proposal.id, arg=code),) for code in REFUSALS)
    else:
        lines.append(line(_("Nothing about you is passed on unless you accept.")))
        rows = ((Action(Intent.PROPOSAL_ACCEPT, _("Accept"), target=proposal.id),
                 Action(Intent.PROPOSAL_REFUSE, _("Decline"), target=proposal.id)),)
    return Message(_("Groupement proposal"), (tuple(lines),), actions=rows, icon="🤝")


def _addressed(session: Session, member: Member, request: Request, now: datetime,
               lang: str) -> Proposal | Reply:
    """The pending proposal addressed to this member, else the Reply saying why not."""
    _ = gettext_for(lang)
    proposal = session.get(Proposal, request.target or 0)
    if proposal is None or proposal.to_member_id != member.id:
        return Reply(lang, note=_("This proposal is not addressed to you."), refused=True)
    tender = session.get(TenderRow, proposal.tender_id)
    search = session.execute(select(PartnerSearch).where(PartnerSearch.id == proposal.search_id)
                             .with_for_update()).scalars().first()
    if proposal.status == P.PENDING and (tender is None or not is_open(tender, now)):
        proposal.status, proposal.answered_at = P.EXPIRED, now
    elif proposal.status == P.PENDING and (search is None or search.consent_at is None):
        proposal.status, proposal.answered_at = P.CANCELLED, now
    if proposal.status != P.PENDING:
        session.add(proposal)
        done = {P.ACCEPTED: _("You already accepted this proposal."),
                P.REFUSED: _("You already declined this proposal.")}.get(
            proposal.status, _("This proposal is no longer open."))
        return Reply(lang, note=done, refused=proposal.status not in (P.ACCEPTED, P.REFUSED),
                     closed=True)
    return proposal


@_guarded(_addressed)
def accept(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
           lang: str, proposal: Proposal) -> Reply:
    _ = gettext_for(lang)
    won = session.execute(update(Proposal).where(
        Proposal.id == proposal.id, Proposal.status == P.PENDING).values(
        status=P.ACCEPTED, answered_at=now)).rowcount == 1
    session.refresh(proposal)
    if not won:
        return Reply(lang, note=_("This proposal is no longer open."), closed=True)
    groupement = groupements.for_acceptance(session, proposal, now)
    proposal.groupement_id = groupement.id
    session.add(proposal)
    session.flush()
    return Reply(lang, note=_("Accepted: you are now in the groupement."), changed=True,
                 screen=proposal_message(session, proposal, lang, now, tz),
                 messages=(groupements.groupement_message(session, groupement, member, lang),))


def refuse(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
           lang: str, text: str | None = None) -> Reply:
    _ = gettext_for(lang)
    proposal = _addressed(session, member, request, now, lang)
    if isinstance(proposal, Reply):
        return proposal
    if request.arg is None and text is None:
        return Reply(lang, note=_("Why do you decline? (optional)"),
                     screen=proposal_message(session, proposal, lang, now, tz, picking=True))
    if text is None and request.arg not in REFUSALS:
        return Reply(lang, note=_("This button is no longer valid."), refused=True)
    reason = None if request.arg in (None, "none") else request.arg
    won = session.execute(update(Proposal).where(
        Proposal.id == proposal.id, Proposal.status == P.PENDING).values(
        status=P.REFUSED, answered_at=now, reason="other" if text else reason,
        reason_text=cut(text.strip(), REASON_CAP) if text else None)).rowcount == 1
    session.refresh(proposal)
    if won:
        enqueue_to_members(session, [proposal.from_member_id], PROPOSAL_NEWS,
                           {"proposal": proposal.id, "event": "refused"}, now,
                           version=f"p{proposal.id}-refused", tender_id=proposal.tender_id)
    return Reply(lang, note=_("Declined. Thank you for answering."), changed=won, closed=True,
                 screen=proposal_message(session, proposal, lang, now, tz))


def _proposal_builder(session: Session, loader: Loader, group: list[Delivery], member: Member,
                      now: datetime, tz: ZoneInfo) -> Message:
    proposal = session.get(Proposal, int((group[0].payload or {}).get("proposal") or 0))
    if proposal is None or proposal.to_member_id != member.id:
        raise NothingToSend("the proposal is gone")
    if proposal.status in (P.EXPIRED, P.CANCELLED):
        raise NothingToSend("the proposal is over")
    return proposal_message(session, proposal, member.language or "fr", now, tz)


def _news_builder(session: Session, loader: Loader, group: list[Delivery], member: Member,
                  now: datetime, tz: ZoneInfo) -> Message:
    """To the requester: a refusal, anonymous — its reason only if the candidate gave one."""
    proposal = session.get(Proposal, int((group[0].payload or {}).get("proposal") or 0))
    if proposal is None or proposal.from_member_id != member.id:
        raise NothingToSend("the proposal is gone")
    lang = member.language or "fr"
    _ = gettext_for(lang)
    tender = session.get(TenderRow, proposal.tender_id)
    lines = [line(_("A structure you proposed declined to answer “{title}” with you.").format(
        title=cut(tender.title, TITLE_CAP) if tender else ""))]
    if proposal.reason_text:
        lines.append(line(_("Its reason: {reason}").format(reason=proposal.reason_text)))
    elif proposal.reason in REFUSALS:
        lines.append(line(_("Its reason: {reason}").format(
            reason=refusal_label(proposal.reason, lang))))
    lines.append(line(_("You can propose other partners from /groupements.")))
    return Message(_("Groupement proposal"), (tuple(lines),), icon="🤝")


def _flow(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
          lang: str) -> Reply:
    flows = {Intent.SEARCH_SUGGEST: show, Intent.PROPOSE: propose,
             Intent.PROPOSAL_ACCEPT: accept, Intent.PROPOSAL_REFUSE: refuse}
    return flows[request.intent](session, member, request, now, tz, lang)


register_builder(PARTNER_PROPOSAL, _proposal_builder)
register_builder(PROPOSAL_NEWS, _news_builder)
actions.register_flow((Intent.SEARCH_SUGGEST, Intent.PROPOSE, Intent.PROPOSAL_ACCEPT,
                       Intent.PROPOSAL_REFUSE), _flow)
