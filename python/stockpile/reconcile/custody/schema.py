"""The custody export schema and the product catalogue.

An export is a list of lots as the custodian's books see them at one time (``as_of``).
CSV columns (header required, order free) and JSON record keys are the same:

=================  ========================================================================
warehouse_id       custodian's warehouse code, e.g. ``WH-ROTTERDAM-01``
lot_id             lot / serial id, unique within a warehouse
product_code       catalogue product code, e.g. ``NDPR-OXIDE``
form               physical form (powder, ingot, cathode, bar, ...); may be empty
purity             purity in percent, at most 4 decimals (``99.95``) -> ppm on chain
gross_quantity     gross weight, > 0, >= net_quantity
net_quantity       net weight, > 0; converted exactly to token base units
unit               unit of both quantities: mg, g, kg, t or mt (metric tonne), lb, ozt (troy ounce)
assay_ref          assay certificate reference; may be empty
status             in_stock | allocated | in_transit | released
as_of              ISO 8601 time of the record (``2026-11-20T00:00:00Z``); may be given once
                   for the whole export in the metadata instead
=================  ========================================================================

Lots with status ``in_stock`` or ``allocated`` are in the reserve (they back tokens);
``in_transit`` and ``released`` lots do not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Context, Decimal
from pathlib import Path
from stockpile.core.times import MAX_TIME  # noqa: F401  (re-exported)
from stockpile.core.units import MASS_IN_GRAMS

FIELDS = [
    "warehouse_id", "lot_id", "product_code", "form", "purity", "gross_quantity", "net_quantity",
    "unit", "assay_ref", "status", "as_of",
]
REQUIRED = ["warehouse_id", "lot_id", "product_code", "purity", "gross_quantity", "net_quantity", "unit", "status", "as_of"]
OPTIONAL = ["form", "assay_ref"]

# Longest text each stored field may hold (characters): the database columns are declared from
# these (db/models.py), and the row validator rejects longer values, so SQLite and PostgreSQL
# accept exactly the same rows.
FIELD_LIMITS: dict[str, int] = {
    "warehouse_id": 128, "lot_id": 128, "product_code": 64, "form": 64, "gross_quantity": 80,
    "net_quantity": 80, "unit": 8, "assay_ref": 256, "status": 16,
}
SHORTEST_LIMIT = min(FIELD_LIMITS[f] for f in ("warehouse_id", "lot_id", "form", "gross_quantity", "net_quantity",
                                               "assay_ref"))
UINT256_MAX = 2**256 - 1

STATUSES = ("in_stock", "allocated", "in_transit", "released")
RESERVE_STATUSES = frozenset({"in_stock", "allocated"})

UNITS = MASS_IN_GRAMS  # the package's one mass table (stockpile.core.units)

EXACT = Context(prec=200)  # 80-digit quantities (FIELD_LIMITS) times a unit factor stay exact

CATALOGUE_PATH = Path(__file__).with_name("catalogue.json")


@dataclass(frozen=True)
class Product:
    code: str
    name: str
    unit: str  # one token == one of this unit
    decimals: int  # token decimals

    def to_base_units(self, quantity: Decimal, unit: str) -> int:
        """Exact token base units of ``quantity`` ``unit``; ValueError if not representable."""
        if unit == self.unit:  # fast path: only the exponent moves
            exponent = quantity.as_tuple().exponent  # an int for finite values ('n', 'N', 'F' otherwise)
            if isinstance(exponent, int) and exponent >= -self.decimals:
                return int(EXACT.scaleb(quantity, self.decimals))
            raise ValueError(
                f"net quantity {quantity} {unit} is finer than 1 base unit of {self.code} "
                f"({self.decimals} decimals of {self.unit})"
            )
        if unit not in UNITS:
            raise ValueError(f"unknown unit {unit!r}")
        in_token_units = EXACT.divide(EXACT.multiply(quantity, UNITS[unit]), UNITS[self.unit])
        base = EXACT.scaleb(in_token_units, self.decimals)
        if base != base.to_integral_value():
            raise ValueError(
                f"net quantity {quantity} {unit} is finer than 1 base unit of {self.code} "
                f"({self.decimals} decimals of {self.unit})"
            )
        return int(base)

    def from_base_units(self, base: int) -> Decimal:
        return EXACT.scaleb(Decimal(base), -self.decimals)


class Catalogue:
    """Product code -> token unit and decimals."""

    def __init__(self, products: dict[str, Product]):
        self.products = products

    def __contains__(self, code: str) -> bool:
        return code in self.products

    def __getitem__(self, code: str) -> Product:
        return self.products[code]

    def get(self, code: str) -> Product | None:
        return self.products.get(code)

    def codes(self) -> list[str]:
        return sorted(self.products)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Catalogue:
        data = json.loads(Path(path or CATALOGUE_PATH).read_text("utf-8"))
        products = {}
        for code, p in data["products"].items():
            if p["unit"] not in UNITS:
                raise ValueError(f"catalogue: product {code} has unknown unit {p['unit']!r}")
            products[code] = Product(code=code, name=p.get("name", code), unit=p["unit"], decimals=int(p["decimals"]))
        return cls(products)

    def to_json(self) -> dict:
        return {"products": {c: {"name": p.name, "unit": p.unit, "decimals": p.decimals} for c, p in self.products.items()}}
