"""The composition root of the Telegram bot: builds the PTB Application and runs it."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections import defaultdict
from collections.abc import Awaitable
from typing import Any

from sqlalchemy.engine import Engine
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ContextTypes,
    Defaults,
)
from telegram.warnings import PTBUserWarning

import bot.flows  # noqa: F401 - every flow plugs in
from bot.jobs import schedule_jobs
from bot.network import bot_request, updates_request
from bot.settings import Settings
from conversations.company_lookup import CompanyLookup
from conversations.questions import Services
from handlers import advisors as advisor_handlers
from handlers import alerts as alert_handlers
from handlers import announcements as composer
from handlers import commands, diagnostic, opportunities
from handlers import flows as flow_handlers
from handlers import threads as thread_handlers
from locales import gettext_for
from reference import cpv_search, geography
from store.db import engine_for
from store.persistence import SQLPersistence

log = logging.getLogger(__name__)

# Seconds between two getUpdates calls. Long polling still answers at once when an update comes;
# the pause only lets updates that arrive together come in one call: under load a getUpdates per
# update or two cost the bot a tenth of its time or more. A member waits at most this much more.
POLL_INTERVAL = 0.05

# The diagnostic's CallbackQueryHandlers are tracked per user, not per message: intended.
warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)


def _warm_reference_data() -> None:
    cpv_search.cpv_search("entretien", limit=1)
    geography.parse_area("42")


def seed_advisors(engine: Engine, settings: Settings) -> int:
    """The advisors listed in CENTRALE_ADVISORS get the advisor role (help requests reach them
    through the outbox)."""
    from store import members
    from store.db import session_scope

    if not settings.advisor_ids and not settings.advisor_emails:
        return 0
    with session_scope(engine) as session:
        return members.seed_advisors(session, settings.advisor_ids, settings.advisor_emails)


class CentraleApplication(Application):
    async def initialize(self) -> None:
        await super().initialize()
        # Build the reference indexes now rather than on the first member's answer.
        await asyncio.to_thread(_warm_reference_data)
        await asyncio.to_thread(seed_advisors, self.bot_data["engine"], self.bot_data["settings"])
        # Here rather than in post_init, which only run_polling calls.
        try:
            await commands.set_commands(self)
        except Exception:  # the menu is a convenience: never block the start for it
            log.warning("could not set the command menu", exc_info=True)

    async def update_persistence(self) -> None:
        await super().update_persistence()
        if isinstance(self.persistence, SQLPersistence):
            await self.persistence.commit()

    async def process_update(self, update: object) -> None:
        await super().process_update(update)
        # Written as each answer is given: a bot killed mid-diagnostic loses nothing.
        await self.update_persistence()


class PerUserProcessor(BaseUpdateProcessor):
    """Updates of different users run concurrently; one user's updates run in order."""

    def __init__(self, max_concurrent_updates: int = 64):
        super().__init__(max_concurrent_updates)
        self._locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        lock = self._locks[user.id]
        async with lock:
            await coroutine
        if not lock.locked() and not lock._waiters:  # forget idle users
            self._locks.pop(user.id, None)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


async def _error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("Unhandled error while handling %s", update, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        lang = (context.user_data or {}).get("lang") or "fr"
        try:
            _ = gettext_for(lang)
            await update.effective_chat.send_message(_(
                "Sorry, something went wrong on our side. Please try again in a moment."))
        except Exception:  # the error may be the network itself
            log.debug("could not tell the user about the error", exc_info=True)


def build_application(settings: Settings, engine: Engine | None = None,
                      rate_limit: bool = True, request=None) -> Application:
    engine = engine or engine_for(settings.DATABASE_URL)
    builder = (
        ApplicationBuilder()
        .application_class(CentraleApplication)
        .token(settings.TELEGRAM_BOT_TOKEN or "0:demo")
        .base_url(settings.TELEGRAM_API_URL)
        .base_file_url(settings.TELEGRAM_API_URL.replace("/bot", "/file/bot"))
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .persistence(SQLPersistence(engine))
        .concurrent_updates(PerUserProcessor())
    )
    if request is not None:  # the terminal demo's in-process transport
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = builder.request(bot_request()).get_updates_request(updates_request())
    if rate_limit:
        # Answers to members' own taps are not throttled to 30/s for the whole bot (a busy
        # morning would queue every member behind the others); a 429 is still waited out and
        # retried. Bulk sending (alerts) keeps its own 29/s pace, shared through the database.
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=0, max_retries=3))
    application = builder.build()
    application.bot_data["engine"] = engine
    application.bot_data["settings"] = settings  # read by bot/ only; handlers get values:
    application.bot_data["timezone"] = settings.timezone
    application.bot_data["territory"] = settings.territory
    application.bot_data["services"] = Services(
        company_lookup=CompanyLookup(settings.COMPANY_API_URL),
        extra={"timezone": settings.timezone})
    commands.register(application)
    alert_handlers.register(application)
    thread_handlers.register(application)
    advisor_handlers.register(application)
    flow_handlers.register(application)
    # The advisors' composers come first: while one runs, its steps are theirs alone.
    application.add_handler(composer.build_conversation(), group=-2)
    opportunities.register(application)
    application.add_handler(diagnostic.build_conversation())
    application.add_error_handler(_error_handler)
    return application


def run_polling(settings: Settings) -> int:
    from store.db import upgrade

    upgrade(settings.DATABASE_URL)
    from bot.cli_mail import start_lmtp, stop_lmtp

    application = build_application(settings)
    schedule_jobs(application)
    # The inbound LMTP server (LMTP_LISTEN) runs in the bot's event loop.
    application.post_init = start_lmtp
    previous = application.post_shutdown

    async def post_shutdown(app) -> None:
        await stop_lmtp(app)
        if previous is not None:
            await previous(app)

    application.post_shutdown = post_shutdown
    application.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                            poll_interval=POLL_INTERVAL)
    return 0
