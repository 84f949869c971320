"""Build, sign, send and confirm transactions with eth-account (no node-side accounts).

Reverts are decoded into ``stockpile.sdk.errors`` exceptions before anything is broadcast
(gas estimation replays the call), and again if a mined transaction failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast
from collections.abc import Callable

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError, Web3RPCError
from web3.types import TxParams

from stockpile.sdk import errors
from stockpile.sdk.errors import AbiLike


@dataclass
class SentTransaction:
    tx_hash: str
    nonce: int
    raw: bytes


class TransactionFailed(errors.StockpileError):
    """A mined transaction that reverted and whose revert data could not be recovered (a decoded
    revert is raised as its ``errors.ContractError`` subclass instead)."""

    def __init__(self, tx_hash: str, receipt: Any, detail: str = ""):
        self.tx_hash = tx_hash
        self.receipt = receipt
        more = f"; {detail}" if detail else ""
        super().__init__(f"transaction {tx_hash} reverted (block {receipt['blockNumber']}{more})")


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


class Sender:
    """Sends transactions for one account; tracks its nonce locally so a batch needs no
    round trip per nonce (``resync()`` after an external send)."""

    def __init__(self, w3: Web3, account: LocalAccount, poll_latency: float = 0.05, timeout: float = 120,
                 gas_multiplier: float = 1.2):
        self.w3 = w3
        self.account = account
        self.poll_latency = poll_latency
        self.timeout = timeout
        self.gas_multiplier = gas_multiplier
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
            tip = self.w3.eth.max_priority_fee
        except Exception:
            tip = 10**9
        return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}

    def build(self, tx: dict[str, Any]) -> dict[str, Any]:
        tx = dict(tx)
        tx.setdefault("from", self.account.address)
        tx.setdefault("chainId", self.chain_id)
        if "gasPrice" not in tx and "maxFeePerGas" not in tx:
            tx.update(self.fees())
        if "gas" not in tx:
            estimate = call_translating(lambda: self.w3.eth.estimate_gas(cast(TxParams, {k: v for k, v in tx.items() if k != "nonce"})))
            tx["gas"] = int(estimate * self.gas_multiplier) + 10_000
        tx.setdefault("nonce", self.next_nonce())
        return tx

    def sign(self, tx: dict[str, Any]) -> SentTransaction:
        signed = self.account.sign_transaction(tx)
        return SentTransaction(tx_hash=Web3.to_hex(signed.hash), nonce=tx["nonce"], raw=bytes(signed.raw_transaction))

    def broadcast(self, sent: SentTransaction) -> str:
        try:
            self.w3.eth.send_raw_transaction(sent.raw)
        except Web3RPCError:
            # a resend of bytes the node already has (the answer to the first send was lost):
            # "already known" while pending, "nonce too low" once mined
            if not self._node_has(sent.tx_hash):
                raise
        self._nonce = sent.nonce + 1
        return sent.tx_hash

    def _node_has(self, tx_hash: str) -> bool:
        try:
            return self.w3.eth.get_transaction(HexBytes(tx_hash)) is not None
        except Exception:
            return False

    def wait(self, tx_hash: str, timeout: float | None = None) -> Any:
        receipt = self.w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=timeout or self.timeout,
                                                           poll_latency=self.poll_latency)
        if receipt["status"] != 1:
            raise TransactionFailed(tx_hash, receipt)
        return receipt

    def transact(self, call_or_tx: Any, value: int = 0, before_broadcast: Callable[[SentTransaction], None] | None = None) -> Any:
        """Send a contract function call (``contract.functions.f(...)``) or a tx dict; wait for the
        receipt. ``before_broadcast`` sees the signed transaction (hash, nonce) before it is sent,
        so a caller can record it and recover after an interruption."""
        try:
            return self._transact_once(call_or_tx, value, before_broadcast)
        except Web3RPCError as exc:
            if "nonce too low" not in str(exc).lower():
                raise
            # the account sent a transaction elsewhere since our nonce was cached
            self.resync()
            return self._transact_once(call_or_tx, value, before_broadcast)

    def _transact_once(self, call_or_tx: Any, value: int, before_broadcast: Callable[[SentTransaction], None] | None) -> Any:
        if isinstance(call_or_tx, dict):
            tx = dict(call_or_tx)
            tx.pop("nonce", None)
        else:
            # fees and nonce given up front so web3 does not fetch them a second time
            fees = self.fees()
            params = {"from": self.account.address, "value": value, "nonce": self.next_nonce(), **fees}
            tx = call_translating(lambda: call_or_tx.build_transaction(params), getattr(call_or_tx, "contract_abi", None))
            # A web3 with a gas price strategy (ape's providers set one) adds gasPrice next to
            # EIP-1559 fees, and such a mixed transaction cannot be signed: keep the fees chosen here.
            for key in FEE_FIELDS - fees.keys():
                tx.pop(key, None)
        built = self.build(tx)
        sent = self.sign(built)
        if before_broadcast:
            before_broadcast(sent)
        self.broadcast(sent)
        try:
            return self.wait(sent.tx_hash)
        except TransactionFailed as failed:
            raise self._why(built, failed, getattr(call_or_tx, "contract_abi", None)) from None

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

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any,
               before_broadcast: Callable[[SentTransaction], None] | None = None) -> Any:
        contract = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        return self.transact(contract.constructor(*args), before_broadcast=before_broadcast)
