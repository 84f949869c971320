"""Sample custody exports of three warehouses (they feed ``make demo`` and the tests).

Regenerate with ``python -m stockpile.reconcile.samples`` (deterministic)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
AS_OF = "2026-11-20T00:00:00Z"
SAMPLE_SPECS = [
    # file, warehouse, products, lots, options
    ("WH-ROTTERDAM-01.csv", "WH-ROTTERDAM-01", ["NDPR-OXIDE", "DY-METAL"], 12, {}),
    ("WH-BALTIMORE-02.csv", "WH-BALTIMORE-02", ["NDPR-OXIDE", "LI2CO3", "TB-METAL"], 12,
     {"decimal_comma": True, "crlf": True, "bom": True}),
    ("WH-SINGAPORE-03.json", "WH-SINGAPORE-03", ["DY-METAL", "TB-METAL", "AG-BAR"], 12, {}),
]
SAMPLES = [HERE / s[0] for s in SAMPLE_SPECS]
PRODUCTS = sorted({p for s in SAMPLE_SPECS for p in s[2]})


def write_samples(directory: Path = HERE, as_of: str = AS_OF) -> list[Path]:
    from stockpile.reconcile.custody.generator import generate

    out = []
    for i, (name, wh, products, n, opts) in enumerate(SAMPLE_SPECS):
        g = generate(n, seed=100 + i, warehouses=[wh], products=products, as_of=as_of, lot_prefix=f"{wh[3:6]}-")
        meta = {"warehouse_id": wh, "as_of": as_of}
        if name.endswith(".json"):
            out.append(g.write_json(directory / name, metadata=meta))
        else:
            out.append(g.write_csv(directory / name, metadata=meta, **opts))
    return out


