"""Fixtures for the oracle tests: signer keys, a PriceFeed hub on ape's in-process network."""

from __future__ import annotations

import pytest
from eth_account import Account

from oracle_helpers import DY, NDPR, TB, Reporter, make_keys

@pytest.fixture(scope="session")
def signer_keys() -> list[str]:
    return make_keys(9)


@pytest.fixture(scope="session")
def outsider_key() -> str:
    return make_keys(1, "outsider")[0]


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def stranger(accounts):
    return accounts[5]


@pytest.fixture(scope="module")
def timelock(accounts):
    """Stands in for the TimelockController: holds SIGNER_ADMIN_ROLE and FEED_ADMIN_ROLE."""
    return accounts[6]


@pytest.fixture(scope="module")
def hub(project, admin, timelock, signer_keys):
    """Deployed once per module (ape puts the chain back after every test). A hub with 5 signers
    (f = 1: reports need 3 observations) and three feeds (8 decimals, bounds 1 .. 1e14, heartbeat
    1 day, maximum report age 1 hour). The default admin is `admin`; the price-trust roles are the
    `timelock`'s."""
    five = [Account.from_key(k).address for k in signer_keys[:5]]
    feed = admin.deploy(project.PriceFeed, admin, 0, timelock, five, 1)
    for fid, desc in ((NDPR, "NDPR-OXIDE / USD per kg"), (DY, "DY-METAL / USD per kg"), (TB, "TB-METAL / USD per kg")):
        feed.addFeed(fid, 8, desc, 1, 10**14, 86400, 3600, sender=timelock)
    return feed


@pytest.fixture
def reporter(hub, chain, signer_keys, accounts):
    return Reporter(hub, chain, signer_keys, accounts[1])


# ------------------------------------------------------------------ feeder fixtures (anvil)




@pytest.fixture(scope="module")
def module_hub(w3, anvil, anvil_keys, signer_keys):
    """A hub on the module's anvil, deployed once by the deploy engine: 5 signers, f = 1 (3
    observations), feeds NDPR/DY/TB (8 decimals, bounds 1e-8 .. 1e6, heartbeat and maximum report age 1 hour)."""
    from devkit import stack

    feed = lambda code: stack.feed("1000000", heartbeat=3600, description=f"{code}/USD per kg")  # noqa: E731
    return stack.deploy_hub(w3, anvil_keys[0], [Account.from_key(k).address for k in signer_keys[:5]], 1,
                            {code: feed(code) for code in ("NDPR-OXIDE", "DY-METAL", "TB-METAL")})


@pytest.fixture
def deployed_hub(module_hub, anvil_revert):
    """The module's hub, and the chain (and clock) put back after the test (evm_snapshot / evm_revert)."""
    return module_hub


@pytest.fixture(scope="module")
def anvil():
    """A fresh node per module: other suites move the shared session node's clock forward
    (timelock delays), and the feeder judges source freshness against chain time."""
    from stockpile.toolchain import Anvil

    with Anvil() as node:
        yield node


@pytest.fixture(scope="module")
def w3(anvil):
    from web3 import Web3

    return Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 30}))
