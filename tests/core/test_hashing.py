"""keccak256 over many rows at once (stockpile.core.hashing.keccak_rows / keccak_pairs): the
compiled extension (eight rows side by side with AVX-512, or a row at a time) and the row-by-row
Python path give safe-pysha3's bytes for every row size around keccak's 136-byte block and every
row count around the eight-row batch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sha3 import keccak_256

from stockpile.core import hashing

SIZES = (1, 31, 32, 63, 64, 96, 135, 136, 137, 271, 272, 273, 416, 544, 1000)
COUNTS = (0, 1, 7, 8, 9, 16, 17, 33)


def _one(data: bytes) -> bytes:
    return keccak_256(data).digest()


def _paths():
    """(name, fn(data, size, twice)) for every path this machine has."""
    from stockpile.core import _keccak

    yield "python", lambda d, s, t: hashing.keccak_rows(d, s, t, compiled=False)
    yield "compiled", hashing.keccak_rows
    for path in _keccak.PATHS:
        yield path, lambda d, s, t, p=path: _keccak.rows(d, s, t, path=p)


def test_the_development_install_has_the_compiled_extension():
    """`make setup` builds stockpile.core._keccak (setup.py): a silent fallback to the row-by-row
    path would make every large Merkle tree ~5x slower without any test noticing."""
    from stockpile.core import _keccak

    assert hashing._keccak is _keccak
    assert _keccak.PATHS[0] == hashing.ACCELERATED and _keccak.PATHS[-1] == "scalar"
    assert set(_keccak.PATHS) <= {"avx512f", "avx2", "scalar"}
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    if flags:  # what the CPU says it has is what the module offers
        assert ("avx512f" in _keccak.PATHS) == ("avx512f" in flags)
        assert ("avx2" in _keccak.PATHS) == ("avx2" in flags)


@pytest.mark.parametrize("size", SIZES)
def test_rows_are_keccak256_of_each_row_and_twice_of_its_digest(size):
    for n in COUNTS:
        data = os.urandom(size * n)
        rows = [data[i * size:(i + 1) * size] for i in range(n)]
        want = b"".join(_one(r) for r in rows)
        want_twice = b"".join(_one(_one(r)) for r in rows)
        for name, fn in _paths():
            assert fn(data, size, False) == want, (name, size, n)
            assert fn(data, size, True) == want_twice, (name, size, n)


def test_rows_take_any_contiguous_buffer_and_known_vectors():
    import numpy as np

    assert hashing.keccak_rows(b"", 5) == b""
    # keccak256("") and keccak256("abc"), as Ethereum defines them (not SHA3-256)
    assert hashing.keccak_rows(b"abc", 3).hex() == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    m = np.frombuffer(os.urandom(9 * 200), dtype=np.uint8).reshape(9, 200)
    want = b"".join(_one(m[i].tobytes()) for i in range(9))
    assert hashing.keccak_rows(m.data, 200) == want == hashing.keccak_rows(bytearray(m.tobytes()), 200)


def test_pairs_hash_each_pair_in_ascending_order():
    from stockpile.core import _keccak

    for n in COUNTS:
        data = bytearray(os.urandom(64 * n))
        if n > 2:
            data[64:96] = data[96:128]  # a pair of equal nodes
            data[128:160] = data[160:192][:31] + b"\x00"  # nodes equal but for the last byte
        want = []
        for i in range(n):
            a, b = bytes(data[64 * i:64 * i + 32]), bytes(data[64 * i + 32:64 * i + 64])
            want.append(_one(min(a, b) + max(a, b)))
        expected = b"".join(want)
        assert hashing.keccak_pairs(data) == expected, n
        assert hashing.keccak_pairs(data, compiled=False) == expected, n
        for path in _keccak.PATHS:
            assert _keccak.pairs(data, path=path) == expected, (n, path)


@pytest.mark.parametrize("call, message", [
    (lambda: hashing.keccak_rows(b"x" * 10, 3), "data of 10 bytes is not a whole number of 3-byte rows"),
    (lambda: hashing.keccak_rows(b"x" * 10, 0), "data of 10 bytes is not a whole number of 0-byte rows"),
    (lambda: hashing.keccak_pairs(b"x" * 65), "data of 65 bytes is not a whole number of 32-byte node pairs"),
])
def test_a_buffer_that_is_not_whole_rows_is_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_the_compiled_functions_refuse_bad_arguments_themselves():
    from stockpile.core import _keccak

    with pytest.raises(ValueError, match="not a whole number of 3-byte rows"):
        _keccak.rows(b"x" * 10, 3)
    with pytest.raises(ValueError, match="not a whole number of -1-byte rows"):
        _keccak.rows(b"", -1)
    with pytest.raises(ValueError, match="not a whole number of 32-byte node pairs"):
        _keccak.pairs(b"x" * 63)
    with pytest.raises(TypeError):
        _keccak.rows("text", 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'sse9': not one of avx512f, avx2, scalar"):
        _keccak.rows(b"x" * 8, 4, path="sse9")
    with pytest.raises(TypeError, match="path must be a str or None"):
        _keccak.pairs(b"", path=1)  # type: ignore[arg-type]


def test_without_the_extension_the_same_roots_and_leaves_row_by_row():
    """Where the extension was not built, stockpile.core.hashing says so and hashes in Python: the
    Merkle root of the same leaves is the compiled path's."""
    import subprocess
    import sys

    from stockpile.merkle.tree import merkle_root

    leaves = [hashing.keccak(bytes([i % 256, i // 256])) for i in range(1000)]
    code = ("import sys; sys.modules['stockpile.core._keccak'] = None\n"
            "from stockpile.core import hashing\nfrom stockpile.merkle.tree import merkle_root\n"
            "leaves = [hashing.keccak(bytes([i % 256, i // 256])) for i in range(1000)]\n"
            "print(repr(hashing.ACCELERATED), merkle_root(leaves).hex(), hashing.keccak_rows(b'abc' * 2, 3, twice=True).hex())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    accelerated, root, rows = out.stdout.split()
    assert accelerated == "''"
    assert root == merkle_root(leaves).hex()
    assert rows == hashing.keccak_rows(b"abc" * 2, 3, twice=True).hex()
