"""Deploy a ReserveAttestor behind an ERC-1967 (UUPS) proxy and submit attestations, with web3.py.

Used by the tests on anvil and by :mod:`stockpile.reserve.gas`; the deployment tooling may call
these too. Artifacts come from ``stockpile.contracts`` (``stockpile build``); OpenZeppelin's
ERC1967Proxy is compiled from node_modules on first use (it is not under contracts/).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from web3 import Web3
from web3.contract import Contract

from stockpile.contracts import Artifact, load
from stockpile.reserve.models import Attestation
from stockpile.reserve.signing import attest_args
from stockpile.sdk.transactions import Sender

PROXY_SOURCE = "@openzeppelin/contracts/proxy/ERC1967/ERC1967Proxy.sol"


@cache
def proxy_artifact() -> Artifact:
    """OpenZeppelin 5.7 ERC1967Proxy, compiled with the project's settings."""
    from stockpile.contracts.compile import compile_standard_json  # the compiler: only when deploying

    out = compile_standard_json(
        {"stockpile_reserve_proxy.sol": {"content": f'// SPDX-License-Identifier: MIT\npragma solidity ^0.8.28;\nimport "{PROXY_SOURCE}";\n'}},
        outputs=["abi", "evm.bytecode.object", "evm.deployedBytecode.object"],
    )
    data = out["contracts"]["node_modules/" + PROXY_SOURCE]["ERC1967Proxy"]  # remapped path
    return Artifact(
        name="ERC1967Proxy",
        source=PROXY_SOURCE,
        abi=data["abi"],
        bytecode="0x" + data["evm"]["bytecode"]["object"],
        deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
        compiler="solc-js",
    )


def send(w3: Web3, sender: Any, fn_or_tx: Any, gas: int | None = None) -> Any:
    """Sign and send a contract function call (or a constructor) with the SDK's ``Sender``, wait
    for the receipt, return it. ``sender``: a LocalAccount or a private key.

    A revert raises its ``stockpile.sdk.errors`` class (found by the estimate, before sending,
    unless ``gas`` is given; then the transaction is mined and its revert is decoded)."""
    return Sender(w3, sender, poll_latency=0.01, timeout=60).transact(fn_or_tx, gas=gas)


def deploy_reserve_attestor(
    w3: Web3,
    deployer: Any,
    product_code: str,
    decimals: int,
    attestors: Sequence[str],
    quorum: int,
    admin: str | None = None,
    admin_delay: int = 0,
    upgrader: str | None = None,
) -> Contract:
    """Deploy the implementation and an ERC1967Proxy initialised in the same transaction.

    ``admin`` (default: the deployer) gets the default admin; ``upgrader`` (default: the admin; the
    TimelockController on real networks) gets UPGRADER_ROLE and ATTESTOR_MANAGER_ROLE (both
    self-administered: the admin cannot grant them)."""
    sender = Sender(w3, deployer, poll_latency=0.01, timeout=60)
    admin = admin or sender.address
    upgrader = upgrader or admin
    impl_art, proxy_art = load("ReserveAttestor"), proxy_artifact()
    impl_addr = sender.deploy(impl_art.abi, impl_art.bytecode).contractAddress
    init = w3.eth.contract(abi=impl_art.abi).encode_abi(
        "initialize", [product_code, decimals, list(attestors), quorum, admin, admin_delay, upgrader]
    )
    proxy_addr = sender.deploy(proxy_art.abi, proxy_art.bytecode, impl_addr, init).contractAddress
    return w3.eth.contract(address=proxy_addr, abi=impl_art.abi)


def submit_attestation(w3: Web3, sender: Any, attestor: Contract, attestation: Attestation, config_digest: bytes,
                       deadline: int, signatures: Sequence[tuple[bytes, bytes]], gas: int | None = None) -> Any:
    """Send ``attest`` (anyone may submit) and return the receipt. ``signatures``: compact, ordered
    (``stockpile.reserve.signing.order_signatures``)."""
    return send(w3, sender, attestor.functions.attest(*attest_args(attestation, config_digest, deadline, signatures)),
                gas=gas)
