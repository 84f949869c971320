"""Custody lots as Merkle leaves.

The leaf encoding of a lot (the order of fields is part of the on-chain format):

    abi.encode(string warehouseId, string lotId, string productCode, string form,
               uint32 purityPpm, uint256 quantity, string assayRef)

``purityPpm`` is purity in parts per million (99.5 % -> 995000); ``quantity`` is the net
quantity in token base units of the product's token. ``lot_leaf`` is a specialised encoder
(about 10x faster than the generic one, same bytes) for lists of a million lots.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from pydantic import BaseModel, ConfigDict, Field

from stockpile.merkle.tree import StandardMerkleTree, keccak

LOT_LEAF_TYPES = ["string", "string", "string", "string", "uint32", "uint256", "string"]
LOT_LEAF_FIELDS = ["warehouse_id", "lot_id", "product_code", "form", "purity_ppm", "quantity", "assay_ref"]

_HEAD = 7 * 32
_ZERO32 = bytes(32)


class Lot(BaseModel):
    """One lot in the attested reserve."""

    model_config = ConfigDict(frozen=True)

    warehouse_id: str = Field(min_length=1)
    lot_id: str = Field(min_length=1)
    product_code: str = Field(min_length=1)
    form: str = ""
    purity_ppm: int = Field(ge=0, le=1_000_000)
    quantity: int = Field(gt=0, description="net quantity in token base units")
    assay_ref: str = ""

    @staticmethod
    def purity_to_ppm(percent: Decimal | str) -> int:
        ppm = Decimal(percent) * 10_000
        if ppm != ppm.to_integral_value():
            raise ValueError(f"purity {percent}% has more precision than 1 ppm")
        return int(ppm)

    def as_tuple(self) -> tuple:
        return (self.warehouse_id, self.lot_id, self.product_code, self.form, self.purity_ppm, self.quantity, self.assay_ref)


def _string_tail(s: str) -> bytes:
    data = s.encode("utf-8")
    pad = (-len(data)) % 32
    return len(data).to_bytes(32, "big") + data + _ZERO32[:pad]


def encode_lot(values: tuple | list) -> bytes:
    """abi.encode of a lot tuple in LOT_LEAF_TYPES order."""
    warehouse, lot, product, form, purity, quantity, assay = values
    if not 0 <= purity < 2**32:
        raise ValueError(f"purity_ppm out of uint32 range: {purity}")
    if not 0 <= quantity < 2**256:
        raise ValueError(f"quantity out of uint256 range: {quantity}")
    tails = [_string_tail(warehouse), _string_tail(lot), _string_tail(product), _string_tail(form)]
    assay_tail = _string_tail(assay)
    offsets = []
    off = _HEAD
    for t in tails:
        offsets.append(off)
        off += len(t)
    head = b"".join(o.to_bytes(32, "big") for o in offsets)
    head += purity.to_bytes(32, "big") + quantity.to_bytes(32, "big") + off.to_bytes(32, "big")
    return head + b"".join(tails) + assay_tail


def lot_leaf(values: tuple | list) -> bytes:
    return keccak(keccak(encode_lot(values)))


def lot_tree(lots: Iterable[Lot | tuple]) -> StandardMerkleTree:
    """The StandardMerkleTree of a lot list (values kept as tuples in LOT_LEAF_TYPES order)."""
    values = [lot.as_tuple() if isinstance(lot, Lot) else tuple(lot) for lot in lots]
    return StandardMerkleTree.of(values, LOT_LEAF_TYPES, leaf_fn=lot_leaf)
