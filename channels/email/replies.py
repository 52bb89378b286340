"""Replies in the alerts' threads — a tender ("t"), a digest ("d"), anything else ("g") — carried
out by the same function as Telegram's buttons and commands: alerts.actions.handle.

- INTERESSE, NON [raison], PARTENAIRES, AIDE [texte], VOIR, ANNULER act on the thread's tender;
  in a digest they need the tender's number ("INTERESSE 2"), read from that digest's Message-ID
  (channels.email.mime.items_of), never from the reply;
- PAUSE [jours], REPRENDRE and STOP work in any thread; STOP is answered once (a second STOP
  changes nothing and gets no mail);
- free text (the first line is no command) goes to the advisors as a support request
  (alerts.advisors.enqueue_help_request, with the tender of a tender thread); so does AIDE
  followed by a question.
"""

from __future__ import annotations

from alerts import actions
from alerts.advisors import attach_help_text, enqueue_help_request
from alerts.message import Intent, Message, Request, note
from alerts.preferences import parse_pause_days, pause_error
from channels.email import commands as C
from channels.email import mime, threads
from channels.email.threads import Inbound
from locales import gettext_for
from store.alert_models import Delivery, DeliveryKind
from store.tender_models import TenderRow

_TENDER_COMMANDS = {C.INTERESTED: Intent.INTERESTED, C.NOT_FOR_US: Intent.NOT_FOR_US,
                    C.PARTNERS: Intent.PARTNERS, C.HELP: Intent.HELP, C.OPEN: Intent.OPEN,
                    C.UNDO: Intent.UNDO}


def _answer(reply: actions.Reply) -> list[Message]:
    found = [note(reply.note)] if reply.note else []
    return found + list(reply.messages)


def preferences_reply(inbound: Inbound) -> list[Message] | None:
    """PAUSE, REPRENDRE, STOP; None when the command is none of them."""
    command = inbound.command
    if command is None:
        return None
    if command.name == C.PAUSE:
        words = [str(command.number)] if command.number is not None else []
        if command.rest and command.rest.split()[0].lower() not in ("j", "jours", "jour",
                                                                   "d", "days", "day"):
            words.append(command.rest.split()[0])
        try:
            days = parse_pause_days(words)
        except ValueError:
            return [note(pause_error(inbound.lang).replace("/pause", C.shown(C.PAUSE,
                                                                              inbound.lang)))]
        request = Request(Intent.PAUSE, arg=str(days))
    elif command.name == C.RESUME:
        request = Request(Intent.RESUME)
    elif command.name == C.STOP:
        request = Request(Intent.STOP)
    else:
        return None
    reply = actions.handle(inbound.session, inbound.member.id, request, inbound.now, inbound.tz,
                           inbound.lang)
    if request.intent == Intent.STOP and not reply.changed:
        return []  # already stopped: confirmed once
    return _answer(reply)


def _support(inbound: Inbound, tender_id: int | None, text: str) -> list[Message]:
    _ = gettext_for(inbound.lang)
    tender = inbound.session.get(TenderRow, tender_id) if tender_id else None
    enqueue_help_request(inbound.session, inbound.member, tender, inbound.now, text=text)
    return [note(_("Your message has been passed on to an advisor, who will answer you soon."))]


def act_on_tender(inbound: Inbound, tender_id: int) -> list[Message]:
    command = inbound.command
    intent = _TENDER_COMMANDS[command.name]
    arg = C.reason(command.rest) if intent == Intent.NOT_FOR_US else None
    reply = actions.handle(inbound.session, inbound.member.id, Request(intent, tender_id, arg),
                           inbound.now, inbound.tz, inbound.lang)
    if intent == Intent.HELP and command.rest and not reply.refused:
        if reply.changed:
            attach_help_text(inbound.session, inbound.member.id, tender_id, command.rest)
        else:  # help was asked before: this question is a new request
            enqueue_help_request(inbound.session, inbound.member,
                                 inbound.session.get(TenderRow, tender_id), inbound.now,
                                 text=command.rest)
    if intent == Intent.NOT_FOR_US and arg is None and not reply.refused:
        _ = gettext_for(inbound.lang)
        words = ", ".join(f"{C.shown(C.NOT_FOR_US, inbound.lang)} {word}"
                          for word in C.REASON_SHOWN[inbound.lang].values())
        return [note(_("Noted. Why is it not for you? Reply with one of: {words}. It helps us "
                       "send better tenders.").format(words=words))]
    return _answer(reply)


def _other(inbound: Inbound) -> list[Message]:
    """ACCEPTER, REFUSER, INSCRIPTION, PARTAGER, a number where they mean nothing."""
    _ = gettext_for(inbound.lang)
    if inbound.command.name == C.CHOICE:
        return [note(_("This email has no numbered choices: reply with one of the words it "
                       "lists."))]
    if inbound.command.name == C.SIGNUP:
        return [note(_("You already have a profile: you receive the tenders that fit it."))]
    if inbound.command.name == C.SHARE:
        return [note(_("Contact details are shared within a groupement: reply {word} to one of "
                       "its emails.").format(word=C.shown(C.SHARE, inbound.lang)))]
    return [note(_("There is nothing to accept or decline in this email."))]


def _no_tender(inbound: Inbound) -> list[Message]:
    _ = gettext_for(inbound.lang)
    return [note(_("Which tender? Reply to the email of that tender (each alert has its own "
                   "reply address), or to your digest with its number, for example {example}.")
                 .format(example=f"{C.shown(C.INTERESTED, inbound.lang)} 2"))]


def _common(inbound: Inbound, tender_id: int | None) -> list[Message]:
    text = inbound.text.strip()
    if inbound.command is None:
        return _support(inbound, tender_id, text) if text else []
    done = preferences_reply(inbound)
    if done is not None:
        return done
    command = inbound.command
    if command.name in _TENDER_COMMANDS:
        if tender_id is None:
            if command.name == C.HELP and command.rest:
                return _support(inbound, None, command.rest)
            return _no_tender(inbound)
        return act_on_tender(inbound, tender_id)
    return _other(inbound)


def tender_reply(inbound: Inbound) -> list[Message]:
    command = inbound.command
    if command is not None and command.number not in (None, 1) and \
            command.name in _TENDER_COMMANDS:
        _ = gettext_for(inbound.lang)
        return [note(_("This email is about one tender only: reply with the command alone, for "
                       "example {example}.").format(example=C.shown(command.name, inbound.lang)))]
    return _common(inbound, inbound.thread.id)


def digest_items(inbound: Inbound) -> list[int]:
    """The tender ids of the digest this reply answers, item 1 first (from our records)."""
    delivery = inbound.session.get(Delivery, inbound.thread.id)
    if delivery is None or delivery.member_id != inbound.member.id or \
            delivery.kind != DeliveryKind.DIGEST_ITEM:
        return []
    return mime.items_of(delivery.channel_message_id)


def digest_reply(inbound: Inbound) -> list[Message]:
    command = inbound.command
    if command is None or command.name not in _TENDER_COMMANDS:
        return _common(inbound, None)
    _ = gettext_for(inbound.lang)
    items = digest_items(inbound)
    if command.number is None:
        if command.name == C.HELP and command.rest:
            return _support(inbound, None, command.rest)
        return [note(_("Add the number of the tender, for example {example}.").format(
            example=f"{C.shown(command.name, inbound.lang)} 2"))]
    if not 1 <= command.number <= len(items):
        return [note(_("This digest has no tender {number}: its numbers go from 1 to {count}.")
                     .format(number=command.number, count=len(items)))]
    return act_on_tender(inbound, items[command.number - 1])


def general_reply(inbound: Inbound) -> list[Message]:
    return _common(inbound, None)


threads.register_thread(threads.TENDER, tender_reply)
threads.register_thread(threads.DIGEST, digest_reply)
threads.register_thread(threads.GENERAL, general_reply)
