"""keccak256 over many rows at once: CPU time per OpenZeppelin lot leaf (two keccaks of a 544-byte
ABI encoding, the layout of a typical custody lot) and per Merkle pair hash, for each path of
``stockpile.core.hashing`` against one safe-pysha3 object per row, measured in the same run.

Single-threaded (``time.thread_time``), so the figures do not depend on the other core's load;
each is the median of 5 passes over 100,000 rows.
"""

from __future__ import annotations

import os
import statistics
import time

from stockpile.core import hashing

ROWS = 100_000
LEAF = 544  # 7 head words + 5 strings of one 32-byte word each (length word + data)
PASSES = 5


def _per_row_us(fn, data: bytes, n: int) -> tuple[float, list[float]]:
    samples = []
    for _ in range(PASSES):
        t = time.thread_time()
        fn(data)
        samples.append((time.thread_time() - t) / n * 1e6)
    return round(statistics.median(samples), 4), [round(x, 4) for x in samples]


def run() -> list[dict]:
    from stockpile.core import _keccak

    leaves = os.urandom(LEAF * ROWS)
    pairs = os.urandom(64 * ROWS)
    # the baseline: stockpile.core.hashing's row-by-row Python path, one safe-pysha3 object per keccak
    python_leaves = lambda d: hashing.keccak_rows(d, LEAF, twice=True, compiled=False)  # noqa: E731
    python_pairs = lambda d: hashing.keccak_pairs(d, compiled=False)  # noqa: E731
    paths = {p: (lambda d, p=p: _keccak.rows(d, LEAF, True, path=p)) for p in _keccak.PATHS}
    want = python_leaves(leaves)
    for name, fn in paths.items():
        if fn(leaves) != want:
            raise AssertionError(f"the compiled {name} path differs from safe-pysha3")
    if hashing.keccak_pairs(pairs) != python_pairs(pairs):
        raise AssertionError("keccak_pairs differs from safe-pysha3")

    base, base_samples = _per_row_us(python_leaves, leaves, ROWS)
    out: list[dict] = [{"metric": "simd", "value": hashing.ACCELERATED or "none", "unit": "path",
                        "note": "what keccak_rows uses on this CPU (avx512f: eight rows side by side, avx2: four)"}]
    for name, fn in paths.items():
        value, samples = _per_row_us(fn, leaves, ROWS)
        out.append({"metric": f"leaf_compiled_{name}_us", "value": value, "unit": "us/leaf", "samples": samples,
                    "baseline": "one safe-pysha3 object per keccak (keccak_rows(..., compiled=False))",
                    "baseline_value": base, "baseline_samples": base_samples,
                    "note": f"two keccak256 of a {LEAF}-byte row, median of {PASSES} passes over {ROWS:,} rows, thread CPU time"})
    pair_base, pair_base_samples = _per_row_us(python_pairs, pairs, ROWS)
    value, samples = _per_row_us(hashing.keccak_pairs, pairs, ROWS)
    out.append({"metric": "pair_compiled_us", "value": value, "unit": "us/pair", "samples": samples,
                "baseline": "one safe-pysha3 object per pair (keccak_pairs(..., compiled=False))",
                "baseline_value": pair_base, "baseline_samples": pair_base_samples,
                "note": f"keccak256(min || max) of 32-byte nodes, median of {PASSES} passes over {ROWS:,} pairs"})
    return out
