"""The email bridge wired from the settings: its channel for the delivery runner, the LMTP
server (`centrale mail serve`, and inside `centrale run` when LMTP_LISTEN is set), the
processing runner.

centrale mail serve [--store-only]   the inbound LMTP server alone, until SIGINT/SIGTERM; with
                                     --store-only it stores and leaves the processing to:
centrale mail process [--poll S]     carry out the stored mail and answer it (several may run)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from locales import gettext_for

log = logging.getLogger(__name__)


def mail_config(settings):
    from channels.email.config import MailConfig, SmtpServer

    return MailConfig(mail_from=settings.MAIL_FROM, domain=settings.MAIL_DOMAIN,
                      secret=settings.REPLY_KEY_SECRET,
                      smtp=SmtpServer.parse(settings.SMTP_URL) if settings.SMTP_URL else None,
                      public_url=settings.PUBLIC_URL,
                      rate_per_minute=settings.MAIL_RATE_PER_MINUTE)


def email_channel(settings, engine):
    from channels.email.channel import EmailChannel

    return EmailChannel(mail_config(settings), engine)


def bridge(settings, engine, channel=None):
    import bot.flows  # noqa: F401 - every flow's email replies, INSCRIPTION
    from channels.email.inbound import Bridge
    from conversations.company_lookup import CompanyLookup
    from conversations.questions import Services

    channel = channel or email_channel(settings, engine)
    return Bridge(engine, channel.config, channel, tz=settings.timezone,
                  services=Services(company_lookup=CompanyLookup(settings.COMPANY_API_URL)))


def lmtp_server(settings, engine, channel=None, *, process: bool = True):
    from channels.email.lmtp import LmtpServer

    host, _sep, port = settings.LMTP_LISTEN.rpartition(":")
    return LmtpServer(bridge(settings, engine, channel), host.strip("[]"), int(port),
                      process=process)


async def start_web(settings, bridge):
    """The one-click unsubscribe endpoint (channels.email.web) when HTTP_LISTEN is set."""
    if not settings.HTTP_LISTEN:
        return None
    from channels.email.web import UnsubscribeWeb

    host, _sep, port = settings.HTTP_LISTEN.rpartition(":")
    web = UnsubscribeWeb(bridge, host.strip("[]"), int(port))
    await web.start()
    return web


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    return stop


def _cmd_serve(args: argparse.Namespace) -> int:
    from bot.cli_tenders import _engine_or_none, cli_language
    from bot.settings import get_settings

    _ = gettext_for(cli_language())
    settings = get_settings()
    if not settings.LMTP_LISTEN:
        print(_("LMTP_LISTEN is not set: there is no address to listen on."), file=sys.stderr)
        return 2
    engine = _engine_or_none(_)
    if engine is None:
        return 2

    async def serve() -> None:
        stop = _stop_on_signals()
        server = lmtp_server(settings, engine, process=not args.store_only)
        await server.start()
        web = await start_web(settings, server.bridge)
        print(_("Listening for LMTP on {host}:{port}.").format(host=server.host,
                                                               port=server.port), flush=True)
        try:
            await stop.wait()
        finally:
            if web is not None:
                await web.stop()
            await server.stop()
            await server.bridge.channel.aclose()

    asyncio.run(serve())
    return 0


def _cmd_process(args: argparse.Namespace) -> int:
    from bot.cli_tenders import _engine_or_none, cli_language
    from bot.settings import get_settings
    from channels.email.processor import Processor

    _ = gettext_for(cli_language())
    settings = get_settings()
    if not (settings.MAIL_FROM and settings.MAIL_DOMAIN and settings.REPLY_KEY_SECRET):
        print(_("MAIL_FROM, MAIL_DOMAIN and REPLY_KEY_SECRET are needed to read the replies."),
              file=sys.stderr)
        return 2
    if not settings.SMTP_URL:
        print(_("SMTP_URL is not set: the answers to the replies could not be sent."),
              file=sys.stderr)
        return 2
    if args.poll <= 0:
        print(_("--poll takes a number of seconds above 0, for example --poll 0.5."),
              file=sys.stderr)
        return 2
    engine = _engine_or_none(_)
    if engine is None:
        return 2

    async def process() -> None:
        stop = _stop_on_signals()
        processor = Processor(bridge(settings, engine))
        print(_("Processing the stored mail."), flush=True)
        try:
            await processor.run(stop, args.poll)
        finally:
            await processor.bridge.channel.aclose()

    asyncio.run(process())
    return 0


def register(commands) -> None:
    """Add `mail` to the `centrale` parser."""
    from bot.cli_tenders import cli_language
    from channels.email.processor import POLL_S

    _ = gettext_for(cli_language())
    mail = commands.add_parser("mail", help=_("the email bridge"))
    actions = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve", help=_("the inbound LMTP server alone"),
        description=_("Receive the replies to Centrale's emails on LMTP_LISTEN (behind the "
                      "mail server) and carry them out."))
    serve.add_argument("--store-only", action="store_true",
                       help=_("store the mail only; `centrale mail process` carries it out"))
    serve.set_defaults(func=_cmd_serve)
    process = actions.add_parser(
        "process", help=_("carry out the stored mail"),
        description=_("Carry out the mail that `centrale mail serve --store-only` stored, and "
                      "answer it. Several may run at once."))
    process.add_argument("--poll", type=float, default=POLL_S, metavar=_("SECONDS"),
                         help=_("how often to look for new mail (default: {seconds})").format(
                             seconds=POLL_S))
    process.set_defaults(func=_cmd_process)


# --- inside `centrale run` ----------------------------------------------------------------------


async def start_lmtp(application) -> None:
    """Start the LMTP server in the bot's event loop (post_init) when LMTP_LISTEN is set."""
    data = application.bot_data
    settings = data["settings"]
    if not settings.LMTP_LISTEN:
        return
    server = lmtp_server(settings, data["engine"])
    await server.start()
    data["lmtp_server"] = server
    data["unsubscribe_web"] = await start_web(settings, server.bridge)


async def stop_lmtp(application) -> None:
    web = application.bot_data.pop("unsubscribe_web", None)
    if web is not None:
        await web.stop()
    server = application.bot_data.pop("lmtp_server", None)
    if server is not None:
        await server.stop()
        await server.bridge.channel.aclose()
