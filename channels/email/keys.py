"""Signed keys in our addresses: reply addresses, VERP bounce addresses and unsubscribe tokens.

A key is 27 bytes written in base32 (44 characters, case does not matter, so an MTA that folds
the local part to lower case breaks nothing):

    member id (4 bytes) · thread kind (1 ASCII byte) · thread id (4 bytes) ·
    expiry (2 bytes: days since 2024-01-01) · HMAC-SHA256 over those 11 bytes, cut to 16 bytes

The HMAC key is REPLY_KEY_SECRET, and the purpose ("reply", "bounce", "unsubscribe") is part of
what is signed: a reply key is no unsubscribe token. 128 bits of MAC: no key can be guessed or
forged (Le Marché's relay used four hex characters of randomness and had collisions), and
nothing is stored per key: a key reads back to its member and thread, or to nothing. Compared
with `hmac.compare_digest`.

`reply+KEY@MAIL_DOMAIN` fits the 64 characters a local part may have (50).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

EPOCH = date(2024, 1, 1)
MAC_BYTES = 16
_BODY = struct.Struct(">IcIH")  # member, thread kind, thread id, expiry day
KEY_LENGTH = 44  # base32 of 27 bytes, padding dropped
REPLY_DAYS = 120  # a reply key lasts this long: a digest is answered within weeks
BOUNCE_DAYS = 30  # bounces come within days
UNSUBSCRIBE_DAYS = 3650  # an old email's unsubscribe link keeps working


class Purpose(StrEnum):
    REPLY = "reply"
    BOUNCE = "bounce"
    UNSUBSCRIBE = "unsubscribe"


# Days each purpose's keys last.
LIFETIME = {Purpose.REPLY: REPLY_DAYS, Purpose.BOUNCE: BOUNCE_DAYS,
            Purpose.UNSUBSCRIBE: UNSUBSCRIBE_DAYS}


@dataclass(frozen=True, slots=True)
class Thread:
    """What a message is about: a kind (one ASCII letter, see channels.email.threads) and an id
    (a tender id, a digest's first delivery id, 0 for general messages)."""

    kind: str
    id: int = 0


@dataclass(frozen=True, slots=True)
class Key:
    purpose: Purpose
    member_id: int
    thread: Thread
    expires: date


class KeyStatus(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"  # genuine but too old
    INVALID = "invalid"  # malformed, forged or altered


def _mac(secret: str, purpose: Purpose, body: bytes) -> bytes:
    message = purpose.value.encode() + b"\0" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()[:MAC_BYTES]


def make_key(secret: str, purpose: Purpose, member_id: int, thread: Thread,
             today: date) -> str:
    """The key (lower-case base32) for a member and a thread, valid LIFETIME[purpose] days."""
    if len(thread.kind) != 1 or not thread.kind.isascii():
        raise ValueError(f"a thread kind is one ASCII letter, not {thread.kind!r}")
    expires = today + timedelta(days=LIFETIME[purpose])
    body = _BODY.pack(member_id, thread.kind.encode(), thread.id, (expires - EPOCH).days)
    raw = body + _mac(secret, purpose, body)
    return base64.b32encode(raw).decode().rstrip("=").lower()


def read_key(secret: str, purpose: Purpose, text: str, today: date) -> tuple[KeyStatus,
                                                                             Key | None]:
    """(VALID, key), (EXPIRED, key) or (INVALID, None). Trusts nothing in `text`."""
    text = (text or "").strip()
    if len(text) != KEY_LENGTH or not text.isascii():
        return KeyStatus.INVALID, None
    try:
        raw = base64.b32decode(text.upper() + "====")
    except (binascii.Error, ValueError):
        return KeyStatus.INVALID, None
    if len(raw) != _BODY.size + MAC_BYTES:
        return KeyStatus.INVALID, None
    body, mac = raw[:_BODY.size], raw[_BODY.size:]
    if not hmac.compare_digest(mac, _mac(secret, purpose, body)):
        return KeyStatus.INVALID, None
    member_id, kind, thread_id, day = _BODY.unpack(body)
    try:
        kind_text = kind.decode("ascii")
    except UnicodeDecodeError:
        return KeyStatus.INVALID, None
    key = Key(purpose, member_id, Thread(kind_text, thread_id), EPOCH + timedelta(days=day))
    if key.expires < today:
        return KeyStatus.EXPIRED, key
    return KeyStatus.VALID, key


# --- addresses -----------------------------------------------------------------------------------

PREFIXES = {Purpose.REPLY: "reply", Purpose.BOUNCE: "bounce",
            Purpose.UNSUBSCRIBE: "unsubscribe"}


def address(purpose: Purpose, key: str, domain: str) -> str:
    return f"{PREFIXES[purpose]}+{key}@{domain}"


def split_address(recipient: str, domain: str) -> tuple[Purpose, str] | None:
    """(purpose, key text) for one of our keyed addresses at `domain`, else None."""
    local, _at, host = (recipient or "").strip().strip("<>").rpartition("@")
    if host.lower() != domain.lower() or "+" not in local:
        return None
    prefix, _plus, key = local.partition("+")
    for purpose, name in PREFIXES.items():
        if prefix.lower() == name:
            return purpose, key
    return None
