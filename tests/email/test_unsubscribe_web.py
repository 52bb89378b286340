"""The one-click unsubscribe link (RFC 8058) over real HTTP: a POST stops the emails in one step
and is confirmed once; a GET (a link scanner, a preview) changes nothing; a forged key neither."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlmodel import Session

from alerts.preferences import is_stopped
from channels.email.web import UnsubscribeWeb
from store.models import AlertPreference
from tests.email.conftest import Harness
from tests.email.test_bridge import MARIE, queue


def _link(mail) -> str:
    return re.search(r"<(https://[^>]+)>", mail["List-Unsubscribe"]).group(1)


def _stopped(engine) -> bool:
    with Session(engine) as session:
        return is_stopped(session.execute(select(AlertPreference)).scalar_one())


async def test_one_click_post_unsubscribes_once_and_get_does_nothing(engine, sink, config):
    queue(engine)
    async with Harness(engine, config, sink) as bridge:
        await bridge.deliver()
        web = UnsubscribeWeb(bridge.bridge, "127.0.0.1", 0)
        await web.start()
        try:
            path = _link(sink.messages[0]).removeprefix("https://centrale.test")
            base = f"http://127.0.0.1:{web.port}"
            async with httpx.AsyncClient(base_url=base) as client:
                page = await client.get(path)
                assert page.status_code == 200 and 'method="post"' in page.text
                assert not _stopped(engine)

                forged = await client.post(path[:-3] + "aaa",
                                           data={"List-Unsubscribe": "One-Click"})
                assert forged.status_code == 200 and not _stopped(engine)

                done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
                assert done.status_code == 200 and _stopped(engine)
                assert "Vous ne recevrez plus" in done.text  # Marie reads French
                await client.post(path, data={"List-Unsubscribe": "One-Click"})
        finally:
            await web.stop()
    assert len(sink.to(MARIE)) == 2  # the alert and one confirmation
