"""Fixtures for the ReserveAttestor tests on ape's in-process network (helpers: reserve_helpers.py)."""

from __future__ import annotations

import pytest

from devkit.reserve import proxy_artifact

from reserve_helpers import DECIMALS, PRODUCT, SIGNERS, ape_container


@pytest.fixture(scope="session")
def signers():
    return SIGNERS


@pytest.fixture(scope="session")
def proxy_container():
    return ape_container(proxy_artifact())


@pytest.fixture(scope="module")
def admin(accounts):
    return accounts[0]


@pytest.fixture(scope="module")
def relayer(accounts):
    return accounts[1]


@pytest.fixture(scope="module")
def outsider(accounts):
    return accounts[2]


@pytest.fixture(scope="module")
def upgrader(accounts):
    return accounts[3]


@pytest.fixture(scope="module")
def deploy_attestor(project, admin, upgrader, proxy_container):
    """Factory: a ReserveAttestor behind an ERC1967Proxy on ape's network."""

    def deploy(attestors=None, quorum=3, product=PRODUCT, decimals=DECIMALS, admin_=None, upgrader_=None):
        attestors = [s.address for s in SIGNERS] if attestors is None else attestors
        impl = admin.deploy(project.ReserveAttestor)
        init = impl.initialize.encode_input(product, decimals, attestors, quorum, admin_ or admin.address, 0,
                                            upgrader_ or upgrader.address)
        proxy = admin.deploy(proxy_container, impl.address, init)
        return project.ReserveAttestor.at(proxy.address)

    return deploy


@pytest.fixture(scope="module")
def attestor(deploy_attestor):
    """Deployed once per module (implementation + proxy: two deployments); ape puts the chain back
    after every test, so each test starts from this same freshly deployed attestor."""
    return deploy_attestor()


@pytest.fixture
def as_of(chain):
    """A snapshot time just before the next block."""
    return chain.pending_timestamp - 60


