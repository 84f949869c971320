"""keccak256, the package's one import of it: safe-pysha3 when installed (the fastest here; ape
brings it), else pycryptodome (a dependency of eth-hash, so of web3).

For many equal-size rows at once (the leaves and pair hashes of a large Merkle tree),
:func:`keccak_rows` and :func:`keccak_pairs` hash a whole buffer in one call: in the compiled
``stockpile.core._keccak`` (built at install by setup.py: eight rows side by side with AVX-512 where
the CPU has it, four with AVX2, else one at a time; with AVX-512 ~1/10 of the CPU-seconds per
OpenZeppelin leaf of one hash object per row, and without the GIL), else row by row here, with the
same bytes. :data:`ACCELERATED` says which.
"""

from __future__ import annotations

from typing import Any

try:
    from sha3 import keccak_256
except ImportError:  # pragma: no cover - the base install without ape
    from Crypto.Hash import keccak as _crypto_keccak

    def keccak_256(data: bytes = b"") -> Any:  # type: ignore[misc]  # same interface: update(), digest()
        return _crypto_keccak.new(data=data, digest_bits=256)

try:
    from stockpile.core import _keccak
except ImportError:  # pragma: no cover - installed where no C compiler was found
    _keccak = None  # type: ignore[assignment]

Buffer = bytes | bytearray | memoryview

# "avx512f" (eight rows side by side), "avx2" (four), "scalar" (compiled, a row at a time), or ""
# (not compiled: row by row in Python)
ACCELERATED: str = _keccak.PATHS[0] if _keccak is not None else ""


def keccak(data: bytes) -> bytes:
    """keccak256 of ``data`` (``keccak_256`` is the streaming object: ``update()``, ``digest()``)."""
    return keccak_256(data).digest()


def keccak_rows(data: Buffer, size: int, twice: bool = False, compiled: bool = True) -> bytes:
    """keccak256 of each ``size``-byte row of ``data``, 32 bytes per row in row order; ``twice``:
    keccak256 of each row's digest (an OpenZeppelin StandardMerkleTree leaf of an encoded row).
    ``compiled=False``: row by row in Python (what runs where the extension was not built)."""
    view = memoryview(data).cast("B")  # a C-contiguous buffer of any shape, as its bytes
    if size <= 0 or len(view) % size:
        raise ValueError(f"data of {len(view)} bytes is not a whole number of {size}-byte rows")
    if compiled and _keccak is not None:
        return _keccak.rows(view, size, twice)
    k = keccak_256
    if twice:
        return b"".join([k(k(view[i:i + size]).digest()).digest() for i in range(0, len(view), size)])
    return b"".join([k(view[i:i + size]).digest() for i in range(0, len(view), size)])


def keccak_pairs(data: Buffer, compiled: bool = True) -> bytes:
    """keccak256(min(a, b) || max(a, b)) of each consecutive pair of 32-byte nodes in ``data`` (the
    commutative pair hash of an OpenZeppelin Merkle tree), 32 bytes per pair."""
    view = memoryview(data).cast("B")
    if len(view) % 64:
        raise ValueError(f"data of {len(view)} bytes is not a whole number of 32-byte node pairs")
    if compiled and _keccak is not None:
        return _keccak.pairs(view)
    b = bytes(view)
    k = keccak_256
    out = []
    for i in range(0, len(b), 64):
        x, y = b[i:i + 32], b[i + 32:i + 64]
        out.append(k(x + y).digest() if x <= y else k(y + x).digest())
    return b"".join(out)


__all__ = ["ACCELERATED", "keccak", "keccak_pairs", "keccak_rows", "keccak_256"]
