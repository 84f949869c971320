"""Two cores for the hashing of a million lots: half of a range is computed in a forked child.

The work is pure keccak over bytes already in memory (leaves, pair hashes), so a fork shares it
copy-on-write and sends back only 32-byte digests through a pipe; nothing is pickled. On one
core, without ``fork``, or for small ranges, everything runs in this process.
"""

from __future__ import annotations

import contextlib
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


class LeafHasher:
    """A child forked once (while this process is still small) that hashes half of every large
    batch of leaf encodings sent to it through a pipe; ``hash_rows`` hashes the other half here.
    Used as a context manager around an ingestion; without fork or a second core it hashes
    everything in this process."""

    def __init__(self) -> None:
        self.pid = 0
        self._to = self._from = -1

    def __enter__(self) -> LeafHasher:
        if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
            return self
        a_r, a_w = os.pipe()
        b_r, b_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(a_w)
                os.close(b_r)
                _serve(a_r, b_w)
            except BaseException:  # noqa: BLE001 - the parent sees a short answer and raises
                code = 1
            finally:
                os._exit(code)
        os.close(a_r)
        os.close(b_w)
        self.pid, self._to, self._from = pid, a_w, b_r
        return self

    def __exit__(self, *exc) -> None:
        if self.pid:
            with contextlib.suppress(OSError):
                os.write(self._to, bytes(16))  # n = 0: stop
            os.close(self._to)
            os.close(self._from)
            os.waitpid(self.pid, 0)
            self.pid = 0

    def hash_rows(self, buf: bytes | memoryview, size: int) -> list[bytes]:
        """keccak256(keccak256(row)) of each ``size``-byte row of ``buf``."""
        mv = memoryview(buf).cast("B") if not isinstance(buf, bytes) else memoryview(buf)
        n = len(mv) // size
        if not self.pid or n < MIN_SPLIT:
            return _double(mv, size, 0, n)
        mid = n // 2
        _write_all(self._to, (n - mid).to_bytes(8, "big") + size.to_bytes(8, "big"))
        _write_all(self._to, mv[mid * size:n * size])
        first = _double(mv, size, 0, mid)
        rest = _read_exact(self._from, 32 * (n - mid))
        first.extend([rest[i:i + 32] for i in range(0, len(rest), 32)])
        return first


def _double(mv: memoryview, size: int, lo: int, hi: int) -> list[bytes]:
    from sha3 import keccak_256 as k

    return [k(k(mv[i * size:(i + 1) * size]).digest()).digest() for i in range(lo, hi)]


def _serve(r: int, w: int) -> None:
    while True:
        head = _read_exact(r, 16)
        n, size = int.from_bytes(head[:8], "big"), int.from_bytes(head[8:], "big")
        if n == 0:
            return
        data = memoryview(_read_exact(r, n * size))
        _write_all(w, b"".join(_double(data, size, 0, n)))


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
