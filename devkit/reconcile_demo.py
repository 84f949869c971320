"""A reconciliation demo on its own token stacks: clean first, then one planted discrepancy found and named
(development only: the reconciliation tests and the benchmarks; ``make demo`` runs ``stockpile.demo``).

``reconcile_demo(rpc_url)`` deploys a CommodityToken + ReserveAttestor per sample product on the
given chain (anvil), ingests the three sample warehouse exports (dated at the chain's current
time), attests each product's reserve (Merkle root, total, lot count; EIP-712 quorum), mints
part of it, and reconciles: clean. Then a warehouse sends a newer export in which one attested
lot is released; the second run reports it as ``released_lot_backing`` with the lot id.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import cast

from web3 import Web3

from stockpile.reconcile.breaks.classify import merkle_root
from stockpile.reconcile.custody.schema import Catalogue
from stockpile.reconcile.db.store import Database
from stockpile.demo import iso, plant_released_lot
from stockpile.reconcile.report.model import Report
from stockpile.reconcile.service import RunConfig, reconcile

# anvil's public development keys (test mnemonic): never use on a real network
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdd4e0e0",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]


def reserve_of(db: Database, product: str, as_of: int | None = None) -> tuple[str, int, int]:
    """(root, total base units, lot count) of a product's reserve in the custody books as of a time:
    what the custodian's attestors sign."""
    from stockpile.reconcile.custody.schema import RESERVE_STATUSES

    lots = [x for x in db.custody_view(as_of) if x.product_code == product and x.status in RESERVE_STATUSES]
    # a product with reserve lots (what the demo and the tests ask for): merkle_root is None only for none
    return cast(str, merkle_root([x.leaf for x in lots])), sum(x.quantity for x in lots), len(lots)


def reconcile_demo(rpc_url: str, work_dir: str | Path | None = None, db_url: str | None = None,
                   admin_key: str = DEV_KEYS[0], attestor_keys: list[str] | None = None,
                   holder: str | None = None, confirmations: int = 0, console=None) -> dict:
    """Returns {"clean": report, "planted": report, "planted_item": {...}, "found": bool, "products": {...}}."""
    from devkit import devchain
    from stockpile.reconcile.samples import PRODUCTS, write_samples

    say = console.print if console is not None else (lambda *a, **k: None)
    attestor_keys = attestor_keys or DEV_KEYS[1:4]
    work = Path(work_dir or tempfile.mkdtemp(prefix="stockpile-reconcile-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    catalogue = Catalogue.load()
    db = Database(db_url or work / "reconcile.db")
    holder = holder or w3.eth.account.from_key(DEV_KEYS[0]).address

    chain_now = w3.eth.get_block("latest")["timestamp"]
    as_of = chain_now - 60
    exports = write_samples(work / "exports-1", as_of=iso(as_of))
    for path in exports:
        r = db.ingest(path, catalogue, rejects_dir=work / "rejects")
        say(f"ingested {path.name}: {r.accepted} lots, {r.rejected} rejected")

    stacks = {}
    for product in PRODUCTS:
        stack = devchain.deploy_product(w3, admin_key, attestor_keys, product, catalogue[product].decimals)
        root, total, count = reserve_of(db, product, as_of)
        devchain.attest(w3, stack, root, total, count, as_of)
        devchain.mint(w3, stack, holder, total // 2, "demo-1")
        stacks[product] = stack
        say(f"{product}: token {stack.token.address}, attested {count} lots root {root[:18]}..., minted half")

    cfg = RunConfig(products=[s.contracts() for s in stacks.values()], confirmations=confirmations,
                    out_dir=work / "report-clean")
    clean = reconcile(db, w3, cfg, catalogue)
    say(f"reconciliation 1: {clean['status']} (exit {clean['exit_code']}), {len(clean['breaks'])} breaks")

    planted_item, path = plant_released_lot(db, catalogue, as_of, work)
    say(f"ingested a newer {path.name}: lot {planted_item['lot_id']} ({planted_item['product']}) now released")
    cfg.out_dir = work / "report-planted"
    planted = reconcile(db, w3, cfg, catalogue)
    found = [b for b in planted["breaks"] if b["lot_id"] == planted_item["lot_id"]]
    for b in planted["breaks"]:
        say(f"  break: {b['severity']} {b['kind']} {b['product']} lot {b['lot_id']}: {b['message']}")
    say(f"reconciliation 2: {planted['status']} (exit {planted['exit_code']}), report {planted.get('files', {}).get('html')}")
    db.dispose()
    return {"clean": clean, "planted": planted, "planted_item": planted_item,
            "found": bool(found) and found[0]["kind"] == "released_lot_backing",
            "products": {p: {"token": s.token.address, "attestor": s.attestor.address} for p, s in stacks.items()},
            "work_dir": str(work)}


def custody_attestation(exports: list[str | Path], product: str, as_of: int | None = None,
                        catalogue: Catalogue | None = None) -> dict:
    """What the attestors should sign for ``product`` given these custody exports: ``{"merkle_root",
    "total_quantity", "lot_count", "as_of"}`` (for a demo that deploys its own tokens and wants them
    to reconcile clean). Uses a throwaway SQLite database and the ingestion path."""
    with tempfile.TemporaryDirectory(prefix="stockpile-attest-") as tmp:
        db = Database(Path(tmp) / "a.db")
        try:
            last = 0
            for path in exports:
                last = max(last, db.ingest(path, catalogue, rejects_dir=tmp).as_of)
            when = as_of if as_of is not None else last
            root, total, count = reserve_of(db, product, when)
        finally:
            db.dispose()
    return {"merkle_root": root, "total_quantity": total, "lot_count": count, "as_of": when}


def reconcile_chain(rpc_url: str, products: dict[str, dict], exports: list[str | Path], db_url: str | None = None,
                    out_dir: str | Path | None = None, confirmations: int = 0, console=None) -> Report:
    """Reconcile an existing deployment: ``products`` = {code: {"token": addr, "attestor": addr,
    "start_block": n}}; the exports are ingested first (idempotent). Returns the report."""
    from stockpile.reconcile.chain.reader import ProductContracts

    work = Path(out_dir or tempfile.mkdtemp(prefix="stockpile-reconcile-"))
    work.mkdir(parents=True, exist_ok=True)
    db = Database(db_url or work / "reconcile.db")
    try:
        for path in exports:
            db.ingest(path, rejects_dir=work / "rejects")
        cfg = RunConfig(products=[ProductContracts(code, v["token"], v.get("attestor"), int(v.get("start_block", 0)))
                                  for code, v in products.items()],
                        confirmations=confirmations, out_dir=work)
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
        report = reconcile(db, w3, cfg)
    finally:
        db.dispose()
    if console is not None:
        console.print(f"reconciliation: {report['status']} (exit {report['exit_code']}), "
                      f"{len(report['breaks'])} breaks; {report.get('files', {}).get('html')}")
        for b in report["breaks"][:10]:
            console.print(f"  break: {b['severity']} {b['kind']} {b['product']} {b['lot_id'] or ''}: {b['message']}")
    return report
