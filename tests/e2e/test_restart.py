"""Nothing is lost on restart: `centrale run` killed with SIGKILL mid-diagnostic, started again,
continues at the same question with the earlier answers kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from store.db import make_engine
from tests.fakebot.client import VirtualUser

ROOT = Path(__file__).resolve().parents[2]


def start_bot(token: str, api_url: str, database_url: str, log: Path) -> subprocess.Popen:
    env = dict(os.environ, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_URL=api_url,
               DATABASE_URL=database_url, COMPANY_API_URL="http://127.0.0.1:9/search")
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], cwd=ROOT, env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def test_sigkill_mid_diagnostic_then_restart(fake_server, empty_db_url, tmp_path):
    token = fake_server.add_bot()
    log = tmp_path / "bot.log"
    process = start_bot(token, fake_server.base_url, empty_db_url, log)
    try:
        user = VirtualUser(fake_server, token, fake_server.new_user_id(), language_code="fr",
                           timeout=60)
        replies = await user.send("/start")
        assert "Bienvenue sur Centrale" in replies.text
        user.timeout = 15
        await user.tap("J'accepte")
        await user.tap("Pas encore de SIRET")
        replies = await user.send("Régie de quartier Nord")
        assert "Quel type de structure" in replies.text
        replies = await user.tap("Association")
        assert "principes de l'économie sociale" in replies.text

        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process = start_bot(token, fake_server.base_url, empty_db_url, log)

        user.timeout = 60  # the new process has to start first
        replies = await user.tap("Oui")
        assert "Question 6/16" in replies.text and "Quels sont vos métiers" in replies.text
        user.timeout = 15
        replies = await user.tap("Retour")
        assert "principes de l'économie sociale" in replies.text
        await user.tap("Oui")
        await user.send("nettoyage de locaux")
        await user.tap("Mots-clés seuls")  # nothing ticked: keywords only
        await user.send("Nord")
        for label in ("1 à 4 personnes", "Moins de 100 k€", "Moins de 40 k€", "Jamais répondu"):
            await user.tap(label)
        await user.tap("Valider")
        await user.tap("Comme cotraitant")
        await user.tap("Valider")
        await user.tap("Immédiatement")
        replies = await user.tap("Telegram")
        assert "Nom : Régie de quartier Nord" in replies.text
        assert "Type de structure : Association" in replies.text
        replies = await user.tap("Confirmer")
        assert "Votre profil est enregistré" in replies.text
    finally:
        process.kill()
        process.wait(timeout=10)
    with make_engine(empty_db_url).connect() as connection:
        names = connection.execute(text("select name from structures")).scalars().all()
    assert names == ["Régie de quartier Nord"], log.read_text()[-3000:]
