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

from stockpile.core.hashing import keccak, keccak_pairs  # noqa: F401  (keccak re-exported)
from stockpile.core.jsonconv import jsonable

def leaf_hash(types: Sequence[str], value: Sequence[Any]) -> bytes:
    return keccak(keccak(abi_encode(list(types), list(value))))


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def verify_proof(leaf: bytes, proof: Iterable[bytes], root: bytes) -> bool:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node == root


def proof_positions(pos: int) -> list[int]:
    """Positions (in the tree array) of the sibling hashes from the node at ``pos`` up to the root."""
    out = []
    while pos > 0:
        out.append(pos - 1 if pos % 2 == 0 else pos + 1)
        pos = (pos - 1) // 2
    return out


def proof_from_dump(dump: dict[str, Any], index: int) -> list[str]:
    """The proof of ``values[index]`` from a ``standard-v1`` dump (ours or @openzeppelin/merkle-tree's)."""
    return [dump["tree"][p] for p in proof_positions(dump["values"][index]["treeIndex"])]


def _nodes(ordered: Sequence[bytes], on_progress: Callable[[int], None] | None = None) -> bytearray:
    """The 2n-1 nodes of the tree over the leaves ``ordered`` (ascending), 32 bytes each, in tree
    order: the leaves reversed in the last n, the inner nodes hashed a level at a time by
    :func:`~stockpile.core.hashing.keccak_pairs` (node i = hash of nodes 2i+1 and 2i+2, so the
    nodes [hi // 2, hi) need only nodes from hi on, contiguous)."""
    n = len(ordered)
    tree = bytearray(32 * (n - 1))
    tree += b"".join(reversed(ordered))
    hi = n - 1
    while hi > 0:
        lo = hi // 2
        tree[32 * lo:32 * hi] = keccak_pairs(memoryview(tree)[32 * (2 * lo + 1):32 * (2 * hi + 1)])
        if on_progress is not None:
            on_progress(hi - lo)
        hi = lo
    return tree


def merkle_root(leaves: Sequence[bytes], on_progress: Callable[[int], None] | None = None,
                presorted: bool = False) -> bytes | None:
    """The root a ``StandardMerkleTree`` over these leaves has, without keeping proof indexes
    (large lot lists). None for no leaves. ``presorted``: ``leaves`` are already ascending;
    ``on_progress(k)``: k more inner nodes hashed."""
    if not leaves:
        return None
    return bytes(_nodes(leaves if presorted else sorted(leaves), on_progress)[:32])


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
        self.tree_index = [0] * n  # value index -> position in tree
        for i, vi in enumerate(order):
            self.tree_index[vi] = size - 1 - i
        nodes = _nodes([leaves[vi] for vi in order])
        self.tree: list[bytes] = [bytes(nodes[i:i + 32]) for i in range(0, len(nodes), 32)]

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
        return [self.tree[p] for p in proof_positions(self.tree_index[index])]

    def verify(self, index: int, proof: Sequence[bytes] | None = None) -> bool:
        return verify_proof(self.leaf(index), self.proof(index) if proof is None else proof, self.root)

    def dump(self) -> dict[str, Any]:
        """OpenZeppelin's ``standard-v1`` JSON dump (loadable by ``StandardMerkleTree.load``)."""
        return {
            "format": "standard-v1",
            "leafEncoding": self.types,
            "tree": ["0x" + h.hex() for h in self.tree],
            "values": [
                {"value": jsonable(v), "treeIndex": self.tree_index[i]} for i, v in enumerate(self.values)
            ],
        }

    def dumps(self) -> str:
        return json.dumps(self.dump())
