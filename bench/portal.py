"""The transparency portal with 1,000,000 attested lots: latency of the lot search page and of the
lot proof API, next to a static file served by the same server in the same run.

Set-up (timed, not part of the latency figures): 1,000,000 lots of one product from the generator
(all in stock), ingested into SQLite; a CommodityToken + ReserveAttestor on anvil attesting exactly
that list; `stockpile portal serve` started on it (the time until it answers includes finding the
attested list and building the portal's lot index). Then, for each of three request kinds, a
bounded loop on loopback: REQUESTS requests, CONCURRENCY in flight (httpx, asyncio):

- static: GET /static/portal.css (the baseline: the same server, no database);
- search: GET /products/SYM/lots with a random mix of a page of the whole list, a lot id prefix,
  a warehouse filter and a warehouse + form filter, at random pages (server-rendered HTML, 50 lots);
- proof: GET /api/products/SYM/lots/{lot_id}/proof?warehouse=W for random lots (JSON).

Targets: p95 <= 200 ms search, <= 50 ms proof. ``PORTAL_BENCH_LOTS`` / ``PORTAL_BENCH_REQUESTS``
override the sizes (for a quick look).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOTS = int(os.environ.get("PORTAL_BENCH_LOTS", "1000000"))
REQUESTS = int(os.environ.get("PORTAL_BENCH_REQUESTS", "2000"))
CONCURRENCY = 8
PRODUCT = "NDPR-OXIDE"
TIMEOUT = 30.0  # seconds per request; the loop is bounded by REQUESTS


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


async def _loop(base: str, paths: list[str]) -> tuple[list[float], float, int]:
    import httpx

    latencies: list[float] = []
    errors = 0
    queue = iter(paths)

    async def worker(client):
        nonlocal errors
        for path in queue:
            t = time.perf_counter()
            r = await client.get(path)
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                errors += 1

    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT, limits=limits) as client:
        await client.get(paths[0])  # connection warm-up
        t = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
        wall = time.perf_counter() - t
    return latencies, wall, errors


def run() -> list[dict]:
    import httpx
    from web3 import Web3

    from devkit import devchain
    from stockpile.reconcile.custody.generator import generate
    from stockpile.reconcile.db.store import Database
    from devkit.reconcile_demo import DEV_KEYS, iso, reserve_of
    from stockpile.toolchain import Anvil
    from stockpile.toolchain.anvil import free_port

    tmp = Path(tempfile.mkdtemp(prefix="stockpile-bench-portal-"))
    metrics: list[dict] = []

    def m(metric, value, unit, **kw):
        metrics.append({"metric": metric, "value": round(value, 4) if isinstance(value, float) else value, "unit": unit,
                        **kw})

    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        as_of = w3.eth.get_block("latest")["timestamp"] - 120
        t = time.perf_counter()
        g = generate(LOTS, seed=2027, products=(PRODUCT,), as_of=iso(as_of), status_mix=False)
        csv_path = g.write_csv(tmp / "custody.csv")
        sample = [(r[1], r[0], r[3]) for r in random.Random(1).sample(g.rows, min(5000, len(g.rows)))]  # lot, wh, form
        del g
        db = Database(tmp / "custody.db")
        res = db.ingest(csv_path)
        assert res.accepted == LOTS, res
        root, total, count = reserve_of(db, PRODUCT, as_of)
        db.dispose()
        stack = devchain.deploy_product(w3, DEV_KEYS[0], DEV_KEYS[1:4], PRODUCT)
        devchain.attest(w3, stack, root, total, count, as_of)
        devchain.mint(w3, stack, w3.eth.account.from_key(DEV_KEYS[0]).address, total // 2, "bench")
        m("setup_seconds", time.perf_counter() - t, "s", note="generate, ingest, root, deploy, attest, mint")
        m("lots", count, "lots")

        products = tmp / "products.yaml"
        products.write_text(f"rpc_url: {node.url}\nproducts:\n  {PRODUCT}:\n    token: '{stack.token.address}'\n"
                            f"    attestor: '{stack.attestor.address}'\n")
        port = free_port()
        with open(tmp / "portal.log", "wb") as log:  # the child keeps its own copy of the descriptor
            t = time.perf_counter()
            proc = subprocess.Popen([str(Path(sys.executable).parent / "stockpile"), "portal", "serve", "--products",
                                     str(products), "--db", str(tmp / "custody.db"), "--port", str(port), "--refresh", "0"],
                                    stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError((tmp / "portal.log").read_text())
                try:
                    if httpx.get(base + "/api/status", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            m("portal_start_seconds", time.perf_counter() - t, "s",
              note="until it answers: attested list found in the custody DB, lot index built")
            symbol = httpx.get(base + "/api/status").json()["products"][0]
            facets = httpx.get(base + f"/api/products/{symbol}/lots?page_size=1").json()["facets"]
            pages = LOTS // 50
            rnd = random.Random(7)
            search = []
            for i in range(REQUESTS):
                lot, wh, form = sample[i % len(sample)]
                kind = i % 4
                if kind == 0:  # a random page of the whole list
                    search.append(f"/products/{symbol}/lots?page={rnd.randrange(1, pages + 1)}")
                elif kind == 1:  # a lot id prefix (a few characters shorter than the id: many matches)
                    search.append(f"/products/{symbol}/lots?q={lot[:rnd.randrange(3, len(lot) + 1)]}")
                elif kind == 2:  # a warehouse, a random page of it
                    n = facets["warehouses"][wh] // 50
                    search.append(f"/products/{symbol}/lots?warehouse={wh}&page={rnd.randrange(1, max(1, n) + 1)}")
                else:  # warehouse + form
                    search.append(f"/products/{symbol}/lots?warehouse={wh}&form={form}&page=1")
            proofs = [f"/api/products/{symbol}/lots/{lot}/proof?warehouse={wh}"
                      for lot, wh, _f in (sample[rnd.randrange(len(sample))] for _ in range(REQUESTS))]
            static = ["/static/portal.css"] * REQUESTS
            results = {}
            for name, paths in (("static", static), ("search", search), ("proof", proofs), ("static_after", static)):
                lat, wall, errors = asyncio.run(_loop(base, paths))
                assert errors == 0, f"{name}: {errors} non-200 answers"
                results[name] = (lat, wall)
            base_p50 = _pct(results["static"][0], 0.5)
            base_p95 = _pct(results["static"][0], 0.95)
            for name, target in (("static", None), ("search", 0.200), ("proof", 0.050), ("static_after", None)):
                lat, wall = results[name]
                p50, p95 = _pct(lat, 0.5), _pct(lat, 0.95)
                extra = {} if name.startswith("static") else {"baseline": "static file, same server, same run"}
                m(f"{name}_p50_ms", p50 * 1000, "ms",
                  **({**extra, "baseline_value": round(base_p50 * 1000, 4)} if extra else {}))
                m(f"{name}_p95_ms", p95 * 1000, "ms",
                  **({**extra, "baseline_value": round(base_p95 * 1000, 4)} if extra else {}),
                  **({"target": target * 1000, "met": p95 <= target} if target else {}))
                m(f"{name}_p99_ms", _pct(lat, 0.99) * 1000, "ms")
                m(f"{name}_mean_ms", statistics.fmean(lat) * 1000, "ms")
                m(f"{name}_requests_per_second", round(len(lat) / wall, 1), "req/s")
            m("requests_per_kind", REQUESTS, "requests", concurrency=CONCURRENCY)
            hwm = next(int(line.split()[1]) for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                       if line.startswith("VmHWM:"))
            m("portal_peak_rss", round(hwm / 1024, 1), "MiB", note="the server process, index build included")
            m("index_file_size", round((tmp / "custody.db.portal-index.sqlite").stat().st_size / 2**20, 1), "MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    for f in tmp.glob("*"):
        if f.is_file():
            f.unlink()
    return metrics


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
