"""What an email is about — its thread — both ways, and the one dispatch point for replies.

Outbound, each delivery kind says which thread its email belongs to (`thread_for`): a tender
(kind "t", the tender id), a digest ("d", its first delivery's id: the numbered items are read
back from the digest's Message-ID, see channels.email.mime), anything else general ("g"). The
thread goes into the signed reply key (channels.email.keys) and into the threading headers.

Inbound, a reply's key gives back its member and thread; `handler_for(thread.kind)` carries it
out. The alerts' kinds ("t", "d", "g") are handled in channels.email.replies; later flows
register theirs — a groupement, a support request — with `register_thread` (their replies:
ACCEPTER, REFUSER, free text relayed to the thread's other members) and `register_delivery`
(which thread their deliveries' emails open), from their own package, which bot/ imports:

    from channels.email import threads
    threads.register_delivery("consortium_invite", lambda ds: threads.Thread("c", ds[0]...))
    threads.register_thread("c", consortium_reply)  # def consortium_reply(inbound) -> [Message]

A handler gets an `Inbound` (the session of the transaction that marks the mail processed, the
member, the thread, the command if the first line is one, the whole stripped text) and returns
the Messages to mail back to the member in that thread (none: no answer). Whatever it queues
(deliveries to other members, advisors) goes in the same transaction, so a reply is acted on
exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from alerts.message import Message
from channels.email.commands import Command
from channels.email.keys import Thread
from store.alert_models import Delivery, DeliveryKind
from store.models import Member

TENDER, DIGEST, GENERAL = "t", "d", "g"
CHOICES = "a"  # an email whose actions are numbered choices (id: the delivery)


@dataclass
class Inbound:
    session: Session
    member: Member
    thread: Thread
    command: Command | None  # the first line, when it is a command
    text: str  # the reply without quotes and signatures
    now: datetime
    tz: ZoneInfo
    lang: str
    message_id: str | None = None  # the reply's own Message-ID


InboundHandler = Callable[[Inbound], Sequence[Message]]
ThreadOf = Callable[[Sequence[Delivery]], Thread]

_INBOUND: dict[str, InboundHandler] = {}
_OUTBOUND: dict[str, ThreadOf] = {}


NUMBERED: set[str] = set()  # thread kinds whose emails number their choices too


def number_choices(kind: str) -> None:
    """Emails of threads of `kind` list their actions as numbered choices; the thread's handler
    reads a reply "2" back (a groupement's status, leave)."""
    NUMBERED.add(kind)


def register_thread(kind: str, handler: InboundHandler) -> None:
    """Replies in threads of `kind` (one ASCII letter not taken) go to `handler`."""
    if len(kind) != 1 or not kind.isascii():
        raise ValueError(f"a thread kind is one ASCII letter, not {kind!r}")
    _INBOUND[kind] = handler


def register_delivery(delivery_kind: str, thread_of: ThreadOf) -> None:
    """Emails of deliveries of `delivery_kind` belong to the thread `thread_of(deliveries)`."""
    _OUTBOUND[delivery_kind] = thread_of


def handler_for(kind: str) -> InboundHandler | None:
    return _INBOUND.get(kind)


def thread_for(deliveries: Sequence[Delivery]) -> Thread:
    first = deliveries[0]
    custom = _OUTBOUND.get(first.kind)
    if custom is not None:
        return custom(deliveries)
    if first.kind == DeliveryKind.DIGEST_ITEM:
        return Thread(DIGEST, min(d.id for d in deliveries))
    if first.tender_id is not None:
        return Thread(TENDER, first.tender_id)
    return Thread(GENERAL, 0)


HELP = "h"  # a help request as an advisor receives it (id: the requester's member id)


def _help_request(deliveries: Sequence[Delivery]) -> Thread:
    return Thread(HELP, int((deliveries[0].payload or {}).get("requester") or 0))


register_delivery(DeliveryKind.HELP_REQUEST, _help_request)
