"""Threads: the members of a groupement, or a member and its advisor, talk through the bot.

A thread is (kind, id): `ThreadKind.GROUPEMENT` and a groupement id, `ThreadKind.SUPPORT` and a
support request id. The flow that owns a kind (consortia, support) registers a `resolver`
saying, in a reader's language, the thread's title and who takes part now (left members and
erased ones no longer do). `post` stores what a participant wrote (`ThreadPost`) and queues one
`thread_post` delivery to each other participant on their channels, in the caller's transaction:
a Telegram member and an email member of the same groupement read each other, and a crash loses
nothing. The delivery's payload names the post and its thread, so a channel can thread the
message (email: In-Reply-To, the signed reply key) and read an answer back into the same thread
(Telegram: a reply to the relayed message, `thread_of_reply`).

Nothing is trusted: `post` refuses an author who is not a participant now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts.compose import Loader, NothingToSend, register_builder
from alerts.message import Message, Span, block, fill, line
from alerts.outbox import enqueue_to_members
from alerts.render import cut
from locales import gettext_for
from store.alert_models import Delivery
from store.consortia_models import ThreadPost
from store.models import Member, Role, Structure

THREAD_POST = "thread_post"
TEXT_CAP = 3000  # characters of one post (a Telegram message holds 4096 with the header)


@dataclass(frozen=True)
class ThreadInfo:
    title: str  # in the reader's language: "Groupement “Espaces verts de Brioude”"
    participants: tuple[int, ...]  # member ids who read the thread now
    icon: str = "💬"


Resolver = Callable[[Session, int, str], ThreadInfo | None]  # (session, thread id, lang)
_RESOLVERS: dict[str, Resolver] = {}
PostHook = Callable[[Session, int, int, datetime], None]  # (session, thread id, author, now)
_ON_POST: dict[str, PostHook] = {}
# Delivery kinds whose message belongs to a thread (a reply to it is a post in the thread):
# kind -> payload -> (thread kind, thread id).
_REPLY_KINDS: dict[str, Callable[[dict], tuple[str, int] | None]] = {}


def register_thread(kind: str, resolver: Resolver, on_post: PostHook | None = None) -> None:
    """`on_post` runs after each post, in its transaction (support: an advisor's first
    answer is dated)."""
    _RESOLVERS[kind] = resolver
    if on_post is not None:
        _ON_POST[kind] = on_post


def register_reply_kind(delivery_kind: str,
                        thread_of: Callable[[dict], tuple[str, int] | None]) -> None:
    """A reply to a message of `delivery_kind` (e.g. "you are now in a groupement") is a post
    in the thread `thread_of(payload)`."""
    _REPLY_KINDS[delivery_kind] = thread_of


def info(session: Session, kind: str, thread_id: int, lang: str) -> ThreadInfo | None:
    resolver = _RESOLVERS.get(kind)
    return resolver(session, thread_id, lang) if resolver is not None else None


def may_post(session: Session, kind: str, thread_id: int, member_id: int | None) -> bool:
    thread = info(session, kind, thread_id, "fr")
    return thread is not None and member_id is not None and member_id in thread.participants


def post(session: Session, kind: str, thread_id: int, author_id: int, text: str,
         now: datetime, *, channel: str = "telegram") -> ThreadPost | None:
    """Store a post and queue it to the other participants. None (nothing done) when the
    author does not take part in the thread or the text is empty."""
    text = (text or "").strip()
    thread = info(session, kind, thread_id, "fr")
    if not text or thread is None or author_id not in thread.participants:
        return None
    row = ThreadPost(thread_kind=kind, thread_id=thread_id, author_id=author_id,
                     text=cut(text, TEXT_CAP), channel=channel, created_at=now)
    session.add(row)
    session.flush()
    others = [member for member in thread.participants if member != author_id]
    enqueue_to_members(session, others, THREAD_POST,
                       {"post": row.id, "thread": kind, "id": thread_id}, now,
                       version=f"post{row.id}")
    if kind in _ON_POST:
        _ON_POST[kind](session, thread_id, author_id, now)
    return row


def notify(session: Session, kind: str, thread_id: int, member_ids: Sequence[int],
           delivery_kind: str, payload: dict, now: datetime, version: str) -> int:
    """Queue a thread's news (someone left, the status changed…) to `member_ids`."""
    return enqueue_to_members(session, member_ids, delivery_kind,
                              {**payload, "thread": kind, "id": thread_id}, now,
                              version=version)


def author_label(session: Session, author_id: int | None, lang: str) -> str:
    """How a post's author is shown: its structure's name, "Advisor" for an advisor, "a former
    member" once erased. Never a contact detail or a Telegram id."""
    _ = gettext_for(lang)
    member = session.get(Member, author_id) if author_id is not None else None
    if member is None:
        return _("a former member")
    if member.role == Role.ADVISOR:
        return _("Centrale advisor")
    structure = session.get(Structure, member.structure_id) if member.structure_id else None
    return cut(structure.name, 100) if structure is not None and structure.name else _(
        "a member")


def post_message(session: Session, row: ThreadPost, lang: str) -> Message:
    _ = gettext_for(lang)
    thread = info(session, row.thread_kind, row.thread_id, lang)
    title = thread.title if thread is not None else _("Conversation")
    who = author_label(session, row.author_id, lang)
    return Message(title, (
        (line(*fill(_("{who} writes:"), who=Span(who, bold=True))),
         line(row.text)),
        block(_("Reply to this message to answer everyone in the thread.")),
    ), icon=thread.icon if thread is not None else "💬")


def _thread_post(session: Session, loader: Loader, group: list[Delivery], member: Member,
                 now: datetime, tz: ZoneInfo) -> Message:
    payload = group[0].payload or {}
    row = session.get(ThreadPost, int(payload.get("post") or 0))
    if row is None:
        raise NothingToSend("the post is gone")
    thread = info(session, row.thread_kind, row.thread_id, member.language or "fr")
    if thread is None or member.id not in thread.participants:
        raise NothingToSend("the member left the thread")
    return post_message(session, row, member.language or "fr")


register_builder(THREAD_POST, _thread_post)
register_reply_kind(THREAD_POST, lambda payload: (
    (str(payload["thread"]), int(payload["id"])) if payload.get("thread") and payload.get("id")
    else None))


def thread_of_reply(session: Session, member_id: int, channel: str,
                    channel_message_id: str) -> tuple[str, int] | None:
    """The thread of the message a member replied to (its channel's id of that message), if it
    was sent to this very member as part of a thread."""
    delivery = session.execute(select(Delivery).where(
        Delivery.member_id == member_id, Delivery.channel == channel,
        Delivery.channel_message_id == channel_message_id,
        Delivery.kind.in_(list(_REPLY_KINDS)))).scalars().first()
    if delivery is None:
        return None
    return _REPLY_KINDS[delivery.kind](delivery.payload or {})
