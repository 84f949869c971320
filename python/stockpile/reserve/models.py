"""The attestation as signed and stored on chain (mirror of ``IReserveAttestor.Attestation``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from stockpile.merkle import Lot, StandardMerkleTree, keccak, lot_tree

UINT64_MAX = 2**64 - 1
INT256_MAX = 2**255 - 1  # the feed answer is int256


def _to_bytes32(v: Any) -> bytes:
    if isinstance(v, str):
        s = v[2:] if v.startswith(("0x", "0X")) else v
        v = bytes.fromhex(s)
    if isinstance(v, (bytearray, memoryview)):
        v = bytes(v)
    if not isinstance(v, bytes) or len(v) != 32:
        raise ValueError("expected 32 bytes (bytes or 0x-hex)")
    return v


Bytes32 = Annotated[
    bytes,
    BeforeValidator(_to_bytes32),
    PlainSerializer(lambda b: "0x" + b.hex(), return_type=str, when_used="json"),
]


class Attestation(BaseModel):
    """One custody attestation: ``Attestation(bytes32 merkleRoot,uint256 totalQuantity,uint64 lotCount,
    uint64 asOf,bytes32 reportHash)``. Quantities are integers in token base units."""

    model_config = ConfigDict(frozen=True)

    merkle_root: Bytes32
    total_quantity: int = Field(ge=0, le=INT256_MAX)
    lot_count: int = Field(ge=0, le=UINT64_MAX)
    as_of: int = Field(ge=0, le=UINT64_MAX, description="custodian snapshot time, unix seconds")
    report_hash: Bytes32

    def as_tuple(self) -> tuple[bytes, int, int, int, bytes]:
        """The ABI tuple for ``attest`` (field order of the Solidity struct)."""
        return (self.merkle_root, self.total_quantity, self.lot_count, self.as_of, self.report_hash)

    def message(self) -> dict[str, Any]:
        """The EIP-712 message (Solidity field names)."""
        return {
            "merkleRoot": self.merkle_root,
            "totalQuantity": self.total_quantity,
            "lotCount": self.lot_count,
            "asOf": self.as_of,
            "reportHash": self.report_hash,
        }

    @classmethod
    def from_chain(cls, value: Any) -> Attestation:
        """From the struct returned by ``latestAttestation``/``attestationAt`` or decoded from an
        ``attest`` call (tuple, named struct, or a mapping by Solidity field name)."""
        if isinstance(value, Mapping):
            value = tuple(value[k] for k in ("merkleRoot", "totalQuantity", "lotCount", "asOf", "reportHash"))
        elif hasattr(value, "merkleRoot"):
            value = (value.merkleRoot, value.totalQuantity, value.lotCount, value.asOf, value.reportHash)
        root, total, count, as_of, report = tuple(value)
        return cls(merkle_root=root, total_quantity=total, lot_count=count, as_of=as_of, report_hash=report)

    @classmethod
    def of_tree(cls, tree: StandardMerkleTree, as_of: int, report_hash: bytes | str) -> Attestation:
        """The attestation of a lot tree built by ``stockpile.merkle.lot_tree`` (quantity is field 5)."""
        total = sum(int(v[5]) for v in tree.values)
        return cls(merkle_root=tree.root, total_quantity=total, lot_count=len(tree), as_of=as_of, report_hash=report_hash)

    @classmethod
    def of_lots(cls, lots: Iterable[Lot | tuple], as_of: int, report_hash: bytes | str) -> Attestation:
        """Build the lot tree and its attestation."""
        return cls.of_tree(lot_tree(lots), as_of, report_hash)

    @classmethod
    def empty(cls, as_of: int, report_hash: bytes | str) -> Attestation:
        """An empty reserve (no lots): zero root, zero total, zero lots."""
        return cls(merkle_root=bytes(32), total_quantity=0, lot_count=0, as_of=as_of, report_hash=report_hash)


def report_hash(report: bytes | str) -> bytes:
    """keccak256 of the custodian's full report (file bytes, or text encoded as UTF-8)."""
    return keccak(report.encode("utf-8") if isinstance(report, str) else report)
