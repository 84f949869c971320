"""What the portal shows, read from the chain (web3.py, the SDK and the reconciliation's chain
reader) and the custody database; no web code here (see ``app.py``).

A refresh (at start, then every ``refresh`` seconds in a background thread) reads every
product's state at one block, syncs the token and attestor events into the portal's own index
file (history charts, balances for the allocation rule), and builds the lot index for a newly
attested root. Pages read the latest refresh; nothing a visitor sends writes anywhere.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import text
from web3 import Web3

from stockpile.sdk.rpc import connect
from web3.contract import Contract
from web3.exceptions import Web3Exception

from stockpile.portal.index import LotIndex, LotList, LotRow
from stockpile.reconcile.breaks.classify import Classifier
from stockpile.reconcile.chain.reader import ChainReader, ProductContracts
from stockpile.core.eth import ZERO_ADDRESS
from stockpile.reconcile.chain.state import Attestation, ProductChainState
from stockpile.reconcile.custody.parse import format_time
from stockpile.reconcile.custody.schema import RESERVE_STATUSES, Catalogue
from stockpile.reconcile.db.store import Database
from stockpile.reconcile.report.model import RunRecord
from stockpile.sdk import Stockpile
from stockpile.sdk.models import ProductInfo
from stockpile.core.units import from_units
from stockpile.errors import StockpileError

log = logging.getLogger("stockpile.portal")
PRICE_HISTORY = 500  # newest price rounds read for the chart


class PortalError(StockpileError):
    """A visitor's question that has no answer: ``status`` is the HTTP status (404, 409, 422)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _ratio(num: int, den: int) -> str | None:
    if not den:
        return None
    return str((Decimal(num) / Decimal(den)).quantize(Decimal("0.000001"), rounding=ROUND_DOWN))


def _amount(units: int | None, decimals: int) -> str | None:
    """Token base units as a plain decimal amount without trailing zeros ("4545.8262", "0")."""
    if units is None:
        return None
    d = from_units(units, decimals).normalize()
    return f"{d:f}"


@dataclass
class ProductState:
    info: ProductInfo
    chain: ProductChainState
    minting_paused: bool | None
    max_attestation_age: int | None
    price: dict | None
    signers: dict
    custody_reserve_now: int | None
    custody_lots_now: int | None
    lot_list: LotList | None
    lot_list_error: str | None

    def summary(self) -> dict:
        i, st, att = self.info, self.chain, self.chain.attestation
        d = i.decimals
        age = None if att is None else st.block_timestamp - att.as_of
        return {
            "symbol": i.symbol, "name": i.name, "product_code": i.product_code, "unit": i.unit, "decimals": d,
            "token": i.token, "attestor": i.attestor, "feed": i.feed,
            "block_number": st.block_number, "block_time": format_time(st.block_timestamp),
            "total_supply": str(st.total_supply), "total_supply_amount": _amount(st.total_supply, d),
            "escrowed": None if st.total_escrowed is None else str(st.total_escrowed),
            "escrowed_amount": _amount(st.total_escrowed, d),
            "attested_reserve": None if att is None else str(att.total_quantity),
            "attested_reserve_amount": None if att is None else _amount(att.total_quantity, d),
            "custody_reserve_now": None if self.custody_reserve_now is None else str(self.custody_reserve_now),
            "custody_reserve_now_amount": _amount(self.custody_reserve_now, d),
            "custody_lots_now": self.custody_lots_now,
            "collateralisation": None if att is None else _ratio(att.total_quantity, st.total_supply),
            "attestation": None if att is None else {
                "round": att.round_id, "merkle_root": att.merkle_root, "lot_count": att.lot_count,
                "as_of": format_time(att.as_of), "as_of_unix": att.as_of, "age_seconds": age,
                "max_age_seconds": self.max_attestation_age,
                "stale": None if self.max_attestation_age is None or age is None else age > self.max_attestation_age,
                "attested_at": format_time(att.attested_at), "report_hash": att.report_hash,
                **self.signers},
            "price": self.price,
            "paused": st.paused, "minting_paused": self.minting_paused,
            "pending_redemptions": len(st.pending),
            "lot_list": None if self.lot_list is None else {
                "lot_count": self.lot_list.lot_count, "source": self.lot_list.source, "root": self.lot_list.root},
            "lot_list_error": self.lot_list_error,
        }


@dataclass
class Snapshot:
    block: int
    block_time: int
    products: dict[str, ProductState]  # by symbol
    refreshed_at: float
    error: str | None = None
    balances: dict[str, dict[str, int]] = field(default_factory=dict)  # symbol -> holder -> units at block
    baskets: dict[str, dict] = field(default_factory=dict)  # basket symbol -> summary at block (``basket_summary``)


class PortalService:
    def __init__(self, products_file: str | Path, db_url: str | Path, index_path: str | Path | None = None,
                 rpc_url: str | None = None, catalogue: Catalogue | None = None):
        from stockpile.reconcile.service import load_products

        products, doc = load_products(products_file)
        self.rpc_url: str = rpc_url or doc.get("rpc_url") or ""
        if not self.rpc_url:
            raise ValueError(f"{products_file}: no rpc_url (or give --rpc-url)")
        self.w3 = connect(self.rpc_url)
        self.db = Database(db_url)
        self.catalogue = catalogue or Catalogue.load()
        if index_path is None:
            index_path = _default_index_path(db_url)
        self.index = LotIndex(index_path)
        self.events_db = Database(Path(index_path))  # the portal's own copy of the chain events
        self.sp = self._connect(products, doc)
        self.infos: dict[str, ProductInfo] = {p.symbol: p for p in self.sp.products()}
        # baskets: from the Directory (the SDK finds them there) and the products file's `baskets:` addresses
        for address in doc.get("baskets") or []:
            self.sp.add_basket(Web3.to_checksum_address(address))
        self.reader = ChainReader(self.w3, self.events_db,
                                  [ProductContracts(i.product_code, i.token, i.attestor, int(doc.get("start_block", 0)))
                                   for i in self.infos.values()], confirmations=0)
        self.snapshot: Snapshot | None = None
        self._inputs: tuple | None = None  # (head block, its hash, custody fingerprint) of the snapshot
        self._signers: dict[tuple, dict] = {}
        self._custody: dict[tuple, tuple[int, int]] = {}
        self._prices: dict[str, dict[int, dict | None]] = {}
        self._history: dict[tuple, dict] = {}
        self._basket_clients: dict[str, Any] = {}  # symbol -> the SDK's BasketClient
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- set-up
    def _connect(self, products: list[ProductContracts], doc: dict) -> Stockpile:
        if doc.get("directory"):
            return Stockpile.connect(self.w3, directory=doc["directory"])
        from stockpile.contracts import contract

        infos = {}
        for p in products:
            t = contract(self.w3, "CommodityToken", p.token)
            symbol = t.functions.symbol().call()
            feed = (doc.get("products", {}).get(p.product) or {}).get("feed")
            infos[symbol] = ProductInfo(symbol=symbol, name=t.functions.name().call(), product_code=p.product,
                                        unit=t.functions.unitDescription().call(), decimals=t.functions.decimals().call(),
                                        token=t.address, attestor=Web3.to_checksum_address(p.attestor) if p.attestor else None,
                                        feed=Web3.to_checksum_address(feed) if feed else None)
        return Stockpile(self.w3, infos)

    def start(self, refresh: float) -> None:
        """Refresh now, then every ``refresh`` seconds in a daemon thread."""
        self.refresh()
        if refresh > 0:
            self._thread = threading.Thread(target=self._loop, args=(refresh,), daemon=True, name="portal-refresh")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.refresh()
            except Exception as exc:  # keep serving the last good snapshot; say why on the pages
                log.warning("refresh failed: %s", exc)
                if self.snapshot is not None:
                    self.snapshot.error = f"{type(exc).__name__}: {exc}"

    # ---------------------------------------------------------------- refresh
    def refresh(self) -> Snapshot:
        """Read everything at the head block; when neither the head block (number and hash) nor the
        custody database changed since the last good refresh, the snapshot is the same: keep it (one
        block request and one query instead of every product's state, prices, events and baskets)."""
        with self._lock:
            head = self.w3.eth.get_block("latest")
            block = int(head["number"])
            inputs = (block, bytes(head["hash"]), self._custody_fingerprint())
            if self.snapshot is not None and self.snapshot.error is None and inputs == self._inputs:
                self.snapshot.refreshed_at = time.time()
                return self.snapshot
            self.reader.sync(block)
            states = self.reader.states(block)
            products = {}
            for symbol, info in self.infos.items():
                products[symbol] = self._product_state(info, states[info.product_code])
            ts = self.reader.block(block)[1]
            snap = Snapshot(block, ts, products, time.time())
            snap.balances = {s: self._balances(p.info, block) for s, p in products.items()}
            snap.baskets = {b: self._basket_summary(b, snap) for b in self.sp.baskets()}
            self.snapshot, self._inputs = snap, inputs
            return snap

    def _custody_fingerprint(self) -> tuple:
        """Changes with every ingest into (or deletion from) the custody database: what the custody
        reserve now and the attested lot lists are read from."""
        with self.db.engine.connect() as conn:
            return tuple(conn.execute(text("SELECT count(*), max(id), max(ingested_at) FROM snapshots")).one())

    def _product_state(self, info: ProductInfo, st: ProductChainState) -> ProductState:
        client = self.sp.product(info.symbol)
        tok = client.token
        minting_paused = _call(lambda: tok.functions.mintingPaused().call(block_identifier=st.block_number))
        max_age = _call(lambda: tok.functions.maxAttestationAge().call(block_identifier=st.block_number))
        price = None
        if client.feed is not None:
            p = _call(client.price)
            if p is not None:
                price = {"price": str(p.price), "round": p.round_id, "updated_at": format_time(p.updated_at),
                         "age_seconds": max(0, st.block_timestamp - p.updated_at), "heartbeat": p.heartbeat,
                         "stale": p.stale, "description": p.description}
        att = st.attestation
        signers = self._attestation_signers(info, att) if att is not None else {}
        cur_total, cur_lots = self._custody_now(info.product_code, st.block_timestamp)
        lst, err = None, None
        if att is not None:
            lst = self.index.find(info.product_code, att.merkle_root)
            if lst is None:
                lst, err = self._build_list(info, att)
            if lst is not None:
                self.index.prune(info.product_code, lst.root)
        else:
            err = "no attestation on chain yet"
        return ProductState(info, st, minting_paused, max_age, price, signers, cur_total, cur_lots, lst, err)

    def _build_list(self, info: ProductInfo, att) -> tuple[LotList | None, str | None]:
        """Find the attested lot list in the custody database the way the reconciliation does
        (custody view at as-of with that root, the custodian's report, an ingested attested list,
        a previous view) and index it."""
        classifier = Classifier(self.db, self.catalogue)
        sources = self.db.view_sources(att.as_of)
        lots, source = None, ""
        if sources:
            view = classifier.view(sources)
            reserve = classifier.reserve(view, info.product_code)
            key = (frozenset((w, s) for w, (s, _a) in sources.items()), info.product_code)
            if reserve and classifier.root_of(key, reserve) == att.merkle_root.lower():
                lots, source = reserve, f"custody view at as-of {format_time(att.as_of)} (root matches)"
        if lots is None:
            lots, source = classifier.find_attested_list(info.product_code, att, sources)
        if lots is None:
            return None, f"the attested lot list of round {att.round_id} is not in the custody database: {source}"
        t0 = time.perf_counter()
        lst = self.index.build(info.product_code, att.merkle_root, lots, source)
        log.info("indexed %d lots of %s in %.1fs", len(lots), info.symbol, time.perf_counter() - t0)
        return lst, None

    def _custody_now(self, product: str, now: int) -> tuple[int | None, int | None]:
        sources = self.db.view_sources(now)
        if not sources:
            return None, None
        key = (product, frozenset((w, s) for w, (s, _a) in sources.items()))
        if key not in self._custody:
            total = count = 0
            with self.db.engine.connect() as conn:
                for wh, (sid, _a) in sources.items():
                    for (q,) in conn.execute(
                            text("SELECT quantity FROM lots WHERE snapshot_id = :s AND warehouse_id = :w AND "
                                 "product_code = :p AND status IN ('" + "', '".join(sorted(RESERVE_STATUSES)) + "')"),
                            {"s": sid, "w": wh, "p": product}):
                        total += int(q)
                        count += 1
            self._custody[key] = (total, count)
        return self._custody[key]

    def _attestation_signers(self, info: ProductInfo, att) -> dict:
        """Registered attestors and quorum now, and who signed this round (recovered from the
        signatures in the attest transaction, when it called the attestor directly)."""
        key = (info.attestor, att.round_id)
        if key in self._signers:
            return self._signers[key]
        from stockpile.reserve.signing import attest_tx_signers

        client = self.sp.product(info.symbol)
        a = cast(Contract, client.attestor)  # the product has one: this round came from it
        out: dict = {"attestors": _call(lambda: a.functions.attestors().call()),
                     "quorum": _call(lambda: a.functions.quorum().call()), "signers": None}
        with self.events_db.engine.connect() as conn:
            row = conn.execute(text("SELECT tx_hash, args FROM chain_events WHERE chain_id = :c AND product_code = :p AND "
                                    "event = 'ReserveAttested' ORDER BY block_number DESC, log_index DESC"),
                               {"c": self.reader.chain_id, "p": info.product_code}).fetchall()
        tx_hash = next((h for h, args in row if int(json.loads(args)["roundId"]) == att.round_id), None)
        if tx_hash is not None:
            try:
                out["signers"] = attest_tx_signers(self.w3, self.reader.chain_id, a.address, tx_hash)
                out["attest_tx"] = tx_hash
            except (ValueError, Web3Exception, OSError) as exc:  # attested through a Safe or a multicall; node gone
                out["signers_note"] = f"signers not recoverable from {tx_hash}: {type(exc).__name__}: {exc}"
        self._signers[key] = out
        return out

    def _balances(self, info: ProductInfo, block: int) -> dict[str, int]:
        """Every holder's balance at ``block``, from the Transfer events (the token contract's own
        address is the redemption escrow)."""
        bal: dict[str, int] = {}
        for name, args, _bn in self.reader.events(info.product_code, block):
            if name != "Transfer":
                continue
            v = int(args["value"])
            f, t = Web3.to_checksum_address(args["from"]), Web3.to_checksum_address(args["to"])
            if f != ZERO_ADDRESS:
                bal[f] = bal.get(f, 0) - v
            if t != ZERO_ADDRESS:
                bal[t] = bal.get(t, 0) + v
        return {h: b for h, b in bal.items() if b > 0}

    def _basket_summary(self, symbol: str, snap: Snapshot) -> dict:
        """A basket at the snapshot block: shares, NAV, and per component its units per share, what the basket
        holds, shares x units (the backing identity: held == shares x units unless tokens were sent to it
        directly) and the product it is (whose attested lots back the holding)."""
        from stockpile.contracts import contract

        if symbol not in self._basket_clients:  # its contracts and decimals: the same at every refresh
            self._basket_clients[symbol] = self.sp.basket(symbol)
        client = self._basket_clients[symbol]
        b, block = client.token, snap.block
        supply = b.functions.totalSupply().call(block_identifier=block)
        by_token = {p.info.token.lower(): p for p in snap.products.values()}
        components = []
        for token, units, _feed, _hb, tdec, _fdec in b.functions.composition().call(block_identifier=block):
            p = by_token.get(token.lower())
            erc20 = contract(self.w3, "CommodityToken", token)
            held = erc20.functions.balanceOf(b.address).call(block_identifier=block)
            required = supply * units
            components.append({
                "token": token, "symbol": p.info.symbol if p else None,
                "product_code": p.info.product_code if p else None, "unit": p.info.unit if p else None,
                "decimals": tdec, "units_per_share": str(units),
                "amount_per_share": _amount(units * 10**client.decimals, tdec),
                "held_units": str(held), "held": _amount(held, tdec),
                "required_units": str(required), "required": _amount(required, tdec),
                "surplus_units": str(max(0, held - required)), "shortfall_units": str(max(0, required - held)),
                "identity": "equal" if held == required else ("surplus" if held > required else "under-backed"),
                "backed": held >= required})
        nav = None
        if client.nav_feed is not None:
            feed = client.nav_feed
            r = _call(lambda: feed.functions.latestRoundData().call(block_identifier=block))
            dec = _call(lambda: feed.functions.decimals().call())
            if r is not None and dec is not None:
                nav = {"nav": str(Decimal(int(r[1])).scaleb(-dec)), "updated_at": format_time(int(r[3])),
                       "age_seconds": max(0, snap.block_time - int(r[3]))}
        return {"symbol": symbol, "name": b.functions.name().call(), "address": b.address,
                "nav_feed": client.nav_feed.address if client.nav_feed else None, "decimals": client.decimals,
                "total_supply": str(supply), "total_supply_amount": _amount(supply, client.decimals),
                "nav": nav, "fully_backed": all(c["backed"] for c in components), "components": components,
                "block": block}

    # ---------------------------------------------------------------- questions
    def basket(self, symbol: str, limit: int = 200) -> dict:
        """A basket's look-through: its summary, and per component the product's attestation and the attested
        lots allocated to the basket's own holding of it (the allocation rule, the basket being a holder)."""
        snap = self.state()
        b = snap.baskets.get(symbol)
        if b is None:
            raise PortalError(404, f"unknown basket {symbol!r}; known: {', '.join(sorted(snap.baskets)) or 'none'}")
        out = []
        for c in b["components"]:
            p = snap.products.get(c["symbol"]) if c["symbol"] else None
            if p is None:
                out.append({**c, "product": None, "holding": None})
                continue
            summary = p.summary()
            product = {k: summary[k] for k in ("attestation", "attested_reserve_amount", "total_supply_amount",
                                               "collateralisation", "paused", "lot_list", "lot_list_error")}
            out.append({**c, "product": product, "holding": self._holding(snap, p, b["address"], limit)})
        return {**b, "components": out, "rule": ALLOCATION_RULE}

    def state(self) -> Snapshot:
        if self.snapshot is None:
            return self.refresh()
        return self.snapshot

    def product(self, symbol: str) -> ProductState:
        snap = self.state()
        p = snap.products.get(symbol)
        if p is None:
            raise PortalError(404, f"unknown product {symbol!r}; known: {', '.join(sorted(snap.products))}")
        return p

    def lot_list(self, symbol: str) -> tuple[ProductState, LotList]:
        p = self.product(symbol)
        if p.lot_list is None:
            raise PortalError(404, f"{symbol}: no attested lot list to show ({p.lot_list_error})")
        return p, p.lot_list

    def lot(self, symbol: str, lot_id: str, warehouse: str | None = None) -> tuple[ProductState, LotList, LotRow]:
        p, lst = self.lot_list(symbol)
        rows = self.index.lots_by_id(lst, lot_id)
        if warehouse is not None:
            rows = [r for r in rows if r.warehouse_id == warehouse]
        if not rows:
            where = f" in warehouse {warehouse}" if warehouse else ""
            raise PortalError(404, f"{symbol}: lot {lot_id!r}{where} is not in the attested lot list "
                                   f"(round {cast(Attestation, p.chain.attestation).round_id})")  # it has a lot list
        if len(rows) > 1:
            raise PortalError(409, f"{symbol}: lot id {lot_id!r} is in {len(rows)} warehouses "
                                   f"({', '.join(r.warehouse_id for r in rows)}): add ?warehouse=")
        return p, lst, rows[0]

    def proof(self, symbol: str, lot_id: str, warehouse: str | None = None) -> dict:
        """A lot's proof in the shape ``StandardMerkleTree.verify(root, leafEncoding, value, proof)``
        of @openzeppelin/merkle-tree takes."""
        from stockpile.merkle import LOT_LEAF_TYPES

        p, lst, row = self.lot(symbol, lot_id, warehouse)
        att = cast(Attestation, p.chain.attestation)  # it has a lot list
        proof, leaf = self.index.proof_and_leaf(lst, row)
        return {
            "format": "stockpile-lot-proof/1",
            "leafEncoding": LOT_LEAF_TYPES,
            "value": row.value(p.info.product_code),
            "proof": proof,
            "root": lst.root,
            "leaf": leaf,
            "treeIndex": row.pos,
            "product": p.info.product_code, "symbol": p.info.symbol,
            "round": att.round_id, "attestor": p.info.attestor, "chain_id": self.reader.chain_id,
            "block": p.chain.block_number,
            "lot": _lot_json(row, p),
        }

    def search(self, symbol: str, q: str = "", warehouse: str | None = None, form: str | None = None,
               page: int = 1, page_size: int = 50) -> dict:
        p, lst = self.lot_list(symbol)
        count, rows = self.index.search(lst, q, warehouse, form, (page - 1) * page_size, page_size)
        pages = max(1, -(-count // page_size))
        if page > pages:
            raise PortalError(404, f"page {page} is out of range: {count} lots match, {pages} page(s) of {page_size}")
        return {"symbol": symbol, "query": {"q": q, "warehouse": warehouse, "form": form},
                "page": page, "page_size": page_size, "pages": pages, "total": count,
                "round": cast(Attestation, p.chain.attestation).round_id, "root": lst.root,  # it has a lot list
                "facets": lst.facets, "lots": [_lot_json(r, p) for r in rows]}

    def history(self, symbol: str) -> dict:
        """Supply (after each mint or burn) and attested reserve (each round) over time, and the
        price rounds, as [unix time, amount] points (computed once per snapshot block)."""
        p = self.product(symbol)
        key = (symbol, p.chain.block_number)
        if key not in self._history:
            if len(self._history) > 64:
                self._history.clear()
            self._history[key] = self._compute_history(symbol, p)
        return self._history[key]

    def _compute_history(self, symbol: str, p: ProductState) -> dict:
        info = p.info
        d = info.decimals
        events = self.reader.events(info.product_code, p.chain.block_number)
        blocks = {bn for _n, _a, bn in events}
        ts = self._block_times(blocks)
        supply: list[list[Any]] = []
        attested: list[list[Any]] = []
        if events:  # no supply before the product's first event (its first attestation, typically)
            supply.append([ts[events[0][2]], "0", events[0][2]])
        s = 0
        for name, args, bn in events:
            if name == "Transfer" and (args["from"].lower() == ZERO_ADDRESS or args["to"].lower() == ZERO_ADDRESS):
                s += int(args["value"]) if args["from"].lower() == ZERO_ADDRESS else -int(args["value"])
                supply.append([ts[bn], _amount(s, d), bn])
            elif name == "ReserveAttested":
                attested.append([ts[bn], _amount(int(args["totalQuantity"]), d), bn, int(args["roundId"]),
                                 int(args["asOf"])])
        now = [p.chain.block_timestamp, _amount(p.chain.total_supply, d), p.chain.block_number]
        if not supply or supply[-1][1] != now[1] or supply[-1][0] != now[0]:
            supply.append(now)
        return {"symbol": symbol, "unit": info.unit, "block": p.chain.block_number,
                "supply": supply, "attested_reserve": attested, "price": self._price_history(p)}

    def _block_times(self, numbers: set[int]) -> dict[int, int]:
        return self.reader._block_ts(numbers) if numbers else {}

    def _price_history(self, p: ProductState) -> list:
        client = self.sp.product(p.info.symbol)
        if client.feed is None or p.price is None:
            return []
        cache = self._prices.setdefault(p.info.symbol, {})
        latest = int(p.price["round"])
        dec = _call(lambda: client.feed.functions.decimals().call())
        for rid in range(latest, max(0, latest - PRICE_HISTORY), -1):
            if rid in cache:
                if cache[rid] is None:  # known to be older than the feed keeps
                    break
                continue
            r = _call(lambda rid=rid: client.feed.functions.getRoundData(rid).call())
            if r is None:  # older than the feed's history (a ring of recent rounds)
                cache[rid] = None
                break
            cache[rid] = {"round": rid, "t": int(r[3]), "price": str(Decimal(int(r[1])).scaleb(-dec))}
        return [[v["t"], v["price"], v["round"]] for k, v in sorted(cache.items())
                if v is not None and k > latest - PRICE_HISTORY]

    def address(self, address: str, symbol: str | None = None, limit: int = 200) -> dict:
        """Per product: balance, value, pending redemptions, and the lots allocated to ``address``
        at the snapshot block by the allocation rule (README: "Allocation rule")."""
        snap = self.state()
        holder = Web3.to_checksum_address(address)
        symbols = [symbol] if symbol else sorted(snap.products)
        out = []
        for s in symbols:
            p = self.product(s)
            out.append(self._holding(snap, p, holder, limit))
        return {"address": holder, "block": snap.block, "block_time": format_time(snap.block_time),
                "rule": ALLOCATION_RULE, "products": out}

    def _holding(self, snap: Snapshot, p: ProductState, holder: str, limit: int) -> dict:
        info, d = p.info, p.info.decimals
        balances = snap.balances.get(info.symbol, {})
        bal = balances.get(holder, 0)
        onchain = _call(lambda: self.sp.product(info.symbol).token.functions.balanceOf(holder).call(
            block_identifier=snap.block))
        value = None
        if p.price is not None:
            value = str((Decimal(bal).scaleb(-d) * Decimal(p.price["price"])).quantize(Decimal("0.01"), rounding=ROUND_DOWN))
        # open requests: "pending", or "processing" once accepted (RedemptionAccepted), until a closing event
        pending = [{"id": r.id, "amount": _amount(r.amount, d), "units": str(r.amount), "status": r.status,
                    "requested_at": format_time(r.requested_at), "block": r.block_number}
                   for r in p.chain.pending if Web3.to_checksum_address(r.holder) == holder]
        alloc: dict = {"lots": [], "allocated_units": "0", "truncated": False}
        if bal > 0 and p.lot_list is not None:
            start = sum(b for h, b in balances.items() if h.lower() < holder.lower())
            end = start + bal
            covered = self.index.covering(p.lot_list, start, end, limit + 1)
            lots = []
            for row, lot_start in covered[:limit]:
                share = min(end, lot_start + row.quantity) - max(start, lot_start)
                if share > 0:
                    lots.append({**_lot_json(row, p), "allocated_units": str(share), "allocated": _amount(share, d),
                                 "whole": share == row.quantity})
            alloc = {"range": [str(start), str(end)], "lots": lots, "truncated": len(covered) > limit,
                     "allocated_units": str(min(bal, max(0, p.lot_list.total - start))),
                     "unbacked_units": str(max(0, end - p.lot_list.total))}
        return {"symbol": info.symbol, "product_code": info.product_code, "unit": info.unit,
                "balance_units": str(bal), "balance": _amount(bal, d),
                "balance_check": None if onchain is None else onchain == bal,
                "value_usd": value, "price": None if p.price is None else p.price["price"],
                "pending_redemptions": pending, "allocation": alloc,
                "round": None if p.chain.attestation is None else p.chain.attestation.round_id}

    def lot_breaks(self, product_code: str, lot_id: str) -> list[dict]:
        """Breaks naming this lot in the latest finished reconciliation run."""
        with self.db.engine.connect() as conn:
            run = conn.execute(text("SELECT id FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")).first()
            if run is None:
                return []
            rows = conn.execute(text("SELECT kind, severity, amount FROM breaks WHERE run_id = :r AND product_code = :p "
                                     "AND lot_id = :l ORDER BY id"), {"r": run[0], "p": product_code, "l": lot_id})
            return [{"run": run[0], "kind": k, "severity": sev, "amount": a} for k, sev, a in rows]

    def reconciliation(self) -> dict:
        """The latest finished reconciliation run in the custody database and its breaks."""
        with self.db.engine.connect() as conn:
            run = conn.execute(text("SELECT id, started_at, finished_at, block_number, status, exit_code, summary "
                                    "FROM runs WHERE finished_at IS NOT NULL ORDER BY id DESC LIMIT 1")).mappings().first()
            if run is None:
                return {"run": None, "breaks": [], "message": "no reconciliation run in the database yet "
                                                              "(stockpile reconcile run / watch)"}
            breaks = conn.execute(text("SELECT product_code, kind, severity, lot_id, amount, evidence FROM breaks "
                                       "WHERE run_id = :r ORDER BY id LIMIT 1000"), {"r": run["id"]}).mappings().all()
            total = conn.execute(text("SELECT count(*) FROM breaks WHERE run_id = :r"), {"r": run["id"]}).scalar_one()
        summary: RunRecord = json.loads(run["summary"] or "{}")  # written by the run (stockpile.reconcile.service)
        return {"run": {"id": run["id"], "started_at": format_time(run["started_at"]),
                        "finished_at": format_time(run["finished_at"]), "block": run["block_number"],
                        "status": run["status"], "exit_code": run["exit_code"], "counts": summary.get("counts"),
                        "error": summary.get("error")},
                "breaks_total": total,
                "breaks": [{"product": b["product_code"], "kind": b["kind"], "severity": b["severity"],
                            "lot_id": b["lot_id"], "amount": b["amount"],
                            "evidence": _short(b["evidence"])} for b in breaks]}


ALLOCATION_RULE = (
    "At the stated block, holders (every address with a positive balance from the token's Transfer events, the "
    "token contract itself holding the redemption escrow) are ordered by address (lowercase hex, ascending) and "
    "laid end to end on a line of token base units; the attested lots, ordered by (lot id, warehouse id), are laid "
    "on the same line by net quantity. A holder is allocated every lot whose interval meets its own, with the "
    "overlap as its share (a lot can be shared by two neighbouring holders); lots past the total supply are "
    "unallocated excess reserve.")


def _lot_json(row: LotRow, p: ProductState) -> dict:
    return {"warehouse_id": row.warehouse_id, "lot_id": row.lot_id, "form": row.form, "purity_ppm": row.purity_ppm,
            "quantity_units": str(row.quantity), "quantity": _amount(row.quantity, p.info.decimals),
            "assay_ref": row.assay_ref, "tree_index": row.pos}


def _short(evidence: str | None, limit: int = 400) -> str:
    s = evidence or ""
    return s if len(s) <= limit else s[:limit] + "..."


def _call(fn):
    try:
        return fn()
    except Exception:  # a function this deployment's contracts do not have, or no data yet
        return None


def _default_index_path(db_url) -> Path:
    s = str(db_url)
    if "://" not in s:
        p = Path(s).expanduser().resolve()
        return p.with_name(p.name + ".portal-index.sqlite")
    return Path("stockpile-portal-index.sqlite").resolve()
