"""Safe proposals: a Transaction Builder batch file with the SafeTx, its hash and owner signatures.

The file is what the Safe web app's Transaction Builder imports (``version``, ``chainId``,
``createdAt``, ``meta`` with its checksum, ``transactions``) plus one ``stockpile`` section:
the Safe, the nonce, the SafeTx those transactions make (one call directly, several through
MultiSendCallOnly), its EIP-712 hash and the signatures collected so far. Loading a file
recomputes the SafeTx from the readable transactions; a file whose transactions, hash,
checksum or signatures disagree is refused as tampered.

The SafeTx EIP-712 struct and hash are safe-eth-py's (``safe_eth.safe.safe_tx.SafeTx``);
signatures are eth-account EIP-712 signatures of that struct.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from web3 import Web3

from stockpile.contracts import load
from stockpile.safe.calls import Call, CallError
from stockpile.safe.contracts import SAFE_VERSION
from stockpile.core.eth import ZERO_ADDRESS
from stockpile.safe.errors import ProposalFileError, SafeError

FORMAT = "stockpile-safe-proposal/1"
TX_BUILDER_VERSION = "1.18.0"
CALL, DELEGATE_CALL = 0, 1


@dataclass(frozen=True)
class SafeTx:
    """The struct a Safe's owners sign (SafeTx in Safe.sol), for one Safe on one chain."""

    safe: str
    chain_id: int
    to: str
    value: int
    data: bytes
    operation: int
    nonce: int
    safe_tx_gas: int = 0
    base_gas: int = 0
    gas_price: int = 0
    gas_token: str = ZERO_ADDRESS
    refund_receiver: str = ZERO_ADDRESS

    def _lib(self):
        from safe_eth.safe.safe_tx import SafeTx as LibSafeTx

        return LibSafeTx(None, self.safe, self.to, self.value, self.data, self.operation, self.safe_tx_gas,
                         self.base_gas, self.gas_price, self.gas_token, self.refund_receiver,
                         safe_nonce=self.nonce, safe_version=SAFE_VERSION, chain_id=self.chain_id)

    def typed_data(self) -> dict[str, Any]:
        """The EIP-712 message (types, domain, message) as eth-account signs it."""
        data = self._lib().eip712_structured_data
        data["message"] = {k: v for k, v in data["message"].items() if k != "dataGas"}
        return data

    @property
    def hash(self) -> bytes:
        return bytes(self._lib().safe_tx_hash)

    def sign(self, account: Any) -> bytes:
        """An owner's signature (r, s, v with v 27/28), as Safe.checkSignatures reads an EOA's."""
        signed = Account.sign_message(encode_typed_data(full_message=self.typed_data()), account.key)
        if bytes(signed.message_hash) != self.hash:  # eth-account and safe-eth-py must agree
            raise SafeError("internal: EIP-712 digest differs from the SafeTx hash")
        return signed.r.to_bytes(32, "big") + signed.s.to_bytes(32, "big") + bytes([signed.v])

    def recover(self, signature: bytes) -> str:
        """The address whose EIP-712 signature of this SafeTx ``signature`` is."""
        if len(signature) != 65:
            raise ProposalFileError(f"a signature must be 65 bytes, got {len(signature)}")
        return Account.recover_message(encode_typed_data(full_message=self.typed_data()), signature=signature)

    def as_json(self) -> dict[str, Any]:
        return {"to": self.to, "value": str(self.value), "data": "0x" + self.data.hex(), "operation": self.operation,
                "safeTxGas": str(self.safe_tx_gas), "baseGas": str(self.base_gas), "gasPrice": str(self.gas_price),
                "gasToken": self.gas_token, "refundReceiver": self.refund_receiver, "nonce": self.nonce}


def multisend_data(calls: list[Call]) -> bytes:
    """``multiSend(bytes)`` calldata for MultiSendCallOnly: every call packed as
    operation (CALL), to, value, data length, data."""
    from safe_eth.safe.multi_send import MultiSendOperation, MultiSendTx

    packed = b"".join(bytes(MultiSendTx(MultiSendOperation.CALL, cast(ChecksumAddress, c.to), c.value, c.data).encoded_data) for c in calls)
    contract = Web3().eth.contract(abi=load("MultiSendCallOnly").abi)
    return bytes.fromhex(contract.encode_abi("multiSend", args=[packed])[2:])


def safe_tx_for(safe: str, chain_id: int, nonce: int, calls: list[Call], multisend: str | None) -> SafeTx:
    """One call is sent by the Safe itself; several are batched through MultiSendCallOnly (delegatecall)."""
    if not calls:
        raise SafeError("a proposal needs at least one call")
    if len(calls) == 1:
        c = calls[0]
        return SafeTx(safe, chain_id, c.to, c.value, c.data, CALL, nonce)
    if not multisend:
        raise SafeError("several calls need a MultiSendCallOnly address (--multisend)")
    return SafeTx(safe, chain_id, Web3.to_checksum_address(multisend), 0, multisend_data(calls), DELEGATE_CALL, nonce)


# -- the Transaction Builder checksum (the web app's tx-builder lib/checksum.ts) ----------------------
def _serialize(obj: Any) -> str:
    if isinstance(obj, list):
        return "[" + ",".join(_serialize(e) for e in obj) + "]"
    if isinstance(obj, dict):
        keys = sorted(obj)
        return "{" + json.dumps(keys, separators=(",", ":"), ensure_ascii=False) + "".join(
            _serialize(obj[k]) + "," for k in keys) + "}"
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def builder_checksum(batch: dict[str, Any], keep_checksum_field: bool = False) -> str:
    """keccak256 of the batch serialised with sorted keys and meta.name null, without meta.checksum
    (as the app validates an imported file; its addChecksum keeps a field already there)."""
    meta = {k: v for k, v in batch.get("meta", {}).items() if keep_checksum_field or k != "checksum"}
    meta["name"] = None
    return Web3.to_hex(Web3.keccak(text=_serialize({**batch, "meta": meta})))


@dataclass
class Signature:
    signer: str
    signature: bytes


@dataclass
class Proposal:
    safe: str
    chain_id: int
    nonce: int
    calls: list[Call]
    multisend: str | None = None
    description: str = ""
    signatures: list[Signature] = field(default_factory=list)
    created_at: int = field(default_factory=lambda: int(time.time() * 1000))

    @property
    def safe_tx(self) -> SafeTx:
        return safe_tx_for(self.safe, self.chain_id, self.nonce, self.calls, self.multisend)

    @property
    def safe_tx_hash(self) -> str:
        return Web3.to_hex(self.safe_tx.hash)

    def signers(self) -> list[str]:
        return [s.signer for s in self.signatures]

    def add_signature(self, account: Any) -> Signature:
        """Sign as ``account``; replaces an earlier signature of the same account."""
        sig = Signature(Web3.to_checksum_address(account.address), self.safe_tx.sign(account))
        self.signatures = [s for s in self.signatures if s.signer != sig.signer] + [sig]
        self.signatures.sort(key=lambda s: int(s.signer, 16))
        return sig

    def packed_signatures(self, owners: list[str] | None = None) -> bytes:
        """Signatures concatenated in ascending owner address order, as Safe.checkNSignatures needs them
        (only those of ``owners`` when given)."""
        keep = [s for s in self.signatures if owners is None or s.signer in owners]
        return b"".join(s.signature for s in sorted(keep, key=lambda s: int(s.signer, 16)))

    # -- the file -------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        tx = self.safe_tx
        batch: dict[str, Any] = {
            "version": "1.0",
            "chainId": str(self.chain_id),
            "createdAt": self.created_at,
            "meta": {"name": self.description or f"Stockpile proposal, nonce {self.nonce}",
                     "description": self.description, "txBuilderVersion": TX_BUILDER_VERSION,
                     "createdFromSafeAddress": self.safe, "createdFromOwnerAddress": ""},
            "transactions": [c.to_builder() for c in self.calls],
            "stockpile": {"format": FORMAT, "safe": self.safe, "chainId": self.chain_id, "nonce": self.nonce,
                          "multisend": self.multisend, "safeTx": tx.as_json(), "safeTxHash": Web3.to_hex(tx.hash),
                          "signatures": [{"signer": s.signer, "signature": "0x" + s.signature.hex()}
                                         for s in self.signatures]},
        }
        batch["meta"]["checksum"] = builder_checksum(batch)
        return batch

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        tmp.replace(path)
        return path

    @classmethod
    def from_json(cls, data: Any, source: str = "proposal") -> Proposal:
        def bad(msg: str) -> ProposalFileError:
            return ProposalFileError(f"{source}: {msg}")

        if not isinstance(data, dict) or not isinstance(data.get("transactions"), list) or "meta" not in data:
            raise bad("not a Transaction Builder batch file (needs meta and transactions)")
        ext = data.get("stockpile")
        if not isinstance(ext, dict) or ext.get("format") != FORMAT:
            raise bad(f"no stockpile section of format {FORMAT}: not written by `stockpile safe propose`")
        checksum = data["meta"].get("checksum")
        if checksum != builder_checksum(data):
            raise bad("tampered: the batch checksum does not match the file's content")
        try:
            safe = Web3.to_checksum_address(ext["safe"])
            chain_id, nonce = int(ext["chainId"]), int(ext["nonce"])
            multisend = Web3.to_checksum_address(ext["multisend"]) if ext.get("multisend") else None
        except (KeyError, ValueError, TypeError) as exc:
            raise bad(f"stockpile section: {exc}") from None
        if str(data.get("chainId")) != str(chain_id):
            raise bad(f"tampered: chainId {data.get('chainId')} differs from the signed chain id {chain_id}")
        created_from = data["meta"].get("createdFromSafeAddress") or ZERO_ADDRESS
        if not Web3.is_address(created_from) or Web3.to_checksum_address(created_from) != safe:
            raise bad("tampered: meta.createdFromSafeAddress differs from the Safe in the stockpile section")
        try:
            calls = [Call.from_builder(e, f"transactions[{i}]") for i, e in enumerate(data["transactions"])]
        except CallError as exc:
            raise bad(str(exc)) from None
        prop = cls(safe, chain_id, nonce, calls, multisend, data["meta"].get("description", ""),
                   created_at=int(data.get("createdAt") or 0))
        tx = prop.safe_tx
        if ext.get("safeTxHash") != Web3.to_hex(tx.hash) or ext.get("safeTx") != tx.as_json():
            raise bad("tampered: the transactions do not make the recorded SafeTx / safeTxHash")
        for entry in ext.get("signatures", []):
            try:
                signer = Web3.to_checksum_address(entry["signer"])
                sig = bytes.fromhex(entry["signature"].removeprefix("0x"))
                recovered = tx.recover(sig)
            except ProposalFileError:
                raise
            except Exception:
                raise bad(f"tampered: unreadable signature entry {entry!r}") from None
            if recovered != signer:
                raise bad(f"tampered: the signature recorded for {signer} is not {signer}'s over safeTxHash {Web3.to_hex(tx.hash)}")
            prop.signatures.append(Signature(signer, sig))
        return prop

    @classmethod
    def load(cls, path: str | Path) -> Proposal:
        path = Path(path)
        if not path.exists():
            raise ProposalFileError(f"{path}: no such file")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ProposalFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_json(data, str(path))
