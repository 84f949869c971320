"""The transmitter side of reserve attestations: collect attestor signatures, submit once.

``collect_from_nodes`` asks every configured attestor node (``stockpile reserve node``) in parallel,
within one deadline, through the shared transport (:class:`stockpile.nodes.Nodes`), and keeps only
valid signatures: the recovered signer equals the one the node claims (and the address configured
for it), over exactly this attestation, chain, contract, config digest and deadline, and is a
registered attestor of the contract. Every node that gave none is named with why: ``down``,
``slow`` (past the deadline), ``garbage`` (not a signature answer, or a signature that does not
recover to its claimed signer), ``refused`` (the node's reason, e.g. ``custody_mismatch`` with the
lots), ``unregistered`` (a key that is not one of the contract's attestors).

``submit_once`` sends ``attest`` only when the signatures reach the contract's quorum, and records the
signed transaction (hash and raw bytes) in a state database BEFORE broadcasting it: after a crash, a
rerun for the same contract and as-of finds it and waits for (or rebroadcasts) that very
transaction instead of sending a second one.

``sign_locally`` is the single-process mode (``--local-signers``): one process holds every attestor
key. It is for devnets and tests only: with it, the quorum protects nothing against that host.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stockpile.errors import StockpileError
from stockpile.nodes import Failure, NodeRef, Nodes
from stockpile.reserve.custodian import AttestationRequest
from stockpile.reserve.node import ATTEST_PATH
from stockpile.reserve.signing import SignedAttestation, order_signatures, recover_signer, sign_attestation


class NodesFile(BaseModel):
    """``nodes.yaml`` of a transmitter: the attestor nodes it asks and how long it waits."""

    model_config = ConfigDict(extra="forbid")

    deadline_seconds: float = Field(default=10.0, gt=0)
    nodes: list[NodeRef] = Field(min_length=1)


def load_nodes_file(path: str | Path) -> NodesFile:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cfg = NodesFile.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ValueError(f"{path}: {'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}") from None
    for ref in cfg.nodes:
        if ref.ca_file is not None and not ref.ca_file.is_absolute():
            ref.ca_file = (path.parent / ref.ca_file).resolve()
    return cfg


@dataclass
class Collection:
    """Signatures gathered for one request, and every node that gave none (with why)."""

    signed: dict[str, SignedAttestation] = field(default_factory=dict)  # node name -> signature
    failures: dict[str, Failure] = field(default_factory=dict)
    seconds: float = 0.0

    def signatures(self) -> list[tuple[bytes, bytes]]:
        return order_signatures(self.signed.values())

    def summary(self) -> dict[str, Any]:
        return {"signed_by": [{"node": n, "signer": s.signer} for n, s in sorted(self.signed.items())],
                "not_signed": [{"node": f.node, "kind": f.kind, "reason": f.reason, "detail": f.detail}
                               for f in sorted(self.failures.values(), key=lambda f: f.node)]}


def request_body(req: AttestationRequest) -> dict[str, Any]:
    return json.loads(req.model_dump_json(exclude_none=True))


def _check_answer(req: AttestationRequest, expected: str | None, answer: dict[str, Any]) -> SignedAttestation:
    """A node's answer as a signature over exactly ``req`` by the signer it names; ValueError otherwise."""
    signer, sig_hex = answer.get("signer"), answer.get("signature")
    if not isinstance(signer, str) or not isinstance(sig_hex, str):
        raise ValueError("no signer/signature in the answer")
    try:
        sig = bytes.fromhex(sig_hex.removeprefix("0x"))
        signer = to_checksum_address(signer)
    except ValueError:
        raise ValueError("signer or signature is not hex") from None
    if len(sig) != 65:
        raise ValueError(f"signature of {len(sig)} bytes, expected 65")
    try:
        recovered = recover_signer(req.chain_id, req.attestor, req.attestation, req.config_digest, req.deadline, sig)
    except Exception as exc:
        raise ValueError(f"signature does not recover: {type(exc).__name__}") from None
    if recovered != signer:
        raise ValueError(f"signature recovers to {recovered}, not the claimed {signer} (not over this attestation)")
    if expected is not None and int(expected, 16) != int(signer, 16):
        raise ValueError(f"signed by {signer}, but this node's configured address is {to_checksum_address(expected)}")
    return SignedAttestation(signer, sig)


def collect_from_nodes(nodes: Nodes, req: AttestationRequest, registered: Iterable[str], deadline_seconds: float,
                       ) -> Collection:
    """Ask every node in parallel, wait at most ``deadline_seconds``; keep the valid, registered signatures."""
    allowed = {int(a, 16) for a in registered}
    checked: dict[str, SignedAttestation] = {}

    def validate(name: str, answer: dict[str, Any]) -> None:
        checked[name] = _check_answer(req, nodes.refs[name].address, answer)

    got = nodes.collect(ATTEST_PATH, request_body(req), deadline_seconds, validate=validate)
    out = Collection(failures=dict(got.failures), seconds=got.seconds)
    by_signer: dict[int, str] = {}
    for name in got.answers:
        s = checked[name]
        if int(s.signer, 16) not in allowed:
            out.failures[name] = Failure(name, "unregistered", f"signed with {s.signer}, which is not an attestor "
                                         "of the contract")
        elif int(s.signer, 16) in by_signer:
            out.failures[name] = Failure(name, "garbage", f"signed with {s.signer}, the key node {by_signer[int(s.signer, 16)]} "
                                         "answered with too")
        else:
            by_signer[int(s.signer, 16)] = name
            out.signed[name] = s
    return out


def sign_locally(accounts: Sequence[Any], req: AttestationRequest) -> Collection:
    """Every key in this process signs (``--local-signers``: devnets and tests only)."""
    started = time.monotonic()
    out = Collection()
    for i, acct in enumerate(accounts):
        s = sign_attestation(acct, req.chain_id, req.attestor, req.attestation, req.config_digest, req.deadline)
        out.signed[f"local-{i}"] = s
    out.seconds = time.monotonic() - started
    return out


# ---------------------------------------------------------------- submitting once

class SubmissionLog:
    """Signed ``attest`` transactions, recorded before they are broadcast (SQLite)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("""CREATE TABLE IF NOT EXISTS submissions (
                chain_id INTEGER NOT NULL, attestor TEXT NOT NULL, as_of INTEGER NOT NULL,
                tx_hash TEXT NOT NULL, nonce INTEGER NOT NULL, raw TEXT NOT NULL, signers TEXT NOT NULL, created_at INTEGER NOT NULL,
                PRIMARY KEY (chain_id, attestor, as_of))""")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def find(self, chain_id: int, attestor: str, as_of: int) -> tuple[str, int, bytes] | None:
        with self._connect() as conn:
            row = conn.execute("SELECT tx_hash, nonce, raw FROM submissions WHERE chain_id = ? AND attestor = ? "
                               "AND as_of = ?", (chain_id, attestor.lower(), as_of)).fetchone()
        return (row[0], int(row[1]), bytes.fromhex(row[2])) if row else None

    def record(self, chain_id: int, attestor: str, as_of: int, sent: Any, signers: list[str]) -> None:
        """Commit the signed transaction (``stockpile.sdk.transactions.SentTransaction``)."""
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (chain_id, attestor.lower(), as_of, sent.tx_hash, sent.nonce, sent.raw.hex(), json.dumps(signers),
                          int(time.time())))

    def forget(self, chain_id: int, attestor: str, as_of: int) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM submissions WHERE chain_id = ? AND attestor = ? AND as_of = ?",
                         (chain_id, attestor.lower(), as_of))


class NotSubmitted(StockpileError):
    """Nothing was sent: ``reason`` says why (quorum not met, already attested)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def resume_pending(sender: Any, log: SubmissionLog, req: AttestationRequest) -> Any | None:
    """The receipt of a transaction recorded for this contract and as-of by an earlier run (waiting for,
    or rebroadcasting, that very transaction), or None when there is none (or it failed on chain)."""
    from hexbytes import HexBytes

    from stockpile.sdk.transactions import SentTransaction, TransactionFailed

    found = log.find(req.chain_id, req.attestor, req.attestation.as_of)
    if found is None:
        return None
    tx_hash, nonce, raw = found
    try:
        receipt = sender.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    except Exception:  # web3 raises TransactionNotFound for an unknown hash
        receipt = None
    if receipt is None:
        try:
            sender.broadcast(SentTransaction(tx_hash=tx_hash, nonce=nonce, raw=raw))
        except Exception:
            # the node refuses the old bytes (nonce used by another transaction): it was never mined
            log.forget(req.chain_id, req.attestor, req.attestation.as_of)
            return None
    try:
        return sender.wait(tx_hash)
    except TransactionFailed:
        log.forget(req.chain_id, req.attestor, req.attestation.as_of)
        return None


def submit_once(sender: Any, contract: Any, req: AttestationRequest, collection: Collection, quorum: int,
                log: SubmissionLog) -> Any:
    """Send ``attest`` with the collected signatures when they reach ``quorum``; the signed transaction
    is recorded in ``log`` before it is broadcast. Returns the receipt. Raises NotSubmitted."""
    from stockpile.reserve.signing import attest_args

    if len(collection.signed) < quorum:
        raise NotSubmitted("quorum_not_met", f"{len(collection.signed)} valid signature(s), the contract needs {quorum}: "
                           "nothing submitted")
    signers = sorted((s.signer for s in collection.signed.values()), key=lambda a: int(a, 16))
    fn = contract.functions.attest(*attest_args(req.attestation, req.config_digest, req.deadline, collection.signatures()))

    def record(sent: Any) -> None:
        log.record(req.chain_id, req.attestor, req.attestation.as_of, sent, signers)

    return sender.transact(fn, before_broadcast=record)
