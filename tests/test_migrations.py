"""`centrale db upgrade` builds exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.cli import main
from bot.settings import get_settings
from store.db import all_metadata, make_engine, upgrade


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


def test_sqlite_bulk_datetimes_get_their_microseconds(tmp_path):
    """Rows a former bulk insert wrote without ".000000" compare like the others after 0002."""
    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0001")
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO tenders (source, source_id, title, buyer, description, cpv_codes, "
            "departements, procedure, kind, status, reserved, social_clause, url, content_hash, "
            "needs_matching, deadline, first_seen, updated_at) VALUES ('boamp', '1', "
            "'t', 'b', '', '[]', '[]', '', 'call', 'open', 'none', 0, '', 'h', 1, "
            "'2027-04-20 10:00:00', '2026-11-20 08:00:00.250000', '2026-11-20 08:00:00')"))
    upgrade(url)
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT deadline, first_seen, updated_at FROM tenders")).one()
    engine.dispose()
    assert tuple(row) == (
        "2027-04-20 10:00:00.000000", "2026-11-20 08:00:00.250000", "2026-11-20 08:00:00.000000")
