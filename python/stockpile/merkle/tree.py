"""OpenZeppelin StandardMerkleTree, bit for bit.

leaf   = keccak256(keccak256(abi.encode(types, value)))
node   = keccak256(sort(a, b))                     (commutative pair hash)
layout = complete binary tree in an array of 2n-1 hashes; leaves sorted by hash and stored
         from the end (tree[len-1-i] = sorted_leaf[i]); tree[0] is the root.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from eth_abi import encode as abi_encode

try:  # safe-pysha3 (brought in by ape) is the fastest keccak available here
    from sha3 import keccak_256 as _keccak_256

    def keccak(data: bytes) -> bytes:
        return _keccak_256(data).digest()

except ImportError:  # pragma: no cover - pycryptodome through eth-hash
    from eth_hash.auto import keccak as _eth_keccak

    def keccak(data: bytes) -> bytes:
        return _eth_keccak(data)


def leaf_hash(types: Sequence[str], value: Sequence[Any]) -> bytes:
    return keccak(keccak(abi_encode(list(types), list(value))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def verify_proof(leaf: bytes, proof: Iterable[bytes], root: bytes) -> bool:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root


def _to_json_value(v: Any) -> Any:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [_to_json_value(x) for x in v]
    return v


class StandardMerkleTree:
    """A tree over ``values`` (each a sequence matching ``types``)."""

    def __init__(self, types: Sequence[str], values: list[Sequence[Any]], leaves: list[bytes]):
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.types = list(types)
        self.values = values
        n = len(leaves)
        order = sorted(range(n), key=leaves.__getitem__)
        size = 2 * n - 1
        tree: list[bytes] = [b""] * size
        self.tree_index = [0] * n  # value index -> position in tree
        for i, vi in enumerate(order):
            pos = size - 1 - i
            tree[pos] = leaves[vi]
            self.tree_index[vi] = pos
        for i in range(size - 1 - n, -1, -1):
            a, b = tree[2 * i + 1], tree[2 * i + 2]
            tree[i] = keccak(a + b) if a < b else keccak(b + a)
        self.tree = tree

    @classmethod
    def of(
        cls,
        values: Iterable[Sequence[Any]],
        types: Sequence[str],
        leaf_fn: Callable[[Sequence[Any]], bytes] | None = None,
    ) -> StandardMerkleTree:
        """Build from values; ``leaf_fn`` may replace the generic ABI encoder with a faster one
        producing identical leaves."""
        values = list(values)
        fn = leaf_fn or (lambda v: leaf_hash(types, v))
        return cls(types, values, [fn(v) for v in values])

    @property
    def root(self) -> bytes:
        return self.tree[0]

    def __len__(self) -> int:
        return len(self.values)

    def leaf(self, index: int) -> bytes:
        return self.tree[self.tree_index[index]]

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes from the leaf of ``values[index]`` up to the root."""
        i = self.tree_index[index]
        proof = []
        while i > 0:
            proof.append(self.tree[i - 1] if i % 2 == 0 else self.tree[i + 1])
            i = (i - 1) // 2
        return proof

    def verify(self, index: int, proof: Sequence[bytes] | None = None) -> bool:
        return verify_proof(self.leaf(index), self.proof(index) if proof is None else proof, self.root)

    def dump(self) -> dict[str, Any]:
        """OpenZeppelin's ``standard-v1`` JSON dump (loadable by ``StandardMerkleTree.load``)."""
        return {
            "format": "standard-v1",
            "leafEncoding": self.types,
            "tree": ["0x" + h.hex() for h in self.tree],
            "values": [
                {"value": _to_json_value(v), "treeIndex": self.tree_index[i]} for i, v in enumerate(self.values)
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.dump())
