"""Engine and sessions: SQLite (WAL, foreign keys, write transactions that lock up front) or PostgreSQL.

On PostgreSQL every statement is a round trip, and a short request makes few statements, so the
round trips around them count: a read session runs in autocommit (no BEGIN and COMMIT: at READ
COMMITTED, PostgreSQL's default, each statement of a transaction sees its own snapshot anyway, so
a read-only transaction adds no consistency), and a connection is pinged at checkout only when it
has been idle a while (``PING_AFTER_IDLE_SECONDS``), as PgBouncer's ``server_check_delay`` does: one
used a moment ago is alive, and a database that went away meanwhile fails the statement, which
invalidates the whole pool, as a failed ping would.

SQLite in WAL mode maps its ``-shm`` file into memory: touching that mapping once the file cannot be
written (read-only mount, immutable flag, full disk) is a SIGBUS that kills the process. So every
session first checks that the database's files can be written and raises
:class:`DatabaseUnavailable` when not; the API answers 503 and the process lives on. (A file that
turns unwritable in the microseconds between that check and the transaction is not covered.)
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InvalidatePoolError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry


class DatabaseUnavailable(Exception):
    """The database cannot be used now; the message says why."""


# The API runs up to 40 sync handlers at once (anyio's default thread pool), plus the validation stage
# and the embedded worker: a pool that keeps fewer connections closes the extra ones as they come
# back and opens them again under the next burst, a new PostgreSQL backend (a process) each time.
# Connections are opened on demand only: an idle worker process holds one or two.
POOL_SIZE, MAX_OVERFLOW = 40, 10
PING_AFTER_IDLE_SECONDS = 1.0


def _make_engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return _ping_when_idle(create_engine(url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW))
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock at BEGIN, so it never fails to upgrade a read lock later.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _ping_when_idle(engine: Engine) -> Engine:
    """Ping a pooled connection at checkout when it has been idle over ``PING_AFTER_IDLE_SECONDS``
    (a new one is not pinged); one that fails the ping invalidates the pool, as ``pool_pre_ping``
    does, and the checkout goes on with a new connection."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, _proxy: object) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_connection, None):
                raise InvalidatePoolError(str(exc)) from exc
            raise

    return engine


def _sqlite_files(url: str) -> list[Path]:
    """The database file and its WAL companions (an in-memory database has none)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return []
    path = Path(database)
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


class Database:
    """One per process. ``write()`` opens a transaction that commits on success; ``read()`` opens
    one on SQLite (a snapshot of the whole session), none on PostgreSQL (see the module's text).

    On SQLite the writers of this process also queue on one lock before BEGIN IMMEDIATE: SQLite
    itself makes a blocked writer poll, sleeping up to 100 ms between tries, so under a burst of
    writes the lock sits free while its waiters sleep. Writers in other processes (a standalone
    worker, a training process) still wait on SQLite's busy timeout, as before."""

    def __init__(self, url: str):
        self.url = url
        self.engine = _make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        self._files = _sqlite_files(url) if self.is_sqlite else []
        write_engine = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else self.engine
        )
        read_engine = (
            self.engine if self.is_sqlite else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._reader = sessionmaker(read_engine, expire_on_commit=False)
        self._writer = sessionmaker(write_engine, expire_on_commit=False)
        # Re-entrant: a write opened inside another write waits on SQLite's busy timeout, as it did.
        self._write_lock = threading.RLock() if self.is_sqlite else contextlib.nullcontext()

    def files_problem(self) -> str | None:
        """Why SQLite could not write its files (checked without opening them), or None."""
        if self._files and not os.access(self._files[0].parent, os.W_OK | os.X_OK):
            return f"the database folder {self._files[0].parent} is not writable"
        for path in self._files:
            if path.exists() and not os.access(path, os.R_OK | os.W_OK):
                return f"the database file {path} is not writable"
        return None

    def problem(self) -> str | None:
        """Why the database cannot serve requests now, or None (runs a trivial query)."""
        reason = self.files_problem()
        if reason is not None:
            return reason
        try:
            with self.read() as session:
                session.execute(text("SELECT 1"))
        except DatabaseUnavailable as exc:
            return str(exc)
        except OperationalError as exc:
            return str(exc.orig)
        return None

    def _check(self) -> None:
        reason = self.files_problem()
        if reason is not None:
            raise DatabaseUnavailable(reason)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        self._check()
        with self._reader() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        self._check()
        with self._write_lock, self._writer() as session, session.begin():
            yield session

    def dispose(self) -> None:
        if self.files_problem() is None:  # closing the last connection checkpoints through the -shm map
            self.engine.dispose()
