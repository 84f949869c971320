"""Deploy and drive the token stack with web3.py + eth-account on a dev node (anvil).

Development only (tests, bench; not in the wheel). The EIP-712 permit / EIP-3009 typed data and
the token ABI with its EIP-3009 entries are product code: ``stockpile.token.eip3009``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3
from web3.contract import Contract
from web3.types import TxParams

from stockpile.contracts import load
from stockpile.token.eip3009 import (  # noqa: F401 - re-exported for the tests and bench
    EIP3009_NAMES, permit_typed_data, sign_transfer_authorization, token_abi_with_authorizations,
    token_with_authorizations,
)

ZERO = "0x" + "00" * 20


class TxFailed(RuntimeError):
    pass


GAS_HEADROOM = 1.25


def send(w3: Web3, key: str, fn, value: int = 0):
    """Sign and send a contract function call; return the receipt (raises TxFailed on revert).

    The gas limit is the node's estimate times GAS_HEADROOM: estimates are the minimum that succeeded
    in a simulated block, and some paths cost a little more in the real one (e.g. secure mint's
    attestation-age check is short-circuited when block.timestamp == asOf), which made bare
    estimates run out of gas now and then."""
    acct = Account.from_key(key)
    params = {"from": acct.address, "nonce": w3.eth.get_transaction_count(acct.address), "value": value,
              "chainId": w3.eth.chain_id}
    params["gas"] = int(fn.estimate_gas(params) * GAS_HEADROOM)
    tx = fn.build_transaction(params)
    receipt = w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(acct.sign_transaction(tx).raw_transaction), poll_latency=0.01
    )
    if receipt["status"] != 1:
        detail = f"gasUsed {receipt['gasUsed']} of limit {tx['gas']}"
        try:  # replay on the parent block's state to get the revert data
            w3.eth.call(cast(TxParams, {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}),
                        block_identifier=receipt["blockNumber"] - 1)
        except Exception as exc:  # noqa: BLE001 - diagnostics only
            detail += f"; replay: {exc!r}"
        raise TxFailed(f"transaction reverted: {receipt['transactionHash'].hex()} ({detail})")
    return receipt


def deploy(w3: Web3, key: str, name: str, *args) -> Contract:
    art = load(name)
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    receipt = send(w3, key, factory.constructor(*args))
    return w3.eth.contract(address=receipt.contractAddress, abi=art.abi)


def deploy_proxy(w3: Web3, key: str, name: str, init_args: tuple) -> Contract:
    """Deploy implementation `name` and an ERC1967 proxy initialised with `initialize(*init_args)`."""
    impl = deploy(w3, key, name)
    data = impl.encode_abi("initialize", args=list(init_args))
    proxy = deploy(w3, key, "StockpileProxy", impl.address, data)
    return w3.eth.contract(address=proxy.address, abi=load(name).abi)


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


@dataclass
class Stack:
    token: Contract
    attestor: Contract
    timelock: Contract


def deploy_stack(w3: Web3, admin_key: str, attestor_keys: list[str], quorum: int, *, timelock_delay: int = 3600,
                 product_code: str = "NDPR-OX-995", symbol: str = "sNDPR", decimals: int = 18,
                 max_attestation_age: int = 7 * 86_400, minimum_redemption: int = 0) -> Stack:
    """Timelock (admin proposes/executes), ReserveAttestor proxy bound to a CommodityToken proxy.

    Roles afterwards: admin holds DEFAULT_ADMIN_ROLE on both and, as bootstrap governor, GOVERNOR_ROLE on the
    token (a dev chain keeps it; ``stockpile.deploy``'s handover renounces it); the timelock holds
    UPGRADER_ROLE on both and GOVERNOR_ROLE on the token. Operational roles (MINTER, ...) are left to the caller."""
    admin = Account.from_key(admin_key).address
    timelock = deploy(w3, admin_key, "StockpileTimelock", timelock_delay, [admin], [admin], ZERO)
    attestor = deploy_proxy(w3, admin_key, "ReserveAttestor", (
        product_code, decimals, [Account.from_key(k).address for k in attestor_keys], quorum, admin, 86_400,
        timelock.address,
    ))
    impl = deploy_token_implementation(w3, admin_key)
    data = impl.encode_abi("initialize", args=[token_init_params(
        name=f"Stockpile {product_code}", symbol=symbol, decimals=decimals, product_code=product_code,
        unit_description="NdPr oxide, 1 kg, 99.5%", admin=admin, timelock=timelock.address,
        bootstrap_governor=admin, max_attestation_age=max_attestation_age, minimum_redemption=minimum_redemption,
    )])
    proxy = deploy(w3, admin_key, "StockpileProxy", impl.address, data)
    token = w3.eth.contract(address=proxy.address, abi=load("CommodityToken").abi)
    send(w3, admin_key, attestor.functions.bindToken(token.address))
    send(w3, admin_key, token.functions.setReserveAttestor(attestor.address))
    return Stack(token=token, attestor=attestor, timelock=timelock)


def decode_custom_error(abi: list[dict], data: str | bytes) -> tuple[str, dict]:
    """(name, arguments) of a custom-error revert payload (as web3's ContractCustomError carries it),
    decoded by the SDK's error registry with ``abi``'s errors added."""
    from stockpile.sdk import errors

    err = errors.decode_revert(data, abi)
    if isinstance(err, errors.UnknownRevert):
        raw = errors._to_bytes(data)
        raise ValueError(f"unknown error selector 0x{raw[:4].hex()}")
    return err.name, err.args_dict
