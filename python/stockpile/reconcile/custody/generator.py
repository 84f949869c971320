"""Deterministic custody exports of any size, with planted discrepancies.

``generate(n_lots, seed=...)`` makes a reserve (the lot lists an attestation would be built
from, per product) and the custodian's export of it; ``discrepancies`` plants differences
between the two (what reconciliation must find) and ``bad_rows`` plants malformed rows (what
ingestion must reject). The same arguments always give the same bytes.

Discrepancy kinds (custody export vs attested reserve):
    quantity_mismatch, product_mismatch, warehouse_mismatch, missing_lot (attested, not in the
    export), extra_lot (in stock in the export, not attested), released, in_transit (attested
    lot whose custody status no longer backs tokens), duplicate_across_warehouses (a lot id that
    also appears, released, in a second warehouse).
Bad row kinds: missing_field, bad_number, unknown_product, nonpositive_quantity, unknown_status,
    duplicate_lot.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from stockpile.reconcile.custody.schema import FIELDS, RESERVE_STATUSES, Catalogue

DISCREPANCY_KINDS = (
    "quantity_mismatch", "product_mismatch", "warehouse_mismatch", "missing_lot", "extra_lot",
    "released", "in_transit", "duplicate_across_warehouses",
)
BAD_ROW_KINDS = ("missing_field", "bad_number", "unknown_product", "nonpositive_quantity", "unknown_status", "duplicate_lot")

DEFAULT_WAREHOUSES = ("WH-ROTTERDAM-01", "WH-BALTIMORE-02", "WH-SINGAPORE-03")
DEFAULT_PRODUCTS = ("NDPR-OXIDE", "DY-METAL", "TB-METAL", "LI2CO3")
FORMS = {
    "NDPR-OXIDE": "powder", "DY-METAL": "ingot", "TB-METAL": "ingot", "LI2CO3": "powder", "CO-METAL": "cathode",
    "GA-METAL": "ingot", "GE-METAL": "ingot", "W-APT": "crystal", "AG-BAR": "bar",
}


@dataclass
class Generated:
    """What was generated: rows of the export (lists in FIELDS order), the attested lot tuples
    per product, and the planted items."""

    rows: list[list[str]]
    attested: dict[str, list[tuple]]
    planted: list[dict] = field(default_factory=list)
    bad: list[dict] = field(default_factory=list)
    as_of: str = ""
    attested_rows: list[list[str]] = field(default_factory=list)  # the reserve rows the attestation was built from

    def write_attested_csv(self, path: str | Path, metadata: dict | None = None) -> Path:
        """The attested lot list (the reserve before any planted discrepancy) as an export, for
        ``stockpile reconcile ingest --attested``: the list the planted discrepancies are measured against."""
        return Generated(self.attested_rows, self.attested, as_of=self.as_of).write_csv(path, metadata=metadata)

    def attestation(self, product: str) -> dict:
        """What the attestors sign for ``product``: Merkle root (0x-hex), total base units, lot count."""
        from stockpile.merkle import lot_tree

        lots = self.attested.get(product, [])
        return {"merkle_root": "0x" + lot_tree(lots).root.hex() if lots else None,
                "total_quantity": sum(t[5] for t in lots), "lot_count": len(lots)}

    def attested_total(self, product: str) -> int:
        return sum(t[5] for t in self.attested.get(product, []))

    def write_csv(self, path: str | Path, decimal_comma: bool = False, crlf: bool = False, bom: bool = False,
                  metadata: dict | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        delim = ";" if decimal_comma else ","
        nl = "\r\n" if crlf else "\n"
        with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
            f.write(f"# stockpile-custody-export: 1{nl}")
            for k, v in (metadata or {}).items():
                f.write(f"# {k}: {v}{nl}")
            if decimal_comma:
                f.write(f"# decimal_separator: ,{nl}")
            w = csv.writer(f, delimiter=delim, lineterminator=nl)
            w.writerow(FIELDS)
            if decimal_comma:
                num = (4, 5, 6)
                for r in self.rows:
                    r = list(r)
                    for i in num:
                        r[i] = r[i].replace(".", ",")
                    w.writerow(r)
            else:
                w.writerows(self.rows)
        return path

    def write_json(self, path: str | Path, metadata: dict | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lots = [dict(zip(FIELDS, r)) for r in self.rows]
        doc = {"format": "stockpile-custody-export", "version": 1, **(metadata or {}), "lots": lots}
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        return path

    def bad_lines(self, first_data_line: int) -> dict[int, str]:
        """Line number -> planted bad-row kind, for a CSV written with ``first_data_line``."""
        return {first_data_line + b["index"]: b["kind"] for b in self.bad}


def _qty(rng: random.Random, decimals: int = 3) -> Decimal:
    return Decimal(rng.randrange(50_000, 2_000_000)).scaleb(-decimals)


def generate(
    n_lots: int,
    seed: int = 1,
    warehouses: tuple[str, ...] | list[str] = DEFAULT_WAREHOUSES,
    products: tuple[str, ...] | list[str] = DEFAULT_PRODUCTS,
    as_of: str = "2026-11-20T00:00:00Z",
    discrepancies: dict[str, int] | None = None,
    bad_rows: dict[str, int] | None = None,
    catalogue: Catalogue | None = None,
    lot_prefix: str = "L",
    status_mix: bool = True,
) -> Generated:
    catalogue = catalogue or Catalogue.load()
    rng = random.Random(seed)
    rows: list[list[str]] = []
    units = {p: catalogue[p].unit for p in products}
    for i in range(n_lots):
        wh = warehouses[i % len(warehouses)]
        product = products[(i // len(warehouses)) % len(products)]
        unit = units[product]
        net = _qty(rng, 6 if unit == "t" else 3) if unit != "ozt" else Decimal(rng.randrange(800_000, 1_100_000)).scaleb(-3)
        gross = net + Decimal(rng.randrange(100, 5000)).scaleb(-3 if unit != "t" else -6)
        purity = Decimal(rng.randrange(995_000, 999_990)).scaleb(-4)
        status = "allocated" if status_mix and i % 7 == 3 else "in_stock"
        rows.append([wh, f"{lot_prefix}{i:08d}", product, FORMS.get(product, "bulk"), str(purity), str(gross), str(net),
                     unit, f"ASSAY-{seed}-{i:08d}", status, as_of])

    def attested_of(rows_: list[list[str]]) -> dict[str, list[tuple]]:
        out: dict[str, list[tuple]] = {}
        for r in rows_:
            if r[9] in RESERVE_STATUSES:
                prod = catalogue[r[2]]
                ppm = int(Decimal(r[4]) * 10000)
                out.setdefault(r[2], []).append((r[0], r[1], r[2], r[3], ppm, prod.to_base_units(Decimal(r[6]), r[7]), r[8]))
        return out

    attested = attested_of(rows)
    planted: list[dict] = []
    custody = [list(r) for r in rows]
    drop: set[int] = set()
    extra: list[list[str]] = []
    used: set[int] = set()

    def pick() -> int:
        for _ in range(100_000):
            j = rng.randrange(len(custody))
            if j not in used and custody[j][9] in RESERVE_STATUSES:
                used.add(j)
                return j
        raise ValueError("not enough lots to plant that many discrepancies")

    for kind, count in (discrepancies or {}).items():
        if kind not in DISCREPANCY_KINDS:
            raise ValueError(f"unknown discrepancy kind {kind!r}; known: {', '.join(DISCREPANCY_KINDS)}")
        for k in range(count):
            if kind == "extra_lot":
                j = rng.randrange(len(custody))
                r = list(custody[j])
                r[1] = f"{lot_prefix}X{seed}-{len(extra):06d}"
                r[9] = "in_stock"
                extra.append(r)
                planted.append({"kind": kind, "lot_id": r[1], "product": r[2], "warehouse_id": r[0]})
                continue
            j = pick()
            r = custody[j]
            item = {"kind": kind, "lot_id": r[1], "product": r[2], "warehouse_id": r[0]}
            if kind == "quantity_mismatch":
                r[6] = str(Decimal(r[6]) - Decimal(r[6]).scaleb(-1).quantize(Decimal("0.001")))
            elif kind == "product_mismatch":
                others = [p for p in products if p != r[2] and "ozt" not in (units[p], r[7])] or [
                    p for p in catalogue.codes() if p != r[2] and "ozt" not in (catalogue[p].unit, r[7])]
                r[2] = others[k % len(others)]
                item["custody_product"] = r[2]
            elif kind == "warehouse_mismatch":
                others = [w for w in warehouses if w != r[0]] or [r[0] + "-B"]
                r[0] = others[k % len(others)]
                item["custody_warehouse"] = r[0]
            elif kind == "missing_lot":
                drop.add(j)
            elif kind == "released":
                r[9] = "released"
            elif kind == "in_transit":
                r[9] = "in_transit"
            elif kind == "duplicate_across_warehouses":
                dup = list(r)
                others = [w for w in warehouses if w != r[0]] or [r[0] + "-B"]
                dup[0] = others[0]
                dup[9] = "released"
                dup[8] = r[8] + "-DUP"
                extra.append(dup)
                item["other_warehouse"] = dup[0]
            planted.append(item)

    custody = [r for j, r in enumerate(custody) if j not in drop] + extra
    bad: list[dict] = []
    for kind, count in (bad_rows or {}).items():
        if kind not in BAD_ROW_KINDS:
            raise ValueError(f"unknown bad row kind {kind!r}; known: {', '.join(BAD_ROW_KINDS)}")
        for _ in range(count):
            src = custody[rng.randrange(len(custody))]
            r = list(src)
            r[1] = f"{lot_prefix}BAD-{kind}-{len(bad)}"
            if kind == "missing_field":
                r[6] = ""
            elif kind == "bad_number":
                r[6] = "12.3.4"
            elif kind == "unknown_product":
                r[2] = "UNOBTAINIUM"
            elif kind == "nonpositive_quantity":
                r[6] = "-1" if len(bad) % 2 else "0"
            elif kind == "unknown_status":
                r[9] = "lost"
            elif kind == "duplicate_lot":
                r = list(custody[rng.randrange(1 + len(custody) // 3)])
            pos = rng.randrange(len(custody) // 2 + 1, len(custody) + 1)
            custody.insert(pos, r)
            bad.append({"kind": kind, "row": r})
    # indexes of bad rows after all insertions
    ids = {id(b["row"]): b for b in bad}
    for i, r in enumerate(custody):
        b = ids.get(id(r))
        if b is not None:
            b["index"] = i
    return Generated(custody, attested, planted, bad, as_of, [r for r in rows if r[9] in RESERVE_STATUSES])
