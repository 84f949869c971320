"""The PriceFeed contract from web3.py: deploy, add feeds, read, and send signed reports.

No ape needed: artifacts come from ``stockpile.contracts.load``. Custom errors come back as the
SDK's ``errors.ContractError`` subclass named after the Solidity error (``.name``, ``.args_dict``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, cast
from collections.abc import Callable, Sequence

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from eth_typing import HexStr
from web3 import Web3
from web3.types import TxParams
from web3.exceptions import ContractCustomError, ContractLogicError, TransactionNotFound, Web3RPCError

from stockpile.contracts import load
from stockpile.oracle.report import Report, SignerConfig, feed_id
from stockpile.errors import StockpileError
from stockpile.sdk import errors as sdk_errors
from stockpile.sdk.errors import ContractError

log = logging.getLogger(__name__)


def decode_error(data: str | bytes) -> ContractError | None:
    """Decode revert data of a PriceFeed (or adapter) custom error (None when unknown)."""
    err = sdk_errors.decode_revert(data, load("PriceFeed").abi + load("PriceFeedAdapter").abi)
    if isinstance(err, sdk_errors.UnknownRevert):
        return None
    return err


def raise_decoded(exc: Exception) -> None:
    """Re-raise a web3 revert as its decoded ContractError when its data is one of ours."""
    data = getattr(exc, "data", None)
    if isinstance(exc, ContractCustomError) and isinstance(data, str):
        err = decode_error(data)
        if err:
            raise err from exc
    if isinstance(exc, ContractLogicError) and isinstance(data, str) and data.startswith("0x") and len(data) >= 10:
        err = decode_error(data)
        if err:
            raise err from exc
    raise exc


def connect(rpc_url: str, timeout: float = 10.0) -> Web3:
    return Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))


def hub_contract(w3: Web3, address: str):
    return w3.eth.contract(address=to_checksum_address(address), abi=load("PriceFeed").abi)


def adapter_contract(w3: Web3, address: str):
    return w3.eth.contract(address=to_checksum_address(address), abi=load("PriceFeedAdapter").abi)


# ----------------------------------------------------------------------------------- sending

class ConfirmationTimeout(StockpileError, RuntimeError):
    pass


@dataclass
class SentTx:
    tx_hash: str
    nonce: int
    max_fee: int
    priority_fee: int
    receipt: Any = None
    replaced: int = 0


class Sender:
    """Sends transactions from one account: correct nonces, EIP-1559 fees, replacement of a stuck
    transaction (same nonce, fees bumped), receipt confirmation.

    ``on_sent(SentTx)`` is called right before each broadcast, with the signed transaction's hash
    (the feeder persists it there, so a kill mid-broadcast loses nothing)."""

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount | str,
        confirm_timeout: float = 30.0,
        max_replacements: int = 3,
        fee_bump: float = 1.25,
        poll: float = 0.05,
    ):
        self.w3 = w3
        self.account = account if isinstance(account, LocalAccount) else Account.from_key(account)
        self.confirm_timeout = confirm_timeout
        self.max_replacements = max_replacements
        self.fee_bump = fee_bump
        self.poll = poll

    @property
    def address(self) -> str:
        return self.account.address

    def fees(self) -> tuple[int, int]:
        """(maxFeePerGas, maxPriorityFeePerGas): twice the latest base fee plus the suggested tip."""
        base = self.w3.eth.get_block("latest").get("baseFeePerGas") or 0
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except Exception:  # some nodes lack eth_maxPriorityFeePerGas
            tip = 10**9
        tip = max(tip, 1)
        return 2 * int(base) + tip, tip

    def next_nonce(self) -> int:
        return self.w3.eth.get_transaction_count(Web3.to_checksum_address(self.address), "pending")

    def send(
        self,
        tx: dict,
        nonce: int | None = None,
        on_sent: Callable[[SentTx], None] | None = None,
        wait: bool = True,
    ) -> SentTx:
        """Estimate (reverts surface here, as the decoded ContractError), sign, broadcast, confirm, replace if stuck."""
        tx = dict(tx)
        tx.setdefault("from", self.address)
        tx["chainId"] = self.w3.eth.chain_id
        try:
            tx["gas"] = int(self.w3.eth.estimate_gas(cast(TxParams, tx)) * 1.2) + 10_000
        except (ContractCustomError, ContractLogicError) as exc:
            raise_decoded(exc)
        max_fee, tip = self.fees()
        tx["nonce"] = self.next_nonce() if nonce is None else nonce
        sent = self._broadcast(tx, max_fee, tip, on_sent)
        if wait:
            return self.confirm(sent, tx, on_sent)
        return sent

    def _broadcast(self, tx: dict, max_fee: int, tip: int, on_sent, replaced: int = 0) -> SentTx:
        tx = dict(tx, maxFeePerGas=max_fee, maxPriorityFeePerGas=tip, type=2)
        tx.pop("gasPrice", None)
        signed = self.account.sign_transaction(tx)
        sent = SentTx("0x" + bytes(signed.hash).hex(), tx["nonce"], max_fee, tip, replaced=replaced)
        # recorded before it leaves the process: killed while the node's answer is pending, a restart
        # still finds the hash (one that never reached the node is settled as dropped)
        if on_sent:
            on_sent(sent)
        self.w3.eth.send_raw_transaction(signed.raw_transaction)
        log.info("sent tx %s nonce %d maxFee %d tip %d (replacement %d)", sent.tx_hash, sent.nonce, max_fee, tip, replaced)
        return sent

    def confirm(self, sent: SentTx, tx: dict, on_sent=None) -> SentTx:
        hashes = [sent.tx_hash]
        current = sent
        attempts = 0  # replacement attempts, including ones the node refused
        while True:
            receipt = self._wait_any(hashes, self.confirm_timeout)
            if receipt is not None:
                current.receipt = receipt
                current.tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
                return current
            if attempts >= self.max_replacements:
                raise ConfirmationTimeout(
                    f"nonce {current.nonce}: no receipt after {attempts} replacement(s) (last {hashes[-1]})")
            attempts += 1
            # stuck: same nonce, fees bumped (>= +12.5% as nodes require), at least the current market
            market_fee, market_tip = self.fees()
            tip = max(int(current.priority_fee * self.fee_bump) + 1, market_tip)
            max_fee = max(int(current.max_fee * self.fee_bump) + 1, market_fee, tip)
            try:
                current = self._broadcast(dict(tx, nonce=current.nonce), max_fee, tip, on_sent, current.replaced + 1)
            except (ValueError, Web3RPCError) as exc:  # e.g. "nonce too low": an earlier one got mined meanwhile
                log.info("replacement refused (%s); waiting for the earlier transaction", exc)
                continue
            hashes.append(current.tx_hash)

    def _wait_any(self, hashes: Sequence[str], timeout: float):
        deadline = time.monotonic() + timeout
        while True:
            for h in hashes:
                try:
                    receipt = self.w3.eth.get_transaction_receipt(HexStr(h))
                except TransactionNotFound:
                    continue
                if receipt is not None:
                    return receipt
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.poll)


def transact(sender: Sender, fn, **kw) -> Any:
    """Build a contract function call, send it and return the receipt (raises the decoded ContractError on revert)."""
    tx = fn.build_transaction({"from": sender.address, "gas": 1, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1, "nonce": 0})
    for k in ("gas", "maxFeePerGas", "maxPriorityFeePerGas", "nonce"):
        tx.pop(k, None)
    receipt = sender.send(tx, **kw).receipt
    if receipt is not None and receipt["status"] != 1:
        raise RuntimeError(f"transaction {receipt['transactionHash'].hex()} reverted")
    return receipt


# ---------------------------------------------------------------------------------- deploying

def deploy_price_feed(
    w3: Web3,
    deployer_key: str,
    signers: Sequence[str],
    f: int,
    admin: str | None = None,
    admin_delay: int = 0,
    config_admin: str | None = None,
) -> str:
    """Deploy a PriceFeed hub from its artifact. ``signers``: addresses (sorted here); ``f``: faulty
    signers tolerated (reports need 2f + 1 observations; more than 3f signers). ``config_admin``
    (default: the deployer) gets SIGNER_ADMIN_ROLE and FEED_ADMIN_ROLE; on a real network that is
    the TimelockController. Returns the hub's address."""
    art = load("PriceFeed")
    sender = Sender(w3, deployer_key)
    ordered = sorted((to_checksum_address(s) for s in signers), key=lambda a: int(a, 16))
    ctor = w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(
        to_checksum_address(admin or sender.address), admin_delay,
        to_checksum_address(config_admin or sender.address), ordered, f
    )
    tx = ctor.build_transaction({"from": sender.address, "gas": 1, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1, "nonce": 0})
    for k in ("gas", "maxFeePerGas", "maxPriorityFeePerGas", "nonce", "to"):
        tx.pop(k, None)
    receipt = sender.send(tx).receipt
    if receipt["status"] != 1:
        raise RuntimeError("PriceFeed deployment reverted")
    return receipt["contractAddress"]


def add_feed(
    w3: Web3,
    admin_key: str,
    hub_address: str,
    symbol: str,
    decimals: int,
    description: str,
    min_answer: int,
    max_answer: int,
    heartbeat: int,
    max_report_age: int | None = None,
) -> str:
    """Register a feed (feed id = bytes32 of ``symbol``); returns its AggregatorV3 adapter address.
    ``max_report_age`` (default: the heartbeat, at most an hour): oldest observation accepted."""
    hub = hub_contract(w3, hub_address)
    fid = feed_id(symbol)
    age = default_max_report_age(heartbeat) if max_report_age is None else max_report_age
    transact(Sender(w3, admin_key), hub.functions.addFeed(fid, decimals, description, min_answer, max_answer,
                                                           heartbeat, age))
    return hub.functions.adapterOf(fid).call()


def default_max_report_age(heartbeat: int) -> int:
    """Default maximum report age of a feed: its heartbeat, but at most one hour."""
    return min(int(heartbeat), 3600)


def signer_config(hub) -> SignerConfig:
    """The hub's current signer configuration (what reports must be signed under)."""
    version, f, signers = hub.functions.signerSet().call()
    return SignerConfig(version=version, f=f, signers=tuple(signers), digest=bytes(hub.functions.configDigest().call()))


def transmit_tx(w3: Web3, hub_address: str, report: Report, sender: str) -> dict:
    """The unsigned transaction of a report (no gas/fees/nonce yet)."""
    fn = hub_contract(w3, hub_address).functions.transmit(*report.transmit_args())
    tx = fn.build_transaction({"from": sender, "gas": 1, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1, "nonce": 0})
    for k in ("gas", "maxFeePerGas", "maxPriorityFeePerGas", "nonce"):
        tx.pop(k, None)
    return tx
