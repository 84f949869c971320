"""Reconciliation at scale: 1,000,000 custody lots from the generator.

Stages (each timed, rows/s where it applies): ingest the CSV into SQLite; build the Merkle
trees of every product's reserve from the ingested lots; sync a chain (anvil, real
CommodityToken + ReserveAttestor per product) holding the matching attestations and supply;
reconcile; write the reports. Target: total <= 60 s, peak RSS <= 2 GB. Baseline in the same
run: pandas.read_csv of the same file (in a child process so its memory is not ours).

``RECONCILE_BENCH_LOTS`` overrides the lot count (for a quick look).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOTS = int(os.environ.get("RECONCILE_BENCH_LOTS", "1000000"))
PRODUCTS = ("NDPR-OXIDE", "DY-METAL", "TB-METAL", "LI2CO3")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pandas_baseline(path: Path) -> float:
    code = ("import time, pandas as pd\n"
            f"t = time.perf_counter(); df = pd.read_csv({str(path)!r}, comment='#', dtype=str)\n"
            "print(time.perf_counter() - t, len(df))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[1]) == LOTS, out
    return float(out[0])


def run() -> list[dict]:
    from web3 import Web3

    from stockpile.merkle import LOT_LEAF_TYPES, StandardMerkleTree
    from stockpile.reconcile import devchain
    from stockpile.reconcile.custody.generator import generate
    from stockpile.reconcile.custody.schema import RESERVE_STATUSES
    from stockpile.reconcile.db.store import LEAF, P, Q, S, Database
    from stockpile.reconcile.demo import DEV_KEYS, iso
    from stockpile.reconcile.service import RunConfig, reconcile
    from stockpile.toolchain import Anvil

    tmp = Path(tempfile.mkdtemp(prefix="stockpile-bench-reconcile-"))
    metrics: list[dict] = []

    def m(metric, value, unit, **kw):
        metrics.append({"metric": metric, "value": round(value, 4) if isinstance(value, float) else value, "unit": unit,
                        **kw})

    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        as_of = w3.eth.get_block("latest")["timestamp"] - 120

        t = time.perf_counter()
        g = generate(LOTS, seed=2026, products=PRODUCTS, as_of=iso(as_of))
        csv_path = g.write_csv(tmp / "custody-1m.csv")
        attested_totals = {p: g.attested_total(p) for p in PRODUCTS}
        del g
        m("generate_export_seconds", time.perf_counter() - t, "s")
        m("export_size", round(csv_path.stat().st_size / 2**20, 1), "MiB")

        pandas_s = _pandas_baseline(csv_path)

        # ---- ingest
        db = Database(tmp / "reconcile.db")
        t_total = time.perf_counter()
        t = time.perf_counter()
        res = db.ingest(csv_path, rejects_dir=tmp)
        ingest_s = time.perf_counter() - t
        assert res.accepted == LOTS and res.rejected == 0, res
        m("ingest_seconds", ingest_s, "s", baseline="pandas.read_csv (same file, strings, no validation)",
          baseline_value=round(pandas_s, 4))
        m("ingest_rows_per_second", round(LOTS / ingest_s), "rows/s", baseline="pandas.read_csv",
          baseline_value=round(LOTS / pandas_s))

        # ---- Merkle trees of every product's reserve, from the ingested lots
        t = time.perf_counter()
        view = db.custody_view(as_of)
        load_s = time.perf_counter() - t
        attest = {}
        for product in PRODUCTS:
            lots = [x for x in view if x[P] == product and x[S] in RESERVE_STATUSES]
            tree = StandardMerkleTree(LOT_LEAF_TYPES, lots, [x[LEAF] for x in lots])
            attest[product] = ("0x" + tree.root.hex(), sum(x[Q] for x in lots), len(lots))
            del tree
        del view, lots
        merkle_s = time.perf_counter() - t
        assert {p: a[1] for p, a in attest.items()} == attested_totals
        m("merkle_seconds", merkle_s, "s")
        m("merkle_leaves_per_second", round(LOTS / merkle_s), "leaves/s")
        m("merkle_view_load_seconds", load_s, "s")
        paused_total = time.perf_counter() - t_total

        # ---- chain holding the matching attestations and supply (set-up not counted in the total)
        t = time.perf_counter()
        stacks = []
        holder = w3.eth.account.from_key(DEV_KEYS[0]).address
        for product in PRODUCTS:
            stack = devchain.deploy_product(w3, DEV_KEYS[0], DEV_KEYS[1:4], product)
            root, total, count = attest[product]
            devchain.attest(w3, stack, root, total, count, as_of)
            for i in range(5):
                devchain.mint(w3, stack, holder, total // 10, f"bench-{i}")
            stacks.append(stack)
        m("chain_setup_seconds", time.perf_counter() - t, "s")
        m("chain_blocks", w3.eth.block_number, "blocks")

        # ---- sync, reconcile, report (the service's own stage timings)
        t = time.perf_counter()
        cfg = RunConfig(products=[s.contracts() for s in stacks], confirmations=0, out_dir=tmp / "report")
        report = reconcile(db, w3, cfg)
        run_s = time.perf_counter() - t
        assert report["status"] == "clean", report.get("error") or report["breaks"][:5]
        total_s = paused_total + run_s
        tm = report["timings"]
        m("chain_sync_seconds", tm["chain_sync"] + tm["chain_state"], "s")
        m("reconcile_seconds", tm["classify"], "s")
        m("reconcile_lots_per_second", round(LOTS / tm["classify"]), "lots/s")
        m("report_seconds", tm["report"], "s")
        m("total_seconds", total_s, "s", target=60)
        m("total_lots_per_second", round(LOTS / total_s), "lots/s")
        m("peak_rss", round(_rss_mb(), 1), "MiB", target=2048)
        m("lots", LOTS, "lots")
        m("breaks_found_clean_run", len(report["breaks"]), "breaks")
        db.dispose()
    for f in tmp.glob("*"):
        if f.is_file():
            f.unlink()
    return metrics


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
