"""Progress bars (tqdm on stderr) for ingestion, tree building and chain sync."""

from __future__ import annotations

import sys

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
