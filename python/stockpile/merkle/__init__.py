"""Merkle trees over custody lot lists, in OpenZeppelin's StandardMerkleTree encoding.

A tree built here has the same root and proofs as ``@openzeppelin/merkle-tree``'s
``StandardMerkleTree.of(values, types)`` (sorted leaves), so OpenZeppelin's ``MerkleProof``
verifies our proofs on chain and we verify theirs.
"""

from stockpile.merkle.tree import StandardMerkleTree, keccak, leaf_hash, verify_proof
from stockpile.merkle.lots import LOT_LEAF_TYPES, Lot, lot_leaf, lot_tree

__all__ = [
    "LOT_LEAF_TYPES",
    "Lot",
    "StandardMerkleTree",
    "keccak",
    "leaf_hash",
    "lot_leaf",
    "lot_tree",
    "verify_proof",
]
