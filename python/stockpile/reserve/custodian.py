"""The custodian attestor: signs a reserve attestation only when its own custody records give it.

One attestor (one custodian organisation, one key) answers an :class:`AttestationRequest` -
product, chain id, ReserveAttestor address, config digest, deadline, the attestation (Merkle root,
total, lot count, as-of, report hash) and the lot list it is asked to vouch for. It:

1. refuses a product it does not attest, another chain, another contract, another config digest
   (read live from the contract when the node has an RPC URL, else pinned in its configuration), a
   deadline already passed or too far ahead, an as-of time in the future, and (with a reports folder)
   a report hash that is not the keccak256 of one of the custodian's own report files;
2. reads ITS OWN copy of the custody records as of the requested time (an export folder ingested
   into its own database with the reconciliation ingest, or the custodian's database by URL),
   recomputes the product's reserve lot list (lots ``in_stock``/``allocated``), the Merkle root
   (``stockpile.merkle``), the total and the lot count;
3. signs (EIP-712, ``stockpile.reserve.signing``) only if all of them equal the request; otherwise
   refuses naming the lots that differ (``not_in_custody``, ``missing_from_request``,
   ``quantity_differs``, ``attributes_differ``, with the requested and the custody values);
4. records what it signs in its state database BEFORE the signature is returned, and never signs
   two different attestations for the same chain, contract and as-of time (a repeat of the same
   request gets the same signature back).

No transport here: ``stockpile.reserve.node`` serves this over the shared node transport.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from pydantic import BaseModel, ConfigDict, Field, field_validator

from stockpile.errors import StockpileError
from stockpile.merkle import Lot, lot_tree
from stockpile.reserve.models import Attestation, Bytes32, UINT64_MAX
from stockpile.reserve.signing import sign_attestation

EXPORT_SUFFIXES = (".csv", ".json")
MAX_LISTED_DIFFERENCES = 50  # a refusal names at most this many lots (and says how many differ in all)


class AttestationRequest(BaseModel):
    """What a transmitter asks an attestor node to sign (JSON body of ``POST /attest``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product: str = Field(min_length=1, max_length=128, description="catalogue product code, e.g. NDPR-OXIDE")
    chain_id: int = Field(gt=0)
    attestor: str = Field(description="the product's ReserveAttestor (proxy) address")
    config_digest: Bytes32
    deadline: int = Field(ge=0, le=UINT64_MAX)
    attestation: Attestation
    lots: list[Lot] | None = Field(default=None, description="the lot list the attestation is the root of; "
                                   "without it a refusal can give the node's root, total and count but not name lots")

    @field_validator("attestor")
    @classmethod
    def _address(cls, v: str) -> str:
        try:
            if len(bytes.fromhex(v.removeprefix("0x"))) != 20:
                raise ValueError
        except ValueError:
            raise ValueError(f"not a 20-byte hex address: {v!r}") from None
        return to_checksum_address(v)


class Refused(StockpileError):
    """The node will not sign. ``code`` is stable (for scripts and metrics), ``message`` says why in
    one line, ``details`` holds the evidence (e.g. the lots that differ)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        return {"refused": self.code, "message": self.message, **({"details": self.details} if self.details else {})}


@dataclass(frozen=True)
class ProductTarget:
    """One product this node attests: its ReserveAttestor and, without an RPC URL, the pinned
    config digest it signs under."""

    attestor: str
    config_digest: bytes | None = None


@dataclass
class Signed:
    signer: str
    signature: bytes  # 65 bytes r || s || v
    request: AttestationRequest
    repeated: bool = False  # the same request was signed before: the stored signature came back

    def as_dict(self) -> dict[str, Any]:
        return {"signer": self.signer, "signature": "0x" + self.signature.hex(),
                "config_digest": "0x" + self.request.config_digest.hex(), "deadline": self.request.deadline,
                "attestation": json.loads(self.request.attestation.model_dump_json()), "repeated": self.repeated}


# ---------------------------------------------------------------- custody records

class CustodyRecords:
    """The attestor's own custody books: an export folder (every ``*.csv``/``*.json`` in it ingested
    with the reconciliation ingest into ``db_path``, again on each read: unchanged files are no-ops)
    or an existing custody database (``db_url``, the reconciliation schema)."""

    def __init__(self, exports: str | Path | None = None, db_url: str | None = None, db_path: str | Path | None = None,
                 catalogue: str | Path | None = None):
        from stockpile.reconcile.custody.schema import Catalogue
        from stockpile.reconcile.db.store import Database

        if bool(exports) == bool(db_url):
            raise ValueError("give exactly one of an export folder or a custody database URL")
        self.exports = Path(exports) if exports else None
        if self.exports is not None and not self.exports.is_dir():
            raise ValueError(f"custody export folder {self.exports} does not exist")
        self.catalogue = Catalogue.load(catalogue)
        if self.exports is not None:
            if db_path is None:
                raise ValueError("an export folder needs a database path for the node's own copy")
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            self.rejects_dir = Path(db_path).parent / "rejects"
            self.db = Database(Path(db_path))
        else:
            self.db = Database(db_url)

    def refresh(self) -> list[str]:
        """Ingest the export folder (new or changed files become snapshots). Returns the files read.
        Raises Refused (``custody_unreadable``) naming a file that cannot be read."""
        from stockpile.reconcile.custody.parse import ExportError

        if self.exports is None:
            return []
        files = sorted(p for p in self.exports.iterdir()
                       if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES and not p.name.endswith(".rejects.csv"))
        for path in files:
            try:
                self.db.ingest(path, self.catalogue, rejects_dir=self.rejects_dir)
            except (ExportError, OSError, ValueError) as exc:
                raise Refused("custody_unreadable", f"custody export {path.name} cannot be read: {exc}") from None
        return [p.name for p in files]

    def reserve_lots(self, product: str, as_of: int) -> list[tuple]:
        """The product's reserve lots (leaf tuples) in the books as of ``as_of``."""
        from stockpile.reconcile.custody.schema import RESERVE_STATUSES

        self.refresh()
        return [tuple(x[:7]) for x in self.db.custody_view(as_of)
                if x.product_code == product and x.status in RESERVE_STATUSES]

    def close(self) -> None:
        self.db.dispose()


# ---------------------------------------------------------------- what was signed

class SignedLog:
    """SQLite record of every signature this node gave, written and committed before the
    signature leaves the process (so it holds across a SIGKILL and restart)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("""CREATE TABLE IF NOT EXISTS signed (
                chain_id INTEGER NOT NULL, attestor TEXT NOT NULL, product TEXT NOT NULL, as_of INTEGER NOT NULL,
                attestation TEXT NOT NULL, config_digest TEXT NOT NULL, deadline INTEGER NOT NULL,
                signer TEXT NOT NULL, signature TEXT NOT NULL, signed_at INTEGER NOT NULL,
                UNIQUE (chain_id, attestor, as_of, config_digest, deadline))""")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def sign_once(self, req: AttestationRequest, sign: Callable[[], tuple[str, bytes]]) -> Signed:
        """Return the stored signature of this exact request, or refuse (``already_signed``) when a
        different attestation was signed for the same chain, contract and as-of; else sign, store,
        commit, and only then return."""
        att = req.attestation.model_dump_json()
        key = (req.chain_id, req.attestor.lower(), req.attestation.as_of)
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")  # one writer at a time, across threads and processes
            rows = conn.execute("SELECT attestation, config_digest, deadline, signer, signature FROM signed "
                                "WHERE chain_id = ? AND attestor = ? AND as_of = ?", key).fetchall()
            for stored_att, digest, deadline, signer, sig in rows:
                if stored_att != att:
                    conn.execute("ROLLBACK")
                    raise Refused("already_signed",
                                  f"already signed a different attestation for {req.product} as of {req.attestation.as_of}",
                                  {"signed": json.loads(stored_att), "requested": json.loads(att)})
                if digest == "0x" + req.config_digest.hex() and deadline == req.deadline:
                    conn.execute("ROLLBACK")
                    return Signed(signer, bytes.fromhex(sig[2:]), req, repeated=True)
            signer, signature = sign()
            conn.execute("INSERT INTO signed VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (*key[:2], req.product, key[2], att, "0x" + req.config_digest.hex(), req.deadline,
                          signer, "0x" + signature.hex(), int(time.time())))
            conn.execute("COMMIT")
            return Signed(signer, signature, req)
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM signed").fetchone()[0])


# ---------------------------------------------------------------- comparing lot lists

_ATTRS = ("product_code", "form", "purity_ppm", "assay_ref")


def lot_differences(requested: Sequence[tuple], custody: Sequence[tuple]) -> list[dict[str, Any]]:
    """Lots (keyed by warehouse and lot id) that differ between the requested list and the books.

    Kinds: ``not_in_custody`` (asked to attest a lot the books do not hold), ``missing_from_request``
    (a reserve lot of the books the request leaves out), ``quantity_differs`` and ``attributes_differ``
    (the same lot, with both values)."""
    def by_key(lots: Sequence[tuple]) -> dict[tuple[str, str], tuple]:
        return {(v[0], v[1]): v for v in lots}

    req, books = by_key(requested), by_key(custody)
    out: list[dict[str, Any]] = []
    for k in sorted(req.keys() | books.keys()):
        r, c = req.get(k), books.get(k)
        where = {"warehouse_id": k[0], "lot_id": k[1]}
        if c is None:
            out.append({**where, "kind": "not_in_custody", "requested_quantity": str(r[5])})  # type: ignore[index]
        elif r is None:
            out.append({**where, "kind": "missing_from_request", "custody_quantity": str(c[5])})
        elif int(r[5]) != int(c[5]):
            out.append({**where, "kind": "quantity_differs", "requested_quantity": str(r[5]), "custody_quantity": str(c[5])})
        elif tuple(r) != tuple(c):
            fields = {name: {"requested": r[i], "custody": c[i]}
                      for name, i in zip(_ATTRS, (2, 3, 4, 6)) if r[i] != c[i]}
            out.append({**where, "kind": "attributes_differ", "fields": fields})
    return out


def describe(diffs: Sequence[dict[str, Any]], limit: int = 5) -> str:
    """One line naming the first lots that differ (for a refusal message and logs)."""
    parts = []
    for d in diffs[:limit]:
        lot = f"{d['warehouse_id']}/{d['lot_id']}"
        if d["kind"] == "quantity_differs":
            parts.append(f"{lot} quantity {d['requested_quantity']} asked, {d['custody_quantity']} in custody")
        elif d["kind"] == "attributes_differ":
            parts.append(f"{lot} {', '.join(d['fields'])} differ")
        else:
            parts.append(f"{lot} {d['kind'].replace('_', ' ')}")
    more = f" (+{len(diffs) - limit} more)" if len(diffs) > limit else ""
    return "; ".join(parts) + more


# ---------------------------------------------------------------- the attestor

@dataclass
class CustodianAttestor:
    """One attestor's decision and signature (see the module docstring).

    ``config_digest_of(attestor_address)`` reads the contract's current ``configDigest()`` (the node
    passes a web3 reader when it has an RPC URL); without it the product's pinned digest is used.
    ``clock`` is injectable for tests."""

    account: Any  # eth-account LocalAccount: the key never leaves this object
    chain_id: int
    products: dict[str, ProductTarget]
    custody: CustodyRecords
    signed: SignedLog
    config_digest_of: Callable[[str], bytes] | None = None
    reports: Path | None = None  # when set, the report hash must be the keccak256 of a file in this folder
    max_validity_seconds: int = 8 * 86_400  # a deadline at most this far ahead of now
    max_clock_skew_seconds: int = 300  # an as-of at most this far ahead of the node's clock
    clock: Callable[[], float] = time.time
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def address(self) -> str:
        return to_checksum_address(self.account.address)

    def check_terms(self, req: AttestationRequest) -> None:
        """Everything but the custody records: product, chain, contract, config digest, times."""
        target = self.products.get(req.product)
        if target is None:
            raise Refused("unknown_product", f"this node does not attest {req.product} "
                          f"(it attests {', '.join(sorted(self.products)) or 'nothing'})")
        if req.chain_id != self.chain_id:
            raise Refused("wrong_chain", f"this node signs for chain {self.chain_id}, not {req.chain_id}")
        if int(req.attestor, 16) != int(target.attestor, 16):
            raise Refused("wrong_contract", f"{req.product}'s ReserveAttestor is {to_checksum_address(target.attestor)}, "
                          f"not {req.attestor}")
        if self.config_digest_of is not None:
            try:
                current = bytes(self.config_digest_of(target.attestor))
            except Exception as exc:  # the chain is this node's second source of truth: no read, no signature
                raise Refused("chain_unreachable", f"cannot read configDigest() of {target.attestor}: "
                              f"{type(exc).__name__}") from None
        elif target.config_digest is not None:
            current = target.config_digest
        else:
            raise Refused("no_config_digest", f"no RPC URL and no pinned config digest for {req.product}")
        if req.config_digest != current:
            raise Refused("wrong_config", f"config digest 0x{req.config_digest.hex()} is not the attestor's "
                          f"current 0x{current.hex()} (attestor set or quorum changed)")
        now = int(self.clock())
        if req.deadline <= now:
            raise Refused("deadline_passed", f"deadline {req.deadline} has passed (now {now})")
        if req.deadline > now + self.max_validity_seconds:
            raise Refused("deadline_too_far", f"deadline {req.deadline} is more than {self.max_validity_seconds} s "
                          f"ahead (now {now})")
        if req.attestation.as_of > now + self.max_clock_skew_seconds:
            raise Refused("as_of_in_future", f"as-of {req.attestation.as_of} is in the future (now {now})")

    def check_report(self, req: AttestationRequest) -> None:
        """With a reports folder: the attested report hash is one of the custodian's own reports."""
        if self.reports is None:
            return
        from stockpile.merkle import keccak

        wanted = req.attestation.report_hash
        for path in sorted(self.reports.iterdir()) if self.reports.is_dir() else []:
            if path.is_file() and keccak(path.read_bytes()) == wanted:
                return
        raise Refused("unknown_report", f"report hash 0x{wanted.hex()} is not the keccak256 of any report in "
                      f"this node's reports folder")

    def check_custody(self, req: AttestationRequest) -> None:
        """The request's root, total and lot count against the node's own books."""
        att = req.attestation
        requested: list[tuple] | None = None
        if req.lots is not None:
            requested = [lot.as_tuple() for lot in req.lots]
            wrong = [v for v in requested if v[2] != req.product]
            if wrong:
                raise Refused("bad_request", f"lot {wrong[0][0]}/{wrong[0][1]} is {wrong[0][2]}, not {req.product}")
            if _figures(requested) != (att.merkle_root, att.total_quantity, att.lot_count):
                raise Refused("bad_request", "the request's lots do not give its merkle root, total and lot count")
        books = self.custody.reserve_lots(req.product, att.as_of)
        mine = _figures(books)
        if mine == (att.merkle_root, att.total_quantity, att.lot_count):
            return
        details: dict[str, Any] = {
            "custody": {"merkle_root": "0x" + mine[0].hex(), "total_quantity": str(mine[1]), "lot_count": mine[2]},
            "requested": {"merkle_root": "0x" + att.merkle_root.hex(), "total_quantity": str(att.total_quantity),
                          "lot_count": att.lot_count},
        }
        if requested is None:
            raise Refused("custody_mismatch", f"{req.product} as of {att.as_of}: this node's books give "
                          f"{mine[2]} lots, total {mine[1]}, root 0x{mine[0].hex()} (send the lot list to name the lots)",
                          details)
        diffs = lot_differences(requested, books)
        details["differences"] = diffs[:MAX_LISTED_DIFFERENCES]
        details["differences_total"] = len(diffs)
        raise Refused("custody_mismatch", f"{req.product} as of {att.as_of}: {len(diffs)} lot(s) differ from this "
                      f"node's books: {describe(diffs)}", details)

    def refresh_custody(self) -> list[str]:
        """Re-read the export folder now (for health checks); one ingest at a time with requests."""
        with self._lock:
            return self.custody.refresh()

    def handle(self, req: AttestationRequest) -> Signed:
        """Check, recompute, sign once (recorded first). Raises Refused."""
        self.check_terms(req)
        with self._lock:
            self.check_report(req)
            self.check_custody(req)

            def sign() -> tuple[str, bytes]:
                s = sign_attestation(self.account, req.chain_id, req.attestor, req.attestation, req.config_digest,
                                     req.deadline)
                return s.signer, s.signature

            return self.signed.sign_once(req, sign)


def _figures(lots: Sequence[tuple]) -> tuple[bytes, int, int]:
    """(root, total, count) of a lot list; the empty reserve is (zero root, 0, 0) as attested on chain."""
    if not lots:
        return bytes(32), 0, 0
    return lot_tree(lots).root, sum(int(v[5]) for v in lots), len(lots)
