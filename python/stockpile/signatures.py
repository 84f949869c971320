"""Compact (EIP-2098) signatures, the one format PriceFeed and ReserveAttestor accept
(``IQuorumSignatures.Signature``: ``r`` and ``vs = yParity << 255 | s``)."""

from __future__ import annotations

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def to_compact(v: int, r: int, s: int) -> tuple[bytes, bytes]:
    """EIP-2098 compact signature ``(r, yParity|s)``; refuses a high-s (malleable) signature."""
    if s > SECP256K1_N // 2:  # eth-account always returns low s; keep it explicit
        raise ValueError("high-s signature")
    parity = v - 27 if v >= 27 else v
    if parity not in (0, 1):
        raise ValueError(f"bad recovery id v={v}")
    return r.to_bytes(32, "big"), ((parity << 255) | s).to_bytes(32, "big")


def compact_from_bytes(signature: bytes) -> tuple[bytes, bytes]:
    """The compact form of a 65-byte ``r || s || v`` signature (what eth-account produces)."""
    sig = bytes(signature)
    if len(sig) != 65:
        raise ValueError(f"expected a 65-byte signature, got {len(sig)} bytes")
    return to_compact(sig[64], int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"))


def bytes_from_compact(r: bytes, vs: bytes) -> bytes:
    """The 65-byte ``r || s || v`` signature of a compact one (the inverse of :func:`compact_from_bytes`)."""
    word = int.from_bytes(vs, "big")
    return bytes(r) + (word & ((1 << 255) - 1)).to_bytes(32, "big") + bytes([27 + (word >> 255)])
