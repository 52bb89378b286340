"""Groupements by email: a proposal's email is its own thread ("p", the proposal id) read back
as ACCEPTER, REFUSER [raison] (or 1 / 2, as the email numbers them); a groupement's news
belongs to the groupement's thread, where a reply is a post to the others (channels.email.
thread_replies) unless it is a numbered choice or PARTAGER [field] (the contact details, field by
field, as the Telegram buttons share them).
"""

from __future__ import annotations

from collections.abc import Sequence

from alerts import actions
from alerts.message import Intent, Message, Request, note
from channels.email import commands as C
from channels.email import thread_replies, threads
from channels.email.keys import Thread
from channels.email.render import choices_of
from channels.email.replies import general_reply
from channels.email.threads import Inbound
from consortia import proposals
from consortia.groupements import GROUPEMENT_NEWS, groupement_message
from locales import gettext_for
from store.alert_models import Delivery
from store.consortia_models import Groupement, ThreadKind

PROPOSAL = "p"


def _proposal_thread(deliveries: Sequence[Delivery]) -> Thread:
    return Thread(PROPOSAL, int((deliveries[0].payload or {}).get("proposal") or 0))


def proposal_reply(inbound: Inbound) -> list[Message]:
    command = inbound.command
    name = command.name if command is not None else None
    if name == C.CHOICE and command.number in (1, 2):
        name = C.ACCEPT if command.number == 1 else C.DECLINE
    if name not in (C.ACCEPT, C.DECLINE):
        return list(general_reply(inbound))
    request = Request(Intent.PROPOSAL_ACCEPT if name == C.ACCEPT else Intent.PROPOSAL_REFUSE,
                      inbound.thread.id, None if name == C.ACCEPT else "none")
    args = (inbound.session, inbound.member, request, inbound.now, inbound.tz, inbound.lang)
    reason = (command.rest or "").strip()
    reply = proposals.refuse(*args, text=reason) if name == C.DECLINE and reason else (
        proposals.accept(*args) if name == C.ACCEPT else proposals.refuse(*args))
    return ([note(reply.note)] if reply.note else []) + list(reply.messages)


def _carry_out(inbound: Inbound, request: Request) -> list[Message]:
    reply = actions.handle(inbound.session, inbound.member.id, request, inbound.now, inbound.tz,
                           inbound.lang)
    answer = [note(reply.note)] if reply.note else []
    return answer + ([reply.screen] if reply.screen is not None else []) + list(reply.messages)


def share_command(inbound: Inbound) -> list[Message] | None:
    """PARTAGER shows what the member may share, PARTAGER EMAIL shares or stops sharing it
    (the Telegram buttons' toggle); "Partager le lot 2…" is a sentence, a post (None)."""
    command = inbound.command
    rest = (command.rest or "").strip()
    field = C.field(rest) if rest else None
    if command.number is not None or (rest and field is None):
        return None
    return _carry_out(inbound, Request(Intent.GROUPEMENT_SHARE, inbound.thread.id, field))


def groupement_command(inbound: Inbound) -> list[Message] | None:
    """A reply "2" in a groupement's thread: its second choice as the groupement reads now
    (the lead's status, leave); PARTAGER [field]; anything else is a message to the others
    (None)."""
    command = inbound.command
    if command is not None and command.name == C.SHARE:
        return share_command(inbound)
    if command is None or command.name != C.CHOICE or command.number is None:
        return None
    _ = gettext_for(inbound.lang)
    groupement = inbound.session.get(Groupement, inbound.thread.id)
    if groupement is None:
        return [note(_("This email's choices are no longer available."))]
    choices = choices_of(groupement_message(inbound.session, groupement, inbound.member,
                                            inbound.lang))
    if not 1 <= command.number <= len(choices):
        return [note(_("This email has no choice {number}: reply with a number from 1 to "
                       "{count}.").format(number=command.number, count=len(choices)))]
    return _carry_out(inbound, choices[command.number - 1].request)


threads.register_delivery(proposals.PARTNER_PROPOSAL, _proposal_thread)
threads.register_thread(PROPOSAL, proposal_reply)
thread_replies.register_delivery_kind(GROUPEMENT_NEWS)
thread_replies.register_commands(ThreadKind.GROUPEMENT, groupement_command)
threads.number_choices(thread_replies.LETTERS[ThreadKind.GROUPEMENT])
