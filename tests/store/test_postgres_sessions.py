"""PostgreSQL sessions: reads run without a transaction around them, and a pooled connection is pinged
at checkout only when it has been idle, so a dead connection is replaced before a request uses it, and
one that died within the idle window fails one statement and takes the pool's other connections with it.

PostgreSQL only (OPENFT_TEST_DATABASE_URL); the server's ``pg_terminate_backend`` kills a connection
the way a database restart does."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from openft.store import db as db_module
from openft.store.db import Database
from support.databases import POSTGRES_URL, postgres_schema

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="OPENFT_TEST_DATABASE_URL is not set"),
]


@pytest.fixture
def database():
    with postgres_schema() as url:
        database = Database(url)
        yield database
        database.dispose()


def _backend_pid(database: Database) -> int:
    with database.read() as session:
        return session.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(pid: int) -> None:
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):  # the backend exits asynchronously
                query = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
                if connection.execute(query, {"pid": pid}).scalar_one() == 0:
                    return
                time.sleep(0.02)
    finally:
        admin.dispose()


def test_a_read_session_runs_each_statement_in_its_own_transaction(database):
    with database.read() as session:
        first = session.execute(text("SELECT transaction_timestamp()")).scalar_one()
        time.sleep(0.02)
        second = session.execute(text("SELECT transaction_timestamp()")).scalar_one()
    assert second > first


def test_a_write_session_is_one_transaction(database):
    with database.write() as session:
        first = session.execute(text("SELECT transaction_timestamp()")).scalar_one()
        time.sleep(0.02)
        second = session.execute(text("SELECT transaction_timestamp()")).scalar_one()
    assert second == first


def test_a_connection_idle_past_the_window_is_pinged_and_replaced_when_dead(database, monkeypatch):
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.05)
    pid = _backend_pid(database)
    _terminate(pid)
    time.sleep(0.1)
    assert _backend_pid(database) != pid  # no request failed: the ping found it dead


def test_a_connection_that_died_within_the_window_fails_one_statement_then_the_pool_recovers(
    database, monkeypatch
):
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 3600.0)
    with database.read() as one, database.read() as two:  # two pooled connections
        pids = {
            one.execute(text("SELECT pg_backend_pid()")).scalar_one(),
            two.execute(text("SELECT pg_backend_pid()")).scalar_one(),
        }
    for pid in pids:
        _terminate(pid)
    with pytest.raises(OperationalError), database.read() as session:
        session.execute(text("SELECT 1"))  # not pinged: used a moment ago
    # The failure invalidated every pooled connection: the next checkouts open new ones.
    with database.read() as one, database.read() as two:
        fresh = {
            one.execute(text("SELECT pg_backend_pid()")).scalar_one(),
            two.execute(text("SELECT pg_backend_pid()")).scalar_one(),
        }
    assert not fresh & pids
