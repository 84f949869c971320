"""Reconciliation at scale: 1,000,000 custody lots from the generator, on SQLite and PostgreSQL.

Baseline in the same run: ``pandas.read_csv`` of the same export (in a child process, so its
memory is not ours), measured right before and right after each backend's stages, the mean of the
two (the load of a shared machine drifts within a run: one read before the stages swung from 3.7 s
to 6.6 s between the two backends of one run). Stages, per backend, each timed and given as a ratio
to that baseline:

- ingest: parse, validate every row (rejects with line numbers), hash every Merkle leaf, store;
- merkle: every product's reserve root from the stored leaves (what an attestor signs;
  ``Database.reserve_roots``, memoised per custody view, so the reconcile stage reuses it);
- reconcile: chain sync (anvil, real CommodityToken + ReserveAttestor per product holding the
  matching attestations and supply), state, classification of the 1M lots, reports;
- end to end = ingest + merkle + reconcile (the chain set-up is not counted).

Module imports are timed on neither side (the baseline imports pandas before its timer; the
libraries the ingestion loads on first use, pyarrow and the pandas that pyarrow imports, are
imported before the stages).

Targets (issue 16): end to end <= 5x, ingest <= 3x, merkle <= 1x the pandas read; peak RSS <= 1 GiB
(sampled per backend from /proc while its stages run). PostgreSQL runs when its server binaries
(initdb, pg_ctl) are installed; otherwise its metrics say why they are missing.

``RECONCILE_BENCH_LOTS`` overrides the lot count (for a quick look); ``RECONCILE_BENCH_BACKENDS``
(``sqlite,postgres``) picks the backends.
"""

from __future__ import annotations

import glob
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

LOTS = int(os.environ.get("RECONCILE_BENCH_LOTS", "1000000"))
BACKENDS = os.environ.get("RECONCILE_BENCH_BACKENDS", "sqlite,postgres").split(",")
PRODUCTS = ("NDPR-OXIDE", "DY-METAL", "TB-METAL", "LI2CO3")
TARGETS = {"ingest": 3.0, "merkle": 1.0, "end_to_end": 5.0}
RSS_TARGET_MIB = 1024


class PeakRss:
    """Peak resident set size of this process over a window (sampled every 20 ms from /proc)."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_mib() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now_mib())
            self._stop.wait(0.02)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self.now_mib())


def _pandas_baseline(path: Path) -> float:
    code = ("import time, pandas as pd\n"
            f"t = time.perf_counter(); df = pd.read_csv({str(path)!r}, comment='#', dtype=str)\n"
            "print(time.perf_counter() - t, len(df))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[1]) == LOTS, out
    return float(out[0])


class _Postgres:
    """A throwaway PostgreSQL cluster (initdb + pg_ctl from the system's binaries)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        self.bindir = Path(found[-1]).parent if found else (Path(shutil.which("initdb")).parent
                                                              if shutil.which("initdb") else None)
        self.tmp = None

    def _as_user(self, cmd):
        if os.geteuid() != 0:
            return cmd
        return ["runuser", "-u", "postgres", "--", *cmd]

    def __enter__(self):
        from stockpile.toolchain.anvil import free_port

        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not installed")
        self.tmp = Path(tempfile.mkdtemp(prefix="stockpile-bench-pg-"))
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.tmp, pw.pw_uid, pw.pw_gid)
        self.data = self.tmp / "data"
        port = free_port()
        subprocess.run(self._as_user([str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U",
                                      "postgres", "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
        opts = (f"-p {port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                "-c full_page_writes=off")
        subprocess.run(self._as_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                                      str(self.tmp / "log"), "-w", "start"]), check=True, capture_output=True)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        return self

    def __exit__(self, *exc):
        subprocess.run(self._as_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _backend_run(backend: str, db_url, csv_path: Path, tmp: Path, w3, stacks, attest, m) -> None:
    # module imports are outside the timers on both sides: the baseline's child imports pandas before
    # its timer starts, so the libraries the ingestion loads on first use are imported here (pyarrow,
    # and pandas, which pyarrow imports at its first conversion of a Python value: 0.6 s of CPU)
    import pandas  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401

    from stockpile.reconcile.db.store import Database
    from stockpile.reconcile.service import RunConfig, reconcile

    # the baseline around this backend's stages: on a shared machine the load drifts within a run, so
    # pandas reads the export right before and right after them and the baseline is the mean of the two
    before_s, before_load = _pandas_baseline(csv_path), round(os.getloadavg()[0], 2)

    with PeakRss() as rss:
        db = Database(db_url)
        t = time.perf_counter()
        res = db.ingest(csv_path, rejects_dir=tmp)
        ingest_s = time.perf_counter() - t
        assert res.accepted == LOTS and res.rejected == 0, res

        t = time.perf_counter()
        roots = db.reserve_roots()  # what an attestor signs; the reconciliation of the same view reuses it
        merkle_s = time.perf_counter() - t
        assert roots == attest, "roots from the ingested lots differ from the generator's"

        t = time.perf_counter()
        cfg = RunConfig(products=[s.contracts() for s in stacks], confirmations=0, out_dir=tmp / f"report-{backend}")
        report = reconcile(db, w3, cfg)
        run_s = time.perf_counter() - t
        assert report["status"] == "clean", report.get("error") or report["breaks"][:5]
        db.dispose()
    after_s, after_load = _pandas_baseline(csv_path), round(os.getloadavg()[0], 2)
    pandas_s = (before_s + after_s) / 2
    m(f"{backend}.pandas_read_csv_seconds", pandas_s, "s", before=round(before_s, 4), after=round(after_s, 4),
      load_average_1min=before_load, load_average_1min_after=after_load,
      note="mean of a read right before and one right after this backend's stages")
    tm = report["timings"]
    total_s = ingest_s + merkle_s + run_s
    base = {"baseline": "pandas.read_csv (same file, strings, no validation)", "baseline_value": round(pandas_s, 4)}
    m(f"{backend}.ingest_seconds", ingest_s, "s", **base, target_ratio=TARGETS["ingest"])
    m(f"{backend}.ingest_rows_per_second", round(LOTS / ingest_s), "rows/s")
    m(f"{backend}.merkle_seconds", merkle_s, "s", **base, target_ratio=TARGETS["merkle"])
    m(f"{backend}.merkle_leaves_per_second", round(LOTS / merkle_s), "leaves/s")
    m(f"{backend}.reconcile_seconds", run_s, "s", **base,
      note="the whole reconcile call: chain sync and state, classification, reports")
    m(f"{backend}.chain_sync_seconds", tm["chain_sync"] + tm["chain_state"], "s")
    m(f"{backend}.classify_seconds", tm["classify"], "s",
      note="a clean run reuses the merkle stage's roots of the same custody view and reads no lot row")
    m(f"{backend}.report_seconds", tm["report"], "s")
    m(f"{backend}.end_to_end_seconds", total_s, "s", **base, target_ratio=TARGETS["end_to_end"])
    m(f"{backend}.peak_rss", round(rss.peak, 1), "MiB", target=RSS_TARGET_MIB)
    m(f"{backend}.load_average_1min_at_end", round(os.getloadavg()[0], 2), "load",
      note=f"{os.cpu_count()} cores; other jobs' load changes the ratios")
    m(f"{backend}.breaks_found_clean_run", len(report["breaks"]), "breaks")


def _generate(path: Path, as_of: str) -> tuple[Path, dict]:
    """The export and what to attest per product, made in a child process (the generator's million
    rows must not count in our memory)."""
    import json

    code = ("import json, sys\n"
            "from stockpile.reconcile.custody.generator import generate\n"
            f"g = generate({LOTS}, seed=2026, products={PRODUCTS!r}, as_of={as_of!r})\n"
            f"g.write_csv({str(path)!r})\n"
            "print(json.dumps({p: [g.attestation(p)['merkle_root'], g.attested_total(p), len(g.attested[p])] "
            f"for p in {PRODUCTS!r}}}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return path, {p: tuple(v) for p, v in json.loads(out).items()}


def run() -> list[dict]:
    from web3 import Web3

    from devkit import devchain
    from devkit.reconcile_demo import DEV_KEYS, iso
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
        csv_path, attest = _generate(tmp / "custody-1m.csv", iso(as_of))
        m("generate_export_seconds", time.perf_counter() - t, "s")
        m("export_size", round(csv_path.stat().st_size / 2**20, 1), "MiB")
        m("lots", LOTS, "lots")

        # one chain holding the attestations and supply for both backends (set-up not counted)
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

        for backend in BACKENDS:
            if backend == "sqlite":
                _backend_run("sqlite", tmp / "reconcile.db", csv_path, tmp, w3, stacks, attest, m)
            elif backend == "postgres":
                try:
                    pg = _Postgres().__enter__()
                except Exception as exc:  # no server binaries: say so in the results
                    m("postgres.skipped", 1, "flag", reason=f"{type(exc).__name__}: {exc}")
                    continue
                try:
                    _backend_run("postgres", pg.url, csv_path, tmp, w3, stacks, attest, m)
                finally:
                    pg.__exit__(None, None, None)
    m("process_peak_rss", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "MiB")
    shutil.rmtree(tmp, ignore_errors=True)
    return metrics


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
