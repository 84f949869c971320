"""A rehearsal network that behaves like a public testnet.

anvil answering Sepolia's chain id 11155111, mining a block every second (no automine), with
EIP-1559 fees and a 12M block gas limit so that deployments move the base fee; a fresh deployer
key that exists only as an encrypted keystore (made with `stockpile deploy new-keystore`) and is
funded from a faucet; and in front of it the flaky RPC proxy (rate limits, dropped requests).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from eth_account import Account
from web3 import Web3

from rehearsal_helpers import SEPOLIA, fund, new_keystore
from rpc_proxy import FlakyRpcProxy
from stockpile.deploy import SAMPLE_DEVNET
from stockpile.toolchain import Anvil


@dataclass
class Rehearsal:
    node: Anvil
    proxy: FlakyRpcProxy
    w3: Web3  # straight to the node, for the test's own checks
    deployer: str
    account_spec: str
    deployment_file: Path
    work: Path

    @property
    def url(self) -> str:
        return self.proxy.url


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    work = tmp_path_factory.mktemp("rehearsal")
    with Anvil(chain_id=SEPOLIA, block_time=1, extra_args=["--gas-limit", "12000000", "--base-fee", "2000000000"]) as node, \
            FlakyRpcProxy(node.url, seed=20261201, rate=12, burst=8, drop_rate=0.04) as proxy:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        deployer = Account.create()
        fund(w3, deployer.address)
        spec = new_keystore(work / "keys" / "deployer.json", deployer.key.to_0x_hex())
        dep = yaml.safe_load(SAMPLE_DEVNET.read_text())
        dep["name"] = "stockpile-rehearsal"
        dep["products"] = dep["products"][:1]
        file = work / "rehearsal.yaml"
        file.write_text(yaml.safe_dump(dep))
        yield Rehearsal(node, proxy, w3, deployer.address, spec, file, work)
