"""The interface every channel implements for the delivery runner (alerts.runner).

A channel knows a member's address on it, renders an alerts.message.Message in its own format,
sends it and says what the answer means (`SendResult`); the runner keeps everything else: claims,
leases, the shared rate limit, what an uncertain send becomes, the fallback to another channel.
channels/telegram.py and channels/email/ are the two.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlmodel import Session

from alerts.message import Message
from store.models import Member


class Outcome(StrEnum):
    SENT = "sent"
    RATE_LIMITED = "rate_limited"  # try again after `retry_after` seconds; not a failure
    RETRY = "retry"  # certainly not delivered (5xx, refused connection): back-off, then again
    UNCERTAIN = "uncertain"  # the request may have arrived: never re-sent without an operator
    BLOCKED = "blocked"  # the member closed this channel (403, hard bounce): fall back
    DEAD = "dead"  # refused for good (400): given up with the reason
    MOVED = "moved"  # the address changed (`new_address`): sent again there
    STOP = "stop"  # the channel itself cannot send (bad credentials): the runner stops


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    reason: str = ""
    retry_after: float | None = None
    message_id: str | None = None  # the channel's id of what was sent
    new_address: Any = None


class Channel(Protocol):
    name: str  # the value of Delivery.channel it sends ("telegram")
    rate_per_s: float  # its own cap for the whole service
    address_interval_s: float  # the least time between two messages to one address

    def address(self, member: Member) -> Any | None:
        """Where to send to this member, or None when the channel is closed for them."""

    def render(self, message: Message) -> Any:
        """The message in the channel's format, within the channel's limits. A channel whose
        format depends on the recipient may also have `render_to(message, member, deliveries)`,
        which the runner then calls instead (alerts.compose.render_for; the email channel)."""

    async def send(self, address: Any, rendered: Any) -> SendResult:
        """Send and classify the answer; never raises for a failed send."""

    def close(self, session: Session, member_id: int) -> None:
        """Mark the channel closed for this member (after BLOCKED)."""

    def move(self, session: Session, member_id: int, new_address: Any) -> None:
        """Record the member's new address (after MOVED)."""
