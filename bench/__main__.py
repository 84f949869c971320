"""Run the benchmarks: `python -m bench [area ...]` (what `make bench` calls).

Each area is a module ``bench/<area>.py`` with ``run() -> list[dict]``; each dict is a metric
``{"metric", "value", "unit"}`` plus, where a baseline was measured in the same run,
``{"baseline", "baseline_value", "ratio"}``. Results go to ``bench/results/<area>.json``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
REQUIRED = {"metric", "value", "unit"}


def areas() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if not m.name.startswith("_"))


def with_ratio(metric: dict) -> dict:
    if metric.get("baseline_value") not in (None, 0) and "ratio" not in metric:
        metric["ratio"] = round(float(metric["value"]) / float(metric["baseline_value"]), 4)
    return metric


def run_area(name: str) -> Path:
    module = importlib.import_module(f"bench.{name}")
    started = time.time()
    metrics = [with_ratio(dict(m)) for m in module.run()]
    for m in metrics:
        missing = REQUIRED - m.keys()
        if missing:
            raise ValueError(f"bench {name}: metric {m} lacks {sorted(missing)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"bench {name}: {len(metrics)} metrics in {time.time() - started:.1f}s -> {out.relative_to(HERE.parent)}")
    return out


def main(argv: list[str]) -> int:
    wanted = argv or areas()
    unknown = set(wanted) - set(areas())
    if unknown:
        print(f"unknown bench areas: {sorted(unknown)}; known: {areas()}", file=sys.stderr)
        return 2
    if not wanted:
        print("no benchmarks yet")
    for name in wanted:
        run_area(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
