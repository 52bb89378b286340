"""`centrale db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.settings import get_settings
from store.db import all_metadata, make_engine


@pytest.fixture
def empty_url(db_url, tmp_path):
    if not db_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"centrale_mig_{uuid.uuid4().hex[:8]}"
    admin = make_engine(db_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(db_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_matches_models(empty_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", empty_url)
    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 0
        assert main(["db", "upgrade"]) == 0  # a second run changes nothing
    finally:
        get_settings.cache_clear()
    engine = make_engine(empty_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), all_metadata())
    engine.dispose()
    assert diff == [], diff
    assert set(all_metadata().tables) <= set(inspect(make_engine(empty_url)).get_table_names())
