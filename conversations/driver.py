"""The diagnostic as a state machine over `Flow`: what each input leads to, for any channel.

A channel (Telegram handlers, the email bridge) keeps `answers` and the current state, calls the
driver, and renders the `Reply`. States are question keys, SUMMARY, or None (finished).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from conversations.diagnostic import QUESTIONS
from conversations.flow import Flow, Result, Screen
from conversations.questions import Answers, Services
from conversations.readiness import next_steps, readiness_score
from locales import gettext_for

SUMMARY = "SUMMARY"
FLOW = Flow(QUESTIONS)

# Modes: the first diagnostic, an edit from its summary, or an edit of a stored profile.
DIAGNOSTIC, SUMMARY_EDIT, PROFILE_EDIT = "diagnostic", "summary_edit", "profile_edit"


@dataclass
class Finish:
    score: int
    steps: list[str]  # translated


@dataclass
class Reply:
    state: str | None
    notes: list[str] = field(default_factory=list)  # translated plain-text messages, sent first
    screen: Screen | None = None
    summary: list[tuple[str, str, str]] | None = None  # (key, label, value)
    finish: Finish | None = None
    saved_key: str | None = None  # profile edit: the key that was saved


# Persists a finished diagnostic (answers, language), or an edited profile (answers).
SaveAll = Callable[[Answers, str], Awaitable[None]]
SaveOne = Callable[[Answers], Awaitable[None]]


class DiagnosticDriver:
    def __init__(self, services: Services, save_all: SaveAll, save_one: SaveOne,
                 flow: Flow = FLOW):
        self.flow = flow
        self.services = services
        self.save_all = save_all
        self.save_one = save_one

    # --- entering ------------------------------------------------------------------------------
    def start(self, answers: Answers, lang: str) -> Reply:
        answers.clear()
        key = self.flow.first_key(answers)
        return Reply(state=key, screen=self.flow.screen(key, answers, lang))

    def show(self, state: str, answers: Answers, lang: str, note: str | None = None) -> Reply:
        """Show the current step again (after /start mid-way, a restart, a stale button)."""
        notes = [note] if note else []
        if state == SUMMARY:
            return Reply(state=SUMMARY, notes=notes, summary=self.flow.summary(answers, lang))
        return Reply(state=state, notes=notes, screen=self.flow.screen(state, answers, lang))

    def edit(self, key: str, answers: Answers, lang: str) -> Reply:
        return Reply(state=key, screen=self.flow.screen(key, answers, lang))

    # --- inputs --------------------------------------------------------------------------------
    async def text(self, state: str, text: str, answers: Answers, mode: str, lang: str) -> Reply:
        result = await self.flow.submit_text(state, text, answers, self.services)
        return await self._after(state, result, answers, mode, lang)

    async def choose(self, state: str, value: str, answers: Answers, mode: str,
                     lang: str) -> Reply:
        result = await self.flow.submit_choice(state, value, answers, self.services)
        return await self._after(state, result, answers, mode, lang)

    async def done(self, state: str, answers: Answers, mode: str, lang: str) -> Reply:
        return await self._after(state, self.flow.done(state, answers), answers, mode, lang)

    async def skip(self, state: str, answers: Answers, mode: str, lang: str) -> Reply:
        return await self._after(state, self.flow.skip(state, answers), answers, mode, lang)

    def back(self, state: str, answers: Answers, mode: str, lang: str) -> Reply:
        if mode == PROFILE_EDIT:
            _ = gettext_for(lang)
            return Reply(state=None, notes=[_("Nothing was changed.")])
        if mode == SUMMARY_EDIT or state == SUMMARY:
            if state == SUMMARY:
                previous = self.flow.visible(answers)[-1].key
                return Reply(state=previous, screen=self.flow.screen(previous, answers, lang))
            return Reply(state=SUMMARY, summary=self.flow.summary(answers, lang))
        previous = self.flow.prev_key(state, answers)
        target = previous or state
        return Reply(state=target, screen=self.flow.screen(target, answers, lang))

    async def confirm(self, answers: Answers, lang: str) -> Reply:
        missing = self.flow.next_missing(answers)
        if missing:
            return Reply(state=missing, screen=self.flow.screen(missing, answers, lang))
        answers.setdefault("consent_at", datetime.now(UTC).isoformat())
        await self.save_all(answers, lang)
        _ = gettext_for(lang)
        return Reply(state=None, finish=Finish(
            score=readiness_score(answers), steps=[_(s) for s in next_steps(answers)]))

    # --- after an input ------------------------------------------------------------------------
    async def _after(self, state: str, result: Result, answers: Answers, mode: str,
                     lang: str) -> Reply:
        if result.status == "invalid":
            return Reply(state=state, screen=self.flow.screen(
                state, answers, lang, error=result.render(lang)))
        if result.status == "stop":
            answers.clear()
            return Reply(state=None, notes=[result.render(lang)])
        if result.status == "stay":
            return Reply(state=state, screen=self.flow.screen(state, answers, lang))
        if state == "consent":
            answers["consent_at"] = datetime.now(UTC).isoformat()
        if mode == PROFILE_EDIT:
            follow = self.flow.next_missing(answers)
            if follow:  # e.g. email chosen as channel: its address is needed too
                return Reply(state=follow, screen=self.flow.screen(follow, answers, lang))
            await self.save_one(answers)
            _ = gettext_for(lang)
            return Reply(state=None, saved_key=state, notes=[_("✅ Saved.")])
        if mode == SUMMARY_EDIT:
            follow = self.flow.next_missing(answers)
            if follow:
                return Reply(state=follow, screen=self.flow.screen(follow, answers, lang))
            return Reply(state=SUMMARY, summary=self.flow.summary(answers, lang))
        following = self.flow.next_key(state, answers)
        if following is None:
            return Reply(state=SUMMARY, summary=self.flow.summary(answers, lang))
        return Reply(state=following, screen=self.flow.screen(following, answers, lang))

