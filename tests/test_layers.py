"""The layers of DESIGN.md hold: import-linter keeps the contracts of .importlinter, every
top-level package of the project is under them (a new one cannot slip past unchecked), and only
bot/ reads the settings."""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNCHECKED = {"tests", "benchmarks"}


def _config() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    return config


def _names(value: str, separators: str = "") -> set[str]:
    for separator in separators:
        value = value.replace(separator, "\n")
    return {name.strip().strip("()") for name in value.split() if name.strip()}


def _packages() -> set[str]:
    return {path.parent.name for path in ROOT.glob("*/__init__.py")} - UNCHECKED


def test_the_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--no-cache", "--no-logo"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_package_is_a_root_package_in_a_layer():
    config = _config()
    packages = _packages()
    roots = _names(config["importlinter"]["root_packages"])
    assert packages == roots, "root_packages of .importlinter must list every package"
    layered = _names(config["importlinter:contract:layers"]["layers"], ":|")
    assert roots <= layered, f"not in any layer: {sorted(roots - layered)}"


def test_only_bot_reads_the_settings():
    """Below bot/, values are passed in: nothing reads the Settings object PTB's bot_data carries
    (importing bot.settings is already a broken layer)."""
    readers = [
        str(path.relative_to(ROOT)) for package in _packages() - {"bot"}
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"""bot_data(\.get\(|\[)["']settings["']""", path.read_text("utf-8"))
    ]
    assert readers == []
