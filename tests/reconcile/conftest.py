"""Fixtures: databases (SQLite file, or a fresh database on the session's PostgreSQL server from
tests/conftest.py), generated exports."""

from __future__ import annotations

import os
import shutil
import tempfile
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
def empty_db_url(request, tmp_path):
    """make(backend, name): the URL (SQLite: path) of a new, empty, unmigrated database."""
    def make(backend: str, name: str):
        if backend == "sqlite":
            return tmp_path / f"{name}.db"
        return fresh_pg_db(request.getfixturevalue("postgres_url"))
    return make


@pytest.fixture
def sqlite_db(tmp_path):
    d = Database(tmp_path / "reconcile.db")
    yield d
    d.dispose()


CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def browser():
    """A real headless Chromium (Debian's, installed by `make browser`) driven by selenium."""
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail(f"{CHROMIUM} / {CHROMEDRIVER} missing: run `make browser` (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,800"):
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="stockpile-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
