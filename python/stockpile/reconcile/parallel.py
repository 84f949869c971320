"""The leaves of an ingestion, chunk by chunk, computed in forked children ahead of the process
that writes the rows (:class:`ChunkWorkers`).

The work (encoding a chunk's rows from the columns of an export and hashing them) reads data
already in memory, so a fork shares it copy-on-write and only 32-byte digests come back, through
shared memory; nothing is pickled. On one core, without ``fork``, or for small exports, everything
runs in this process.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import signal
from collections.abc import Callable

MIN_SPLIT = 50_000  # below this, a fork costs more than it saves


class ChunkWorkers:
    """Forked children that compute ``fn(i)`` (``sizes[i]`` 32-byte digests, concatenated) for the
    chunks i = 0, 1, ... ahead of this process, chunk i in child ``i % workers``, into one shared
    memory block; ``get(i)`` waits for chunk i. The children are forked once the data ``fn`` reads
    exists, so they read it copy-on-write and nothing is pickled; this process meanwhile does its
    own work (building rows, writing them). Without fork or a second core, ``get`` computes in this
    process. Used as a context manager; a child that fails makes ``get`` raise."""

    def __init__(self, fn: Callable[[int], bytes], sizes: list[int], workers: int = 2) -> None:
        self.fn, self.sizes = fn, list(sizes)
        self.offsets = [0]
        for n in self.sizes:
            self.offsets.append(self.offsets[-1] + 32 * n)
        self.workers = max(0, min(workers, len(self.sizes))) if (os.cpu_count() or 1) > 1 and hasattr(os, "fork") else 0
        self._pids: list[int] = []
        self._pipes: list[int] = []
        self._mem: mmap.mmap | None = None

    def __enter__(self) -> ChunkWorkers:
        if not self.workers or sum(self.sizes) < MIN_SPLIT:
            self.workers = 0
            return self
        self._mem = mmap.mmap(-1, max(1, self.offsets[-1]))  # anonymous and shared with the children
        for w in range(self.workers):
            r, wr = os.pipe()
            pid = os.fork()
            if pid == 0:  # child: its chunks, in order, each announced when written
                code = 0
                try:
                    os.close(r)
                    for i in range(w, len(self.sizes), self.workers):
                        block = self.fn(i)
                        if len(block) != self.offsets[i + 1] - self.offsets[i]:
                            raise RuntimeError("wrong digest count")
                        self._mem[self.offsets[i]:self.offsets[i + 1]] = block
                        _write_all(wr, i.to_bytes(8, "big"))
                except BaseException:  # noqa: BLE001 - the parent sees the pipe close early and raises
                    code = 1
                finally:
                    os._exit(code)
            os.close(wr)
            self._pids.append(pid)
            self._pipes.append(r)
        return self

    def get(self, i: int) -> bytes:
        """The digests of chunk i (call for i = 0, 1, ... in order)."""
        if not self.workers:
            return self.fn(i)
        w = i % self.workers
        try:
            got = int.from_bytes(_read_exact(self._pipes[w], 8), "big")
        except RuntimeError:
            raise RuntimeError(f"the hashing child process stopped before chunk {i}") from None
        if got != i:
            raise RuntimeError(f"hashing child process sent chunk {got}, expected {i}")
        assert self._mem is not None
        return self._mem[self.offsets[i]:self.offsets[i + 1]]

    def __exit__(self, *exc) -> None:
        for fd in self._pipes:
            os.close(fd)
        for pid in self._pids:  # ours: stop a child still hashing (this process failed) and reap it
            with contextlib.suppress(ProcessLookupError):
                if exc[0] is not None:
                    os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        self._pids, self._pipes = [], []
        if self._mem is not None:
            self._mem.close()
            self._mem = None


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise RuntimeError("the hashing child process stopped")
        got += k
    return bytes(buf)
