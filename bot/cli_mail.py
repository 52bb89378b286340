"""The email bridge wired from the settings: its channel for the delivery runner, the LMTP
server (`centrale mail serve`, and inside `centrale run` when LMTP_LISTEN is set).

centrale mail serve      the inbound LMTP server alone, until SIGINT/SIGTERM
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


def lmtp_server(settings, engine, channel=None):
    import bot.flows  # noqa: F401 - every flow's email replies, INSCRIPTION
    from channels.email.inbound import Bridge
    from channels.email.lmtp import LmtpServer
    from conversations.company_lookup import CompanyLookup
    from conversations.questions import Services

    channel = channel or email_channel(settings, engine)
    bridge = Bridge(engine, channel.config, channel, tz=settings.timezone,
                    services=Services(company_lookup=CompanyLookup(settings.COMPANY_API_URL)))
    host, _sep, port = settings.LMTP_LISTEN.rpartition(":")
    return LmtpServer(bridge, host.strip("[]"), int(port))


async def start_web(settings, bridge):
    """The one-click unsubscribe endpoint (channels.email.web) when HTTP_LISTEN is set."""
    if not settings.HTTP_LISTEN:
        return None
    from channels.email.web import UnsubscribeWeb

    host, _sep, port = settings.HTTP_LISTEN.rpartition(":")
    web = UnsubscribeWeb(bridge, host.strip("[]"), int(port))
    await web.start()
    return web


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
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        server = lmtp_server(settings, engine)
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


def register(commands) -> None:
    """Add `mail` to the `centrale` parser."""
    from bot.cli_tenders import cli_language

    _ = gettext_for(cli_language())
    mail = commands.add_parser("mail", help=_("the email bridge"))
    actions = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve", help=_("the inbound LMTP server alone"),
        description=_("Receive the replies to Centrale's emails on LMTP_LISTEN (behind the "
                      "mail server) and carry them out."))
    serve.set_defaults(func=_cmd_serve)


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
