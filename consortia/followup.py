"""The follow-up: seven days after a tender's deadline, each member who marked interest in it
(or looked for partners on it) or took part in one of its groupements is asked whether it
answered, then whether it won. The answers (`FollowUp`) feed the advisors' bilan
(stats.consortia_figures: bids submitted, contracts won).

    asked ──bid_yes──▶ answered ──won / lost / pending──▶ result (may be corrected)
      └────bid_no───▶ not answered

A range of days, not one day (7 to 21 days after the deadline), so a bot that was down on the
day asks the next; one row per (member, tender), so running twice asks once. Never for a
cancelled tender. Nothing is trusted: a button acts only on the presser's own follow-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts import actions
from alerts.actions import Reply
from alerts.compose import Loader, NothingToSend, register_builder
from alerts.message import Action, Intent, Message, Request, bold, line
from alerts.outbox import INTEREST_SIGNALS, enqueue_to_members
from alerts.render import cut
from locales import format_date, gettext_for
from store.alert_models import Delivery, Interest
from store.consortia_models import FollowUp, Groupement, GroupementMember
from store.models import Member
from store.tender_models import TenderRow, TenderStatus

FOLLOW_UP = "follow_up"
ASK_AFTER = timedelta(days=7)
ASK_UNTIL = timedelta(days=21)
BID_YES, BID_NO = "bid_yes", "bid_no"
RESULTS = ("won", "lost", "pending")
TITLE_CAP = 90


def concerned(session: Session, tender_id: int) -> dict[int, int | None]:
    """member id -> its groupement on this tender (None: interest only)."""
    out: dict[int, int | None] = {m: None for m in session.execute(select(Interest.member_id)
        .where(Interest.tender_id == tender_id, Interest.signal.in_(INTEREST_SIGNALS)))
        .scalars()}
    for member_id, groupement_id in session.execute(
            select(GroupementMember.member_id, Groupement.id)
            .join(Groupement, Groupement.id == GroupementMember.groupement_id)
            .where(Groupement.tender_id == tender_id, GroupementMember.left_at.is_(None),
                   GroupementMember.member_id.is_not(None),
                   GroupementMember.role != "advisor")):
        out[member_id] = groupement_id
    return out


def enqueue_follow_ups(session: Session, now: datetime, tz: ZoneInfo) -> int:
    """Ask those not asked yet about the tenders whose deadline was 7 to 21 days ago; returns
    how many were asked."""
    tenders = session.execute(select(TenderRow.id).where(
        TenderRow.deadline.is_not(None), TenderRow.deadline <= now - ASK_AFTER,
        TenderRow.deadline > now - ASK_UNTIL,
        TenderRow.status != TenderStatus.CANCELLED)).scalars().all()
    asked = 0
    for tender_id in tenders:
        done = set(session.execute(select(FollowUp.member_id).where(
            FollowUp.tender_id == tender_id)).scalars())
        for member_id, groupement_id in sorted(concerned(session, tender_id).items()):
            if member_id in done or session.get(Member, member_id) is None:
                continue
            row = FollowUp(member_id=member_id, tender_id=tender_id,
                           groupement_id=groupement_id, asked_at=now)
            session.add(row)
            session.flush()
            enqueue_to_members(session, [member_id], FOLLOW_UP, {"follow_up": row.id}, now,
                               version=f"f{row.id}")
            asked += 1
    return asked


def question(session: Session, row: FollowUp, lang: str, tz: ZoneInfo) -> Message:
    _ = gettext_for(lang)
    tender = session.get(TenderRow, row.tender_id)
    lines = [line(bold(cut(tender.title, TITLE_CAP) if tender else "")),]
    if tender is not None and tender.deadline is not None:
        lines.append(line(_("Deadline was {date}.").format(
            date=format_date(tender.deadline.astimezone(tz).date(), lang))))
    if row.answered is None:
        lines.append(line(_("Did you answer this tender? Your answer helps the advisors show "
                            "what the Centrale brings.")))
        rows = ((Action(Intent.FOLLOWUP_ANSWER, _("Yes"), target=row.id, arg=BID_YES),
                 Action(Intent.FOLLOWUP_ANSWER, _("No"), target=row.id, arg=BID_NO)),)
    elif row.answered:
        lines.append(line(_("Do you know the result?")))
        labels = {"won": _("Won"), "lost": _("Lost"), "pending": _("Not known yet")}
        rows = (tuple(Action(Intent.FOLLOWUP_ANSWER, labels[code], target=row.id, arg=code,
                             selected=row.result == code) for code in RESULTS),)
    else:
        lines.append(line(_("Noted: you did not answer it. Thank you.")))
        rows = ()
    return Message(_("How did it go?"), (tuple(lines),), actions=rows, icon="📋")


def answer(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
           lang: str) -> Reply:
    _ = gettext_for(lang)
    row = session.get(FollowUp, request.target or 0)
    if row is None or row.member_id != member.id:
        return Reply(lang, note=_("This question is not addressed to you."), refused=True)
    if request.arg == BID_YES:
        row.answered = True
    elif request.arg == BID_NO:
        row.answered, row.result = False, None
    elif request.arg in RESULTS and row.answered:
        row.result = request.arg
    else:
        return Reply(lang, note=_("This button is no longer valid."), refused=True)
    row.answered_at = now
    session.add(row)
    session.flush()
    note = _("Congratulations!") if row.result == "won" else _("Thank you, noted.")
    return Reply(lang, note=note, changed=True, screen=question(session, row, lang, tz),
                 closed=row.result is not None or row.answered is False)


def _builder(session: Session, loader: Loader, group: list[Delivery], member: Member,
             now: datetime, tz: ZoneInfo) -> Message:
    row = session.get(FollowUp, int((group[0].payload or {}).get("follow_up") or 0))
    if row is None or row.member_id != member.id:
        raise NothingToSend("the follow-up is gone")
    return question(session, row, member.language or "fr", tz)


register_builder(FOLLOW_UP, _builder)
actions.register_flow((Intent.FOLLOWUP_ANSWER,), answer)
