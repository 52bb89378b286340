"""Replies to an email whose actions are numbered choices (channels.email.render.choices_of):
an announcement's *Je m'inscris* / *Pas disponible*, and any later flow's buttons that have no
reply command of their own. The email's thread names its delivery; a reply "2" (or "CHOIX 2")
rebuilds that delivery's message as it reads now and carries out its second action through
`alerts.actions.handle`, exactly as the Telegram button would: the flow checks everything
again. Anything else in such a reply reads as in any other email (PAUSE, STOP, free text to
the advisors).
"""

from __future__ import annotations

from alerts import actions
from alerts.compose import NothingToSend, build_message
from alerts.message import Message, note
from channels.email import commands as C
from channels.email import threads
from channels.email.render import choices_of
from channels.email.replies import general_reply
from channels.email.threads import Inbound
from locales import gettext_for
from store.alert_models import Delivery


def choice_reply(inbound: Inbound) -> list[Message]:
    command = inbound.command
    if command is None or command.name != C.CHOICE or command.number is None:
        return list(general_reply(inbound))
    _ = gettext_for(inbound.lang)
    delivery = inbound.session.get(Delivery, inbound.thread.id)
    if delivery is None or delivery.member_id != inbound.member.id:
        return [note(_("This email's choices are no longer available."))]
    try:
        message = build_message(inbound.session, delivery, inbound.member, inbound.now,
                                inbound.tz)
    except NothingToSend:
        return [note(_("This email's choices are no longer available."))]
    choices = choices_of(message)
    if not 1 <= command.number <= len(choices):
        return [note(_("This email has no choice {number}: reply with a number from 1 to "
                       "{count}.").format(number=command.number, count=len(choices)))]
    reply = actions.handle(inbound.session, inbound.member.id,
                           choices[command.number - 1].request, inbound.now, inbound.tz,
                           inbound.lang)
    found = [note(reply.note)] if reply.note else []
    return found + list(reply.messages)


threads.register_thread(threads.CHOICES, choice_reply)
