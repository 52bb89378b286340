"""Threads by email: a groupement's or a support request's thread (alerts.relay) as one email
thread, and a reply in it as a post relayed to the others.

Outbound, each delivery of a thread (its payload names `thread` and `id`) goes in the email
thread of that groupement or request: the signed reply key names it (channels.email.keys), so
a reply comes back to it whatever the member's client does with the headers. A flow registers
its own delivery kinds about a thread with `register_delivery_kind` (a member left, the status
changed…).

Inbound, in such a thread PAUSE, REPRENDRE and STOP keep their meaning; anything else is a
message of the thread, relayed to its other members on their channels, if the member still
takes part in it. A flow may read some commands first (`register_commands`: ACCEPTER and
REFUSER on a proposal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from alerts import relay
from alerts.message import Message, note
from channels.email import threads
from channels.email.keys import Thread
from channels.email.replies import preferences_reply
from channels.email.threads import Inbound
from locales import gettext_for
from store.alert_models import Delivery
from store.consortia_models import ThreadKind

LETTERS = {ThreadKind.GROUPEMENT: "c", ThreadKind.SUPPORT: "s"}
KINDS = {letter: kind for kind, letter in LETTERS.items()}
CommandReader = Callable[[Inbound], Sequence[Message] | None]
_COMMANDS: dict[str, CommandReader] = {}


def _thread_of(deliveries: Sequence[Delivery]) -> Thread:
    payload = deliveries[0].payload or {}
    letter = LETTERS.get(str(payload.get("thread")))
    if letter is None or not payload.get("id"):
        return Thread(threads.GENERAL, 0)
    return Thread(letter, int(payload["id"]))


def register_delivery_kind(delivery_kind: str) -> None:
    """Emails of `delivery_kind` (whose payload names the thread) belong to that thread."""
    threads.register_delivery(delivery_kind, _thread_of)


def register_commands(thread_kind: str, reader: CommandReader) -> None:
    """`reader(inbound)` sees a reply in a thread of `thread_kind` first; None: not its own."""
    _COMMANDS[thread_kind] = reader


def thread_reply(inbound: Inbound) -> list[Message]:
    kind = KINDS[inbound.thread.kind]
    done = preferences_reply(inbound)
    if done is not None:
        return done
    reader = _COMMANDS.get(kind)
    answer = reader(inbound) if reader is not None else None
    if answer is not None:
        return list(answer)
    posted = relay.post(inbound.session, kind, inbound.thread.id, inbound.member.id,
                        inbound.text, inbound.now, channel="email")
    if posted is None and inbound.text.strip():
        _ = gettext_for(inbound.lang)
        return [note(_("You no longer take part in this conversation: your message was not "
                       "passed on."))]
    return []


register_delivery_kind(relay.THREAD_POST)
for _letter in KINDS:
    threads.register_thread(_letter, thread_reply)
