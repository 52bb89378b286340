"""What reaches the advisors: a member's help request, through the outbox like any message.

A help request becomes one `help_request` delivery per advisor (members with the advisor role,
store.members.seed_advisors) and per channel, in the transaction that records the request: it
survives a crash, keeps to the channels' rates, and reaches an advisor listed by email once the
email channel runs (until then it waits in the outbox). Its idempotency key names the requester,
so a second tap on *Need help* does not tell the advisors twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from alerts.message import Message, block, bold, line
from alerts.outbox import delivery_key, insert_deliveries, member_channels
from alerts.render import cut
from locales import gettext_for
from store.alert_models import DeliveryKind
from store.members import advisors
from store.models import AlertPreference, Member, Role, Structure
from store.tender_models import TenderRow

TITLE_CAP = 120


def enqueue_help_request(session: Session, requester: Member, tender: TenderRow,
                         now: datetime) -> int:
    """Queue the request to every advisor on their channels. Returns rows inserted."""
    team = [advisor for advisor in advisors(session) if advisor.id != requester.id]
    if not team:
        return 0
    preferences = {p.member_id: p for p in session.execute(select(AlertPreference).where(
        AlertPreference.member_id.in_([a.id for a in team]))).scalars()}
    rows = []
    for advisor in team:
        for channel in member_channels(advisor, preferences.get(advisor.id)):
            key = delivery_key(DeliveryKind.HELP_REQUEST, advisor.id, tender.id, channel,
                               version=f"from{requester.id}")
            rows.append({"member_id": advisor.id, "channel": channel,
                         "kind": DeliveryKind.HELP_REQUEST, "tender_id": tender.id,
                         "payload": {"requester": requester.id}, "idempotency_key": key,
                         "next_attempt_at": now, "created_at": now})
    return insert_deliveries(session, rows)


def help_request_message(session: Session, requester: Member | None, tender: TenderRow | None,
                         lang: str) -> Message:
    """The note an advisor receives, in the advisor's language."""
    _ = gettext_for(lang)
    structure = session.get(Structure, requester.structure_id) if (
        requester is not None and requester.structure_id is not None) else None
    who = cut(structure.name, 100) if structure is not None and structure.name else (
        _("member {id}").format(id=requester.id) if requester is not None
        else _("a former member"))
    lines = [line(_("{who} asks for help with this tender.").format(who=who))]
    if tender is not None:
        lines.append(line(_("Tender: “{title}” (id {id}).").format(
            title=cut(tender.title, TITLE_CAP) or _("(untitled tender)"), id=tender.id)))
    else:
        lines.append(line(_("The tender is no longer available.")))
    return Message(_("Help requested"), (block(*lines),), icon="🆘")


def opportunity_contact(session: Session, tender: TenderRow, lang: str) -> Message | None:
    """The contact of an advisor's opportunity, for a member who marked interest (it is never
    in the alert itself)."""
    from store.announcements import opportunity_of

    opportunity = opportunity_of(session, tender.id) if tender.source == "advisor" else None
    if opportunity is None or not opportunity.contact.strip():
        return None
    _ = gettext_for(lang)
    kind = _("private buyer") if opportunity.buyer_kind == "private" else _("public buyer")
    return Message(_("Contact for this opportunity"), (block(
        line(_("“{title}” ({kind}), posted by your Centrale's advisors.").format(
            title=cut(tender.title, TITLE_CAP), kind=kind)),
        line(bold(cut(opportunity.contact, 500)))),), icon="📇")


def is_advisor(member: Member | None) -> bool:
    return member is not None and member.role == Role.ADVISOR


def advisors_only_text(lang: str) -> str:
    """The answer to anyone else who tries an advisor's command or button."""
    _ = gettext_for(lang)
    return _("This is reserved for the Centrale's advisors. If you need help, tap “Need help” "
             "under an alert, or write /aide.")
