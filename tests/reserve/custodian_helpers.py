"""Custody folders and attestation requests for the attestor node tests (no ape import)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

from stockpile.merkle import Lot
from stockpile.reconcile.samples import write_samples
from stockpile.reserve.models import Attestation, report_hash

PRODUCT = "NDPR-OXIDE"
ROTTERDAM = "WH-ROTTERDAM-01.csv"
# three custodian attestor keys (deterministic, test only)
ATTESTOR_KEYS = ["0x" + keccak(text=f"stockpile-test-custodian-{i}").hex() for i in range(3)]
ATTESTORS = [Account.from_key(k) for k in ATTESTOR_KEYS]


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def custody_folder(path: Path, as_of: int) -> Path:
    """The three sample warehouse exports, dated ``as_of``, in ``path``."""
    path.mkdir(parents=True, exist_ok=True)
    write_samples(path, as_of=iso(as_of))
    return path


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def tamper_quantity(folder: Path, product: str = PRODUCT) -> tuple[str, str, str]:
    """Lower the net quantity of the first ``product`` reserve lot of the Rotterdam export by one
    unit: returns (warehouse, lot id, the new net quantity as written)."""
    from stockpile.reserve.demo import tamper_quantity as tamper

    return tamper(folder, product, ROTTERDAM)


def reserve_lots(folder: Path, product: str, as_of: int) -> list[Lot]:
    """The product's reserve lots of the exports in ``folder``, read through a throwaway database
    (the ingest path the custodian uses)."""
    import tempfile

    from stockpile.reconcile.custody.schema import RESERVE_STATUSES
    from stockpile.reconcile.db.store import Database

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "c.db")
        try:
            for p in sorted(folder.iterdir()):
                if p.suffix in (".csv", ".json") and not p.name.endswith(".rejects.csv"):
                    db.ingest(p, rejects_dir=tmp)
            view = db.custody_view(as_of)
        finally:
            db.dispose()
    return [Lot(warehouse_id=x.warehouse_id, lot_id=x.lot_id, product_code=x.product_code, form=x.form,
                purity_ppm=x.purity_ppm, quantity=x.quantity, assay_ref=x.assay_ref)
            for x in view if x.product_code == product and x.status in RESERVE_STATUSES]


def expected_attestation(folder: Path, product: str, as_of: int) -> Attestation:
    """What the attestors should sign for the exports in ``folder``."""
    return Attestation.of_lots(reserve_lots(folder, product, as_of), as_of,
                               report_hash(f"custody report {product} {as_of}"))
