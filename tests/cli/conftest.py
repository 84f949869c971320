"""Fixtures of the CLI tests: an anvil node with the sample deployment file applied by the deploy engine
(five products, their attestors, the price-feed hub and adapters, the Directory, basket SMB)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """anvil + the sample deployment; a namespace with the node, its URL, the manifest and a few addresses."""
    from eth_account import Account
    from web3 import Web3

    from stockpile.deploy import SAMPLE_DEVNET, load_deployment, make_engine
    from stockpile.sdk.transactions import Sender
    from stockpile.toolchain import Anvil
    from stockpile.toolchain.anvil import dev_keys

    work: Path = tmp_path_factory.mktemp("cli")
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        manifest_dir = work / "deployments"
        engine = make_engine(load_deployment(SAMPLE_DEVNET), w3, manifest_dir)
        engine.apply(Sender(w3, Account.from_key(dev_keys()[0])), progress=False)
        m = engine.manifest
        yield SimpleNamespace(
            node=node, url=node.url, w3=w3, work=work, manifest_dir=manifest_dir,
            manifest=manifest_dir / f"{w3.eth.chain_id}.json", deployment=SAMPLE_DEVNET, keys=dev_keys(),
            directory=m.address("directory"), price_feed=m.address("price-feed"),
            token=m.address("NDPR.token"), attestor=m.address("NDPR.attestor"))
