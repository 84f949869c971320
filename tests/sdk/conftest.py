"""A devnet deployed through an RPC URL, as a wallet developer would meet it."""

from __future__ import annotations

import pytest
from eth_account import Account

from stockpile.deploy import SAMPLE_DEVNET, connect, load_deployment, make_engine
from stockpile.sdk import Stockpile
from stockpile.sdk.transactions import Sender
from stockpile.toolchain import Anvil

from sdk_helpers import DEPLOYER, HOLDER


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    """anvil + the sample deployment applied through its RPC URL; yields (url, manifest path)."""
    manifest_dir = tmp_path_factory.mktemp("deployments")
    with Anvil() as node:
        dep = load_deployment(SAMPLE_DEVNET)
        with connect(node.url, expected_chain_id=31337) as conn:
            engine = make_engine(dep, conn.w3, manifest_dir)
            engine.apply(Sender(conn.w3, Account.from_key(DEPLOYER)), progress=False)
        yield node.url, manifest_dir / "31337.json"


@pytest.fixture
def operator(devnet):
    url, manifest = devnet
    return Stockpile.connect(url, manifest=manifest, account=Account.from_key(DEPLOYER))


@pytest.fixture
def holder(devnet):
    url, manifest = devnet
    return Stockpile.connect(url, manifest=manifest, account=Account.from_key(HOLDER))


