"""Database URLs for tests: a SQLite file per test, or a fresh PostgreSQL schema when
OPENFT_TEST_DATABASE_URL points at a server (CI: postgresql+psycopg://postgres@127.0.0.1:5432/test)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("OPENFT_TEST_DATABASE_URL")


@contextmanager
def postgres_schema():
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def backends() -> list[str]:
    return ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]
