"""Safe 1.4.1 contracts on a chain: the canonical deployments where they exist, our own on a dev chain.

The contracts are compiled from npm ``@safe-global/safe-contracts`` 1.4.1 as shipped (see
``stockpile.contracts.compile.EXTERNAL_CONTRACTS``). On a public network the Safe's canonical
deployments are used (their addresses come from safe-eth-py's copy of safe-deployments); on a local
chain ``deploy_safe_singletons`` deploys the singleton, the proxy factory, the fallback handler
and MultiSendCallOnly, and ``create_safe`` creates an n-of-m Safe through the factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.logs import DISCARD

from stockpile.contracts import load
from stockpile.safe.errors import SafeError
from stockpile.core.eth import ZERO_ADDRESS

SAFE_VERSION = "1.4.1"
SENTINEL = "0x0000000000000000000000000000000000000001"


@dataclass(frozen=True)
class SafeSingletons:
    """Addresses of the shared Safe contracts on one chain."""

    singleton: str
    factory: str
    fallback_handler: str
    multisend_call_only: str


@dataclass(frozen=True)
class SafeInfo:
    address: str
    version: str
    owners: list[str]
    threshold: int
    nonce: int


def checksum(address: str, what: str = "Safe address") -> ChecksumAddress:
    """``address`` checksummed; SafeError naming ``what`` when it is not an address."""
    if not isinstance(address, str) or not Web3.is_address(address):
        raise SafeError(f"{what}: not an address: {address!r}")
    return Web3.to_checksum_address(address)


def safe_contract(w3: Web3, address: str):
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load("Safe").abi)


def safe_info(w3: Web3, address: str) -> SafeInfo:
    """Owners, threshold and nonce of the Safe at ``address``; SafeError when there is no Safe there."""
    address = checksum(address)
    if not w3.eth.get_code(address):
        raise SafeError(f"no contract at {address} on chain {w3.eth.chain_id}: not a Safe")
    safe = safe_contract(w3, address)
    try:
        version = safe.functions.VERSION().call()
        owners = safe.functions.getOwners().call()
        threshold = safe.functions.getThreshold().call()
        nonce = safe.functions.nonce().call()
    except Exception:
        raise SafeError(f"the contract at {address} does not answer as a Safe (VERSION, getOwners, ...)") from None
    if threshold == 0:
        raise SafeError(f"{address} is a Safe singleton or an uninitialised Safe (threshold 0), not a usable Safe")
    return SafeInfo(address, version, [Web3.to_checksum_address(o) for o in owners], threshold, nonce)


def canonical_multisend(chain_id: int) -> str | None:
    """The canonical MultiSendCallOnly 1.4.1 on ``chain_id`` (None when Safe has none listed there)."""
    from safe_eth.safe.safe_deployments import safe_deployments

    found = safe_deployments.get(SAFE_VERSION, {}).get("MultiSendCallOnly", {}).get(str(chain_id))
    return Web3.to_checksum_address(found[0]) if found else None


def deploy_safe_singletons(sender: Any) -> SafeSingletons:
    """Deploy Safe, SafeProxyFactory, CompatibilityFallbackHandler and MultiSendCallOnly with
    ``sender`` (a ``stockpile.sdk.transactions.Sender``). For local and rehearsal chains."""
    out = {}
    for key, name in (("singleton", "Safe"), ("factory", "SafeProxyFactory"),
                      ("fallback_handler", "CompatibilityFallbackHandler"), ("multisend_call_only", "MultiSendCallOnly")):
        art = load(name)
        out[key] = sender.deploy(art.abi, art.bytecode)["contractAddress"]
    return SafeSingletons(**out)


def create_safe(sender: Any, singletons: SafeSingletons, owners: list[str], threshold: int, salt_nonce: int = 0) -> str:
    """Create a Safe proxy with ``owners`` and ``threshold`` through the factory; returns its address."""
    if not 1 <= threshold <= len(owners):
        raise SafeError(f"threshold must be between 1 and the number of owners ({len(owners)}), got {threshold}")
    w3 = sender.w3
    setup = w3.eth.contract(abi=load("Safe").abi).encode_abi("setup", args=[
        [Web3.to_checksum_address(o) for o in owners], threshold, ZERO_ADDRESS, b"", singletons.fallback_handler, ZERO_ADDRESS, 0, ZERO_ADDRESS])
    factory = w3.eth.contract(address=singletons.factory, abi=load("SafeProxyFactory").abi)
    receipt = sender.transact(factory.functions.createProxyWithNonce(singletons.singleton, setup, salt_nonce))
    (event,) = factory.events.ProxyCreation().process_receipt(receipt, errors=DISCARD)
    return Web3.to_checksum_address(event.args.proxy)
