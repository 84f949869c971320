"""Two cores for the hashing of a million lots: half of a range is computed in a forked child.

The work is pure keccak over bytes already in memory (leaves, pair hashes), so a fork shares it
copy-on-write and sends back only 32-byte digests through a pipe; nothing is pickled. On one
core, without ``fork``, or for small ranges, everything runs in this process.
"""

from __future__ import annotations

import os
from collections.abc import Callable

MIN_SPLIT = 50_000  # below this, a fork costs more than it saves


def digests_in_two(fn: Callable[[int, int], list[bytes]], lo: int, hi: int) -> list[bytes]:
    """``fn(lo, hi)`` (a list of 32-byte digests, one per index), the upper half computed by a
    forked child when that pays."""
    if hi - lo < MIN_SPLIT or (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        return fn(lo, hi)
    mid = (lo + hi) // 2
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the upper half, back through the pipe, then gone without any clean-up
        code = 0
        try:
            os.close(r)
            view = memoryview(b"".join(fn(mid, hi)))
            while view:
                view = view[os.write(w, view):]
        except BaseException:  # noqa: BLE001 - the parent sees a short answer and raises
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    try:
        first = fn(lo, mid)
        chunks = []
        while chunk := os.read(r, 1 << 20):
            chunks.append(chunk)
    finally:
        os.close(r)
        _, status = os.waitpid(pid, 0)
    rest = b"".join(chunks)
    if status != 0 or len(rest) != 32 * (hi - mid):
        raise RuntimeError("hashing in the child process failed")
    first.extend([rest[i:i + 32] for i in range(0, len(rest), 32)])
    return first
