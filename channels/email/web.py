"""The https side of List-Unsubscribe (RFC 8058), on HTTP_LISTEN behind the site's reverse proxy
(PUBLIC_URL is its public base).

    POST /unsubscribe/KEY   (List-Unsubscribe=One-Click)  STOP for the key's member, in one step
    GET  /unsubscribe/KEY   a page with one button that posts the same form

A GET never unsubscribes: mail scanners and link previews open links, and only a POST is the
member's act (RFC 8058 §3.2). The key is the signed unsubscribe key of the List-Unsubscribe
mailto (channels.email.keys); a forged, altered or expired one changes nothing and gets the same
neutral page, so the endpoint tells nothing about who is a member. The confirmation email goes
once, as for the mailto (a second STOP says nothing more).
"""

from __future__ import annotations

import asyncio
import logging
from html import escape

from aiohttp import web

from channels.email.inbound import Bridge
from locales import gettext_for

log = logging.getLogger(__name__)
_MAX_BODY = 4096  # the one-click body is "List-Unsubscribe=One-Click"


def _page(title: str, text: str, lang: str, form: str = "") -> web.Response:
    html = (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
            f"<p>{escape(text)}</p>{form}</body></html>")
    return web.Response(text=html, content_type="text/html", charset="utf-8")


class UnsubscribeWeb:
    def __init__(self, bridge: Bridge, host: str, port: int):
        self.bridge, self.host, self.port = bridge, host, port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=_MAX_BODY)
        app.router.add_get("/unsubscribe/{key}", self.confirm_page)
        app.router.add_post("/unsubscribe/{key}", self.unsubscribe)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real one when 0 was asked

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def confirm_page(self, request: web.Request) -> web.Response:
        _ = gettext_for("fr")
        button = escape(_("Unsubscribe"))
        form = ('<form method="post"><input type="hidden" name="List-Unsubscribe" '
                f'value="One-Click"><button type="submit">{button}</button></form>')
        return _page(_("Stop the emails of Centrale?"),
                     _("One click stops every email of Centrale. Writing REPRENDRE to Centrale "
                       "starts them again."), "fr", form)

    async def unsubscribe(self, request: web.Request) -> web.Response:
        key = request.match_info["key"][:100]
        lang, answers = await asyncio.to_thread(self.bridge.unsubscribe_link, key)
        for answer in answers:
            result = await self.bridge.channel.send(None, answer)
            if result.outcome != "sent":
                log.warning("unsubscribe confirmation not sent: %s", result.reason)
        _ = gettext_for(lang or "fr")
        if lang is None:
            return _page(_("Link not valid"),
                         _("This link is not valid any more. Write STOP in a reply to one of "
                           "our emails to stop them."), "fr")
        return _page(_("Unsubscribed"),
                     _("You will receive no more emails from Centrale. Write REPRENDRE to "
                       "Centrale to start them again."), lang)
