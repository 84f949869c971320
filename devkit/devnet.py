"""Deploy and drive the token stack with web3.py + eth-account on a dev node (anvil).

Development only (tests, bench; not in the wheel). The EIP-712 permit / EIP-3009 typed data and
the token ABI with its EIP-3009 entries are product code: ``stockpile.token.eip3009``.
"""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3
from web3.contract import Contract

from devkit.contracts import load  # product artifacts, and the test/bench contracts
from stockpile.sdk.transactions import Sender, call_translating
from stockpile.token.eip3009 import (  # noqa: F401 - re-exported for the tests and bench
    EIP3009_NAMES, permit_typed_data, sign_transfer_authorization, token_abi_with_authorizations,
    token_with_authorizations,
)

ZERO = "0x" + "00" * 20


def send(w3: Web3, sender: Any, fn: Any, value: int = 0) -> Any:
    """Sign and send a contract function call (or a constructor) with the SDK's ``Sender``; wait for
    and return the receipt. ``sender``: a private key or a LocalAccount. The gas limit is the node's
    estimate plus 25 %: estimates are the minimum that succeeded in a simulated block, and paths whose
    gas depends on block.timestamp (the minter's token bucket, secure mint's attestation-age check)
    cost a little more when mined a second later. A revert raises the SDK's decoded contract error."""
    account = sender if hasattr(sender, "sign_transaction") else Account.from_key(sender)
    out = Sender(w3, account, poll_latency=0.01)
    abi = getattr(fn, "contract_abi", None)
    gas = call_translating(lambda: fn.estimate_gas({"from": account.address, "value": value}), abi)
    # Sender's own gas multiplier applies only where web3 leaves the gas out, and build_transaction
    # fills in the bare estimate: the headroom is given here.
    params = {"from": account.address, "value": value, "nonce": out.next_nonce(), "gas": gas * 5 // 4 + 20_000,
              **out.fees()}
    return out.transact(call_translating(lambda: fn.build_transaction(params), abi))


def deploy(w3: Web3, key: str, name: str, *args) -> Contract:
    art = load(name)
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = send(w3, key, factory.constructor(*args))
    return w3.eth.contract(address=receipt.contractAddress, abi=art.abi)


def token_init_params(**kw: Any) -> tuple:
    """The `CommodityToken.initialize` InitParams tuple, in field order.

    ``timelock`` gets UPGRADER_ROLE and GOVERNOR_ROLE; ``bootstrap_governor`` (default: none) GOVERNOR_ROLE
    for the first configuration; ``reserve_attestor`` (default: none) must already be bound to the token."""
    return (
        kw["name"], kw["symbol"], kw.get("decimals", 18), kw["product_code"], kw["unit_description"],
        kw["admin"], kw.get("admin_transfer_delay", 86_400), kw["timelock"], kw.get("bootstrap_governor", ZERO),
        kw.get("reserve_attestor", ZERO), kw.get("max_attestation_age", 7 * 86_400), kw.get("minimum_redemption", 0),
    )


def deploy_token_implementation(w3: Web3, key: str, name: str = "CommodityToken") -> Contract:
    """CommodityTokenAuthorizations (the EIP-3009 code) and a CommodityToken implementation using it."""
    auth = deploy(w3, key, "CommodityTokenAuthorizations")
    return deploy(w3, key, name, auth.address)


def sign_attestation(keys: list[str], chain_id: int, attestor: str, att: dict, config_digest: bytes,
                     deadline: int | None = None) -> tuple:
    """The ``ReserveAttestor.attest`` arguments for `att` (Solidity field names) signed (EIP-712) by
    `keys` under the attestor's `config_digest` (stockpile.reserve.signing does the signing)."""
    from stockpile.reserve.models import Attestation
    from stockpile.reserve.signing import signed_attest_args

    model = Attestation(merkle_root=att["merkleRoot"], total_quantity=att["totalQuantity"],
                        lot_count=att["lotCount"], as_of=att["asOf"], report_hash=att["reportHash"])
    return signed_attest_args(keys, chain_id, attestor, model, config_digest, deadline)


def attestation_tuple(att: dict) -> tuple:
    return (att["merkleRoot"], att["totalQuantity"], att["lotCount"], att["asOf"], att["reportHash"])


def sign_permit(key: str, **kw) -> tuple[int, bytes, bytes]:
    """(v, r, s) of an EIP-2612 permit signed with eth-account typed-data signing."""
    signed = Account.sign_message(encode_typed_data(full_message=permit_typed_data(**kw)), key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def decode_custom_error(abi: list[dict], data: str | bytes) -> tuple[str, dict]:
    """(name, arguments) of a custom-error revert payload (as web3's ContractCustomError carries it),
    decoded by the SDK's error registry with ``abi``'s errors added."""
    from stockpile.sdk import errors

    err = errors.decode_revert(data, abi)
    if isinstance(err, errors.UnknownRevert):
        raw = errors._to_bytes(data)
        raise ValueError(f"unknown error selector 0x{raw[:4].hex()}")
    return err.name, err.args_dict
