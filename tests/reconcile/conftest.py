"""Fixtures: databases (SQLite file and a throwaway PostgreSQL cluster), generated exports."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from stockpile.reconcile.db.store import Database
from stockpile.toolchain.anvil import free_port


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    if user is None:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", user, "--", *cmd]
    pw = pwd.getpwnam(user)
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *cmd]


@pytest.fixture(scope="session")
def postgres_url():
    """A PostgreSQL server started for this session with initdb/pg_ctl in a temp dir."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    user = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        try:
            pwd.getpwnam("postgres")
            user = "postgres"
        except KeyError:
            pytest.fail("running as root and there is no 'postgres' OS user to run initdb as")
    tmp = Path(tempfile.mkdtemp(prefix="stockpile-pg-"))
    if user:
        pw = pwd.getpwnam(user)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    data = tmp / "data"
    port = free_port()
    subprocess.run(_as_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync",
                             "-E", "UTF8"], user), check=True, capture_output=True)
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(tmp / "log"), "-w",
                             "start"], user), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user),
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


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
