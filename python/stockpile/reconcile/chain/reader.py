"""Read token and attestation state at a confirmed block, and sync their events into the DB.

Sync is incremental: a checkpoint per product (last synced block and its hash) is kept in the
database. Before each sync the checkpoint's block hash is compared with the node's; a
mismatch means a reorg deeper than the confirmation depth: the reader walks back through the
block hashes it stored until one matches, deletes the events above it and syncs again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import text
from web3 import Web3
from web3._utils.events import get_event_data
from web3.exceptions import BadFunctionCallOutput, ContractLogicError

from stockpile.contracts import contract
from stockpile.reconcile.chain.abi import attestor_abi, token_abi
from stockpile.reconcile.chain.logs import LogStats, paged_logs
from stockpile.reconcile.chain.state import Attestation, PendingRedemption, ProductChainState
from stockpile.reconcile.db.store import Database
from stockpile.reconcile.progress import progress
from stockpile.core.eth import ZERO_ADDRESS
from stockpile.core.jsonconv import jsonable
from stockpile.errors import StockpileError

EVENTS = ("Transfer", "Minted", "AddressFrozen", "RedemptionRequested", "RedemptionAccepted", "RedemptionCompleted",
          "RedemptionRejected", "RedemptionCancelled", "Frozen", "ForcedTransfer", "Paused", "Unpaused",
          "MintingPaused", "MintingUnpaused", "ReserveAttested")
CLOSING = ("RedemptionCompleted", "RedemptionRejected", "RedemptionCancelled")


class ChainConfigError(StockpileError, RuntimeError):
    pass


@dataclass(frozen=True)
class ProductContracts:
    product: str
    token: str
    attestor: str | None = None
    start_block: int = 0


@dataclass
class SyncResult:
    product: str
    from_block: int
    to_block: int
    events: int
    reorg: dict | None = None
    stats: LogStats = field(default_factory=LogStats)


def _hex(h) -> str:
    if isinstance(h, (bytes, bytearray)):
        return "0x" + bytes(h).hex()
    s = str(h)
    return s if s.startswith("0x") else "0x" + s


class ChainReader:
    def __init__(self, w3: Web3, db: Database, products: list[ProductContracts], confirmations: int = 12,
                 max_log_range: int = 10_000, show_progress: bool = False):
        self.w3 = w3
        self.db = db
        self.products = {p.product: p for p in products}
        self.confirmations = confirmations
        self.max_log_range = max_log_range
        self.show_progress = show_progress
        self.chain_id = w3.eth.chain_id
        self.token_abi = token_abi()
        self.attestor_abi = attestor_abi()
        self._topics: dict[str, dict] = {}
        for abi in (self.token_abi, self.attestor_abi):
            for item in abi:
                if item.get("type") == "event" and item["name"] in EVENTS:
                    sig = f"{item['name']}({','.join(_canonical(i) for i in item['inputs'])})"
                    self._topics["0x" + Web3.keccak(text=sig).hex().removeprefix("0x")] = item
        self._block_cache: dict[int, tuple[str, int]] = {}
        self.head: int | None = None

    # ---------------------------------------------------------------- blocks
    def confirmed_block(self) -> int:
        """``head - confirmations`` (the head seen is kept in ``self.head``)."""
        head = self.w3.eth.block_number
        self.head = int(head)
        return max(0, head - self.confirmations)

    def _decode(self, log) -> tuple[str, dict] | None:
        """(event name, args) of one of our events, or None."""
        if not log["topics"]:
            return None
        abi = self._topics.get(_hex(log["topics"][0]))
        if abi is None:
            return None
        try:
            ev = get_event_data(self.w3.codec, abi, log)
        except Exception:  # same topic, different indexing: not ours
            return None
        return ev["event"], dict(ev["args"])

    def unconfirmed(self, from_block: int, to_block: int) -> dict[str, dict[str, int]]:
        """Events per product and name in blocks not yet confirmed (read, not stored): what a run
        at the confirmed block does not see yet."""
        out: dict[str, dict[str, int]] = {}
        if from_block > to_block:
            return out
        for product, p in self.products.items():
            addresses = [Web3.to_checksum_address(p.token)] + ([Web3.to_checksum_address(p.attestor)] if p.attestor else [])
            for logs in paged_logs(self.w3, addresses, from_block, to_block, self.max_log_range):
                for log in logs:
                    d = self._decode(log)
                    if d is not None:
                        counts = out.setdefault(product, {})
                        counts[d[0]] = counts.get(d[0], 0) + 1
        return {k: dict(sorted(v.items())) for k, v in out.items()}

    def block(self, number: int) -> tuple[str, int]:
        b = self._block_cache.get(number)
        if b is None:
            blk = self.w3.eth.get_block(number)
            b = (_hex(blk["hash"]), int(blk["timestamp"]))
            self._block_cache[number] = b
        return b

    def token(self, product: str):
        return contract(self.w3, "CommodityToken", self.products[product].token)

    def attestor(self, product: str):
        a = self.products[product].attestor
        return None if a is None else contract(self.w3, "ReserveAttestor", a)

    def checkpoint_name(self, p: ProductContracts) -> str:
        return f"{self.chain_id}:{p.product}:{p.token.lower()}:{(p.attestor or '').lower()}"

    def verify_products(self, block: int | Literal["latest"] = "latest") -> None:
        """Each configured token and attestor says it serves that product (``productCode()``);
        raises ChainConfigError naming the mismatch (before anything is synced)."""
        for product, p in self.products.items():
            contracts = [("token", p.token, self.token(product))]
            if p.attestor:
                contracts.append(("attestor", p.attestor, self.attestor(product)))
            for what, addr, c in contracts:
                if not self.w3.eth.get_code(Web3.to_checksum_address(addr), block_identifier=block):
                    raise ChainConfigError(f"{what} {addr} of {product} has no code at block {block}")
                # the calls the run relies on must answer: another contract at that address fails here, named
                needed = (("totalSupply", "decimals") if what == "token" else ("latestAttestation",))
                for fn in needed:
                    if _optional(lambda c=c, fn=fn: getattr(c.functions, fn)().call(block_identifier=block)) is None:
                        kind = "a CommodityToken" if what == "token" else "a ReserveAttestor"
                        raise ChainConfigError(f"{what} {addr} of {product} is not {kind}: {fn}() failed at block "
                                               f"{block}")
                code = _optional(lambda c=c: c.functions.productCode().call(block_identifier=block))
                if code is None:
                    continue
                code_s = code.rstrip(b"\0").decode() if isinstance(code, (bytes, bytearray)) else str(code)
                if code_s != product:
                    raise ChainConfigError(f"{what} {addr} is for product {code_s!r}, not {product!r}")

    # ---------------------------------------------------------------- sync
    def sync(self, to_block: int | None = None) -> list[SyncResult]:
        self._block_cache.clear()
        to_block = self.confirmed_block() if to_block is None else to_block
        # Every product's reorg check runs before any product re-syncs: a re-sync stores the new
        # chain's block hashes, and a later product's walk back would otherwise stop at one of
        # them, above the real fork point, keeping its orphaned events.
        reorgs = {name: self.detect_reorg(p) for name, p in self.products.items()}
        return [self.sync_product(p, to_block, reorg=reorgs[name]) for name, p in self.products.items()]

    def _checkpoint(self, conn, name):
        return conn.execute(text("SELECT start_block, last_block, last_hash FROM chain_checkpoints WHERE name = :n"),
                            {"n": name}).first()

    def detect_reorg(self, p: ProductContracts) -> dict | None:
        """If the checkpoint's block hash changed, roll the product's sync back to the newest
        stored block that is still on the chain; returns what was rolled back."""
        name = self.checkpoint_name(p)
        with self.db.engine.begin() as conn:
            cp = self._checkpoint(conn, name)
            if cp is None:
                return None
            head = self.w3.eth.block_number
            if cp.last_block <= head and self.block(cp.last_block)[0] == cp.last_hash:
                return None
            stored = conn.execute(text("SELECT number, hash FROM chain_blocks WHERE chain_id = :c AND number <= :n "
                                       "ORDER BY number DESC"), {"c": self.chain_id, "n": cp.last_block}).all()
            ancestor = cp.start_block - 1
            for number, h in stored:
                if number <= head and self.block(number)[0] == h:
                    ancestor = number
                    break
            deleted = conn.execute(text("DELETE FROM chain_events WHERE chain_id = :c AND product_code = :p AND "
                                        "block_number > :a"), {"c": self.chain_id, "p": p.product, "a": ancestor}).rowcount
            conn.execute(text("DELETE FROM chain_blocks WHERE chain_id = :c AND number > :a"),
                         {"c": self.chain_id, "a": ancestor})
            new_hash = self.block(ancestor)[0] if ancestor >= 0 else "0x"
            conn.execute(text("UPDATE chain_checkpoints SET last_block = :b, last_hash = :h, updated_at = :t WHERE name = :n"),
                         {"b": ancestor, "h": new_hash, "t": int(time.time()), "n": name})
        return {"product": p.product, "checkpoint_block": cp.last_block, "stored_hash": cp.last_hash,
                "common_ancestor": ancestor, "events_removed": deleted}

    def sync_product(self, p: ProductContracts, to_block: int, reorg: dict | None | Literal[False] = False) -> SyncResult:
        """Sync one product's events up to ``to_block``; ``reorg`` is what :meth:`detect_reorg`
        already found (``False``: check now)."""
        if reorg is False:
            reorg = self.detect_reorg(p)
        name = self.checkpoint_name(p)
        with self.db.engine.connect() as conn:
            cp = self._checkpoint(conn, name)
        start = p.start_block if cp is None else cp.last_block + 1
        result = SyncResult(p.product, start, to_block, 0, reorg)
        if start > to_block:
            return result
        addresses = [Web3.to_checksum_address(p.token)] + ([Web3.to_checksum_address(p.attestor)] if p.attestor else [])
        bar = progress(desc=f"sync {p.product}", total=to_block - start + 1, unit=" blocks", enabled=self.show_progress)
        rows = []
        for logs in paged_logs(self.w3, addresses, start, to_block, self.max_log_range, result.stats, on_page=bar.update):
            for log in logs:
                d = self._decode(log)
                if d is None:
                    continue
                rows.append({
                    "c": self.chain_id, "p": p.product, "a": log["address"].lower(), "bn": int(log["blockNumber"]),
                    "bh": _hex(log["blockHash"]), "tx": _hex(log["transactionHash"]), "li": int(log["logIndex"]),
                    "e": d[0], "args": json.dumps(jsonable(d[1])),
                })
        bar.close()
        blocks = {r["bn"] for r in rows} | {to_block}
        block_rows = []
        for n in sorted(blocks):
            h, ts = self.block(n)
            block_rows.append({"c": self.chain_id, "n": n, "h": h, "t": ts})
        for r in rows:  # a log's block hash must be the block we saw, else the chain moved under us
            if r["bh"] != self.block(r["bn"])[0]:
                raise RuntimeError(f"block {r['bn']} changed during sync; run again")
        with self.db.engine.begin() as conn:
            if rows:
                conn.execute(text("INSERT INTO chain_events (chain_id, product_code, address, block_number, block_hash, "
                                  "tx_hash, log_index, event, args) VALUES (:c, :p, :a, :bn, :bh, :tx, :li, :e, :args)"),
                             rows)
            known = {n for (n,) in conn.execute(text("SELECT number FROM chain_blocks WHERE chain_id = :c AND number >= :lo"),
                                                {"c": self.chain_id, "lo": min(blocks)})}
            new_blocks = [b for b in block_rows if b["n"] not in known]
            if new_blocks:
                conn.execute(text("INSERT INTO chain_blocks (chain_id, number, hash, timestamp) VALUES (:c, :n, :h, :t)"),
                             new_blocks)
            h_to = self.block(to_block)[0]
            params = {"n": name, "c": self.chain_id, "s": p.start_block, "b": to_block, "h": h_to, "t": int(time.time())}
            if cp is None:
                conn.execute(text("INSERT INTO chain_checkpoints (name, chain_id, start_block, last_block, last_hash, "
                                  "updated_at) VALUES (:n, :c, :s, :b, :h, :t)"), params)
            else:
                conn.execute(text("UPDATE chain_checkpoints SET last_block = :b, last_hash = :h, updated_at = :t "
                                  "WHERE name = :n"), params)
        result.events = len(rows)
        return result

    # ---------------------------------------------------------------- state
    def events(self, product: str, up_to: int) -> list[tuple[str, dict, int]]:
        with self.db.engine.connect() as conn:
            return [(e, json.loads(a), bn) for e, a, bn in conn.execute(
                text("SELECT event, args, block_number FROM chain_events WHERE chain_id = :c AND product_code = :p "
                     "AND block_number <= :b ORDER BY block_number, log_index"),
                {"c": self.chain_id, "p": product, "b": up_to})]

    def _block_ts(self, numbers: set[int]) -> dict[int, int]:
        out = {}
        with self.db.engine.connect() as conn:
            for n, ts in conn.execute(text("SELECT number, timestamp FROM chain_blocks WHERE chain_id = :c"),
                                      {"c": self.chain_id}):
                if n in numbers:
                    out[n] = ts
        for n in numbers - out.keys():
            out[n] = self.block(n)[1]
        return out

    def state(self, product: str, block: int) -> ProductChainState:
        p = self.products[product]
        tok = self.token(product)
        bi = block
        supply = tok.functions.totalSupply().call(block_identifier=bi)
        decimals = tok.functions.decimals().call(block_identifier=bi)
        escrowed = _optional(lambda: tok.functions.totalEscrowed().call(block_identifier=bi))
        paused = _optional(lambda: tok.functions.paused().call(block_identifier=bi))
        minting_paused = _optional(lambda: tok.functions.mintingPaused().call(block_identifier=bi))
        att = None
        a = self.attestor(product)
        if a is not None:
            raw = _optional(lambda: a.functions.latestAttestation().call(block_identifier=bi))
            if raw is not None:
                (root, total, count, as_of, report), round_id, attested_at = raw
                if int(round_id) != 0 or int(as_of) != 0:
                    att = Attestation(_hex(root).lower(), int(total), int(count), int(as_of), _hex(report).lower(),
                                      int(round_id), int(attested_at))
        minted = burned = 0
        open_req: dict[int, dict] = {}
        counts: dict[str, int] = {}
        for name, args, bn in self.events(product, block):
            counts[name] = counts.get(name, 0) + 1
            if name == "Transfer":
                if args["from"].lower() == ZERO_ADDRESS:
                    minted += int(args["value"])
                if args["to"].lower() == ZERO_ADDRESS:
                    burned += int(args["value"])
            elif name == "RedemptionRequested":
                open_req[int(args["id"])] = {**args, "block": bn, "status": "pending"}
            elif name == "RedemptionAccepted" and int(args["id"]) in open_req:
                open_req[int(args["id"])]["status"] = "processing"  # accepted: delivery under way
            elif name in CLOSING:
                open_req.pop(int(args["id"]), None)
        ts = self._block_ts({r["block"] for r in open_req.values()})
        pending = [PendingRedemption(i, r["holder"], int(r["amount"]), ts[r["block"]], r["block"], r.get("deliveryRef", ""),
                                     r["status"])
                   for i, r in sorted(open_req.items())]
        signers = None
        if att is not None:
            from stockpile.reconcile.chain.signers import attestation_signers

            signers = attestation_signers(self, product, att.round_id)
        return ProductChainState(product, p.token, p.attestor, block, self.block(block)[1], int(supply), int(decimals),
                                 None if escrowed is None else int(escrowed), att, minted, burned, pending, counts,
                                 paused, minting_paused, signers)

    def states(self, block: int) -> dict[str, ProductChainState]:
        return {name: self.state(name, block) for name in self.products}


def _optional(fn):
    try:
        return fn()
    except (ContractLogicError, BadFunctionCallOutput, ValueError):
        return None


def _canonical(inp: dict) -> str:
    t = inp["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_canonical(c) for c in inp["components"]) + ")" + t[5:]
    return t
