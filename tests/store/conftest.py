"""The store tests' database: a migrated SQLite file per test, or a fresh PostgreSQL schema when
OPENFT_TEST_DATABASE_URL is set (the `backend` fixture runs each test on both)."""

from __future__ import annotations

import pytest

from openft.store.db import Database
from openft.store.migrate import upgrade
from support.databases import postgres_schema


@pytest.fixture
def db(backend, tmp_path):
    if backend == "postgres":
        with postgres_schema() as url:
            database = Database(url)
            upgrade(database)
            yield database
            database.dispose()
        return
    database = Database(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(database)
    yield database
    database.dispose()
