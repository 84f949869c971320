"""Deploy a ReserveAttestor behind an ERC-1967 (UUPS) proxy and submit attestations, with web3.py.

Used by the tests on anvil and by :mod:`stockpile.reserve.gas`; the deployment tooling may call
these too. Artifacts come from ``stockpile.contracts`` (``stockpile build``); OpenZeppelin's
ERC1967Proxy is compiled from node_modules on first use (it is not under contracts/).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from stockpile.contracts import Artifact, load
from stockpile.reserve.models import Attestation
from stockpile.reserve.signing import attest_args

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


def _account(key_or_account: Any):
    return key_or_account if hasattr(key_or_account, "sign_transaction") else Account.from_key(key_or_account)


def send(w3: Web3, sender: Any, fn_or_tx: Any, gas: int | None = None) -> Any:
    """Sign and send a contract function call (or a constructor), wait for the receipt, return it.

    Raises web3's ContractCustomError / ContractLogicError on a revert (estimated before sending
    unless ``gas`` is given; then a reverted receipt raises RuntimeError)."""
    acct = _account(sender)
    params: dict[str, Any] = {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address, "pending")}
    if gas is not None:
        params["gas"] = gas
    tx = fn_or_tx.build_transaction(params)
    if gas is None:
        # headroom over the exact estimate: gas of some paths (the minter's token bucket) depends
        # on the block timestamp, which moves between estimate and inclusion
        tx["gas"] = tx["gas"] * 5 // 4
    tx_hash = w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.01)
    if receipt["status"] != 1:
        raise RuntimeError(f"transaction {tx_hash.hex()} reverted")
    return receipt


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
    acct = _account(deployer)
    admin = admin or acct.address
    upgrader = upgrader or admin
    impl_art, proxy_art = load("ReserveAttestor"), proxy_artifact()
    impl_factory = w3.eth.contract(abi=impl_art.abi, bytecode=impl_art.bytecode)
    impl_addr = send(w3, acct, impl_factory.constructor()).contractAddress
    init = w3.eth.contract(abi=impl_art.abi).encode_abi(
        "initialize", [product_code, decimals, list(attestors), quorum, admin, admin_delay, upgrader]
    )
    proxy_factory = w3.eth.contract(abi=proxy_art.abi, bytecode=proxy_art.bytecode)
    proxy_addr = send(w3, acct, proxy_factory.constructor(impl_addr, init)).contractAddress
    return w3.eth.contract(address=proxy_addr, abi=impl_art.abi)


def submit_attestation(w3: Web3, sender: Any, attestor: Contract, attestation: Attestation, config_digest: bytes,
                       deadline: int, signatures: Sequence[tuple[bytes, bytes]], gas: int | None = None) -> Any:
    """Send ``attest`` (anyone may submit) and return the receipt. ``signatures``: compact, ordered
    (``stockpile.reserve.signing.order_signatures``)."""
    return send(w3, sender, attestor.functions.attest(*attest_args(attestation, config_digest, deadline, signatures)),
                gas=gas)
