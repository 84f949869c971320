"""Who signed an attestation: the EIP-712 signatures of the ``attest`` call that created the round,
recovered with the reserve module's own digest (``stockpile.reserve.signing``)."""

from __future__ import annotations

import json
import re

from sqlalchemy import text


def attestation_signers(reader, product: str, round_id: int) -> dict:
    """``{"signers": [address, ...], "tx": hash, "block": n}`` for the round's ``ReserveAttested``
    event (already synced), or ``{"signers": None, "why": ...}`` when they cannot be named (the
    event is not synced, or the attestation came through a contract such as a Safe)."""
    from stockpile.reserve.models import Attestation
    from stockpile.reserve.signing import recover_signer
    from stockpile.signatures import bytes_from_compact

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
        tx = reader.w3.eth.get_transaction(tx_hash)
        attestor = reader.attestor(product)
        fn, params = attestor.decode_function_input(tx["input"])
        if fn.fn_name != "attest":
            raise ValueError(f"the transaction calls {fn.fn_name}, not attest")
        values = list(params.values())
        struct = values[0]
        if isinstance(struct, dict):  # named struct: field names as in Solidity (camelCase)
            att = Attestation.model_validate({re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): v for k, v in struct.items()})
        else:
            att = Attestation.from_chain(struct)
        # attest(attestation, signedConfigDigest, deadline, signatures): compact (r, vs) signatures
        out["signers"] = [recover_signer(reader.chain_id, attestor.address, att, params["signedConfigDigest"],
                                         params["deadline"], bytes_from_compact(sig["r"], sig["vs"]))
                          for sig in params["signatures"]]
    except Exception as exc:  # not a direct attest call (multisig, relayer contract): say so
        out.update({"signers": None, "why": f"signatures not readable from {tx_hash}: {type(exc).__name__}: {exc}"})
    return out
