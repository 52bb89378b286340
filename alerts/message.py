"""What the core says to a member, and what a member asks of it, with no channel's markup.

A `Message` is a title, blocks of lines made of spans (plain, bold, italic, struck out, a link),
and rows of `Action`s. An `Action` is an `Intent` (what the member wants) with its target (a tender
id) and a label in the member's language. Each channel renders a message its own way — Telegram
HTML and inline buttons (channels/telegram.py), later an email with reply commands — and decodes
what comes back (a button, a reply) into the same `Intent`s, which alerts.actions carries out.

All text here is plain and already translated: escaping is the channel's job.

A message too long for a channel: `shorter` gives a shorter version of the same message (fewer
lots, a shorter description…), and so on; a channel takes the first that fits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Intent(StrEnum):
    """What a member asks for. Targets: a tender id for the tender intents."""

    INTERESTED = "interested"
    NOT_FOR_US = "not_for_us"  # arg: one of alerts.render.NOT_FOR_US_REASONS, or none yet
    UNDO = "undo"
    PARTNERS = "partners"
    HELP = "help"
    OPEN = "open"  # show one tender of a digest in full (item: its number in the digest)
    # The alert preferences (/alertes and its buttons, /pause, /reprendre, STOP by email).
    MENU = "menu"  # arg: the screen (main, hours, days, quiet)
    RHYTHM = "rhythm"  # arg: instant | daily | weekly
    DIGEST_HOUR = "digest_hour"  # arg: 0-23
    WEEKLY_DAY = "weekly_day"  # arg: 0 (Monday)-6
    QUIET_HOURS = "quiet_hours"  # arg: "start-end"
    WEEKENDS = "weekends"  # toggles quiet weekends
    PAUSE = "pause"  # arg: days
    RESUME = "resume"
    STOP = "stop"  # no alerts until resumed
    DONE = "done"  # close the preferences menu
    # Events and announcements (targets: an announcement id).
    EVENT_YES = "event_yes"  # "Je m'inscris"
    EVENT_NO = "event_no"  # "Pas disponible" (also cancels a registration)
    # Advisors only (alerts.advisors.is_advisor is checked by every one of them).
    ANNOUNCEMENTS = "announcements"  # /annonces: the list
    ANNOUNCEMENT_CANCEL = "announcement_cancel"  # a scheduled announcement, before it leaves
    REGISTRANTS = "registrants"  # the registrants of an event, as CSV
    OPPORTUNITIES = "opportunities"  # /opportunites: the open ones, to edit or cancel
    OPPORTUNITY_CANCEL = "opportunity_cancel"  # target: the opportunity's tender id
    OPPORTUNITY_EDIT = "opportunity_edit"  # target: the opportunity's tender id
    STATS = "stats"  # the bilan (chart and CSV)
    # support requests (support/requests.py)
    SUPPORT_ASK = "support_ask"  # /accompagnement; arg: none (the text comes with the command)
    SUPPORT_TAKE = "support_take"  # "Je prends"; target: the request
    SUPPORT_CLOSE = "support_close"  # target: the request
    SUPPORT_LIST = "support_list"  # /demandes
    # partner searches, proposals and groupements (consortia/); targets as noted
    SEARCH_ROLE = "search_role"  # target: the search; arg: the role wanted for the partner
    SEARCH_LOT = "search_lot"  # target: the search; arg: a lot's position (toggles it)
    SEARCH_LACK = "search_lack"  # target: the search; arg: trade | lot | area | capacity
    SEARCH_CONSENT = "search_consent"  # target: the search; arg: yes | no (withdraw)
    SEARCH_SUGGEST = "search_suggest"  # target: the search: the suggested partners
    PROPOSE = "propose"  # target: the search; arg: the candidate structure's id
    PROPOSAL_ACCEPT = "proposal_accept"  # target: the proposal
    PROPOSAL_REFUSE = "proposal_refuse"  # target: the proposal; arg: a reason, or none yet
    GROUPEMENTS = "groupements"  # /groupements: the member's groupements and proposals
    GROUPEMENT_STATUS = "gr_status"  # target: the groupement; arg: a GroupementStatus
    GROUPEMENT_LEAVE = "gr_leave"  # target: the groupement
    GROUPEMENT_JOIN = "gr_join"  # advisors; target: the groupement
    GROUPEMENT_SHARE = "gr_share"  # target: the groupement; arg: a contact field (toggles it)
    GROUPEMENT_POST = "gr_post"  # /groupe TEXT; target: the groupement, or none (the only one)
    FOLLOWUP_ANSWER = "followup"  # target: the follow-up; arg: bid_yes | bid_no | won | lost…


TENDER_INTENTS = frozenset({Intent.INTERESTED, Intent.NOT_FOR_US, Intent.UNDO, Intent.PARTNERS,
                            Intent.HELP, Intent.OPEN})


@dataclass(frozen=True, slots=True)
class Request:
    """An intent as a member sent it: decoded from a button, a command or an email reply.
    Nothing in it is trusted: alerts.actions checks it against the database."""

    intent: Intent
    target: int | None = None
    arg: str | None = None


@dataclass(frozen=True, slots=True)
class Action:
    """A button (or a reply command) offered with a message."""

    intent: Intent
    label: str
    target: int | None = None
    arg: str | None = None
    selected: bool = False  # the member's current choice (Telegram marks it ✅)
    item: int | None = None  # its number in a digest, for channels that number items

    @property
    def request(self) -> Request:
        return Request(self.intent, self.target, self.arg)


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    bold: bool = False
    italic: bool = False
    strike: bool = False
    link: str | None = None  # an http(s) URL; the channel checks it again


@dataclass(frozen=True, slots=True)
class Line:
    spans: tuple[Span, ...]
    item: bool = False  # a list item (a bullet on Telegram)
    telegram_only: bool = False  # a hint about Telegram's buttons or commands: email leaves it out

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message (an .ics invitation, a CSV, a chart). Telegram sends it as a
    document (a photo for images); email attaches it."""

    filename: str
    data: bytes
    mime: str = "application/octet-stream"


Block = tuple[Line, ...]
Actions = tuple[tuple[Action, ...], ...]


@dataclass(frozen=True)
class Message:
    title: str | None = None
    blocks: tuple[Block, ...] = ()
    actions: Actions = ()
    icon: str = ""  # a small marker before the title (📬, ✏️, ❌, ⏰)
    shorter: Callable[[], Message | None] | None = field(default=None, compare=False,
                                                         repr=False)
    attachments: tuple[Attachment, ...] = ()

    def lines(self) -> Iterable[Line]:
        for block in self.blocks:
            yield from block

    def text(self) -> str:
        """The visible text, as plain text (tests and length estimates)."""
        parts = [((self.icon + " ") if self.icon else "") + self.title] if self.title else []
        parts += ["\n".join(("• " if line.item else "") + line.text for line in block)
                  for block in self.blocks if block]
        return "\n\n".join(parts)

    def variants(self) -> Iterable[Message]:
        """This message, then each shorter version in turn."""
        message: Message | None = self
        while message is not None:
            yield message
            message = message.shorter() if message.shorter else None

    def with_actions(self, actions: Actions) -> Message:
        return Message(self.title, self.blocks, actions, self.icon, self.shorter,
                       self.attachments)


# --- building ------------------------------------------------------------------------------------


def plain(text: str) -> Span:
    return Span(text)


def bold(text: str) -> Span:
    return Span(text, bold=True)


def line(*spans: Span | str, item: bool = False, telegram_only: bool = False) -> Line:
    return Line(tuple(Span(s) if isinstance(s, str) else s for s in spans), item, telegram_only)


def block(*lines: Line | str) -> Block:
    return tuple(line(x) if isinstance(x, str) else x for x in lines)


def grid(actions: Sequence[Action], width: int) -> Actions:
    """Buttons in rows of `width`."""
    return tuple(tuple(actions[i:i + width]) for i in range(0, len(actions), width))


def note(text: str) -> Message:
    """A message of one paragraph, no title (a confirmation, an error)."""
    return Message(blocks=(block(text),))


def fill(template: str, **values: Span | str | tuple[Span, ...]) -> tuple[Span, ...]:
    """A translated template ("{label}: {value}") with its placeholders as styled spans: the
    translation decides the order and the punctuation ("Acheteur : …"). Braces that name no
    value are kept as they are."""
    spans: list[Span] = []
    rest = template
    while rest:
        start = rest.find("{")
        end = rest.find("}", start + 1) if start != -1 else -1
        if end == -1:
            spans.append(Span(rest))
            break
        name = rest[start + 1:end]
        if name not in values:
            spans.append(Span(rest[:end + 1]))
            rest = rest[end + 1:]
            continue
        spans.append(Span(rest[:start]))
        value = values[name]
        spans.extend((Span(value),) if isinstance(value, str) else
                     (value,) if isinstance(value, Span) else value)
        rest = rest[end + 1:]
    return tuple(span for span in spans if span.text)
