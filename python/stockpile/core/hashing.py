"""keccak256, the package's one import of it: safe-pysha3 when installed (the fastest here; ape
brings it), else pycryptodome (a dependency of eth-hash, so of web3)."""

from __future__ import annotations

from typing import Any

try:
    from sha3 import keccak_256
except ImportError:  # pragma: no cover - the base install without ape
    from Crypto.Hash import keccak as _crypto_keccak

    def keccak_256(data: bytes = b"") -> Any:  # type: ignore[misc]  # same interface: update(), digest()
        return _crypto_keccak.new(data=data, digest_bits=256)


def keccak(data: bytes) -> bytes:
    """keccak256 of ``data`` (``keccak_256`` is the streaming object: ``update()``, ``digest()``)."""
    return keccak_256(data).digest()


__all__ = ["keccak", "keccak_256"]
