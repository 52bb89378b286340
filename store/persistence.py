"""PTB persistence in the database: conversation states and user data survive a restart.

PTB hands over changed data after each update (see bot.app.CentraleApplication, which asks for it
after every update instead of every 60 s). Changes are buffered, then written in one transaction
by `commit()`, so an answer costs one short write whatever it touched.

Where the write goes. On PostgreSQL, as asyncio I/O on a connection of its own (psycopg's
AsyncConnection): a network round trip must not stall the event loop, and through a worker
thread each step of the write waited for the busy loop to hand over the GIL, while every
member's answer waits for the write holding its state (measured with
`benchmarks/conversation.py` at 500 members: about 20 % more updates per second). On SQLite,
the write (a WAL append, well under a millisecond; now and then a WAL checkpoint of a few
milliseconds) is first tried right in the event loop without waiting for the file's write lock:
a thread hop costs more than that write. When another process holds the lock (an ingest, a
delivery worker), that attempt fails at once and the write waits for the lock in a worker thread.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import psycopg
from psycopg.types.json import Json
from sqlalchemy import Delete, Insert, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from telegram.ext import BasePersistence, PersistenceInput

from store.models import BotState, utcnow

_DELETE = object()


class SQLPersistence(BasePersistence):
    def __init__(self, engine: Engine):
        super().__init__(
            store_data=PersistenceInput(bot_data=False, chat_data=False, user_data=True,
                                        callback_data=False),
            update_interval=60,
        )
        self.engine = engine
        # Built once: an answer costs one prepared statement, not a new construct per row.
        table = BotState.__table__
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(table)
        self._upsert = statement.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at})
        self._delete = delete(table).where(table.c.kind == bindparam("k"),
                                           table.c.key == bindparam("y"))
        self._pending: dict[tuple[str, str], Any] = {}
        self._lock = asyncio.Lock()
        self._postgres = (AsyncPostgresWriter(engine, self._upsert, self._delete)
                          if engine.dialect.name == "postgresql" else None)
        self._busy_timeout_ms: int | None = None  # SQLite connections' own, read once

    # --- reads (once, at start) ------------------------------------------------------------------
    def _rows(self, kind: str) -> list[BotState]:
        with self.engine.connect() as connection:
            return list(connection.execute(
                select(BotState.key, BotState.value).where(BotState.kind == kind)))

    async def get_user_data(self) -> dict[int, dict]:
        rows = await asyncio.to_thread(self._rows, "user_data")
        return {int(key): value or {} for key, value in rows}

    async def get_chat_data(self) -> dict[int, dict]:
        return {}

    async def get_bot_data(self) -> dict:
        return {}

    async def get_callback_data(self):
        return None

    async def get_conversations(self, name: str) -> dict:
        rows = await asyncio.to_thread(self._rows, f"conv:{name}")
        return {tuple(json.loads(key)): value for key, value in rows}

    # --- writes (buffered) -----------------------------------------------------------------------
    async def update_conversation(self, name: str, key: tuple, new_state: object | None) -> None:
        self._pending[(f"conv:{name}", json.dumps(list(key)))] = (
            _DELETE if new_state is None else new_state)

    async def update_user_data(self, user_id: int, data: dict) -> None:
        # No row for a user with nothing to keep: declining consent must leave no trace.
        self._pending[("user_data", str(user_id))] = data if data else _DELETE  # PTB copied it

    async def drop_user_data(self, user_id: int) -> None:
        self._pending[("user_data", str(user_id))] = _DELETE

    async def update_chat_data(self, chat_id: int, data: dict) -> None:
        pass

    async def update_bot_data(self, data: dict) -> None:
        pass

    async def update_callback_data(self, data) -> None:
        pass

    async def drop_chat_data(self, chat_id: int) -> None:
        pass

    async def refresh_user_data(self, user_id: int, user_data: dict) -> None:
        pass

    async def refresh_chat_data(self, chat_id: int, chat_data: dict) -> None:
        pass

    async def refresh_bot_data(self, bot_data: dict) -> None:
        pass

    async def commit(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
            if self._postgres is not None:
                await self._postgres.write(pending)
            elif not self._write_now(pending):
                await asyncio.to_thread(self._write, pending)

    async def flush(self) -> None:
        """PTB calls it when the application stops: the last write, then the connection."""
        await self.commit()
        if self._postgres is not None:
            async with self._lock:
                await self._postgres.close()

    def _write_now(self, pending: dict[tuple[str, str], Any]) -> bool:
        """SQLite: write without waiting for the file's lock; False (nothing written) if busy."""
        with self.engine.connect() as connection:
            sqlite_connection = connection.connection.driver_connection
            if self._busy_timeout_ms is None:
                self._busy_timeout_ms = sqlite_connection.execute(
                    "PRAGMA busy_timeout").fetchone()[0]
            sqlite_connection.execute("PRAGMA busy_timeout = 0")
            try:
                with connection.begin():
                    self._statements(connection, pending)
            except OperationalError as error:
                if "locked" not in str(error.orig) and "busy" not in str(error.orig):
                    raise
                return False
            finally:
                sqlite_connection.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        return True

    def _write(self, pending: dict[tuple[str, str], Any]) -> None:
        """SQLite, when the file was busy: wait for its lock (in a worker thread)."""
        with self.engine.begin() as connection:
            self._statements(connection, pending)

    def _statements(self, connection: Connection, pending: dict[tuple[str, str], Any]) -> None:
        rows, gone = _split(pending)
        if rows:
            connection.execute(self._upsert, rows)
        if gone:
            connection.execute(self._delete, gone)


def _split(pending: dict[tuple[str, str], Any]) -> tuple[list[dict], list[dict]]:
    """The rows to upsert and the keys to delete."""
    now = utcnow()
    rows = [{"kind": kind, "key": key, "value": value, "updated_at": now}
            for (kind, key), value in pending.items() if value is not _DELETE]
    gone = [{"k": kind, "y": key} for (kind, key), value in pending.items()
            if value is _DELETE]
    return rows, gone


class AsyncPostgresWriter:
    """PostgreSQL: the persistence's statements, compiled once by SQLAlchemy, run on one
    psycopg AsyncConnection (used under the persistence's lock, so never by two writes)."""

    def __init__(self, engine: Engine, upsert: Insert, delete_statement: Delete) -> None:
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        columns = ["kind", "key", "value", "updated_at"]
        self._upsert = str(upsert.compile(dialect=engine.dialect, column_keys=columns,
                                          for_executemany=True))
        self._delete = str(delete_statement.compile(dialect=engine.dialect))
        self._connection: psycopg.AsyncConnection | None = None

    async def write(self, pending: dict[tuple[str, str], Any]) -> None:
        rows, gone = _split(pending)
        for row in rows:
            row["value"] = Json(row["value"])
        for attempt in (1, 2):
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = await psycopg.AsyncConnection.connect(self._conninfo)
                async with self._connection.transaction(), self._connection.cursor() as cursor:
                    if rows:
                        await cursor.executemany(self._upsert, rows)
                    if gone:
                        await cursor.executemany(self._delete, gone)
                return
            except psycopg.OperationalError:
                # A connection the server closed (a restart, an idle timeout): one new try,
                # as pool_pre_ping does for the engine's connections.
                await self.close()
                if attempt == 2:
                    raise

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None
