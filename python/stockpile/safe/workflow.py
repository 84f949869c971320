"""Propose, sign and execute against the chain: every check that needs the Safe's on-chain state.

- ``check_against_chain``: the node's chain id, the Safe at the address, the nonce not yet used;
- ``sign``: the signer must be an owner;
- ``execute``: owners' signatures up to the threshold (ascending owner order), the nonce the
  Safe is at, the inner call simulated from the Safe first so that a refused call is reported
  with its decoded error before anything is sent; then ``execTransaction``.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.logs import DISCARD
from web3.types import Wei

from stockpile.safe.calls import Call
from stockpile.safe.contracts import SafeInfo, canonical_multisend, checksum, safe_contract, safe_info
from stockpile.safe.errors import BelowThreshold, NotAnOwner, ProposalFileError, SafeError, explain_gs
from stockpile.safe.proposal import CALL, Proposal


def multisend_address(w3: Web3, given: str | None) -> str | None:
    """The MultiSendCallOnly to batch with: ``given``, else the canonical 1.4.1 one of this chain;
    checked to have code."""
    chain_id = w3.eth.chain_id
    address = given or canonical_multisend(chain_id)
    if address is None:
        return None
    address = checksum(address, "MultiSendCallOnly address")
    if not w3.eth.get_code(address):
        raise SafeError(f"no MultiSendCallOnly contract at {address} on chain {chain_id}: give --multisend")
    return address


def new_proposal(w3: Web3, safe: str, calls: list[Call], nonce: int | None = None, multisend: str | None = None,
                 description: str = "") -> Proposal:
    """A proposal for the Safe's next nonce (or ``nonce``), checked against the chain."""
    info = safe_info(w3, safe)
    if nonce is not None and nonce < info.nonce:
        raise SafeError(f"nonce {nonce} is already used: Safe {info.address} is at nonce {info.nonce}")
    ms = multisend_address(w3, multisend) if len(calls) > 1 else None
    if len(calls) > 1 and ms is None:
        raise SafeError(f"several calls need a MultiSendCallOnly on chain {w3.eth.chain_id}: give --multisend")
    return Proposal(info.address, w3.eth.chain_id, info.nonce if nonce is None else nonce, calls, ms, description)


def check_against_chain(w3: Web3, prop: Proposal, expected_safe: str | None = None) -> SafeInfo:
    """The proposal is for this chain and Safe, and its nonce is not used yet."""
    chain_id = w3.eth.chain_id
    if prop.chain_id != chain_id:
        raise ProposalFileError(f"this proposal is for chain id {prop.chain_id}, but the node answers chain id {chain_id}")
    if expected_safe and checksum(expected_safe, "--safe") != prop.safe:
        raise ProposalFileError(f"this proposal is for Safe {prop.safe}, not {checksum(expected_safe)}")
    info = safe_info(w3, prop.safe)
    if prop.nonce < info.nonce:
        raise ProposalFileError(f"nonce {prop.nonce} is already used (Safe {prop.safe} is at nonce {info.nonce}): "
                                "the proposal was executed or superseded")
    return info


def sign(w3: Web3, prop: Proposal, account: Any, expected_safe: str | None = None) -> SafeInfo:
    info = check_against_chain(w3, prop, expected_safe)
    if Web3.to_checksum_address(account.address) not in info.owners:
        raise NotAnOwner(account.address, prop.safe)
    prop.add_signature(account)
    return info


def owner_signatures(prop: Proposal, info: SafeInfo) -> list[str]:
    return [s for s in prop.signers() if s in info.owners]


def simulate(w3: Web3, prop: Proposal) -> None:
    """Run the Safe's call as an eth_call from the Safe; raise the decoded revert of a call that would fail."""
    from stockpile.sdk import errors

    tx = prop.safe_tx
    if tx.operation != CALL:
        return  # a MultiSend batch is simulated by estimating execTransaction itself
    try:
        w3.eth.call({"from": prop.safe, "to": tx.to, "data": tx.data, "value": Wei(tx.value)})
    except Exception as exc:
        decoded = errors.translate(exc)
        raise SafeError(f"the Safe's call to {tx.to} would revert: {decoded}") from None


def execute(w3: Web3, prop: Proposal, sender: Any, check_threshold: bool = True, expected_safe: str | None = None) -> Any:
    """Submit ``execTransaction`` with the collected signatures; returns the receipt.

    ``check_threshold=False`` sends whatever signatures there are, leaving the refusal to the Safe."""
    info = check_against_chain(w3, prop, expected_safe)
    valid = owner_signatures(prop, info)
    strangers = [s for s in prop.signers() if s not in info.owners]
    if check_threshold:
        if prop.nonce > info.nonce:
            raise ProposalFileError(f"Safe {prop.safe} is at nonce {info.nonce}: execute the proposals for nonces "
                                    f"{info.nonce}..{prop.nonce - 1} first")
        if strangers:
            raise NotAnOwner(strangers[0], prop.safe)
        if len(valid) < info.threshold:
            raise BelowThreshold(len(valid), info.threshold, prop.safe)
        simulate(w3, prop)
    tx = prop.safe_tx
    safe = safe_contract(w3, prop.safe)
    fn = safe.functions.execTransaction(tx.to, tx.value, tx.data, tx.operation, tx.safe_tx_gas, tx.base_gas,
                                        tx.gas_price, tx.gas_token, tx.refund_receiver,
                                        prop.packed_signatures(None if not check_threshold else info.owners))
    try:
        receipt = sender.transact(fn)
    except Exception as exc:
        why = explain_gs(str(exc))
        if why:
            raise SafeError(f"the Safe refused the transaction: {why}") from None
        raise
    if safe.events.ExecutionFailure().process_receipt(receipt, errors=DISCARD):
        raise SafeError(f"the Safe executed nonce {prop.nonce} but its call failed (tx {Web3.to_hex(receipt['transactionHash'])})")
    return receipt
