"""Where SQLPersistence writes: in the event loop on a free SQLite file, in a worker thread when
another process holds the file's write lock (the loop keeps serving other members meanwhile), and
always in a thread on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import select

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


async def test_sqlite_write_happens_in_the_event_loop_when_the_file_is_free(sqlite_engine):
    persistence = SQLPersistence(sqlite_engine)

    def no_thread(pending):
        raise AssertionError("written through a worker thread")

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


async def test_postgresql_writes_in_a_thread(engine, is_postgres):
    persistence = SQLPersistence(engine)
    assert persistence._write_in_loop is (not is_postgres)
