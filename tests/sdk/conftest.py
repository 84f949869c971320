"""A devnet deployed through an RPC URL, as a wallet developer would meet it."""

from __future__ import annotations

import pytest
from eth_account import Account

from stockpile.sdk import Stockpile

from sdk_helpers import DEPLOYER, HOLDER


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    """anvil + the sample deployment applied by the deploy engine (devkit.sample_chain: deployed once per
    process, this module on a snapshot of it, reverted at its end); yields (url, manifest path)."""
    from devkit import sample_chain

    with sample_chain.lend(tmp_path_factory.mktemp("sdk")) as chain:
        assert chain.w3.eth.chain_id == 31337
        yield chain.url, chain.manifest


@pytest.fixture
def operator(devnet):
    url, manifest = devnet
    return Stockpile.connect(url, manifest=manifest, account=Account.from_key(DEPLOYER))


@pytest.fixture
def holder(devnet):
    url, manifest = devnet
    return Stockpile.connect(url, manifest=manifest, account=Account.from_key(HOLDER))
