"""Walks a tuple of Questions: which one comes next, what to show, what an input does.

Channel-agnostic and free of Telegram: the state is the `answers` dict, which the channel keeps
(PTB user_data for Telegram, a database row for email). Messages are returned as msgids with
parameters and translated by `render_error`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from conversations.questions import Answers, Choice, Invalid, Kind, Question, Services
from locales import N_, gettext_for

CHOICES_CACHE = "_choices"
# The total of the counter "Question n/N" last shown. The total is the number of questions that
# apply given the answers so far, and the questions that depend on a later answer are counted
# only once it is given (the name is asked only once the member said the company found is not
# theirs). So one diagnostic shows one total on every screen, except when an answer adds or
# removes a question (a company that is not theirs, alerts by email): then the total changes
# once, on the next screen, and that screen says so.
TOTAL_SHOWN = "_total"


@dataclass
class Option:
    value: str
    label: str
    selected: bool = False


@dataclass
class Screen:
    key: str
    step: int
    total: int
    prompt: str
    lines: list[str] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)
    multi: bool = False
    free_text: bool = False
    can_back: bool = False
    can_skip: bool = False
    error: str | None = None
    done_label: str | None = None  # translated; None: the usual "Done"


@dataclass
class Result:
    status: str  # "next" (answer stored), "stay" (toggle), "invalid", "stop"
    message: str | None = None  # msgid for invalid/stop
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: str) -> str:
        return render_message(self.message or "", self.params, lang)


def render_message(msgid: str, params: dict[str, Any], lang: str) -> str:
    text = gettext_for(lang)(msgid)
    return text.format(**params) if params else text


class Flow:
    def __init__(self, questions: tuple[Question, ...]):
        self.questions = questions
        self.by_key = {q.key: q for q in questions}

    # --- order ---------------------------------------------------------------------------------
    def visible(self, answers: Answers) -> list[Question]:
        return [q for q in self.questions if q.applies(answers)]

    def first_key(self, answers: Answers) -> str:
        return self.visible(answers)[0].key

    def next_key(self, key: str, answers: Answers) -> str | None:
        """The question after `key` (None: the flow is complete, show the summary)."""
        keys = [q.key for q in self.visible(answers)]
        index = self._index(key, answers)
        return keys[index + 1] if index + 1 < len(keys) else None

    def next_missing(self, answers: Answers) -> str | None:
        """The first visible question not answered yet (None when all are)."""
        for question in self.visible(answers):
            if question.key not in answers:
                return question.key
        return None

    def prev_key(self, key: str, answers: Answers) -> str | None:
        keys = [q.key for q in self.visible(answers)]
        index = self._index(key, answers)
        return keys[index - 1] if index > 0 else None

    def _index(self, key: str, answers: Answers) -> int:
        visible = self.visible(answers)
        keys = [q.key for q in visible]
        if key in keys:
            return keys.index(key)
        # `key` is hidden now (an earlier answer changed): place it by declaration order.
        order = [q.key for q in self.questions]
        position = order.index(key)
        return sum(1 for q in visible if order.index(q.key) < position) - 1

    # --- display -------------------------------------------------------------------------------
    def options(self, question: Question, answers: Answers, lang: str) -> list[Choice]:
        if question.dynamic_choices is None:
            return list(question.choices)
        cache = answers.setdefault(CHOICES_CACHE, {})
        if question.key not in cache:
            cache[question.key] = [
                [c.value, c.label, c.translate]
                for c in question.dynamic_choices(answers, lang)
            ]
        found = [Choice(v, label, t) for v, label, t in cache[question.key]]
        # Keep what was ticked before, even when the computed list moved on.
        known = {c.value for c in found}
        for value in answers.get(question.key) or [] if question.kind is Kind.MULTI else []:
            if value not in known:
                found.append(Choice(value, value, False))
        return found

    def screen(self, key: str, answers: Answers, lang: str, error: str | None = None) -> Screen:
        _ = gettext_for(lang)
        question = self.by_key[key]
        visible = self.visible(answers)
        step = [q.key for q in visible].index(key) + 1 if question in visible else 1
        current = answers.get(key)
        lines: list[str] = []
        total = len(visible)
        shown = answers.get(TOTAL_SHOWN)
        if isinstance(shown, int) and shown != total:
            lines.append(_("Because of your answer, there are now {total} questions.").format(
                total=total))
        answers[TOTAL_SHOWN] = total
        if question.details:
            lines.extend(question.details(answers, lang))
        if question.why:
            lines.append(_(question.why))
        options = []
        for choice in self.options(question, answers, lang):
            label = _(choice.label) if choice.translate else choice.label
            if question.kind is Kind.MULTI:
                selected = choice.value in (current or [])
            else:
                selected = current == choice.value
            options.append(Option(choice.value, label, selected))
        if question.kind is Kind.TEXT and current and key in answers:
            lines.append(_("Current answer: {value}").format(value=self.display(key, answers,
                                                                               lang)))
        done_label = None
        if question.done_empty_label and not any(option.selected for option in options):
            done_label = _(question.done_empty_label)
        return Screen(
            key=key, step=step, total=total, prompt=_(question.prompt), lines=lines,
            options=options, multi=question.kind is Kind.MULTI,
            free_text=question.kind is Kind.TEXT or question.accepts_text
            or question.search_key is not None,
            can_back=self.prev_key(key, answers) is not None, can_skip=question.optional,
            error=error, done_label=done_label,
        )

    def display(self, key: str, answers: Answers, lang: str) -> str:
        """The stored answer as a person reads it."""
        _ = gettext_for(lang)
        question = self.by_key[key]
        value = answers.get(key)
        if value is None and (question.optional or question.summary is None):
            return _("skipped")
        if question.summary:  # it reads None too: "unknown", "no documents"
            return question.summary(value, lang)
        labels = {c.value: (_(c.label) if c.translate else c.label)
                  for c in self.options(question, answers, lang)}
        if question.kind is Kind.MULTI:
            return ", ".join(labels.get(v, v) for v in value) or _("none")
        return labels.get(value, str(value))

    def summary(self, answers: Answers, lang: str) -> list[tuple[str, str, str]]:
        """(key, label, value) for each answer shown in the summary."""
        _ = gettext_for(lang)
        return [(q.key, _(q.label), self.display(q.key, answers, lang))
                for q in self.visible(answers) if q.in_summary and q.key in answers]

    # --- input ---------------------------------------------------------------------------------
    async def submit_text(self, key: str, text: str, answers: Answers,
                          services: Services) -> Result:
        question = self.by_key[key]
        if not (question.kind is Kind.TEXT or question.accepts_text or question.search_key):
            return Result("invalid", N_("Please use the buttons under the question."))
        text = text.strip()
        if len(text) > question.max_length:
            return Result("invalid", N_("Your answer is too long ({length} characters): "
                                        "{limit} at most, please."),
                          {"length": len(text), "limit": question.max_length})
        if not text:
            return Result("invalid", N_("Please type an answer."))
        if question.search_key is not None:
            return self._search(question, text, answers)
        return await self._store(question, text, answers, services)

    def _search(self, question: Question, text: str, answers: Answers) -> Result:
        """Typed text on a question with `search_key`: a new search, the ticks kept."""
        if not re.search(r"[^\W\d_]{2,}", text):
            return Result("invalid", N_("Type a word for your trade, for example: "
                                        "“nettoyage” or “espaces verts”."))
        answers[question.search_key] = " ".join(text.split())
        (answers.get(CHOICES_CACHE) or {}).pop(question.key, None)
        return Result("stay")

    async def submit_choice(self, key: str, value: str, answers: Answers,
                            services: Services) -> Result:
        question = self.by_key[key]
        values = {c.value for c in self.options(question, answers, "fr")}
        if value not in values:
            return Result("invalid", N_("This choice is no longer available; "
                                        "please use the buttons of the last question."))
        if question.kind is Kind.MULTI:
            selected = list(answers.get(key) or [])
            if value in selected:
                selected.remove(value)
            elif question.exclusive and value == question.exclusive:
                selected = [value]
            else:
                selected = [v for v in selected if v != question.exclusive] + [value]
            answers[key] = selected
            return Result("stay")
        if value in question.stop_on:
            return Result("stop", question.stop_on[value])
        if question.validate_choices:
            return await self._store(question, value, answers, services)
        self._set(key, value, answers)
        return Result("next")

    def done(self, key: str, answers: Answers) -> Result:
        question = self.by_key[key]
        selected = answers.setdefault(key, [])
        if len(selected) < question.min_selected:
            return Result("invalid", N_("Tick at least one answer, then tap “Done”."))
        self._set(key, selected, answers)
        return Result("next")

    def skip(self, key: str, answers: Answers) -> Result:
        if not self.by_key[key].optional:
            return Result("invalid", N_("This question cannot be skipped."))
        self._set(key, None, answers)
        return Result("next")

    async def _store(self, question: Question, raw: str, answers: Answers,
                     services: Services) -> Result:
        value: Any = raw
        if question.validator:
            try:
                value = question.validator(raw, answers, services)
                if inspect.isawaitable(value):
                    value = await value
            except Invalid as exc:
                return Result("invalid", exc.message, exc.params)
        self._set(question.key, value, answers)
        if question.enrich:
            answers.update(await question.enrich(value, answers, services))
        return Result("next")

    def _set(self, key: str, value: Any, answers: Answers) -> None:
        changed = answers.get(key, object()) != value
        answers[key] = value
        if changed:
            for stale in self.by_key[key].resets:
                answers.pop(stale, None)
            # Computed choices of later questions may depend on this answer.
            cache = answers.get(CHOICES_CACHE) or {}
            for other in list(cache):
                if other != key:
                    del cache[other]
