"""Where SQLPersistence writes: in the event loop on a free SQLite file, in a worker thread when
another process holds the file's write lock (the loop keeps serving other members meanwhile), and
on PostgreSQL as asyncio I/O on a connection of its own, which survives the server dropping it."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import select, text

from store.db import all_metadata, make_engine
from store.models import BotState
from store.persistence import SQLPersistence


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/state.db")
    all_metadata().create_all(engine)
    yield engine
    engine.dispose()


def stored(engine) -> dict[str, object]:
    with engine.connect() as connection:
        return dict(
            connection.execute(
                select(BotState.key, BotState.value).where(BotState.kind == "user_data")
            ).all()
        )


def no_thread(pending):
    raise AssertionError("written through a worker thread")


async def test_sqlite_write_happens_in_the_event_loop_when_the_file_is_free(sqlite_engine):
    persistence = SQLPersistence(sqlite_engine)
    persistence._write = no_thread
    await persistence.update_user_data(7, {"lang": "fr"})
    await persistence.commit()
    assert stored(sqlite_engine) == {"7": {"lang": "fr"}}
    await persistence.drop_user_data(7)
    await persistence.commit()
    assert stored(sqlite_engine) == {}


async def test_sqlite_write_waits_for_a_busy_file_in_a_thread_without_blocking(
    sqlite_engine, tmp_path
):
    persistence = SQLPersistence(sqlite_engine)
    other = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing (an ingest, say)
    try:
        await persistence.update_user_data(8, {"lang": "en"})
        write = asyncio.create_task(persistence.commit())
        ticks = 0
        for _ in range(20):  # the event loop keeps running while the write waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 20 and not write.done()
        assert stored(sqlite_engine) == {}
    finally:
        other.execute("ROLLBACK")
        other.close()
    await asyncio.wait_for(write, 10)
    assert stored(sqlite_engine) == {"8": {"lang": "en"}}
    # The connection's usual patience is back for the next writer.
    with sqlite_engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000


async def test_postgresql_writes_in_the_loop_and_reconnects(engine, is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL only: the PostgreSQL leg of `make test` runs it")
    persistence = SQLPersistence(engine)
    persistence._write = no_thread
    name = "Régie <Nord> & Cie «quartier»"
    await persistence.update_user_data(7, {"lang": "fr", "answers": {"name": name}})
    await persistence.update_conversation("diagnostic", (7, 7), "q:siret")
    await persistence.commit()
    assert stored(engine) == {"7": {"lang": "fr", "answers": {"name": name}}}
    restarted = SQLPersistence(engine)  # what a new process reads back, through SQLAlchemy
    assert await restarted.get_user_data() == {7: {"lang": "fr", "answers": {"name": name}}}
    assert await restarted.get_conversations("diagnostic") == {(7, 7): "q:siret"}

    # The server drops the connection (a PostgreSQL restart): the next write reconnects.
    backend = persistence._postgres._connection.info.backend_pid
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    await persistence.update_user_data(7, {"lang": "en"})
    await persistence.commit()
    assert stored(engine) == {"7": {"lang": "en"}}

    await persistence.drop_user_data(7)
    await persistence.update_conversation("diagnostic", (7, 7), None)
    await persistence.flush()
    assert stored(engine) == {} and await restarted.get_conversations("diagnostic") == {}
    assert persistence._postgres._connection is None  # closed with the application
