"""`pip install` of the built wheel, in a fresh virtualenv, then `centrale demo`: it greets in
French with no other step, the catalogs compiled at build time coming with the package.

The wheel is built (with pip's build isolation: setuptools and babel come from PyPI or pip's cache)
from a copy of the source without any compiled catalog, and installed without its dependencies
into a new virtualenv; the dependencies are those of this test's environment, made visible by a
.pth file (a path line in a .pth does not run the .pth files of that folder, so this
environment's editable install of Centrale is not seen). The demo runs outside the source tree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "*.mo",
                                 "*.db", "*.db-*", "tests", "benchmarks")

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="packaging does not depend on the database: checked once, on the SQLite leg")


def run(args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, f"{args}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("src") / "centrale"
    shutil.copytree(ROOT, source, ignore=SKIPPED)
    assert not list(source.rglob("*.mo"))
    dist = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist),
         str(source)])
    [built] = dist.glob("centrale-*.whl")
    return built


def test_wheel_carries_the_compiled_catalogs(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for lang in ("fr", "en"):
        assert f"locales/{lang}/LC_MESSAGES/messages.mo" in names
    assert not [n for n in names if n.endswith((".po", ".pot"))]  # sources stay in the sdist


def test_installed_wheel_greets_in_french(wheel, tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(run([str(python), "-c", "import sysconfig; "
                        "print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (purelib / "_centrale_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--quiet", str(wheel)])

    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("TELEGRAM_BOT_TOKEN", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(DATABASE_URL=f"sqlite:///{elsewhere / 'centrale.db'}",
               COMPANY_API_URL="http://127.0.0.1:9/search", LANG="C.UTF-8")
    where = run([str(python), "-c", "import locales; print(locales.__file__)"],
                cwd=elsewhere, env=env).stdout
    assert where.startswith(str(venv)), where  # the installed package, not the source folder
    result = run([str(venv / "bin" / "centrale"), "demo"], cwd=elsewhere, env=env,
                 stdin=subprocess.DEVNULL)
    assert "Centrale — démo dans le terminal" in result.stdout, result.stdout[:500]
    assert "Bienvenue sur Centrale" in result.stdout and "[1] J'accepte" in result.stdout
    assert "catalog" not in result.stderr, result.stderr
