"""`centrale demo` and `centrale run` without a token: the diagnostic in a terminal."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Buttons are numbered in the order shown: consent 1 = agree, SIRET 1 = no SIRET yet, …
SCRIPT = "\n".join([
    "1", "1", "Atelier Solidaire", "1", "1", "menuiserie bois, ébénisterie", "1", "4",
    "Loire, 43", "1", "1", "1", "1", "1", "10", "1", "6", "1", "1", "16",
    "/mesdonnees", "",
])


def run(args, tmp_path, stdin):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
               COMPANY_API_URL="http://127.0.0.1:9/search")
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120,
                          )


def test_demo_runs_the_same_diagnostic(tmp_path):
    result = run(["demo"], tmp_path, SCRIPT)
    out = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Question 1/16" in out and "Bienvenue sur Centrale" in out
    assert "[1] J'accepte" in out and "[2] Non merci" in out
    assert "Quel est le nom de votre structure ?" in out
    assert "Loire (42), Haute-Loire (43)" in out  # the summary
    assert "Votre profil est enregistré" in out and "Score de préparation" in out
    assert "[document: centrale-mes-donnees.json]" in out
    assert "<b>" not in out and "&amp;" not in out  # shown as text, not HTML


def test_run_without_token_starts_the_demo(tmp_path):
    result = run(["run"], tmp_path, "2\n")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stdout
    assert "rien n'a été enregistré" in result.stdout  # "No thanks" to the consent


def test_help_lists_commands(tmp_path):
    result = run(["--help"], tmp_path, "")
    for command in ("run", "demo", "db", "ingest", "match", "tenders", "import"):
        assert command in result.stdout
