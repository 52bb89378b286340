"""`centrale db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""


from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.cli import main
from bot.settings import get_settings
from store.db import all_metadata, make_engine


def test_upgrade_matches_models(empty_db_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 0
        assert main(["db", "upgrade"]) == 0  # a second run changes nothing
    finally:
        get_settings.cache_clear()
    engine = make_engine(empty_db_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), all_metadata())
    engine.dispose()
    assert diff == [], diff
    assert set(all_metadata().tables) <= set(inspect(make_engine(empty_db_url)).get_table_names())
