"""Shared fixtures: one database per test session (SQLite file, or a fresh PostgreSQL database when
TEST_DATABASE_URL is set), emptied before each test that asks for `engine`."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from store.db import all_metadata, make_engine

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED_DATA.exists():  # a clone beside shared/ (CI) or the checkout itself
    SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"




@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.exists(), f"shared data not found at {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def db_url(tmp_path_factory) -> str:
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        path = tmp_path_factory.mktemp("db") / "centrale-test.db"
        yield f"sqlite:///{path}"
        return
    url = make_url(base)
    name = f"centrale_t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _schema(db_url):
    engine = make_engine(db_url)
    all_metadata().create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(_schema):
    """The session's engine with every table emptied."""
    metadata = all_metadata()
    with _schema.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
    return _schema


@pytest.fixture
def empty_db_url(db_url, tmp_path):
    """A database with no tables, as `centrale db upgrade` or `centrale run` meets it on a new
    machine (a file for SQLite, a new database on the same PostgreSQL server)."""
    if not db_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"centrale_e_{uuid.uuid4().hex[:10]}"
    admin = make_engine(db_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def cli(engine, db_url, monkeypatch):
    """`centrale …` in-process on the test database, in English: cli("match", "--json")."""
    from bot.cli import main
    from bot.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    get_settings.cache_clear()
    yield lambda *argv: main(list(argv))
    get_settings.cache_clear()


@pytest.fixture
def is_postgres(db_url) -> bool:
    return db_url.startswith("postgresql")


def pytest_sessionstart(session):
    # Tests read translated text: compile the catalogs as `make test` does.
    from locales.catalogs import compile_all

    compile_all()


@pytest.fixture
def french():
    """The French translation of tests/screens.py for one test: it records each message id
    looked up in French without a translation and marks each translation ("⟦Oui⟧"). Check what
    was shown with `french.check(text_or_message_or_replies)`; any untranslated id looked up
    during the test also fails it at teardown."""
    from tests.screens import french_screens

    with french_screens() as screens:
        yield screens
    screens.check()
