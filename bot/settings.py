"""Settings from the environment (and an optional `.env` file), validated once at start.

The names are a stable contract (see DESIGN.md). A wrong value stops the program with one line
naming the variable, never a traceback.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SettingsError(Exception):
    """A setting has a wrong value; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    TELEGRAM_BOT_TOKEN: str | None = None
    TELEGRAM_API_URL: str = "https://api.telegram.org/bot"
    DATABASE_URL: str = "sqlite:///centrale.db"
    CENTRALE_ADVISORS: str = ""
    CENTRALE_TIMEZONE: str = "Europe/Paris"
    BOAMP_API_URL: str = (
        "https://boamp-datadila.opendatasoft.com/api/explore/v2.1/catalog/datasets/boamp/records"
    )
    TED_API_URL: str = "https://api.ted.europa.eu/v3/notices/search"
    COMPANY_API_URL: str = "https://recherche-entreprises.api.gouv.fr/search"
    SMTP_URL: str | None = None
    MAIL_FROM: str | None = None
    MAIL_DOMAIN: str | None = None
    LMTP_LISTEN: str | None = None
    HTTP_LISTEN: str | None = None  # the one-click unsubscribe endpoint, behind PUBLIC_URL
    REPLY_KEY_SECRET: str | None = None
    CENTRALE_TERRITORY: str = ""
    PUBLIC_URL: str | None = None
    # Outbound emails a minute for the whole service (all `centrale deliver` workers together):
    # what the SMTP relay accepts without throttling.
    MAIL_RATE_PER_MINUTE: float = 600.0

    @field_validator("TELEGRAM_BOT_TOKEN", "SMTP_URL", "MAIL_FROM", "MAIL_DOMAIN", "LMTP_LISTEN",
                     "HTTP_LISTEN",
                     "REPLY_KEY_SECRET", "PUBLIC_URL", mode="before")
    @classmethod
    def _empty_is_none(cls, value):
        return value or None

    @field_validator("TELEGRAM_BOT_TOKEN")
    @classmethod
    def _token(cls, value):
        if value is not None and ":" not in value:
            raise ValueError("expected a BotFather token such as 123456:ABC-DEF…")
        return value

    @field_validator("TELEGRAM_API_URL", "BOAMP_API_URL", "TED_API_URL", "COMPANY_API_URL")
    @classmethod
    def _http_url(cls, value):
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("expected a SQLAlchemy URL such as sqlite:///centrale.db") from None
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only sqlite:// and postgresql+psycopg:// are supported")
        return value

    @field_validator("CENTRALE_TIMEZONE")
    @classmethod
    def _timezone(cls, value):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected a time zone name such as Europe/Paris") from None
        return value

    @field_validator("SMTP_URL")
    @classmethod
    def _smtp(cls, value):
        if value is not None and not value.startswith(("smtp://", "smtps://")):
            raise ValueError("expected smtp://user:pass@host:587 or smtps://…")
        return value

    @field_validator("MAIL_FROM")
    @classmethod
    def _mail_from(cls, value):
        if value is not None:
            from email.utils import parseaddr

            address = parseaddr(value)[1]
            if "@" not in address or address.startswith("@") or address.endswith("@"):
                raise ValueError("expected an address such as Centrale <alertes@example.org>")
        return value

    @field_validator("MAIL_DOMAIN")
    @classmethod
    def _mail_domain(cls, value):
        if value is not None and (
                "@" in value or "." not in value or any(ch.isspace() for ch in value)):
            raise ValueError("expected a domain name such as reply.example.org")
        return value.lower() if value else value

    @field_validator("REPLY_KEY_SECRET")
    @classmethod
    def _secret(cls, value):
        if value is not None and len(value) < 16:
            raise ValueError("expected at least 16 characters (a long random string)")
        return value

    @field_validator("PUBLIC_URL")
    @classmethod
    def _public_url(cls, value):
        if value is not None and not value.startswith("https://"):
            raise ValueError("expected an https:// URL such as https://centrale.example.org")
        return value.rstrip("/") if value else value

    @field_validator("MAIL_RATE_PER_MINUTE")
    @classmethod
    def _rate(cls, value):
        if not value > 0:
            raise ValueError("expected a positive number of emails a minute, such as 600")
        return value

    @model_validator(mode="after")
    def _email_channel(self):
        if self.SMTP_URL or self.LMTP_LISTEN:
            for name in ("MAIL_FROM", "MAIL_DOMAIN", "REPLY_KEY_SECRET"):
                if not getattr(self, name):
                    raise ValueError(f"{name} is needed when SMTP_URL or LMTP_LISTEN is set")
        return self

    @field_validator("LMTP_LISTEN", "HTTP_LISTEN")
    @classmethod
    def _listen(cls, value):
        if value is not None:
            host, _, port = value.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError("expected host:port such as 127.0.0.1:8024")
        return value

    @field_validator("CENTRALE_ADVISORS")
    @classmethod
    def _advisors(cls, value):
        for item in filter(None, (part.strip() for part in value.split(","))):
            if not item.isdigit() and "@" not in item:
                raise ValueError(f"{item!r} is neither a Telegram user id nor an email address")
        return value

    @field_validator("CENTRALE_TERRITORY")
    @classmethod
    def _territory(cls, value):
        from reference.geography import parse_area

        if value.strip():
            parsed = parse_area(value)
            if parsed.unknown:
                raise ValueError(f"{parsed.unknown[0][0]!r} is not a département or a region")
        return value

    @property
    def territory(self) -> frozenset[str] | None:
        """The départements the service covers (CENTRALE_TERRITORY: codes, names or regions,
        comma-separated); None for all of France."""
        from reference.geography import parse_area

        if not self.CENTRALE_TERRITORY.strip():
            return None
        parsed = parse_area(self.CENTRALE_TERRITORY)
        return None if parsed.all_france else frozenset(parsed.departements)

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.CENTRALE_TIMEZONE)

    def tender_api_url(self, source: str) -> str:
        """The API of a tender source ("boamp" or "ted")."""
        return {"boamp": self.BOAMP_API_URL, "ted": self.TED_API_URL}[source]

    @property
    def advisor_ids(self) -> set[int]:
        return {int(p.strip()) for p in self.CENTRALE_ADVISORS.split(",") if p.strip().isdigit()}

    @property
    def email_enabled(self) -> bool:
        """Outbound email is configured (the email runner runs beside Telegram's)."""
        return bool(self.SMTP_URL)

    @property
    def advisor_emails(self) -> set[str]:
        return {p.strip().lower() for p in self.CENTRALE_ADVISORS.split(",") if "@" in p}


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        name = first["loc"][0] if first["loc"] else message.split(" ", 1)[0]
        if not first["loc"]:  # a rule over several settings names its own first
            message = message.split(" ", 1)[1]
        raise SettingsError(f"{name}: {message}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
