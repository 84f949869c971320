"""Types of the compiled ``stockpile.core._keccak`` (python/stockpile/core/_keccak.c)."""

from typing_extensions import Buffer

SIMD: str

def rows(data: Buffer, size: int, twice: bool = False, simd: bool = True) -> bytes: ...
def pairs(data: Buffer, simd: bool = True) -> bytes: ...
