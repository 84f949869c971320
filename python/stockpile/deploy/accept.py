"""The second step of the two-step admin handover: the new admin accepts DEFAULT_ADMIN_ROLE.

``handover`` begins the transfer on every contract with OpenZeppelin's
AccessControlDefaultAdminRules; once the delay has passed, the new admin (typically a Safe,
through ``--via-safe``) calls ``acceptDefaultAdminTransfer`` on each of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from eth_typing import ChecksumAddress
from web3 import Web3

from stockpile.contracts import load
from stockpile.deploy.manifest import Manifest


@dataclass
class Acceptance:
    key: str
    address: str
    status: str  # "ready", "waiting until T", "done", "not pending for this admin"
    function: object | None = None  # contract.functions.acceptDefaultAdminTransfer() when ready


IMPLEMENTATION_SLOT = int.from_bytes(Web3.keccak(text="eip1967.proxy.implementation"), "big") - 1


def _logical_artifact(w3: Web3, manifest: Manifest, contract: str, address: str) -> str:
    """The artifact whose ABI a contract answers to: a proxy's is its implementation's (found in the manifest)."""
    if contract != "StockpileProxy":
        return contract
    impl = Web3.to_checksum_address(bytes(w3.eth.get_storage_at(cast(ChecksumAddress, address), IMPLEMENTATION_SLOT))[-20:])
    for rec in manifest.contracts.values():
        if Web3.to_checksum_address(rec.address) == impl:
            return rec.contract
    return contract


def acceptances(w3: Web3, manifest: Manifest, new_admin: str) -> list[Acceptance]:
    """For every manifest contract with a two-step admin: whether ``new_admin`` can accept now."""
    new_admin = Web3.to_checksum_address(new_admin)
    now = w3.eth.get_block("latest")["timestamp"]
    out = []
    seen = set()
    for key, rec in sorted(manifest.contracts.items()):
        abi = load(_logical_artifact(w3, manifest, rec.contract, rec.address)).abi
        if rec.address in seen or not any(e.get("name") == "acceptDefaultAdminTransfer" for e in abi):
            continue
        seen.add(rec.address)
        c = w3.eth.contract(address=cast(ChecksumAddress, rec.address), abi=abi)  # as recorded (web3 checks it)
        try:
            current = c.functions.defaultAdmin().call()
            pending, schedule = c.functions.pendingDefaultAdmin().call()
        except Exception:
            continue
        if int(current, 16) == 0 and int(pending, 16) == 0:
            continue  # an implementation (initializers disabled): nothing to hand over
        if current == new_admin:
            out.append(Acceptance(key, rec.address, "done"))
        elif pending != new_admin:
            out.append(Acceptance(key, rec.address, "not pending for this admin"))
        elif schedule > now:
            out.append(Acceptance(key, rec.address, f"waiting until {schedule}"))
        else:
            out.append(Acceptance(key, rec.address, "ready", c.functions.acceptDefaultAdminTransfer()))
    return out
