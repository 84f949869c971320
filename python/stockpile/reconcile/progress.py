"""Progress bars (tqdm on stderr) for ingestion, tree building and chain sync."""

from __future__ import annotations

import gc
import sys
from contextlib import contextmanager

from tqdm import tqdm


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass


def progress(desc: str, total: int | None = None, unit: str = "it", enabled: bool = True):
    """A tqdm bar, or a no-op when disabled (tests, --quiet)."""
    if not enabled:
        return _NoBar()
    return tqdm(desc=desc, total=total, unit=unit, unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                mininterval=0.5)


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector during bulk work that allocates millions of tuples and
    frees none of them in cycles (ingestion, views, classification): the collector's repeated
    passes over the growing heap otherwise cost ~20 % of the time. Restored afterwards."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
