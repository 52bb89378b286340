"""The test harness: a virtual Telegram user talking to a bot through the fake Bot API server,
and helpers to run a real PTB Application in-process against that server.

    user = server.user(token, language_code="fr")
    replies = await user.send("/start")        # the bot's messages (and edits) in answer
    assert "Question 1/" in replies.text
    replies = await user.tap("Oui")            # a button of the last inline keyboard

How "the bot has answered" is decided, in order:
1. `until=` predicate given: as soon as it holds for the replies collected so far;
2. the Application runs in-process and was started with `start_application` (instrumented): as
   soon as PTB has finished processing the update (exact, no guessing);
3. otherwise (the bot is a subprocess): once something arrived and then nothing for `quiet`
   seconds while no call concerning this chat is in flight.
A send also fails when the bot got a 4xx error from the server for this chat meanwhile (text
Telegram would refuse…), unless `allow_errors=True`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.fakebot.server import BotState, CallbackAnswer, FakeBotServer, Output, SentMessage

if TYPE_CHECKING:
    from telegram.ext import Application

DEFAULT_TIMEOUT = 10.0
DEFAULT_QUIET = 0.3
ANSWER_KINDS = frozenset({"message", "edit", "answer", "delete"})


class Replies(list[SentMessage]):
    """What the bot did in answer: its new or edited messages (each once, current state, in
    the order they first changed), plus callback answers and timing."""

    def __init__(self, messages: list[SentMessage], answers: list[CallbackAnswer],
                 outputs: list[Output], sent_at: float, update_id: int | None) -> None:
        super().__init__(messages)
        self.answers = answers
        self.outputs = outputs
        self.sent_at = sent_at
        self.update_id = update_id

    @property
    def text(self) -> str:
        """All visible texts (captions for media) joined by blank lines, for `in` checks."""
        return "\n\n".join(m.text or "" for m in self)

    @property
    def first_at(self) -> float | None:
        return self.outputs[0].at if self.outputs else None

    @property
    def latency(self) -> float | None:
        """Seconds from pushing the update to the bot's first answer (loop time)."""
        return None if self.first_at is None else self.first_at - self.sent_at

    @property
    def last(self) -> SentMessage:
        if not self:
            raise AssertionError("the bot sent or edited no message")
        return self[-1]

    @property
    def answer(self) -> CallbackAnswer | None:
        return self.answers[-1] if self.answers else None

    def labels(self) -> list[str]:
        """Button labels of the last message here that has an inline keyboard."""
        for message in reversed(self):
            if message.inline_keyboard:
                return message.labels()
        return []


class VirtualUser:
    """A Telegram user in a private chat with the bot `token` (chat id = user id)."""

    def __init__(self, server: FakeBotServer, token: str, user_id: int, *,
                 language_code: str | None = "fr", first_name: str = "Camille",
                 last_name: str | None = None, username: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, quiet: float = DEFAULT_QUIET) -> None:
        self.server = server
        self.token = token
        self.user_id = user_id
        self.language_code = language_code
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.timeout = timeout
        self.quiet = quiet
        self._cursor = 0  # outputs of this chat already returned by send/tap/wait

    def __repr__(self) -> str:
        return f"VirtualUser({self.user_id}, {self.language_code})"

    @property
    def state(self) -> BotState:
        return self.server.bot(self.token)

    @property
    def chat_id(self) -> int:
        return self.user_id

    # ---- what the user sees --------------------------------------------------------------
    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat, oldest first, current state (edits applied)."""
        return [m.snapshot() for m in self.state.messages(self.user_id)]

    @property
    def last_message(self) -> SentMessage | None:
        messages = self.state.messages(self.user_id)
        return messages[-1].snapshot() if messages else None

    def last_keyboard_message(self) -> SentMessage | None:
        for message in reversed(self.state.messages(self.user_id)):
            if message.inline_keyboard:
                return message.snapshot()
        return None

    def buttons(self, message: SentMessage | None = None) -> list[str]:
        """Labels of the inline keyboard of `message` (default: the last message with one)."""
        message = message or self.last_keyboard_message()
        return message.labels() if message else []

    # ---- actions -------------------------------------------------------------------------
    async def send(self, text: str, *, until: Callable[[Replies], bool] | None = None,
                   timeout: float | None = None, expect: bool = True,
                   allow_errors: bool = False,
                   reply_to: SentMessage | int | None = None) -> Replies:
        """Write `text` to the bot (as a reply to the message `reply_to` when given) and return
        what it did in answer. With expect=False, a bot that stays silent is fine (and in
        subprocess mode this waits `quiet` seconds)."""
        chat = self.state.chat(self.user_id)
        start = len(chat.outputs)
        calls_start = len(self.state.calls)
        sent_at = asyncio.get_running_loop().time()
        update = self.state.push_message(
            self.user_id, text, language_code=self.language_code, first_name=self.first_name,
            last_name=self.last_name, username=self.username,
            reply_to=reply_to.message_id if isinstance(reply_to, SentMessage) else reply_to)
        return await self._collect(f"message {text[:80]!r}", update["update_id"], start,
                                   calls_start, sent_at, until, timeout, expect, allow_errors)

    async def tap(self, button: str, *, message: SentMessage | int | None = None,
                  until: Callable[[Replies], bool] | None = None, timeout: float | None = None,
                  expect: bool = True, allow_errors: bool = False) -> Replies:
        """Tap a callback button of `message` (default: the last message with an inline
        keyboard), found by its label (exact, then callback data, then a unique label that
        contains `button`, ignoring case)."""
        target = self._find_target(message)
        data = _find_button(target, button)
        return await self._callback(target, data, f"tap {button!r} (data {data!r})", until,
                                    timeout, expect, allow_errors)

    async def press(self, data: str, *, message: SentMessage | int | None = None,
                    timeout: float | None = None, expect: bool = True) -> Replies:
        """Send a callback query with any `data`, as a forged or stale client would: the
        button need not exist on `message` (default: the last message with a keyboard)."""
        return await self._callback(self._find_target(message), data, f"press data {data!r}",
                                    None, timeout, expect, False)

    async def _callback(self, target: SentMessage, data: str, what: str,
                        until: Callable[[Replies], bool] | None, timeout: float | None,
                        expect: bool, allow_errors: bool) -> Replies:
        chat = self.state.chat(self.user_id)
        start = len(chat.outputs)
        calls_start = len(self.state.calls)
        sent_at = asyncio.get_running_loop().time()
        update = self.state.push_callback(self.user_id, target.message_id, data)
        return await self._collect(what, update["update_id"], start, calls_start, sent_at, until,
                                   timeout, expect, allow_errors)

    async def wait(self, until: Callable[[Replies], bool] | None = None, *, count: int = 1,
                   timeout: float | None = None, allow_errors: bool = False) -> Replies:
        """Wait for what the bot does on its own (alerts, reminders): returns the outputs not
        yet returned by send/tap/wait once `until` holds (default: `count` new messages)."""
        condition = until or (lambda replies: len(replies) >= count)
        return await self._collect("nothing (waiting for the bot)", None, self._cursor,
                                   len(self.state.calls), asyncio.get_running_loop().time(),
                                   condition, timeout, True, allow_errors)

    # ---- internals -----------------------------------------------------------------------
    def _find_target(self, message: SentMessage | int | None) -> SentMessage:
        if message is None:
            target = self.last_keyboard_message()
            if target is None:
                raise AssertionError(f"no message with an inline keyboard in the chat of "
                                     f"{self}; messages: {self._describe(self.messages)}")
            return target
        message_id = message if isinstance(message, int) else message.message_id
        found = self.state.chat(self.user_id).messages.get(message_id)
        if found is None or not found.from_bot or found.deleted:
            raise AssertionError(f"no bot message {message_id} in the chat of {self}")
        return found.snapshot()

    def _replies(self, outputs: list[Output], sent_at: float,
                 update_id: int | None) -> Replies:
        chat = self.state.chat(self.user_id)
        order: list[int] = []
        for output in outputs:
            if output.kind in ("message", "edit") and output.message_id not in order:
                order.append(output.message_id)
        messages = [chat.messages[mid].snapshot() for mid in order
                    if not chat.messages[mid].deleted]
        answers = [o.answer for o in outputs if o.answer is not None]
        return Replies(messages, answers, outputs, sent_at, update_id)

    async def _collect(self, what: str, update_id: int | None, start: int, calls_start: int,
                       sent_at: float, until: Callable[[Replies], bool] | None,
                       timeout: float | None, expect: bool, allow_errors: bool) -> Replies:
        state = self.state
        chat = state.chat(self.user_id)
        errors_start = len(chat.errors)
        loop = asyncio.get_running_loop()
        limit = timeout if timeout is not None else self.timeout
        deadline = loop.time() + limit
        while True:
            if not allow_errors and len(chat.errors) > errors_start:
                details = "; ".join(f"{c.method} -> {c.status} {c.description} "
                                    f"(params {_short(c.params)})"
                                    for c in chat.errors[errors_start:])
                raise AssertionError(f"{self}: Telegram would refuse what the bot did in answer "
                                     f"to {what}: {details}")
            outputs = [o for o in chat.outputs[start:] if o.kind in ANSWER_KINDS]
            now = loop.time()
            wake_at = deadline
            if until is not None:
                done = until(self._replies(outputs, sent_at, update_id))
            elif state.instrumented and update_id is not None:
                done = update_id in state.processed
            else:
                last = outputs[-1].at if outputs else sent_at
                quiet_until = last + self.quiet
                done = (bool(outputs) or not expect) and chat.inflight == 0 and now >= quiet_until
                wake_at = min(deadline, quiet_until) if now < quiet_until else deadline
            if done:
                if expect and until is None and not outputs:
                    raise AssertionError(f"{self}: the bot handled {what} but sent nothing"
                                         + self._context(calls_start, update_id))
                self._cursor = len(chat.outputs)
                return self._replies(outputs, sent_at, update_id)
            if now >= deadline:
                arrived = self._describe(self._replies(outputs, sent_at, update_id))
                raise AssertionError(
                    f"{self}: no complete answer to {what} within {limit:g}s; arrived: "
                    f"{arrived}" + self._context(calls_start, update_id))
            await chat.signal.wait(max(wake_at - now, 0.001))

    def _context(self, calls_start: int, update_id: int | None) -> str:
        state = self.state
        calls = state.calls[calls_start:]
        mine = [c for c in calls if str(c.chat_id) == str(self.user_id)]
        processed = ("yes" if update_id in state.processed else "no") if (
            state.instrumented and update_id is not None) else "unknown (not instrumented)"
        return (f"; bot calls for this chat meanwhile: "
                f"{[f'{c.method}:{c.status}' for c in mine] or 'none'}"
                f"; all calls meanwhile: {len(calls)} (getUpdates: "
                f"{sum(c.method == 'getUpdates' for c in calls)}); updates not yet confirmed by "
                f"the bot: {len(state.updates)}; update handled by the bot: {processed}")

    @staticmethod
    def _describe(messages: list[SentMessage]) -> str:
        if not messages:
            return "nothing"
        return " | ".join(f"#{m.message_id}{' (edited)' if m.edited else ''} "
                          f"{(m.text or '')[:120]!r} buttons={m.labels()}" for m in messages)


def _short(params: dict[str, Any]) -> str:
    return repr({k: (v[:80] + "…" if isinstance(v, str) and len(v) > 80 else v)
                 for k, v in params.items()})


def _find_button(message: SentMessage, wanted: str) -> str:
    buttons = [b for b in message.buttons() if "callback_data" in b]
    for candidates in (
        [b for b in buttons if b["text"] == wanted],
        [b for b in buttons if b["callback_data"] == wanted],
        [b for b in buttons if wanted.casefold() in b["text"].casefold()],
    ):
        if len(candidates) == 1:
            return candidates[0]["callback_data"]
        if len(candidates) > 1:
            raise AssertionError(f"{wanted!r} matches several buttons: "
                                 f"{[b['text'] for b in candidates]}")
    raise AssertionError(f"no button {wanted!r} under message #{message.message_id} "
                         f"{(message.text or '')[:80]!r}; buttons: {message.labels()}")


# ---- running a PTB Application in-process ------------------------------------------------
def instrument_application(server: FakeBotServer, application: Application) -> bool:
    """Make the Application report each update it has finished processing to the server, so
    VirtualUser knows exactly when the bot is done. Returns False if PTB's internals changed
    (then VirtualUser falls back to the quiet period)."""
    from telegram.ext import BaseUpdateProcessor

    state = server.bot(application.bot.token)
    inner = getattr(application, "_update_processor", None)
    if not isinstance(inner, BaseUpdateProcessor):
        return False

    class _Reporting(BaseUpdateProcessor):
        # Wraps the Application's own processor: same concurrency, plus a report when done.
        async def do_process_update(self, update: object, coroutine: Any) -> None:
            try:
                await inner.do_process_update(update, coroutine)
            finally:
                update_id = getattr(update, "update_id", None)
                if update_id is not None:
                    state.mark_processed(update_id)

        async def initialize(self) -> None:
            await inner.initialize()

        async def shutdown(self) -> None:
            await inner.shutdown()

    if type(inner).__name__ != "_Reporting":
        application._update_processor = _Reporting(inner.max_concurrent_updates)
    state.instrumented = True
    return True


async def start_application(server: FakeBotServer, application: Application, *,
                            poll_timeout: float = 10.0, drop_pending_updates: bool = False,
                            allowed_updates: list[str] | None = None) -> None:
    """initialize, start and poll (poll_interval=0), instrumented for VirtualUser."""
    instrument_application(server, application)
    await application.initialize()
    await application.start()
    assert application.updater is not None, "the Application was built without an Updater"
    await application.updater.start_polling(
        poll_interval=0, timeout=int(poll_timeout), drop_pending_updates=drop_pending_updates,
        allowed_updates=allowed_updates)


async def stop_application(server: FakeBotServer | None, application: Application) -> None:
    """Stop polling, stop and shut down; safe to call on a half-started Application."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()
    if server is not None and application.bot.token in server.bots:
        server.bot(application.bot.token).instrumented = False


class RunningBot:
    """A started Application and its token on the fake server."""

    def __init__(self, server: FakeBotServer, token: str, application: Application) -> None:
        self.server = server
        self.token = token
        self.application = application

    @property
    def state(self) -> BotState:
        return self.server.bot(self.token)

    def user(self, *, language_code: str | None = "fr", first_name: str = "Camille",
             **kwargs: Any) -> VirtualUser:
        """A user never seen before by this server (fresh id), so tests stay independent."""
        return VirtualUser(self.server, self.token, self.server.new_user_id(),
                           language_code=language_code, first_name=first_name, **kwargs)


class BotRunner:
    """Starts Applications against a FakeBotServer, shares one per key, stops them all."""

    def __init__(self, server: FakeBotServer) -> None:
        self.server = server
        self._running: list[RunningBot] = []
        self._shared: dict[str, RunningBot] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self, build: Callable[[str], Application] | Application, *,
                    token: str | None = None, **polling: Any) -> RunningBot:
        """`build` is an Application, or a function token -> Application (then a fresh token
        is registered unless `token` is given)."""
        if callable(build) and not hasattr(build, "bot"):
            token = self.server.add_bot(token)
            application = build(token)
        else:
            application = build  # type: ignore[assignment]
            token = self.server.add_bot(application.bot.token)
        if application.bot.token != token:
            raise ValueError("the Application was built with another token than the one given")
        running = RunningBot(self.server, token, application)
        self._running.append(running)
        await start_application(self.server, application, **polling)
        return running

    async def shared(self, key: str, build: Callable[[str], Application],
                     **polling: Any) -> RunningBot:
        """The Application started once under `key` and reused by every later caller."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if key not in self._shared:
                self._shared[key] = await self.start(build, **polling)
            return self._shared[key]

    async def stop(self, running: RunningBot) -> None:
        if running in self._running:
            self._running.remove(running)
        for key, shared in list(self._shared.items()):
            if shared is running:
                del self._shared[key]
        await stop_application(self.server, running.application)

    async def stop_all(self) -> None:
        for running in list(reversed(self._running)):
            await self.stop(running)
