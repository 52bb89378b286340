"""/groupements: what a member has going on — its groupements, the proposals waiting for its
answer, its partner searches with how their proposals stand (counts only: a candidate that did
not accept stays anonymous) — and, for an advisor, every active groupement, to join its thread.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts.actions import Reply
from alerts.advisors import is_advisor
from alerts.message import Action, Intent, Message, bold, line
from alerts.render import cut
from consortia.groupements import groupement_message
from consortia.proposals import proposal_message
from locales import gettext_for
from store.consortia_models import (
    Groupement,
    GroupementMember,
    PartnerSearch,
    Proposal,
    SearchStatus,
)
from store.consortia_models import GroupementStatus as G
from store.consortia_models import ProposalStatus as P
from store.models import Member
from store.tender_models import TenderRow

LISTED = 10  # messages of each kind at most: the newest first


def _search_message(session: Session, search: PartnerSearch, lang: str) -> Message:
    _ = gettext_for(lang)
    tender = session.get(TenderRow, search.tender_id)
    counts = Counter(session.execute(select(Proposal.status).where(
        Proposal.search_id == search.id)).scalars())
    lines = [line(_("Tender: "), bold(cut(tender.title, 90) if tender else ""))]
    lines.append(line(_("Shown to suggested partners: yes") if search.consent_at else
                      _("Shown to suggested partners: no")))
    if counts:
        lines.append(line(_("Proposals: {pending} waiting, {accepted} accepted, {refused} "
                            "declined").format(pending=counts[P.PENDING],
                                               accepted=counts[P.ACCEPTED],
                                               refused=counts[P.REFUSED])))
    buttons = [Action(Intent.SEARCH_ROLE, _("Edit my search"), target=search.id)]
    if search.consent_at is not None:
        buttons.insert(0, Action(Intent.SEARCH_SUGGEST, _("See the suggested partners"),
                                 target=search.id))
    return Message(_("Looking for partners"), (tuple(lines),), actions=(tuple(buttons),),
                   icon="🤝")


def overview(session: Session, member: Member, now: datetime, tz: ZoneInfo, lang: str) -> Reply:
    _ = gettext_for(lang)
    mine = session.execute(select(Groupement).join(
        GroupementMember, GroupementMember.groupement_id == Groupement.id).where(
        GroupementMember.member_id == member.id, GroupementMember.left_at.is_(None))
        .order_by(Groupement.id.desc()).limit(LISTED)).scalars().all()
    messages = [groupement_message(session, g, member, lang) for g in mine]
    received = session.execute(select(Proposal).where(
        Proposal.to_member_id == member.id, Proposal.status == P.PENDING)
        .order_by(Proposal.id.desc()).limit(LISTED)).scalars().all()
    messages += [proposal_message(session, p, lang, now, tz) for p in received
                 if p.expires_at is None or p.expires_at > now]
    searches = session.execute(select(PartnerSearch).where(
        PartnerSearch.member_id == member.id, PartnerSearch.status != SearchStatus.CLOSED)
        .order_by(PartnerSearch.id.desc()).limit(LISTED)).scalars().all()
    messages += [_search_message(session, s, lang) for s in searches]
    if is_advisor(member):
        taken = {g.id for g in mine}
        others = session.execute(select(Groupement).where(Groupement.status.in_(G.ACTIVE))
                                 .order_by(Groupement.id.desc()).limit(LISTED)).scalars().all()
        messages += [groupement_message(session, g, member, lang) for g in others
                     if g.id not in taken]
    if not messages:
        return Reply(lang, note=_("You have no groupement, proposal or partner search yet. Tap "
                                  "“Find partners” under an alert to start one."))
    return Reply(lang, messages=tuple(messages))
