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


def test_sent_telegram_ids_are_kept_as_channel_message_ids(empty_db_url):
    """0003 turns the outbox's telegram_message_id into the text channel_message_id."""
    upgrade(empty_db_url, "0002")
    engine = make_engine(empty_db_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO members (id, telegram_active, email_active, role, created_at) "
            "VALUES (1, true, true, 'member', '2026-11-20 08:00:00')"))
        connection.execute(text(
            "INSERT INTO deliveries (member_id, channel, kind, payload, idempotency_key, status, "
            "attempts, next_attempt_at, created_at, failures, telegram_message_id) VALUES "
            "(1, 'telegram', 'alert', '{}', 'alert-1', 'sent', 1, "
            "'2026-11-20 08:00:00', '2026-11-20 08:00:00', 0, 9876543210)"))
    upgrade(empty_db_url)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT channel_message_id FROM deliveries")).one()
        columns = {c["name"] for c in inspect(connection).get_columns("deliveries")}
    engine.dispose()
    assert row == ("9876543210",)
    assert "telegram_message_id" not in columns
