"""The portal served over a real anvil deployment (the sample deployment file, the sample custody
exports, attestations, prices, a holder journey and two reconciliations), and a real headless
Chromium (Debian's chromium + chromium-driver, installed by `make browser`) driven by selenium.

The deployment is prepared once per test session (``prepared``: `stockpile.portal.devnet.prepare`
on an anvil, then its chain state dumped), shared by every xdist worker; each user gets its own
anvil loaded from that state and its own copy of the work files (``portal_helpers.devnet_from``)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import httpx
import pytest
from web3 import Web3

from portal_helpers import devnet_from, prepare_shared, start_portal

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> Path:
    """The prepared devnet (chain state, work files, deployment info), made by the first worker that
    asks; the others wait for it (a lock file in the session's folder that all xdist workers share)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with open(root / "portal-devnet.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        return prepare_shared(root / "portal-devnet-prepared")


@pytest.fixture(scope="session")
def deployment(prepared, tmp_path_factory):
    work = tmp_path_factory.mktemp("portal-devnet")
    node, info = devnet_from(prepared, work)  # its own node: other suites move the shared node's clock
    try:
        info["work"] = work
        info["w3"] = Web3(Web3.HTTPProvider(node.url))
        yield info
    finally:
        node.stop()


@pytest.fixture(scope="session")
def portal(deployment):
    """One portal process for the session's deployment and database (refreshing every 2 s: a refresh
    while neither the chain nor the custody database changed keeps the snapshot, so idling costs a
    block request, not a re-read; starting one costs ~3 s CPU: imports, first refresh, lot index)."""
    proc, url = start_portal(deployment, "--refresh", "2")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def api(portal):
    with httpx.Client(base_url=portal, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium must not try to download a driver or a browser
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "run `make browser` (apt: chromium chromium-driver)"
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1800", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)  # the driver from apt
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
