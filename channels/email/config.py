"""What the email bridge needs to know, built by bot/ from the settings (the only reader of them)."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr
from functools import cached_property
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False  # smtps://; smtp:// upgrades with STARTTLS when offered

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """smtp://user:pass@host:587 or smtps://host:465 (user and password URL-quoted)."""
        parts = urlsplit(url)
        implicit = parts.scheme == "smtps"
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"not an SMTP URL: {url!r}")
        return cls(host=parts.hostname, port=parts.port or (465 if implicit else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   implicit_tls=implicit)


@dataclass(frozen=True)
class MailConfig:
    mail_from: str  # "Centrale <alertes@example.org>"
    domain: str  # of the reply, bounce and unsubscribe addresses
    secret: str  # REPLY_KEY_SECRET
    smtp: SmtpServer | None = None
    public_url: str | None = None  # https base of the one-click unsubscribe link
    rate_per_minute: float = 600.0
    list_name: str = "Centrale"

    @cached_property  # read for each message: parsed once
    def from_address(self) -> str:
        """The bare address of MAIL_FROM (where INSCRIPTION is written to)."""
        return parseaddr(self.mail_from)[1].lower()

    def ours(self, address: str) -> bool:
        """One of our own addresses: mail from it is never answered (no loop)."""
        address = (address or "").strip().strip("<>").lower()
        return bool(address) and (address == self.from_address
                                  or address.rpartition("@")[2] == self.domain.lower())

    @cached_property
    def bot_addresses(self) -> frozenset[str]:
        """Addresses that take mail without a key (INSCRIPTION, a member writing afresh)."""
        return frozenset({self.from_address, f"centrale@{self.domain.lower()}"})
