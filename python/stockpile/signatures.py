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


def bytes_from_compact(r: bytes | int, vs: bytes | int) -> bytes:
    """The 65-byte ``r || s || v`` form of a compact signature (what eth-account recovers from);
    the inverse of :func:`compact_from_bytes`."""
    r_int = r if isinstance(r, int) else int.from_bytes(bytes(r), "big")
    vs_int = vs if isinstance(vs, int) else int.from_bytes(bytes(vs), "big")
    s = vs_int & ((1 << 255) - 1)
    if s > SECP256K1_N // 2:
        raise ValueError("high-s signature")
    return r_int.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([27 + (vs_int >> 255)])


def signature_bytes(signature) -> bytes:
    """A signature as 65 bytes ``r || s || v``, given as those bytes, as a compact ``(r, vs)`` pair
    or as a mapping with ``r`` and ``vs`` (how web3 decodes an ``IQuorumSignatures.Signature``)."""
    if isinstance(signature, dict) or hasattr(signature, "keys"):
        return bytes_from_compact(signature["r"], signature["vs"])
    if isinstance(signature, (tuple, list)):
        if len(signature) != 2:
            raise ValueError(f"expected a compact (r, vs) pair, got {len(signature)} items")
        return bytes_from_compact(*signature)
    sig = bytes(signature)
    if len(sig) != 65:
        raise ValueError(f"expected a 65-byte signature, got {len(sig)} bytes")
    return sig
