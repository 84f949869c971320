"""Build, sign, send and confirm transactions with eth-account (no node-side accounts).

This is the one way the package sends a transaction (SDK, deploy engine, oracle feeder,
reserve attestations, the reconciliation guardian):

- nonces tracked locally (``resync()`` after an external send; "nonce too low" resyncs once);
- EIP-1559 fees (twice the latest base fee plus the node's suggested tip; ``gasPrice`` on a
  chain without a base fee);
- gas: the node's estimate plus :func:`gas_limit`'s headroom, the one rule for every sender;
- ``before_broadcast`` sees each signed transaction (hash, nonce, fees) before it leaves the
  process, so a caller can record it and recover after a crash (the feeder's state row, the
  deploy engine's manifest);
- a transaction with no receipt after ``confirm_timeout`` is replaced (same nonce, fees bumped by
  ``fee_bump``), up to ``max_replacements`` times, then :class:`ConfirmationTimeout`;
- reverts are decoded into ``stockpile.sdk.errors`` exceptions before anything is broadcast
  (gas estimation replays the call), and again if a mined transaction failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractCustomError, ContractLogicError, ContractPanicError, TransactionNotFound, Web3RPCError,
)
from web3.types import TxParams

from stockpile.sdk import errors
from stockpile.sdk.errors import AbiLike

log = logging.getLogger(__name__)


def gas_limit(estimate: int) -> int:
    """The gas limit sent for a node's estimate: a quarter more plus 20,000. Some paths' gas
    depends on the block timestamp (the minter's token bucket), which moves between the estimate
    and inclusion; unused gas is not paid for."""
    return int(estimate) * 5 // 4 + 20_000


@dataclass
class SentTransaction:
    """A signed transaction, as ``before_broadcast`` sees it. ``replaced``: how many times this
    nonce was sent before with lower fees; ``receipt`` is set once one of them is mined."""

    tx_hash: str
    nonce: int
    raw: bytes
    max_fee: int = 0  # maxFeePerGas (or gasPrice on a chain without a base fee)
    priority_fee: int = 0
    replaced: int = 0
    receipt: Any = None


class TransactionFailed(errors.StockpileError):
    """A mined transaction that reverted and whose revert data could not be recovered (a decoded
    revert is raised as its ``errors.ContractError`` subclass instead)."""

    def __init__(self, tx_hash: str, receipt: Any, detail: str = ""):
        self.tx_hash = tx_hash
        self.receipt = receipt
        more = f"; {detail}" if detail else ""
        super().__init__(f"transaction {tx_hash} reverted (block {receipt['blockNumber']}{more})")


class ConfirmationTimeout(errors.StockpileError, TimeoutError):
    """No receipt for a nonce after every replacement allowed."""

    def __init__(self, nonce: int | None, replacements: int, tx_hashes: Sequence[str]):
        self.nonce = nonce
        self.tx_hashes = list(tx_hashes)
        which = f"nonce {nonce}" if nonce is not None else f"transaction {self.tx_hashes[-1]}"
        super().__init__(f"{which}: no receipt after {replacements} replacement(s) (last {self.tx_hashes[-1]})")


def call_translating(fn: Callable[[], Any], abi: AbiLike | None = None) -> Any:
    """Run ``fn`` turning web3/eth-tester revert exceptions into SDK errors (decoded with
    ``abi``, the called contract's, first)."""
    try:
        return fn()
    except (ContractCustomError, ContractLogicError, ContractPanicError) as exc:
        raise errors.translate(exc, abi) from None
    except Exception as exc:  # eth-tester's TransactionFailed and friends
        if type(exc).__name__ == "TransactionFailed" or "revert" in str(exc).lower():
            translated = errors.translate(exc, abi)
            if translated is not exc:
                raise translated from None
        raise


FEE_FIELDS = frozenset({"gasPrice", "maxFeePerGas", "maxPriorityFeePerGas"})
BeforeBroadcast = Callable[[SentTransaction], None]


class Sender:
    """Sends transactions for one account (a ``LocalAccount`` or a private key).

    ``timeout``: longest wait for a receipt in all; ``confirm_timeout`` (default: ``timeout``):
    how long one send may stay unmined before it is replaced with higher fees, at most
    ``max_replacements`` times (default 0: wait, never replace)."""

    def __init__(self, w3: Web3, account: LocalAccount | str | bytes, poll_latency: float = 0.05, timeout: float = 120,
                 confirm_timeout: float | None = None, max_replacements: int = 0, fee_bump: float = 1.25):
        self.w3 = w3
        self.account: LocalAccount = account if isinstance(account, LocalAccount) else Account.from_key(account)
        self.poll_latency = poll_latency
        self.timeout = timeout
        self.confirm_timeout = confirm_timeout
        self.max_replacements = max_replacements
        self.fee_bump = fee_bump  # nodes want >= +10-12.5% to accept a replacement
        self._nonce: int | None = None
        self._chain_id: int | None = None

    @property
    def address(self) -> str:
        return self.account.address

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = self.w3.eth.chain_id
        return self._chain_id

    def resync(self) -> None:
        """Forget the cached nonce: the next send asks the node (pending count)."""
        self._nonce = None

    def next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        return self._nonce

    def fees(self) -> dict[str, int]:
        block = self.w3.eth.get_block("latest")
        base = block.get("baseFeePerGas")
        if base is None:
            return {"gasPrice": self.w3.eth.gas_price}
        tip: int
        try:
            tip = int(self.w3.eth.max_priority_fee)
        except Exception:  # some nodes lack eth_maxPriorityFeePerGas
            tip = 10**9
        tip = max(tip, 1)
        return {"maxFeePerGas": 2 * int(base) + tip, "maxPriorityFeePerGas": tip}

    def build(self, tx: dict[str, Any]) -> dict[str, Any]:
        tx = dict(tx)
        tx.setdefault("from", self.account.address)
        tx.setdefault("chainId", self.chain_id)
        if "gasPrice" not in tx and "maxFeePerGas" not in tx:
            tx.update(self.fees())
        if "gas" not in tx:
            estimate = call_translating(lambda: self.w3.eth.estimate_gas(cast(TxParams, {k: v for k, v in tx.items() if k != "nonce"})))
            tx["gas"] = gas_limit(estimate)
        tx.setdefault("nonce", self.next_nonce())
        return tx

    def sign(self, tx: dict[str, Any], replaced: int = 0) -> SentTransaction:
        signed = self.account.sign_transaction(tx)
        return SentTransaction(tx_hash=Web3.to_hex(signed.hash), nonce=tx["nonce"], raw=bytes(signed.raw_transaction),
                               max_fee=int(tx.get("maxFeePerGas", tx.get("gasPrice", 0))),
                               priority_fee=int(tx.get("maxPriorityFeePerGas", tx.get("gasPrice", 0))), replaced=replaced)

    def broadcast(self, sent: SentTransaction) -> str:
        try:
            self.w3.eth.send_raw_transaction(sent.raw)
        except Web3RPCError:
            # a resend of bytes the node already has (the answer to the first send was lost):
            # "already known" while pending, "nonce too low" once mined
            if not self._node_has(sent.tx_hash):
                raise
        self._nonce = sent.nonce + 1
        log.info("sent tx %s nonce %d fee %d tip %d (replacement %d)", sent.tx_hash, sent.nonce, sent.max_fee,
                 sent.priority_fee, sent.replaced)
        return sent.tx_hash

    def _node_has(self, tx_hash: str) -> bool:
        try:
            return self.w3.eth.get_transaction(HexBytes(tx_hash)) is not None
        except Exception:
            return False

    def wait_any(self, tx_hashes: Sequence[str], timeout: float) -> Any:
        """The receipt of whichever of ``tx_hashes`` (one nonce's sends) is mined first, or None
        after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for h in tx_hashes:
                try:
                    receipt = self.w3.eth.get_transaction_receipt(HexBytes(h))
                except TransactionNotFound:
                    continue
                if receipt is not None:
                    return receipt
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.poll_latency)

    def wait(self, tx_hash: str, timeout: float | None = None) -> Any:
        """The receipt of ``tx_hash``; TransactionFailed when it reverted, ConfirmationTimeout
        when none comes within ``timeout`` (default: the sender's)."""
        receipt = self.wait_any([tx_hash], timeout or self.timeout)
        if receipt is None:
            raise ConfirmationTimeout(None, 0, [tx_hash])
        if receipt["status"] != 1:
            raise TransactionFailed(tx_hash, receipt)
        return receipt

    def confirm(self, sent: SentTransaction, tx: dict[str, Any], before_broadcast: BeforeBroadcast | None = None) -> Any:
        """Wait for ``sent`` (built from ``tx``), replacing it while it stays unmined; the mined
        one's receipt (``sent.receipt`` too). TransactionFailed when it reverted."""
        hashes, current = [sent.tx_hash], sent
        per_send = self.confirm_timeout if self.confirm_timeout is not None else self.timeout
        deadline = time.monotonic() + max(self.timeout, per_send * (self.max_replacements + 1))
        attempts = 0  # replacements tried, including ones the node refused
        while True:
            receipt = self.wait_any(hashes, min(per_send, max(0.0, deadline - time.monotonic())))
            if receipt is not None:
                mined = Web3.to_hex(receipt["transactionHash"])
                sent.receipt = receipt
                if receipt["status"] != 1:
                    raise TransactionFailed(mined, receipt)
                return receipt
            if attempts >= self.max_replacements or time.monotonic() >= deadline:
                raise ConfirmationTimeout(current.nonce, attempts, hashes)
            attempts += 1
            bumped = self._bumped(tx, current)
            replacement = self.sign(bumped, replaced=current.replaced + 1)
            if before_broadcast:
                before_broadcast(replacement)
            try:
                self.broadcast(replacement)
            except (ValueError, Web3RPCError) as exc:  # e.g. "nonce too low": the earlier one got mined meanwhile
                log.info("replacement refused (%s); waiting for the earlier transaction", exc)
                continue
            tx, current = bumped, replacement
            hashes.append(current.tx_hash)

    def _bumped(self, tx: dict[str, Any], current: SentTransaction) -> dict[str, Any]:
        """``tx`` with fees raised by ``fee_bump`` over the stuck send, at least today's market."""
        market = self.fees()
        if "gasPrice" in tx:
            price = max(int(tx["gasPrice"] * self.fee_bump) + 1, market.get("gasPrice", 0))
            return dict(tx, gasPrice=price)
        tip = max(int(current.priority_fee * self.fee_bump) + 1, market.get("maxPriorityFeePerGas", 0))
        max_fee = max(int(current.max_fee * self.fee_bump) + 1, market.get("maxFeePerGas", 0), tip)
        return dict(tx, maxFeePerGas=max_fee, maxPriorityFeePerGas=tip)

    def transact(self, call_or_tx: Any, value: int = 0, before_broadcast: BeforeBroadcast | None = None,
                 gas: int | None = None) -> Any:
        """Send a contract function call (``contract.functions.f(...)``) or a tx dict; wait for the
        receipt. ``before_broadcast`` sees each signed transaction (hash, nonce) before it is sent,
        so a caller can record it and recover after an interruption. ``gas``: a fixed gas limit
        (no estimate, so a call that reverts is mined and raises here)."""
        try:
            return self._transact_once(call_or_tx, value, before_broadcast, gas)
        except Web3RPCError as exc:
            if "nonce too low" not in str(exc).lower():
                raise
            # the account sent a transaction elsewhere since our nonce was cached
            self.resync()
            return self._transact_once(call_or_tx, value, before_broadcast, gas)

    def _transact_once(self, call_or_tx: Any, value: int, before_broadcast: BeforeBroadcast | None,
                       gas: int | None) -> Any:
        abi = getattr(call_or_tx, "contract_abi", None)
        if isinstance(call_or_tx, dict):
            tx = dict(call_or_tx)
            tx.pop("nonce", None)
        else:
            # fees and nonce given up front so web3 does not fetch them a second time
            fees = self.fees()
            params: dict[str, Any] = {"from": self.account.address, "value": value, "nonce": self.next_nonce(), **fees}
            if gas is not None:
                params["gas"] = gas
            tx = call_translating(lambda: call_or_tx.build_transaction(params), abi)
            # A web3 with a gas price strategy (ape's providers set one) adds gasPrice next to
            # EIP-1559 fees, and such a mixed transaction cannot be signed: keep the fees chosen here.
            for key in FEE_FIELDS - fees.keys():
                tx.pop(key, None)
            if gas is None and "gas" in tx:
                tx["gas"] = gas_limit(tx["gas"])  # web3 filled in the node's bare estimate
        if gas is not None:
            tx["gas"] = gas
        built = self.build(tx)
        sent = self.sign(built)
        if before_broadcast:
            before_broadcast(sent)
        self.broadcast(sent)
        try:
            return self.confirm(sent, built, before_broadcast)
        except TransactionFailed as failed:
            raise self._why(built, failed, abi) from None

    def _why(self, tx: dict[str, Any], failed: TransactionFailed, abi: AbiLike | None) -> BaseException:
        """The decoded revert of a mined transaction that failed: replayed as a call on the state
        it ran against. Falls back to TransactionFailed when the replay does not revert."""
        replay = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
        try:
            self.w3.eth.call(cast(TxParams, replay), block_identifier=failed.receipt["blockNumber"] - 1)
        except Exception as exc:
            decoded = errors.translate(exc, abi)
            if isinstance(decoded, errors.ContractError):
                return decoded
        return failed

    def deploy(self, abi: Sequence[Any], bytecode: str, *args: Any,
               before_broadcast: BeforeBroadcast | None = None) -> Any:
        contract = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        return self.transact(contract.constructor(*args), before_broadcast=before_broadcast)
