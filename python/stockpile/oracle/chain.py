"""The PriceFeed contract from web3.py: read prices and the hub's state (the feeder, the nodes,
``stockpile oracle prices``). The deploy engine deploys hubs and registers feeds (``stockpile.deploy``).

No ape needed: artifacts come from ``stockpile.contracts.load``. Custom errors come back as the SDK's ``errors.ContractError`` subclass named
after the Solidity error (``.name``, ``.args_dict``), also for the revert data a hub reports in an
event (``FeedUpdateSkipped``, via ``decode_error``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, cast

from eth_utils import to_checksum_address
from web3 import Web3

from stockpile.contracts import contract, load
from stockpile.oracle.report import SignerConfig, feed_id
from stockpile.oracle.units import from_answer
from stockpile.sdk import errors as sdk_errors
from stockpile.sdk.errors import ContractError
from stockpile.sdk.rpc import connect  # noqa: F401  (the feeder's and callers' way to a node)
from stockpile.sdk.transactions import call_translating


def decode_error(data: str | bytes) -> ContractError | None:
    """Decode revert data of a PriceFeed (or adapter) custom error (None when unknown)."""
    err = sdk_errors.decode_revert(data, load("PriceFeed").abi + load("PriceFeedAdapter").abi)
    if isinstance(err, sdk_errors.UnknownRevert):
        return None
    return err


def hub_contract(w3: Web3, address: str):
    return contract(w3, "PriceFeed", address)


def feed_symbols(hub) -> list[str]:
    """The symbols of the hub's registered feeds, sorted."""
    return sorted(bytes(i).rstrip(b"\0").decode("ascii", "replace") for i in hub.functions.feedIds().call())


def latest_price(hub, symbol: str) -> Decimal:
    """The latest on-chain price of feed ``symbol``, a Decimal in the feed's unit. Before the feed's
    first round the hub reverts: the SDK's ``NoDataPresent`` error class (``errors.error_class``)."""
    fid = feed_id(symbol)
    decimals = hub.functions.feedConfig(fid).call()[0]
    _, answer, _, _, _ = call_translating(partial(hub.functions.latestRoundData(fid).call), hub.abi)
    return from_answer(answer, decimals)


def signer_config(hub) -> SignerConfig:
    """The hub's current signer configuration (what reports must be signed under)."""
    version, f, signers = hub.functions.signerSet().call()
    return SignerConfig(version=version, f=f, signers=tuple(signers), digest=bytes(hub.functions.configDigest().call()))


@dataclass
class HubView:
    """What a transmitter or a node reads before a round, in one JSON-RPC batch: the signer configuration,
    each feed's ``feedConfig`` tuple (None for an unknown feed) and latest answer (None before its first
    round), and the latest block's timestamp."""

    config: SignerConfig
    feeds: dict[bytes, tuple | None]
    answers: dict[bytes, int | None]
    latest_timestamp: int


def read_hub(w3: Web3, hub, fids: Sequence[bytes]) -> HubView:
    """One batch request instead of 2 per feed (each web3 contract call costs extra requests of its own)."""
    from eth_abi import decode
    from eth_utils import keccak

    def call(signature: str, arg: bytes = b"") -> tuple[str, list]:
        return ("eth_call", [{"to": hub.address, "data": "0x" + (keccak(text=signature)[:4] + arg).hex()}, "latest"])

    fids = [bytes(f) for f in fids]
    requests = [call("signerSet()"), call("configDigest()"), ("eth_getBlockByNumber", ["latest", False])]
    requests += [call("feedConfig(bytes32)", f) for f in fids] + [call("latestRoundData(bytes32)", f) for f in fids]
    responses = cast(Any, w3.provider).make_batch_request(requests)
    if not isinstance(responses, list) or len(responses) != len(requests):
        raise RuntimeError(f"batch request failed: {str(responses)[:200]}")

    def result(i: int) -> Any:
        r = responses[i]
        return None if "error" in r or r.get("result") in (None, "0x") else r["result"]

    def data(i: int) -> bytes | None:
        raw = result(i)
        return None if raw is None else bytes.fromhex(raw[2:])

    signer_raw, digest_raw, block = data(0), data(1), result(2)
    if signer_raw is None or digest_raw is None or block is None:
        raise RuntimeError(f"{hub.address} answered no signer configuration (not a PriceFeed, or the RPC failed)")
    version, f, signers = decode(["(uint32,uint8,address[])"], signer_raw)[0]
    config = SignerConfig(version=version, f=f, signers=tuple(to_checksum_address(s) for s in signers),
                          digest=decode(["bytes32"], digest_raw)[0])
    feeds: dict[bytes, tuple | None] = {}
    answers: dict[bytes, int | None] = {}
    n = len(fids)
    for j, fid in enumerate(fids):
        cfg_raw, answer_raw = data(3 + j), data(3 + n + j)
        cfg = decode(["(uint8,uint32,uint32,int80,int80,uint32,uint32,address,string)"], cfg_raw)[0] if cfg_raw else None
        feeds[fid] = None if cfg is None else (*cfg[:7], to_checksum_address(cfg[7]), cfg[8])
        answers[fid] = int(decode(["uint80", "int256", "uint256", "uint256", "uint80"], answer_raw)[1]) if answer_raw else None
    return HubView(config, feeds, answers, int(block["timestamp"], 16))
