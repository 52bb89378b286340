"""Looking for partners on a tender (the alert's *Chercher des partenaires*, or /groupements):
the member says the role it proposes, the lots concerned, what it lacks, then consents to be
shown to the partners suggested for this tender, and sees them.

    (none) ──PARTNERS──▶ draft ──consent yes──▶ active ──consent no (withdraw)──▶ draft
                                                   └── tender over / cancelled ──▶ closed

The consent is per tender (`PartnerSearch.consent_at`): without it, nobody sees the structure
as "also looking for partners" and no proposal leaves. Withdrawing it cancels the proposals still
pending, so a candidate's *Accepter* on them changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlmodel import Session

from alerts import actions
from alerts.actions import Reply, is_open
from alerts.message import Action, Intent, Message, Request, bold, grid, line
from alerts.render import cut
from conversations.choices import CONSORTIUM
from locales import gettext_for
from store.consortia_models import PartnerRole, PartnerSearch, Proposal, ProposalStatus
from store.consortia_models import SearchStatus as S
from store.models import Member
from store.tender_models import LotRow, TenderRow

LACKS = ("trade", "lot", "area", "capacity")
LOTS_SHOWN = 8  # lot buttons on one screen; a search on more lots covers the whole tender
TITLE_CAP = 90
LACK_TEXT_CAP = 300


def lack_label(code: str, lang: str) -> str:
    _ = gettext_for(lang)
    return {"trade": _("A trade"), "lot": _("A lot"), "area": _("An area"),
            "capacity": _("Capacity")}[code]


def role_label(role: str | None, lang: str) -> str:
    _ = gettext_for(lang)
    return {PartnerRole.LEAD: _("lead (mandataire)"),
            PartnerRole.COCONTRACTOR: _("co-contractor"),
            PartnerRole.SUBCONTRACTOR: _("subcontractor")}.get(role or "", _("to be decided"))


def lots_of(session: Session, tender_id: int) -> list[LotRow]:
    return list(session.execute(select(LotRow).where(LotRow.tender_id == tender_id)
                                .order_by(LotRow.id)).scalars())


def search_of(session: Session, member: Member, search_id: int | None) -> PartnerSearch | None:
    """The member's own search, or None (someone else's is never acted on)."""
    search = session.get(PartnerSearch, search_id or 0)
    return search if search is not None and search.member_id == member.id else None


def start(session: Session, member: Member, tender: TenderRow, now: datetime, tz: ZoneInfo,
          lang: str) -> tuple[Message, ...]:
    """The PARTNERS signal's flow: the member's search on this tender, and its screen."""
    _ = gettext_for(lang)
    if member.structure_id is None:
        return ()
    search = session.execute(select(PartnerSearch).where(
        PartnerSearch.member_id == member.id, PartnerSearch.tender_id == tender.id)
    ).scalars().first()
    if search is None:
        search = PartnerSearch(member_id=member.id, tender_id=tender.id, created_at=now,
                               updated_at=now)
    elif search.status == S.CLOSED:
        search.status, search.updated_at = S.DRAFT, now
    session.add(search)
    session.flush()
    return (screen(session, search, tender, lang),)


def screen(session: Session, search: PartnerSearch, tender: TenderRow, lang: str) -> Message:
    _ = gettext_for(lang)
    lines = [line(_("Tender: "), bold(cut(tender.title, TITLE_CAP) or _("(untitled tender)")))]
    rows: list[tuple[Action, ...]] = []
    lines.append(line(_("Which role do you propose to your partners?")))
    rows.append(tuple(Action(Intent.SEARCH_ROLE, _(CONSORTIUM[role]), target=search.id,
                             arg=role, selected=search.role == role)
                      for role in PartnerRole.ALL))
    if search.role is not None:
        lots = lots_of(session, tender.id)[:LOTS_SHOWN]
        if lots:
            lines.append(line(_("Which lots? (none chosen: the whole tender)")))
            rows += grid([Action(Intent.SEARCH_LOT, _("Lot {number}").format(
                number=cut(lot.number, 10)), target=search.id, arg=str(position),
                selected=lot.number in (search.lots or ())) for position, lot in enumerate(lots)],
                4)
        lines.append(line(_("What do you lack? (several choices possible; to say it in your "
                            "own words, write /manque followed by your text)")))
        if search.lack_text:
            lines.append(line(_("Your note: {text}").format(text=search.lack_text)))
        rows += grid([Action(Intent.SEARCH_LACK, lack_label(code, lang), target=search.id,
                             arg=code, selected=code in (search.lacks or ())) for code in LACKS],
                     2)
        if search.consent_at is None:
            lines.append(line(_("The partners we suggest will see your structure's name, kind, "
                                "départements and trades for this tender, never your contact "
                                "details. You can withdraw at any time.")))
            rows.append((Action(Intent.SEARCH_CONSENT, _("Show my structure and see partners"),
                                target=search.id, arg="yes"),))
        else:
            rows.append((Action(Intent.SEARCH_SUGGEST, _("See the suggested partners"),
                                target=search.id),))
            rows.append((Action(Intent.SEARCH_CONSENT, _("Withdraw my search"),
                                target=search.id, arg="no"),))
    return Message(_("Looking for partners"), (tuple(lines),), actions=tuple(rows), icon="🤝")


def withdraw(session: Session, search: PartnerSearch, now: datetime,
             status: str = ProposalStatus.CANCELLED) -> int:
    """Consent withdrawn (or the tender over): pending proposals end; how many did."""
    return session.execute(update(Proposal).where(
        Proposal.search_id == search.id, Proposal.status == ProposalStatus.PENDING)
        .values(status=status, answered_at=now)).rowcount or 0


def _toggle(values: list[str] | None, value: str) -> list[str]:
    values = list(values or ())
    return [v for v in values if v != value] if value in values else values + [value]


def note_lack(session: Session, member: Member, request: Request, now: datetime,
              lang: str) -> Reply:
    """/manque TEXT: what the member lacks, in its own words, on its latest open search; the
    candidates read it with the proposal. "/manque -" removes it."""
    _ = gettext_for(lang)
    search = session.execute(select(PartnerSearch).where(
        PartnerSearch.member_id == member.id, PartnerSearch.status != S.CLOSED)
        .order_by(PartnerSearch.updated_at.desc(), PartnerSearch.id.desc())).scalars().first()
    if search is None:
        return Reply(lang, note=_("You have no partner search open: tap “Find partners” under "
                                  "an alert first."), refused=True)
    text = (request.arg or "").strip()
    if not text:
        return Reply(lang, note=_("Write what you lack after the command, for example: /manque "
                                  "a roofer for lot 2. /manque - removes your note."))
    text = "" if text == "-" else text
    search.lack_text, search.updated_at = (cut(text, LACK_TEXT_CAP) or None), now
    session.add(search)
    tender = session.get(TenderRow, search.tender_id)
    return Reply(lang, note=_("Noted: the partners you propose will read it.") if text else
                 _("Your note was removed."), changed=True,
                 messages=(screen(session, search, tender, lang),))


def handle(session: Session, member: Member, request: Request, now: datetime, tz: ZoneInfo,
           lang: str) -> Reply:
    _ = gettext_for(lang)
    if request.intent == Intent.SEARCH_LACK and request.target is None:
        return note_lack(session, member, request, now, lang)
    search = search_of(session, member, request.target)
    tender = session.get(TenderRow, search.tender_id) if search is not None else None
    if search is None or tender is None:
        return Reply(lang, note=_("This search is not yours or no longer exists."), refused=True)
    if search.status == S.CLOSED or not is_open(tender, now):
        return Reply(lang, note=_("This tender is closed: there is nothing more to do on it."),
                     refused=True, closed=True)
    intent, arg, changed = request.intent, request.arg, True
    if intent == Intent.SEARCH_ROLE and arg in PartnerRole.ALL:
        search.role = arg
    elif intent == Intent.SEARCH_ROLE and arg is None:
        changed = False  # just show the screen again
    elif intent == Intent.SEARCH_LOT and arg is not None and arg.isdigit() \
            and int(arg) < min(LOTS_SHOWN, len(lots := lots_of(session, tender.id))):
        search.lots = _toggle(search.lots, lots[int(arg)].number)
    elif intent == Intent.SEARCH_LACK and arg in LACKS:
        search.lacks = _toggle(search.lacks, arg)
    elif intent == Intent.SEARCH_CONSENT and arg == "yes" and search.role is not None:
        search.consent_at, search.status = now, S.ACTIVE
    elif intent == Intent.SEARCH_CONSENT and arg == "no":
        if search.consent_at is None and search.status == S.DRAFT:
            return Reply(lang, note=_("Your structure is not shown to anyone for this tender."))
        search.consent_at, search.status = None, S.DRAFT
        withdraw(session, search, now)
    else:
        return Reply(lang, note=_("This button is no longer valid."), refused=True)
    search.updated_at = now
    session.add(search)
    session.flush()
    if intent == Intent.SEARCH_CONSENT and arg == "yes":
        from consortia.proposals import suggestions_message

        return Reply(lang, note=_("Thank you: your search is active."), changed=True,
                     screen=screen(session, search, tender, lang),
                     messages=(suggestions_message(session, search, tender, lang),))
    note = _("Search withdrawn: your structure is no longer shown, and the proposals waiting "
             "for an answer are cancelled.") if intent == Intent.SEARCH_CONSENT else None
    return Reply(lang, note=note or (_("Saved.") if changed else None), changed=changed,
                 screen=screen(session, search, tender, lang))


actions.register_tender_flow(Intent.PARTNERS, start)
actions.register_flow((Intent.SEARCH_ROLE, Intent.SEARCH_LOT, Intent.SEARCH_LACK,
                       Intent.SEARCH_CONSENT), handle)
