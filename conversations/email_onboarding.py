"""INSCRIPTION: the diagnostic by email, one question per email, walking the same definitions as
Telegram (conversations.diagnostic.QUESTIONS through conversations.driver) — the same
validation, the same prefill from the company register (the SIRET's lookup), the same profile
saved at the end (conversations.profile_fields.save_diagnostic).

Where the sender is and their answers are kept in `mail_conversations`, keyed by address, as
PTB's user_data keeps them for Telegram. A choice is answered with its number ("2"), several
with numbers separated by commas ("1, 3"), a text question with the text itself; RETOUR goes
back, PASSER skips an optional question, RECOMMENCER starts again, CONFIRMER saves the summary.
The questions "where should the alerts go" and "which address" are answered for the member
(email, and the address they write from): asked by email, they would only be noise.

Onboarding mail is written to MAIL_FROM and answered from it without keys (the sender is no
member yet). Someone who forges another person's address can at worst sign that address up; its
owner then receives one email per alert and STOP ends it in one step.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import Session

from alerts.message import Message, Span, block, line
from channels.email import commands as C
from channels.email.channel import EmailChannel
from channels.email.parse import Parsed
from channels.email.quotes import strip_reply
from conversations import profile_fields
from conversations.driver import DIAGNOSTIC, FLOW, SUMMARY, DiagnosticDriver, Reply
from conversations.flow import Screen
from conversations.questions import Kind, Services
from locales import gettext_for
from store import members
from store.mail_models import InboundStatus, MailConversation
from store.models import Member

PREFILLED = ("channel", "email")  # answered for the member (see the module docstring)
_NUMBERS = re.compile(r"^\s*\d{1,3}(?:\s*[,;/ ]\s*\d{1,3})*\s*[.!]?\s*$")


def screen_message(screen: Screen, lang: str) -> Message:
    _ = gettext_for(lang)
    lines = []
    if screen.error:
        lines.append(line("⚠️ " + screen.error))
    lines.append(line(Span(screen.prompt, bold=True)))
    lines += [line(text) for text in screen.lines]
    options = [line(f"{'✅ ' if o.selected else ''}{i}. {o.label}", item=False)
               for i, o in enumerate(screen.options, 1)]
    hints = []
    if screen.multi:
        hints.append(_("Reply with the numbers of your answers separated by commas, for "
                       "example 1, 3 — or {done} if none fits.").format(
            done=C.shown(C.DONE, lang)))
    elif screen.options and screen.free_text:
        hints.append(_("Reply with the number of your answer, or type it."))
    elif screen.options:
        hints.append(_("Reply with the number of your answer."))
    else:
        hints.append(_("Reply with your answer on the first line."))
    moves = []
    if screen.can_back:
        moves.append(_("{back} goes back to the previous question").format(
            back=C.shown(C.BACK, lang)))
    if screen.can_skip:
        moves.append(_("{skip} skips this one").format(skip=C.shown(C.SKIP, lang)))
    if moves:
        hints.append("; ".join(moves) + ".")
    blocks = [tuple(lines)]
    if options:
        blocks.append(tuple(options))
    blocks.append(tuple(line(Span(hint, italic=True)) for hint in hints))
    title = _("Sign-up, question {k}/{n}").format(k=screen.step, n=screen.total)
    return Message(title, tuple(blocks))


def summary_message(summary: list[tuple[str, str, str]], lang: str) -> Message:
    _ = gettext_for(lang)
    items = tuple(line(Span(label, bold=True), Span(" : " if lang == "fr" else ": "),
                       Span(value), item=True) for _key, label, value in summary)
    hint = _("Reply {confirm} to save your profile, {back} to change the last answer, or "
             "{restart} to start again.").format(confirm=C.shown(C.CONFIRM, lang),
                                                 back=C.shown(C.BACK, lang),
                                                 restart=C.shown(C.RESTART, lang))
    return Message(_("Here is your profile. Check it, then confirm."),
                   (items, block(line(Span(hint, italic=True)))))


def finish_message(reply: Reply, lang: str) -> Message:
    _ = gettext_for(lang)
    finish = reply.finish
    steps = tuple(line(f"{i}. {step}") for i, step in enumerate(finish.steps, 1))
    return Message("✅ " + _("Your profile is saved."), (
        block(_("Readiness score: {score}/100").format(score=finish.score)),
        (line(Span(_("Your next three steps:"), bold=True)), *steps),
        block(_("You will receive the tenders that fit your profile by email. Reply to them "
                "with the words they show; {stop} stops them.").format(
            stop=C.shown(C.STOP, lang))),
    ))


class Onboarding:
    def __init__(self, channel: EmailChannel, services: Services | None, tz: ZoneInfo):
        self.channel = channel
        self.services = services or Services()
        self.tz = tz

    def receive(self, session: Session, sender: str, mail: Parsed, now: datetime,
                member: Member | None):
        """The Outcome of a message from a non-member to the bot, or None when it is neither
        INSCRIPTION nor part of a sign-up under way."""
        from channels.email.inbound import Outcome

        text = strip_reply(mail.text)
        first = C.first_line(text)
        command = C.parse(first)
        conversation = session.execute(select(MailConversation).where(
            MailConversation.address == sender)).scalars().first()
        if conversation is None:
            if command is None or command.name != C.SIGNUP:
                return None
            lang = "en" if C.fold(first).startswith("signup") else "fr"
            conversation = MailConversation(address=sender, language=lang, answers={},
                                            updated_at=now)
        lang = conversation.language
        answers = dict(conversation.answers or {})
        driver = self._driver(session, sender, member)
        reply = asyncio.run(self._step(driver, conversation.state, answers, lang, command,
                                       first, text, sender))
        notes = [Message(blocks=(block(n),)) for n in reply.notes]
        if reply.state is None:
            if conversation.id is not None:
                session.delete(conversation)
            messages = notes + ([finish_message(reply, lang)] if reply.finish else [])
        else:
            conversation.state, conversation.answers = reply.state, answers
            conversation.updated_at = now
            session.add(conversation)
            shown = (summary_message(reply.summary, lang) if reply.state == SUMMARY
                     else screen_message(reply.screen, lang))
            messages = notes + [shown]
        answers_out = [self.channel.compose_stranger(sender, m, lang, now=now,
                                                     in_reply_to=mail.message_id,
                                                     null_sender=False) for m in messages[:3]]
        saved = session.execute(select(Member.id).where(Member.email == sender)).scalar()
        return Outcome(InboundStatus.PROCESSED, f"onboarding: {reply.state or 'finished'}",
                       saved, answers_out)

    def _driver(self, session: Session, sender: str, member: Member | None) -> DiagnosticDriver:
        async def save_all(answers, lang):
            consent = answers.get("consent_at")
            profile_fields.save_diagnostic(
                session, telegram_user_id=None, chat_id=None, language=lang, answers=answers,
                consent_at=datetime.fromisoformat(consent) if consent else None,
                member=member or members.member_by_email(session, sender))

        async def save_one(answers):
            raise RuntimeError("profiles are not edited by email")

        return DiagnosticDriver(self.services, save_all, save_one)

    async def _step(self, driver: DiagnosticDriver, state: str | None, answers: dict,
                    lang: str, command: C.Command | None, first: str, text: str,
                    sender: str) -> Reply:
        if state is None or (command is not None and command.name == C.RESTART):
            reply = driver.start(answers, lang)
        elif command is not None and command.name == C.SIGNUP:
            reply = driver.show(state, answers, lang)
        elif state == SUMMARY:
            if command is not None and command.name == C.CONFIRM:
                reply = await driver.confirm(answers, lang)
            elif command is not None and command.name == C.BACK:
                reply = driver.back(state, answers, DIAGNOSTIC, lang)
            else:
                reply = driver.show(state, answers, lang)
        else:
            reply = await self._answer(driver, state, answers, lang, command, first, text)
        # The questions answered for the member.
        for _guard in range(len(PREFILLED) + 1):
            if reply.state not in PREFILLED:
                break
            if reply.state == "channel":
                reply = await driver.choose("channel", "email", answers, DIAGNOSTIC, lang)
            else:
                reply = await driver.text("email", sender, answers, DIAGNOSTIC, lang)
        return reply

    async def _answer(self, driver: DiagnosticDriver, state: str, answers: dict, lang: str,
                      command: C.Command | None, first: str, text: str) -> Reply:
        _ = gettext_for(lang)
        question = FLOW.by_key[state]
        options = FLOW.options(question, answers, lang)
        if command is not None and command.name == C.BACK:
            return driver.back(state, answers, DIAGNOSTIC, lang)
        if command is not None and command.name == C.SKIP:
            return await driver.skip(state, answers, DIAGNOSTIC, lang)
        if question.kind is Kind.MULTI:
            if command is not None and command.name == C.DONE:
                return await driver.done(state, answers, DIAGNOSTIC, lang)
            if not _NUMBERS.match(first):
                return _again(driver, state, answers, lang, _(
                    "Reply with the numbers of your answers, for example 1, 3."))
            numbers = [int(n) for n in re.findall(r"\d+", first)]
            if not all(1 <= n <= len(options) for n in numbers):
                return _again(driver, state, answers, lang, _(
                    "Choose numbers between 1 and {count}.").format(count=len(options)))
            answers[state] = []
            for number in dict.fromkeys(numbers):
                await driver.choose(state, options[number - 1].value, answers, DIAGNOSTIC,
                                    lang)
            return await driver.done(state, answers, DIAGNOSTIC, lang)
        if question.kind is Kind.SINGLE:
            if first.strip().rstrip(".").isdigit():
                number = int(first.strip().rstrip("."))
                if 1 <= number <= len(options):
                    return await driver.choose(state, options[number - 1].value, answers,
                                               DIAGNOSTIC, lang)
                if not question.accepts_text:
                    return _again(driver, state, answers, lang, _(
                        "Choose a number between 1 and {count}.").format(count=len(options)))
            if not question.accepts_text:
                return _again(driver, state, answers, lang, _(
                    "Reply with the number of your answer, for example 1."))
            return await driver.text(state, first, answers, DIAGNOSTIC, lang)
        return await driver.text(state, " ".join(text.split()) if text else first, answers,
                                 DIAGNOSTIC, lang)


def _again(driver: DiagnosticDriver, state: str, answers: dict, lang: str, error: str) -> Reply:
    return Reply(state=state, screen=FLOW.screen(state, answers, lang, error=error))


def _plug_in() -> None:
    from channels.email import inbound

    inbound.ONBOARDING = Onboarding


_plug_in()
