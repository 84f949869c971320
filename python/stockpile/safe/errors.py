"""Errors of the Safe workflow: each names what is wrong in one line."""

from __future__ import annotations

from stockpile.errors import StockpileError


class SafeError(StockpileError):
    """A Safe proposal that cannot be signed or executed as it stands."""


class ProposalFileError(SafeError):
    """A proposal file that is malformed, altered, or meant for another chain, Safe or nonce."""


class BelowThreshold(SafeError):
    def __init__(self, have: int, threshold: int, safe: str):
        self.have, self.threshold = have, threshold
        super().__init__(f"below threshold: {have} owner signature(s) of the {threshold} that Safe {safe} needs")


class NotAnOwner(SafeError):
    def __init__(self, address: str, safe: str):
        self.address = address
        super().__init__(f"{address} is not an owner of Safe {safe}")


# The Safe contracts revert with short codes (safe-contracts docs/error_codes.md).
GS_CODES = {
    "GS000": "could not finish initialization",
    "GS001": "threshold needs to be defined",
    "GS010": "not enough gas to execute the Safe transaction",
    "GS011": "could not pay gas costs with ether",
    "GS012": "could not pay gas costs with token",
    "GS013": "the Safe transaction's call failed (safeTxGas and gasPrice are 0)",
    "GS020": "signatures data too short (fewer signatures than the threshold)",
    "GS021": "invalid contract signature location: inside static part",
    "GS022": "invalid contract signature location: length not present",
    "GS023": "invalid contract signature location: data not complete",
    "GS024": "invalid contract signature provided",
    "GS025": "hash has not been approved",
    "GS026": "invalid owner provided (a signer is not an owner, or signatures are not sorted by owner)",
    "GS030": "only owners can approve a hash",
    "GS031": "method can only be called from this contract",
}


def explain_gs(text: str) -> str | None:
    """``GS0xx: meaning`` for the first Safe error code in ``text``."""
    for code, meaning in GS_CODES.items():
        if code in text:
            return f"{code}: {meaning}"
    return None
