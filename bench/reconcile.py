"""Reconciliation at scale: 1,000,000 custody lots from the generator, on SQLite and PostgreSQL.

Baseline in the same run: ``pandas.read_csv`` of the same export (in a child process, so its
memory is not ours). Each backend's stages run ``RECONCILE_BENCH_REPEATS`` (3) times, each into a
new database, interleaved with the baseline: one read before the first repetition and one after
each. Every figure is the median of its samples, all of which are in the results (on this 2-core
VM single figures swing: quiet, one pandas read took 1.7 s and another 3.3 s in the same hour; under
load one swung from 3.7 s to 6.6 s within a run). Stages, per backend, each timed and given as a
ratio (median over median) to that baseline:

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

``RECONCILE_BENCH_LOTS`` overrides the lot count (for a quick look), ``RECONCILE_BENCH_REPEATS`` the
repetitions; ``RECONCILE_BENCH_BACKENDS`` (``sqlite,postgres``) picks the backends.
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
REPEATS = int(os.environ.get("RECONCILE_BENCH_REPEATS", "3"))
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

    def new_database(self, r: int) -> str:
        """The URL of a new database for repetition r (the previous repetition's dropped)."""
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            if r:
                conn.execute(f"DROP DATABASE bench_{r - 1}")
            conn.execute(f"CREATE DATABASE bench_{r}")
        return self.url.rsplit("/", 1)[0] + f"/bench_{r}"

    def __exit__(self, *exc):
        subprocess.run(self._as_user([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]),
                       capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _backend_run(backend: str, new_db, csv_path: Path, tmp: Path, w3, stacks, attest, m) -> None:
    """The stages of one backend REPEATS times, each time into a new database (``new_db(r)``: a URL
    or path), interleaved with the baseline's reads: pandas reads the export before the first
    repetition and after each one. Every figure is the median of its samples (all of them are in
    the results), the ratios medians over the baseline's median."""
    # module imports are outside the timers on both sides: the baseline's child imports pandas before
    # its timer starts, so the libraries the ingestion loads on first use are imported here (pyarrow,
    # and pandas, which pyarrow imports at its first conversion of a Python value: 0.6 s of CPU)
    import statistics

    import pandas  # noqa: F401
    import pyarrow.compute  # noqa: F401
    import pyarrow.csv  # noqa: F401

    from stockpile.reconcile.db.store import Database
    from stockpile.reconcile.service import RunConfig, reconcile

    base_s, loads = [_pandas_baseline(csv_path)], [round(os.getloadavg()[0], 2)]
    samples: dict[str, list[float]] = {"ingest": [], "merkle": [], "reconcile": [], "end_to_end": []}
    peaks: list[float] = []
    start_rss: list[float] = []
    for r in range(REPEATS):
        start_rss.append(round(PeakRss.now_mib(), 1))
        with PeakRss() as rss:
            db = Database(new_db(r))
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
        peaks.append(round(rss.peak, 1))
        for k, v in (("ingest", ingest_s), ("merkle", merkle_s), ("reconcile", run_s),
                     ("end_to_end", ingest_s + merkle_s + run_s)):
            samples[k].append(round(v, 4))
        base_s.append(_pandas_baseline(csv_path))
        loads.append(round(os.getloadavg()[0], 2))
    pandas_s = statistics.median(base_s)
    med = {k: statistics.median(v) for k, v in samples.items()}
    m(f"{backend}.pandas_read_csv_seconds", pandas_s, "s", samples=[round(x, 4) for x in base_s],
      load_average_1min=loads,
      note=f"median of {len(base_s)} reads: one before the first repetition of the stages and one after each")
    tm = report["timings"]
    base = {"baseline": "pandas.read_csv (same file, strings, no validation)", "baseline_value": round(pandas_s, 4)}
    rep = f"median of {REPEATS} repetitions, each into a new database"
    m(f"{backend}.ingest_seconds", med["ingest"], "s", **base, target_ratio=TARGETS["ingest"],
      samples=samples["ingest"], note=rep)
    m(f"{backend}.ingest_rows_per_second", round(LOTS / med["ingest"]), "rows/s")
    m(f"{backend}.merkle_seconds", med["merkle"], "s", **base, target_ratio=TARGETS["merkle"],
      samples=samples["merkle"], note=rep)
    m(f"{backend}.merkle_leaves_per_second", round(LOTS / med["merkle"]), "leaves/s")
    m(f"{backend}.reconcile_seconds", med["reconcile"], "s", **base, samples=samples["reconcile"],
      note="the whole reconcile call: chain sync and state, classification, reports; " + rep)
    m(f"{backend}.chain_sync_seconds", tm["chain_sync"] + tm["chain_state"], "s", note="the last repetition")
    m(f"{backend}.classify_seconds", tm["classify"], "s",
      note="the last repetition; a clean run reuses the merkle stage's roots of the same custody view and reads no lot row")
    m(f"{backend}.report_seconds", tm["report"], "s", note="the last repetition")
    m(f"{backend}.end_to_end_seconds", med["end_to_end"], "s", **base, target_ratio=TARGETS["end_to_end"],
      samples=samples["end_to_end"], note=rep + "; each repetition's ingest + merkle + reconcile")
    m(f"{backend}.peak_rss", max(peaks), "MiB", target=RSS_TARGET_MIB, samples=peaks, rss_at_start=start_rss,
      note="the highest of the repetitions (samples: each one's peak; rss_at_start: the process before each)")
    m(f"{backend}.load_average_1min_at_end", round(os.getloadavg()[0], 2), "load",
      note=f"{os.cpu_count()} cores; other jobs' load changes the ratios")
    m(f"{backend}.breaks_found_clean_run", len(report["breaks"]), "breaks")


def _new_sqlite(tmp: Path, r: int) -> Path:
    """A new SQLite database file for repetition r (the previous repetition's files removed)."""
    for old in tmp.glob("reconcile-*.db*"):
        old.unlink()
    return tmp / f"reconcile-{r}.db"


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
                _backend_run("sqlite", lambda r: _new_sqlite(tmp, r), csv_path, tmp, w3, stacks, attest, m)
            elif backend == "postgres":
                try:
                    pg = _Postgres().__enter__()
                except Exception as exc:  # no server binaries: say so in the results
                    m("postgres.skipped", 1, "flag", reason=f"{type(exc).__name__}: {exc}")
                    continue
                try:
                    _backend_run("postgres", pg.new_database, csv_path, tmp, w3, stacks, attest, m)
                finally:
                    pg.__exit__(None, None, None)
    m("process_peak_rss", round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), "MiB")
    shutil.rmtree(tmp, ignore_errors=True)
    return metrics


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
