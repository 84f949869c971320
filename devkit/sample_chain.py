"""The sample deployment file on anvil, deployed once per test process and lent to each test module
on a snapshot of the fresh chain.

Applying the sample file (five products, their attestors, the price-feed hub, the Directory, basket
SMB) costs ~3.5 s CPU and anvil ~0.5 s more; an ``evm_snapshot`` and ``evm_revert`` cost ~4 ms. So
the first module of a process (an xdist worker) that asks deploys it, and every module works on
the chain as it was right after the deploy:

    with sample_chain.lend(tmp_path_factory.mktemp("cli")) as chain:
        ...  # chain.url, chain.w3, chain.manifest (this module's copy), chain.keys, addresses

At the module's end the chain is reverted to that state (anvil restores the clock too, so a
module that moves time leaves none of it behind) and the module's manifest copy is thrown away
with its directory. Each module gets its own ``Web3`` (``stockpile.sdk.rpc.connect``: nothing but the chain
id cached, nothing carried across modules).
The node is stopped when the process exits.
"""

from __future__ import annotations

import atexit
import functools
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from stockpile.sdk import rpc


@dataclass
class _Deployed:
    node: Any  # stockpile.toolchain.Anvil
    manifest_dir: Path  # the deploy engine's manifests, as written by the deploy
    addresses: dict[str, str]


@functools.cache
def _deployed() -> _Deployed:
    """Started and deployed at the first call in this process."""
    import tempfile

    from eth_account import Account

    from stockpile.deploy import SAMPLE_DEVNET, load_deployment, make_engine
    from stockpile.sdk.transactions import Sender
    from stockpile.toolchain import Anvil
    from stockpile.toolchain.anvil import dev_keys

    node = Anvil().start()
    atexit.register(node.stop)
    w3 = rpc.connect(node.url, chain_id=31337)
    manifest_dir = Path(tempfile.mkdtemp(prefix="stockpile-sample-chain-")) / "deployments"
    atexit.register(shutil.rmtree, manifest_dir.parent, True)
    engine = make_engine(load_deployment(SAMPLE_DEVNET), w3, manifest_dir)
    engine.apply(Sender(w3, Account.from_key(dev_keys()[0])), progress=False)
    m = engine.manifest
    addresses = {"directory": m.address("directory"), "price_feed": m.address("price-feed"),
                 "token": m.address("NDPR.token"), "attestor": m.address("NDPR.attestor")}
    return _Deployed(node=node, manifest_dir=manifest_dir, addresses=addresses)


@contextmanager
def lend(work: Path) -> Iterator[SimpleNamespace]:
    """The sample chain for one test module: node, url, w3, work (``work``), manifest_dir (a copy in
    ``work``), manifest, deployment, keys and the directory / price_feed / NDPR token / attestor
    addresses; reverted to the fresh deployment when the block exits."""
    from stockpile.deploy import SAMPLE_DEVNET
    from stockpile.toolchain.anvil import dev_keys

    d = _deployed()
    w3 = rpc.connect(d.node.url)
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    manifest_dir = work / "deployments"
    shutil.copytree(d.manifest_dir, manifest_dir)
    try:
        yield SimpleNamespace(node=d.node, url=d.node.url, w3=w3, work=work, manifest_dir=manifest_dir,
                              manifest=manifest_dir / f"{w3.eth.chain_id}.json", deployment=SAMPLE_DEVNET,
                              keys=dev_keys(), **d.addresses)
    finally:
        reverted = w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
        if reverted.get("result") is not True:
            raise RuntimeError(f"the sample chain could not be reverted for the next module: {reverted}")
