"""End-to-end fixtures: one fake Bot API server for the whole session, and Applications started
in-process against it, shared across tests where possible (each test then talks to the bot as a
fresh user, so tests stay independent).

    async def test_x(echo_bot):
        user = echo_bot.user(language_code="en")
        replies = await user.send("hello")

For the real bot (once bot.app.build_application exists), share it the same way:

    @pytest_asyncio.fixture(loop_scope="session")
    async def centrale_bot(bot_runner, ...):
        return await bot_runner.shared("centrale", lambda token: build_application(...))
"""

from __future__ import annotations

import pytest
import pytest_asyncio

from benchmarks.echo_bot import build_echo_application
from tests.fakebot.client import BotRunner, RunningBot
from tests.fakebot.server import FakeBotServer


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.e2e)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def fake_server() -> FakeBotServer:
    server = await FakeBotServer().start()
    yield server
    await server.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def bot_runner(fake_server, db_url) -> BotRunner:
    """start(build) / shared(key, build) / stop(running): see tests.fakebot.client.BotRunner.
    Depends on `db_url` so that bots stop (and write their last state) before the test database
    is dropped."""
    runner = BotRunner(fake_server)
    yield runner
    await runner.stop_all()


@pytest_asyncio.fixture(loop_scope="session")
async def echo_bot(bot_runner, fake_server) -> RunningBot:
    """The bare PTB echo bot, started once for the session."""
    return await bot_runner.shared(
        "echo", lambda token: build_echo_application(token, fake_server.base_url))


@pytest.fixture(autouse=True)
def _no_leftover_faults(fake_server):
    """Faults, blocks and rate caps injected by a test end with it (bots are shared)."""
    yield
    for token in fake_server.bots:
        fake_server.clear_faults(token)
        fake_server.configure(token)


# ---- the Centrale bot ----------------------------------------------------------------------
COMPANY_URL = "http://company.test/search"


@pytest.fixture(scope="session")
def company_router(shared_data):
    """Recorded answers of the company API, replayed by respx inside the bot's own HTTP client
    (the rest of the bot's traffic, to the fake Bot API, is untouched)."""
    import json

    import respx

    router = respx.Router(assert_all_called=False, base_url=COMPANY_URL)
    folder = shared_data / "recherche_entreprises"
    router.answers = {}
    for path in folder.glob("*.json"):
        data = json.loads(path.read_text())
        result = data.get("result", data)
        for item in result.get("results", []):
            router.answers.setdefault(item["siren"], result)
    return router


@pytest.fixture
def company_api(company_router):
    """The company API for one test: a SIRET's recorded answer, or an empty result. A test may
    `clear()` it and add its own routes (e.g. a 503)."""
    import httpx

    def replay(request):
        siren = request.url.params.get("q", "").replace(" ", "")[:9]
        answer = company_router.answers.get(siren, {"results": [], "total_results": 0})
        return httpx.Response(200, json=answer)

    company_router.clear()
    company_router.calls.clear()
    company_router.route(method="GET").mock(side_effect=replay)
    yield company_router
    company_router.clear()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def centrale_bot(bot_runner, fake_server, db_url, _schema, company_router):
    """The real Centrale Application, started once for the session against the fake server."""
    import httpx

    from bot.app import build_application
    from bot.settings import load_settings
    from conversations.company_lookup import CompanyLookup

    def build(token):
        settings = load_settings(
            _env_file=None, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=fake_server.base_url,
            DATABASE_URL=db_url, COMPANY_API_URL=COMPANY_URL)
        application = build_application(settings, engine=_schema)
        client = httpx.AsyncClient(transport=httpx.MockTransport(company_router.async_handler))
        application.bot_data["services"].company_lookup = CompanyLookup(COMPANY_URL, client)
        return application

    return await bot_runner.shared("centrale", build)
