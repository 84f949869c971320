"""A rehearsal network that behaves like a public testnet.

anvil answering Sepolia's chain id 11155111, mining a block every 0.25 s (no automine: a transaction
waits for the next block as on a testnet, only not 12 s; block timestamps follow the wall clock, so
a few blocks share a second and the admin delays are passed with evm_increaseTime), with EIP-1559
fees and a 12M block gas limit so that deployments move the base fee; a fresh deployer key that
exists only as an encrypted keystore (made with `stockpile deploy new-keystore`) and is
funded from a faucet; the issuer's 2-of-3 Safe (owners' keys as keystores too, PBKDF2-encrypted:
``owner_keystore``) as admin; and in
front of it all the flaky RPC proxy (rate limits, dropped requests).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from eth_account import Account
from web3 import Web3

from rehearsal_helpers import FAUCET, SEPOLIA, fund, new_keystore, owner_keystore, stockpile
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
    safe: dict  # `stockpile safe create` output: the 2-of-3 Safe holding the admin roles, and the Safe contracts
    owner_specs: list[str]  # --account specs of the Safe owners' keystores (owner 0 is funded to execute)

    @property
    def url(self) -> str:
        return self.proxy.url


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory):
    work = tmp_path_factory.mktemp("rehearsal")
    with Anvil(chain_id=SEPOLIA, block_time=0.25, extra_args=["--gas-limit", "12000000", "--base-fee", "2000000000"]) as node, \
            FlakyRpcProxy(node.url, seed=20261201, rate=25, burst=8, drop_rate=0.04) as proxy:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        deployer = Account.create()
        fund(w3, deployer.address)
        spec = new_keystore(work / "keys" / "deployer.json", deployer.key.to_0x_hex())
        owners = [Account.create() for _ in range(3)]
        fund(w3, owners[0].address)
        owner_specs = [owner_keystore(work / "keys" / f"owner{i}.json", o) for i, o in enumerate(owners)]
        created = stockpile("safe", "create", "--rpc-url", proxy.url, "--account", "env:FAUCET_KEY", "--deploy-contracts",
                            "--threshold", 2, *[x for o in owners for x in ("--owner", o.address)],
                            env={"FAUCET_KEY": FAUCET.key.to_0x_hex()})
        assert created.returncode == 0, created.stderr
        safe = json.loads(created.stdout)
        dep = yaml.safe_load(SAMPLE_DEVNET.read_text())
        dep["name"] = "stockpile-rehearsal"
        dep["products"] = dep["products"][:1]
        dep["baskets"] = []  # the sample's basket SMB bundles products trimmed above
        dep["roles"]["admin"] = safe["safe"]
        dep["timelock"].update(proposers=[safe["safe"]], executors=[safe["safe"]])
        file = work / "rehearsal.yaml"
        file.write_text(yaml.safe_dump(dep))
        yield Rehearsal(node, proxy, w3, deployer.address, spec, file, work, safe, owner_specs)
