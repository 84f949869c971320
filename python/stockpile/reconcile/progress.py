"""Progress bars (rich on stderr, as the deploy engine's) for ingestion, tree building and chain sync."""

from __future__ import annotations

import gc
import sys
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass

    def set_postfix_str(self, s: str) -> None:
        pass


class _Bar:
    """One rich task, with the small interface the reconciliation uses (update, postfix, close)."""

    def __init__(self, desc: str, total: int | None, unit: str):
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit.strip()),
            TimeElapsedColumn(), TextColumn("{task.fields[postfix]}"),
            console=Console(file=sys.stderr), refresh_per_second=2, transient=False)
        self._task = self._progress.add_task(desc, total=total, postfix="")
        self._progress.start()

    def update(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def set_postfix_str(self, s: str) -> None:
        self._progress.update(self._task, postfix=s)

    def close(self) -> None:
        self._progress.stop()


def progress(desc: str, total: int | None = None, unit: str = "it", enabled: bool = True) -> _Bar | _NoBar:
    """A progress bar on stderr, or a no-op when disabled (tests, --quiet)."""
    if not enabled:
        return _NoBar()
    return _Bar(desc, total, unit)


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
