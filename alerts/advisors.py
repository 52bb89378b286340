"""What reaches the advisors: a member's help request, through the outbox like any message.

A help request becomes one `help_request` delivery per advisor (members with the advisor role,
store.members.seed_advisors) and per channel, in the transaction that records the request: it
survives a crash, keeps to the channels' rates, and reaches an advisor listed by email once the
email channel runs (until then it waits in the outbox). Its idempotency key names the requester,
so a second tap on *Need help* does not tell the advisors twice; a question written by email
(AIDE …, or free text in a reply) carries its text and is one request per different text.
`email_bouncing` deliveries tell them when email to a member stopped (channels.email.bounces).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlmodel import Session

from alerts.message import Message, Span, block, bold, line
from alerts.outbox import delivery_key, insert_deliveries, member_channels
from alerts.render import cut
from locales import gettext_for
from store.alert_models import Delivery, DeliveryKind, DeliveryStatus
from store.members import advisors
from store.models import AlertPreference, Member, Role, Structure
from store.tender_models import TenderRow

TITLE_CAP = 120
TEXT_CAP = 1500  # characters of a member's question shown to advisors


def _to_advisors(session: Session, exclude: int | None, kind: str, tender_id: int | None,
                 payload: dict, version: str, now: datetime) -> int:
    team = [advisor for advisor in advisors(session) if advisor.id != exclude]
    if not team:
        return 0
    preferences = {p.member_id: p for p in session.execute(select(AlertPreference).where(
        AlertPreference.member_id.in_([a.id for a in team]))).scalars()}
    rows = []
    for advisor in team:
        for channel in member_channels(advisor, preferences.get(advisor.id)):
            key = delivery_key(kind, advisor.id, tender_id, channel, version=version)
            rows.append({"member_id": advisor.id, "channel": channel, "kind": kind,
                         "tender_id": tender_id, "payload": payload, "idempotency_key": key,
                         "next_attempt_at": now, "created_at": now})
    return insert_deliveries(session, rows)


@dataclass(frozen=True)
class HelpFlow:
    """Where help requests go once a flow owns them (support/requests.py): `open` a request
    (returns how many were opened), `attach` a question to the one just opened on a tender."""

    open: Callable[[Session, Member, TenderRow | None, datetime, str | None], int]
    attach: Callable[[Session, int, int, str], int]


_HELP_FLOW: list[HelpFlow] = []


def register_help_flow(flow: HelpFlow) -> None:
    _HELP_FLOW[:] = [flow]


def attach_help_text(session: Session, member_id: int, tender_id: int, text: str) -> int:
    """The help request just made on this tender carries the member's question."""
    if _HELP_FLOW:
        return _HELP_FLOW[0].attach(session, member_id, tender_id, text)
    key = f"{DeliveryKind.HELP_REQUEST}:%:{tender_id}:from{member_id}:%"
    return session.execute(
        update(Delivery).where(Delivery.idempotency_key.like(key),
                               Delivery.status == DeliveryStatus.PENDING)
        .values(payload={"requester": member_id, "text": cut(text, TEXT_CAP)})).rowcount or 0


def enqueue_help_request(session: Session, requester: Member, tender: TenderRow | None,
                         now: datetime, text: str | None = None) -> int:
    """Queue the request to every advisor on their channels (through the help flow when one
    is registered). Returns rows inserted. With `text` (what the member wrote, e.g. by email)
    each different text is one more request; without a tender it is a question of its own."""
    if _HELP_FLOW:
        return _HELP_FLOW[0].open(session, requester, tender, now, text)
    payload: dict = {"requester": requester.id}
    version = f"from{requester.id}"
    if text:
        text = cut(text, TEXT_CAP)
        payload["text"] = text
        version += "-" + hashlib.sha256(text.encode()).hexdigest()[:12]
    return _to_advisors(session, requester.id, DeliveryKind.HELP_REQUEST,
                        tender.id if tender is not None else None, payload, version, now)


def enqueue_email_bouncing(session: Session, member: Member, now: datetime) -> int:
    """Tell the advisors that email to `member` stopped (its address bounces)."""
    return _to_advisors(session, member.id, DeliveryKind.EMAIL_BOUNCING, None,
                        {"member": member.id}, f"m{member.id}-{now.date().isoformat()}", now)


def _who(session: Session, member: Member | None, lang: str) -> str:
    _ = gettext_for(lang)
    structure = session.get(Structure, member.structure_id) if (
        member is not None and member.structure_id is not None) else None
    if structure is not None and structure.name:
        return cut(structure.name, 100)
    return (_("member {id}").format(id=member.id) if member is not None
            else _("a former member"))


def help_request_message(session: Session, requester: Member | None, tender: TenderRow | None,
                         lang: str, text: str | None = None) -> Message:
    """The note an advisor receives, in the advisor's language."""
    _ = gettext_for(lang)
    who = _who(session, requester, lang)
    if text:
        lines = [line(_("{who} writes:").format(who=who)), line(Span(cut(text, TEXT_CAP),
                                                                      italic=True))]
    else:
        lines = [line(_("{who} asks for help with this tender.").format(who=who))]
    if tender is not None:
        lines.append(line(_("Tender: “{title}” (id {id}).").format(
            title=cut(tender.title, TITLE_CAP) or _("(untitled tender)"), id=tender.id)))
    elif not text:
        lines.append(line(_("The tender is no longer available.")))
    if requester is not None and requester.email:
        lines.append(line(_("Email: {address}").format(address=requester.email)))
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


def email_bouncing_message(session: Session, member: Member | None, lang: str) -> Message:
    """The note an advisor receives when email to a member stopped."""
    _ = gettext_for(lang)
    who = _who(session, member, lang)
    lines = [line(_("Email to {who} bounces again and again: it has stopped.").format(who=who))]
    if member is not None and member.email:
        lines.append(line(_("Address: {address}").format(address=member.email)))
    if member is not None and member.telegram_chat_id and member.telegram_active:
        lines.append(line(_("They still receive their alerts on Telegram.")))
    else:
        lines.append(line(_("They have no other channel: they receive nothing until their "
                            "address is corrected.")))
    return Message(_("Email address bouncing"), (block(*lines),), icon="📭")


def is_advisor(member: Member | None) -> bool:
    return member is not None and member.role == Role.ADVISOR


def advisors_only_text(lang: str) -> str:
    """The answer to anyone else who tries an advisor's command or button."""
    _ = gettext_for(lang)
    return _("This is reserved for the Centrale's advisors. If you need help, tap “Need help” "
             "under an alert, or write /aide.")
