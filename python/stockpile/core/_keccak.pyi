"""Types of the compiled ``stockpile.core._keccak`` (python/stockpile/core/_keccak.c)."""

from typing_extensions import Buffer

PATHS: tuple[str, ...]  # what this CPU has, best first: "avx512f", "avx2", "scalar"

def rows(data: Buffer, size: int, twice: bool = False, path: str | None = None) -> bytes: ...
def pairs(data: Buffer, path: str | None = None) -> bytes: ...
