"""A lone ReserveAttestor behind the project's ERC-1967 proxy, with web3.py (development only).

For the reserve tests on anvil and the gas benchmark, which need an attestor with a chosen signer
set and quorum and no token (a shape a deployment file does not describe: there every attestor is
bound to its product's token). Submitting an attestation is product code:
``stockpile.reserve.signing.submit_attestation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from stockpile.contracts import Artifact, load
from devkit.devnet import send
from stockpile.reserve.signing import submit_attestation  # noqa: F401 - re-exported for the tests


def proxy_artifact() -> Artifact:
    """The project's ERC-1967 proxy (contracts/proxy/StockpileProxy.sol: OpenZeppelin's ERC1967Proxy)."""
    return load("StockpileProxy")


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
    acct = deployer if hasattr(deployer, "sign_transaction") else Account.from_key(deployer)
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
