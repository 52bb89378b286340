"""The building blocks of a question-driven flow, shared by every channel (Telegram, email, demo).

A flow is a tuple of `Question`s: data, not code paths. A channel shows a `Screen` (what to ask,
which options, which way back) and feeds back what the member typed or chose.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Answers = dict[str, Any]


class Kind(StrEnum):
    SINGLE = "single"  # one button among choices
    MULTI = "multi"  # ✅ toggles then "Done"
    TEXT = "text"  # free text, checked by the validator


class Invalid(Exception):
    """Bad input: `message` is a msgid formatted with `params`; the answer is not stored."""

    def __init__(self, message: str, **params: Any):
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Choice:
    value: str
    label: str  # msgid, or plain text when `translate` is False
    translate: bool = True


# A validator turns raw text into the stored value, or raises Invalid. It may be async (lookups).
Validator = Callable[[str, Answers, "Services"], Any | Awaitable[Any]]


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str  # msgid
    kind: Kind
    choices: tuple[Choice, ...] = ()
    validator: Validator | None = None
    condition: Callable[[Answers], bool] | None = None
    optional: bool = False
    why: str | None = None  # msgid: why this is asked, shown under the prompt
    max_length: int = 500
    # Choices computed from earlier answers (for example CPV codes from the activities text).
    dynamic_choices: Callable[[Answers, str], list[Choice]] | None = None
    # A choice value that stands alone in a multi-select ("Not interested").
    exclusive: str | None = None
    # Text also accepted on a choice question (e.g. typing a SIRET instead of "no SIRET").
    accepts_text: bool = False
    # Lines added under the prompt from earlier answers (e.g. the company found).
    details: Callable[[Answers, str], list[str]] | None = None
    summary: Callable[[Any, str], str] | None = None  # how the stored value reads in a summary
    in_summary: bool = True
    # Extra answers derived from the stored value (e.g. the company found for a SIRET).
    enrich: Callable[[Any, Answers, Services], Awaitable[Answers]] | None = None
    # Tapped choices go through the validator too (they stand for typed text).
    validate_choices: bool = False
    # Choosing one of these values ends the flow with the given message (msgid), storing nothing.
    stop_on: dict[str, str] = field(default_factory=dict)
    min_selected: int = 0  # for MULTI
    resets: tuple[str, ...] = ()  # answers to forget when this one changes
    label: str = ""  # short msgid naming the answer in summaries ("Area", "Trades")
    # MULTI with computed choices: text typed here is a new search, kept under this answer key
    # (the choices are computed again from it), instead of an answer.
    search_key: str | None = None
    # MULTI: the "Done" button's label while nothing is ticked (msgid), e.g. going on without.
    done_empty_label: str | None = None

    def applies(self, answers: Answers) -> bool:
        return self.condition is None or bool(self.condition(answers))


@dataclass
class Services:
    """What validators may call: injected so that flows stay testable without a network."""

    company_lookup: Any = None  # conversations.company_lookup.CompanyLookup
    extra: dict = field(default_factory=dict)
