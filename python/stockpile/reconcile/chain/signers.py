"""Who signed an attestation: the EIP-712 signatures of the ``attest`` call that created the round,
recovered by the reserve module (``stockpile.reserve.signing.attest_tx_signers``)."""

from __future__ import annotations

import json

from sqlalchemy import text
from web3.exceptions import Web3Exception


def attestation_signers(reader, product: str, round_id: int) -> dict:
    """``{"signers": [address, ...], "tx": hash, "block": n}`` for the round's ``ReserveAttested``
    event (already synced), or ``{"signers": None, "why": ...}`` when they cannot be named (the
    event is not synced, or the attestation came through a contract such as a Safe)."""
    from stockpile.reserve.signing import attest_tx_signers

    with reader.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT tx_hash, block_number, args FROM chain_events WHERE chain_id = :c AND "
                                 "product_code = :p AND event = 'ReserveAttested' ORDER BY block_number DESC"),
                            {"c": reader.chain_id, "p": product}).all()
    hit = next(((tx, bn) for tx, bn, a in rows if str(json.loads(a).get("roundId")) == str(round_id)), None)
    if hit is None:
        return {"signers": None, "why": f"ReserveAttested of round {round_id} not among the synced events"}
    tx_hash, block = hit
    out = {"tx": tx_hash, "block": int(block)}
    try:
        out["signers"] = attest_tx_signers(reader.w3, reader.chain_id, reader.attestor(product).address, tx_hash)
    except (ValueError, Web3Exception, OSError) as exc:  # not a direct attest call (multisig, relayer), node gone
        out.update({"signers": None, "why": f"signatures not readable from {tx_hash}: {type(exc).__name__}: {exc}"})
    return out
