"""Fixtures: databases (SQLite file, or a fresh database on the session's PostgreSQL server from
tests/conftest.py), generated exports."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

from stockpile.reconcile.db.store import Database


def fresh_pg_db(server_url: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    eng = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    eng.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, tmp_path):
    """A migrated, empty reconciliation database: SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        d = Database(tmp_path / "reconcile.db")
    else:
        d = Database(fresh_pg_db(request.getfixturevalue("postgres_url")))
    yield d
    d.dispose()


@pytest.fixture
def sqlite_db(tmp_path):
    d = Database(tmp_path / "reconcile.db")
    yield d
    d.dispose()
