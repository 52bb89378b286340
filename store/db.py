"""Engines and sessions, on SQLite (default) or PostgreSQL, and schema upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            # WAL lets the bot, the ingester and a delivery worker share one file.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed at the end of the block, rolled back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_for(dialect: str):
    """The dialect's INSERT, which has ON CONFLICT DO NOTHING (PostgreSQL's, else SQLite's)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@lru_cache(maxsize=64)
def _insert_ignoring(dialect: str, table, conflict: tuple[str, ...]):
    # Built once per table: the values come as parameters (building the statement again for
    # each row was most of the cost of a small insert).
    return (insert_for(dialect)(table).on_conflict_do_nothing(index_elements=list(conflict))
            .returning(*table.primary_key.columns))


def insert_ignoring(session: Session, table, values: dict, conflict: list[str]) -> list:
    """Insert one row unless one with the same `conflict` columns is there: the new row's
    primary key(s), or [] when nothing was inserted (rowcount is not reliable on every
    driver, RETURNING is)."""
    statement = _insert_ignoring(session.get_bind().dialect.name, table, tuple(conflict))
    return list(session.execute(statement, values).all())


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def all_metadata():
    """Import every table module so that the metadata is complete."""
    import store.alert_models  # noqa: F401
    import store.announcement_models  # noqa: F401
    import store.consortia_models  # noqa: F401
    import store.mail_models  # noqa: F401
    import store.models  # noqa: F401
    import store.tender_models  # noqa: F401

    return SQLModel.metadata
