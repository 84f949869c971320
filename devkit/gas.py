"""Gas of a reserve attestation, for the gas benchmark (bench/gas.py calls :func:`attestation_gas`).

Deploys a ReserveAttestor (proxy) with ``n_attestors`` attestors and quorum ``quorum`` on the
given web3 connection, builds real lot trees of each size in ``lot_counts`` with
``stockpile.merkle.lot_tree``, and submits each attestation signed by ``quorum`` attestors.
Gas is the total transaction gas of ``attest``; its execution part (total minus the 21,000 base
and the calldata bytes) does not depend on the number of lots, only the root is stored. The total
can differ by a few gas between two attestations because calldata costs 4 gas per zero byte and
16 per non-zero byte (a larger total quantity has fewer zero bytes; signatures are random bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from eth_account import Account
from web3 import Web3

from stockpile.merkle import StandardMerkleTree, lot_tree
from devkit.reserve import deploy_reserve_attestor, submit_attestation
from stockpile.reserve.models import Attestation, report_hash
from stockpile.reserve.signing import default_deadline, sign_by_quorum


def calldata_gas(data: bytes) -> int:
    """Intrinsic calldata gas (EIP-2028): 4 per zero byte, 16 per non-zero byte."""
    zeros = data.count(0)
    return 4 * zeros + 16 * (len(data) - zeros)


def execution_gas(gas_used: int, data: bytes) -> int:
    """Gas used minus the 21,000 transaction base and the calldata cost."""
    return gas_used - 21_000 - calldata_gas(bytes(data))


def synthetic_lots(n: int, product_code: str = "NDPR-OXIDE") -> list[tuple]:
    """``n`` distinct lots (tuples in LOT_LEAF_TYPES order) spread over 20 warehouses."""
    return [
        (f"WH-{i % 20:02d}", f"LOT-{i:08d}", product_code, "oxide powder", 995_000, 1_000 + i % 977, f"ASSAY-{i // 100}")
        for i in range(n)
    ]


def attestation_gas(
    w3: Web3,
    deployer_key: Any,
    lot_counts: Sequence[int] = (10, 1_000_000),
    n_attestors: int = 5,
    quorum: int = 3,
    product_code: str = "NDPR-OXIDE",
) -> list[dict[str, Any]]:
    """Total transaction gas of ``attest`` for each lot count, as bench metric dicts
    ``{"metric", "value", "unit", "lots", "root"}`` (total gas, then execution gas excluding base and
    calldata, for each lot count); the as-of time increases with each one."""
    signers = [Account.from_key(Web3.keccak(text=f"stockpile-bench-attestor-{i}")) for i in range(n_attestors)]
    attestor = deploy_reserve_attestor(w3, deployer_key, product_code, 18, [s.address for s in signers], quorum)
    chain_id = w3.eth.chain_id
    now = w3.eth.get_block("latest")["timestamp"]
    results = []
    for k, n in enumerate(lot_counts):
        tree = synthetic_tree(n, product_code)
        a = Attestation.of_tree(tree, as_of=now - len(lot_counts) + k, report_hash=report_hash(f"{product_code} report {n} lots"))
        digest = attestor.functions.configDigest().call()
        deadline = default_deadline(a)
        sigs = sign_by_quorum(signers[:quorum], chain_id, attestor.address, a, digest, deadline)
        receipt = submit_attestation(w3, deployer_key, attestor, a, digest, deadline, sigs)
        data = bytes(w3.eth.get_transaction(receipt.transactionHash)["input"])
        label = f"{quorum}-of-{n_attestors} signatures, {n:,} lots"
        results.append({"metric": f"attest gas ({label})", "value": receipt.gasUsed, "unit": "gas",
                        "lots": n, "root": "0x" + tree.root.hex()})
        results.append({"metric": f"attest execution gas, excluding base and calldata ({label})",
                        "value": execution_gas(receipt.gasUsed, data), "unit": "gas",
                        "lots": n, "root": "0x" + tree.root.hex()})
    return results


@lru_cache(maxsize=4)
def synthetic_tree(n: int, product_code: str = "NDPR-OXIDE") -> StandardMerkleTree:
    """The lot tree of :func:`synthetic_lots` (cached: a million lots take ~8 s to hash)."""
    return lot_tree(synthetic_lots(n, product_code))
