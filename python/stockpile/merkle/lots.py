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
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from stockpile.core.hashing import keccak_256
from stockpile.merkle.tree import StandardMerkleTree

LOT_LEAF_TYPES = ["string", "string", "string", "string", "uint32", "uint256", "string"]
LOT_LEAF_FIELDS = ["warehouse_id", "lot_id", "product_code", "form", "purity_ppm", "quantity", "assay_ref"]

_HEAD = 7 * 32
_ZERO32 = bytes(32)
_HEAD_OFFSET = _HEAD.to_bytes(32, "big")


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


_TAILS: dict[str, bytes] = {}
_LEN32 = [n.to_bytes(32, "big") for n in range(64 * 32 + 1)]


def _string_tail(s: str) -> bytes:
    data = s.encode("utf-8")
    n = len(data)
    pad = (-n) % 32
    return (_LEN32[n] if n < len(_LEN32) else n.to_bytes(32, "big")) + data + _ZERO32[:pad]


def _cached_tail(s: str) -> bytes:
    """Tail of a string that repeats across lots (warehouse, product, form): memoised."""
    t = _TAILS.get(s)
    if t is None:
        t = _string_tail(s)
        if len(_TAILS) < 4096:
            _TAILS[s] = t
    return t


def encode_lot(values: Sequence[Any]) -> bytes:
    """abi.encode of a lot tuple in LOT_LEAF_TYPES order."""
    warehouse, lot, product, form, purity, quantity, assay = values
    if not 0 <= purity < 2**32:
        raise ValueError(f"purity_ppm out of uint32 range: {purity}")
    if not 0 <= quantity < 2**256:
        raise ValueError(f"quantity out of uint256 range: {quantity}")
    t_wh = _cached_tail(warehouse)
    t_lot = _string_tail(lot)
    t_prod = _cached_tail(product)
    t_form = _cached_tail(form)
    t_assay = _string_tail(assay)
    o1 = _HEAD + len(t_wh)
    o2 = o1 + len(t_lot)
    o3 = o2 + len(t_prod)
    o4 = o3 + len(t_form)
    return b"".join((
        _HEAD_OFFSET, o1.to_bytes(32, "big"), o2.to_bytes(32, "big"), o3.to_bytes(32, "big"),
        purity.to_bytes(32, "big"), quantity.to_bytes(32, "big"), o4.to_bytes(32, "big"),
        t_wh, t_lot, t_prod, t_form, t_assay,
    ))


def lot_leaf(values: Sequence[Any]) -> bytes:
    """The StandardMerkleTree leaf of a lot (``encode_lot`` hashed twice)."""
    return keccak_256(keccak_256(encode_lot(values)).digest()).digest()


def lot_tree(lots: Iterable[Lot | tuple]) -> StandardMerkleTree:
    """The StandardMerkleTree of a lot list (values kept as tuples in LOT_LEAF_TYPES order)."""
    values = [lot.as_tuple() if isinstance(lot, Lot) else tuple(lot) for lot in lots]
    return StandardMerkleTree.of(values, LOT_LEAF_TYPES, leaf_fn=lot_leaf)
