"""One oracle operator's signer node: its own key, its own sources, its own view of the chain.

``POST /observe`` (a transmitter asks what this operator sees)::

    {"chain_id", "contract", "config_digest", "observed_at", "feeds": [{"symbol", "round"}]}
 -> {"signer", "observed_at", "config_digest", "feeds": [{"symbol", "round", "answer"} | {"symbol", "round", "error"}],
     "signature": [r, vs]}        # EIP-712 Observation over the answered feeds

``POST /sign`` (the transmitter asks it to sign a report built from the observers' answers)::

    {"chain_id", "contract", "report": {"config_digest", "observed_at", "deadline", "observers",
                                        "feed_ids", "round_ids", "answers"}}
 -> {"signer", "signature": [r, vs]}

Rules (each refusal names its reason, see README.md): only this node's chain and contract; only
the hub's current configuration, of which this key must be a signer; rounds exactly
``latestRound + 1`` on chain; ``observedAt`` newer than the feed's last observation and close to
the chain's time; a report's own column of answers equal to what this node observed for those
feeds, rounds and ``observedAt``; more than 2f observers; a deadline in the future and within the
configured window.

Never two answers for one (feed, round, observedAt), never two different reports for one (feed,
round): each is committed to SQLite (``synchronous=FULL``) before the answer leaves the process,
so a SIGKILL and restart changes nothing. A report signed for a round blocks any other report for
that round until its deadline has passed on chain (after which it can no longer land).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from prometheus_client import Counter, Gauge

from stockpile.nodes import NodeServer, Refusal, Request
from stockpile.oracle.aggregate import AggregationError, aggregate
from stockpile.oracle.chain import HubView, connect, hub_contract, read_hub
from stockpile.oracle.config import NodeConfig
from stockpile.oracle.feeder import build_source, fetch_quotes, fx_rates, needed_sources
from stockpile.oracle.keys import load_account
from stockpile.oracle.report import FeedEntry, Report, SignerConfig, feed_id, feed_symbol, report_digest, sign_observation, sign_report
from stockpile.oracle.units import from_answer, to_answer

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS observations (
    contract TEXT NOT NULL, feed_id TEXT NOT NULL, round_id INTEGER NOT NULL, observed_at INTEGER NOT NULL,
    config_digest TEXT NOT NULL, answer TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (contract, feed_id, round_id, observed_at));
CREATE TABLE IF NOT EXISTS signed_reports (
    contract TEXT NOT NULL, feed_id TEXT NOT NULL, round_id INTEGER NOT NULL, report_hash TEXT NOT NULL,
    deadline INTEGER NOT NULL, signature TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (contract, feed_id, round_id, report_hash));
"""


class NodeState:
    """What this node observed and signed; every write is committed (fsync) before it returns."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self.lock = threading.Lock()  # one request at a time decides and records

    def observation(self, contract: str, fid: str, round_id: int, observed_at: int) -> int | None:
        row = self.db.execute("SELECT answer FROM observations WHERE contract=? AND feed_id=? AND round_id=? AND observed_at=?",
                              (contract, fid, round_id, observed_at)).fetchone()
        return int(row[0]) if row else None

    def record_observations(self, contract: str, digest: str, observed_at: int, rows: list[tuple[str, int, int]]) -> None:
        with self.db:  # BEGIN ... COMMIT
            self.db.executemany(
                "INSERT OR IGNORE INTO observations VALUES (?,?,?,?,?,?,?)",
                [(contract, fid, rnd, observed_at, digest, str(ans), time.time()) for fid, rnd, ans in rows])

    def signed(self, contract: str, fid: str, round_id: int) -> list[tuple[str, int, str]]:
        return list(self.db.execute(
            "SELECT report_hash, deadline, signature FROM signed_reports WHERE contract=? AND feed_id=? AND round_id=?",
            (contract, fid, round_id)))

    def record_signature(self, contract: str, report_hash: str, deadline: int, signature: str, feeds: list[tuple[str, int]]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO signed_reports VALUES (?,?,?,?,?,?,?)",
                                [(contract, fid, rnd, report_hash, deadline, signature, time.time()) for fid, rnd in feeds])


def _int(body: dict[str, Any], key: str) -> int:
    v = body.get(key)
    if isinstance(v, bool) or not isinstance(v, int | str):
        raise Refusal("bad_request", f"{key} must be an integer", 400)
    try:
        return int(v, 0) if isinstance(v, str) else int(v)
    except ValueError:
        raise Refusal("bad_request", f"{key} must be an integer", 400) from None


def _hex32(v: Any, what: str) -> bytes:
    if not isinstance(v, str):
        raise Refusal("bad_request", f"{what} must be 0x-prefixed hex", 400)
    try:
        raw = bytes.fromhex(v.removeprefix("0x"))
    except ValueError:
        raise Refusal("bad_request", f"{what} must be 0x-prefixed hex", 400) from None
    if len(raw) != 32:
        raise Refusal("bad_request", f"{what} must be 32 bytes", 400)
    return raw


def _sig_json(sig: tuple[bytes, bytes]) -> list[str]:
    return ["0x" + sig[0].hex(), "0x" + sig[1].hex()]


class OracleNode:
    """The node's logic (``handle_observe``, ``handle_sign``), its state and its HTTP server."""

    def __init__(self, config: NodeConfig, account: LocalAccount | None = None, w3=None):
        self.config = config
        self.account = account or load_account(config.key)
        self.contract = to_checksum_address(config.feed_address)
        self.w3 = w3 or connect(config.rpc_url)
        try:
            chain = int(self.w3.eth.chain_id)
        except Exception as exc:  # connection refused, timeout, not JSON-RPC
            raise ValueError(f"cannot reach {config.rpc_url}: {type(exc).__name__}") from None
        if chain != config.chain_id:
            raise ValueError(f"rpc_url serves chain {chain}, the config says chain_id {config.chain_id}")
        self.hub = hub_contract(self.w3, self.contract)
        self.state = NodeState(config.state_db)
        self.sources = {n: build_source(n, c, time.time) for n, c in config.sources.items()}
        self.products = {p.symbol: p for p in config.products}
        self.server = NodeServer(config.server, {"/observe": self.handle_observe, "/sign": self.handle_sign},
                                 health=self.health, name="oracle-node")
        reg = self.server.registry
        self.observations = Counter("stockpile_oracle_node_observations", "Feed observations answered", ["product"], registry=reg)
        self.signatures = Counter("stockpile_oracle_node_reports_signed", "Reports signed", registry=reg)
        self.refusals = Counter("stockpile_oracle_node_refusals", "Requests refused by reason", ["reason"], registry=reg)
        self.source_failures = Counter("stockpile_oracle_node_source_failures", "Source or aggregation failures", ["subject"], registry=reg)
        self.last_request = Gauge("stockpile_oracle_node_last_request_timestamp_seconds", "Wall time of the last request served", registry=reg)
        self._last_error: str | None = None

    @property
    def address(self) -> str:
        return self.account.address

    def health(self) -> tuple[bool, dict[str, Any]]:
        try:
            block = int(self.w3.eth.block_number)
        except Exception as exc:
            return False, {"status": "rpc_down", "signer": self.address, "error": type(exc).__name__}
        return True, {"status": "ok", "signer": self.address, "chain_id": self.config.chain_id, "contract": self.contract,
                      "block": block, "last_source_error": self._last_error}

    # ------------------------------------------------------------------------------ checks

    def _refuse(self, reason: str, detail: str, status: int = 409) -> Refusal:
        self.refusals.labels(reason).inc()
        log.info("refused (%s): %s", reason, detail)
        return Refusal(reason, detail, status)

    def _common(self, body: dict[str, Any]) -> None:
        """Chain and contract of a request."""
        chain_id = _int(body, "chain_id")
        if chain_id != self.config.chain_id:
            raise self._refuse("wrong_chain", f"request for chain {chain_id}; this node signs for chain {self.config.chain_id}")
        contract = body.get("contract")
        if not isinstance(contract, str) or not contract.startswith("0x") or len(contract) != 42:
            raise Refusal("bad_request", "contract must be a 0x address", 400)
        if int(contract, 16) != int(self.contract, 16):
            raise self._refuse("wrong_contract", f"request for contract {contract}; this node signs for {self.contract}")

    def _view(self, fids: list[bytes]) -> tuple[HubView, int]:
        """The hub as this node sees it now (one batch request); and this key's index in its configuration."""
        view = read_hub(self.w3, self.hub, fids)
        config = view.config
        try:
            index = config.index_of(self.address)
        except ValueError:
            raise self._refuse("not_a_signer", f"{self.address} is not a signer of the hub's configuration {config.version}") from None
        return view, index

    def _check_digest(self, given: bytes, config: SignerConfig) -> None:
        if given != config.digest:
            raise self._refuse("wrong_config", f"config digest 0x{given.hex()} is not the hub's current 0x{config.digest.hex()} "
                                               f"(version {config.version})")

    def _check_time(self, observed_at: int, latest_ts: int) -> None:
        if observed_at > latest_ts + self.config.max_clock_skew_seconds:
            raise self._refuse("bad_time", f"observedAt {observed_at} is ahead of the chain's time {latest_ts}")
        if observed_at < latest_ts - self.config.max_observation_lag_seconds:
            raise self._refuse("bad_time", f"observedAt {observed_at} is more than {self.config.max_observation_lag_seconds}s "
                                           f"behind the chain's time {latest_ts}")

    def _feed_onchain(self, view: HubView, fid: bytes, symbol: str, round_id: int, observed_at: int) -> tuple:
        cfg = view.feeds.get(fid)
        if cfg is None:
            raise self._refuse("unknown_feed", f"{symbol} is not a feed of {self.contract}")
        latest_round, latest_obs = int(cfg[5]), int(cfg[6])
        if round_id != latest_round + 1:
            raise self._refuse("wrong_round", f"{symbol}: round {round_id} requested; the next round on chain is {latest_round + 1}")
        if observed_at <= latest_obs:
            raise self._refuse("bad_time", f"{symbol}: observedAt {observed_at} is not newer than the last round's {latest_obs}")
        return cfg

    def _live_other_report(self, fid: bytes, round_id: int, report_hash: str | None, latest_ts: int) -> tuple[str, int] | None:
        for h, deadline, _ in self.state.signed(self.contract, "0x" + fid.hex(), round_id):
            if h != report_hash and deadline >= latest_ts:
                return h, deadline
        return None

    # ----------------------------------------------------------------------------- observe

    def handle_observe(self, req: Request) -> dict[str, Any]:
        self.last_request.set(time.time())
        body = req.body
        self._common(body)
        digest = _hex32(body.get("config_digest"), "config_digest")
        observed_at = _int(body, "observed_at")
        feeds = body.get("feeds")
        if not isinstance(feeds, list) or not feeds or len(feeds) > 64:
            raise Refusal("bad_request", "feeds must be a list of 1..64 {symbol, round}", 400)
        asked: list[tuple[str, int]] = []
        for item in feeds:
            if not isinstance(item, dict) or not isinstance(item.get("symbol"), str):
                raise Refusal("bad_request", "each feed is {symbol, round}", 400)
            if item["symbol"] not in self.products:
                raise self._refuse("unknown_feed", f"{item['symbol']} is not a product of this node")
            asked.append((item["symbol"], _int(item, "round")))
        view, _ = self._view([feed_id(sym) for sym, _ in asked])
        config = view.config
        self._check_digest(digest, config)
        latest_ts = view.latest_timestamp
        self._check_time(observed_at, latest_ts)
        wanted: list[tuple[str, bytes, int, tuple]] = []
        for symbol, round_id in asked:
            fid = feed_id(symbol)
            onchain = self._feed_onchain(view, fid, symbol, round_id, observed_at)
            wanted.append((symbol, fid, round_id, onchain))
        with self.state.lock:
            for symbol, fid, round_id, _ in wanted:
                other = self._live_other_report(fid, round_id, None, latest_ts)
                if other is not None:
                    raise self._refuse("round_already_signed", f"{symbol} round {round_id}: a report is already signed "
                                                               f"(valid until {other[1]}); no new observation for it")
            answers = self._observe(wanted, observed_at, view)
            rows = [("0x" + fid.hex(), rnd, a) for sym, fid, rnd, _ in wanted if isinstance(a := answers[sym], int)]
            self.state.record_observations(self.contract, "0x" + config.digest.hex(), observed_at, rows)  # before it leaves
        out_feeds: list[dict[str, Any]] = []
        fids, rounds, values = [], [], []
        for symbol, fid, round_id, _ in wanted:
            a = answers[symbol]
            if isinstance(a, int):
                out_feeds.append({"symbol": symbol, "round": round_id, "answer": str(a)})
                fids.append(fid)
                rounds.append(round_id)
                values.append(a)
                self.observations.labels(symbol).inc()
            else:
                out_feeds.append({"symbol": symbol, "round": round_id, "error": a})
        sig = sign_observation(self.account.key, self.config.chain_id, self.contract, config.digest, observed_at, fids, rounds, values)
        return {"signer": self.address, "observed_at": observed_at, "config_digest": "0x" + config.digest.hex(),
                "feeds": out_feeds, "signature": _sig_json(sig)}

    def _observe(self, wanted, observed_at: int, view: HubView) -> dict[str, int | str]:
        """This node's answer (or why none) per symbol; an answer already given for (feed, round, observedAt) is given again."""
        out: dict[str, int | str] = {}
        missing = []
        for symbol, fid, round_id, _ in wanted:
            prior = self.state.observation(self.contract, "0x" + fid.hex(), round_id, observed_at)
            if prior is not None:
                out[symbol] = prior
            else:
                missing.append((symbol, fid, round_id, _))
        if not missing:
            return out
        quotes, source_errors = fetch_quotes(self.sources, needed_sources(self.config))
        for name, reason in source_errors.items():
            self.source_failures.labels(f"source:{name}").inc()
            self._last_error = f"source {name}: {reason}"
        now = time.time()
        fx, fx_errors = fx_rates(self.config.fx, quotes, source_errors, now)
        for symbol, fid, _round, onchain in missing:
            product = self.products[symbol]
            decimals, mn, mx, latest_round = int(onchain[0]), int(onchain[3]), int(onchain[4]), int(onchain[5])
            if decimals != product.decimals:
                out[symbol] = f"decimals {product.decimals} configured, the feed has {decimals}"
                continue
            last_value = None
            last_answer = view.answers.get(fid)
            if latest_round and last_answer is not None:
                last_value = from_answer(last_answer, decimals)
            product_quotes = {ps.source: quotes[ps.source][ps.key] for ps in product.sources if ps.key in quotes.get(ps.source, {})}
            try:
                agg = aggregate(product, product_quotes, source_errors, fx, now, last_value)
            except AggregationError as exc:
                why = str(exc) + ("; " + "; ".join(f"{k}: {v}" for k, v in fx_errors.items()) if fx_errors else "")
                out[symbol] = why
                self.source_failures.labels(symbol).inc()
                self._last_error = why
                continue
            answer = to_answer(Decimal(agg.value), decimals)
            if not mn <= answer <= mx:
                out[symbol] = f"value {agg.value} outside the feed bounds [{mn}, {mx}]"
                continue
            out[symbol] = answer
        return out

    # -------------------------------------------------------------------------------- sign

    def handle_sign(self, req: Request) -> dict[str, Any]:
        self.last_request.set(time.time())
        self._common(req.body)
        r = req.body.get("report")
        if not isinstance(r, dict):
            raise Refusal("bad_request", "report must be an object", 400)
        digest = _hex32(r.get("config_digest"), "config_digest")
        observed_at, deadline, observers = _int(r, "observed_at"), _int(r, "deadline"), _int(r, "observers")
        feed_ids, round_ids, answers = r.get("feed_ids"), r.get("round_ids"), r.get("answers")
        if not (isinstance(feed_ids, list) and isinstance(round_ids, list) and isinstance(answers, list)) or not feed_ids \
                or len(feed_ids) != len(round_ids) or len(feed_ids) > 64:
            raise Refusal("bad_request", "feed_ids and round_ids must be lists of the same length (1..64)", 400)
        fids = [_hex32(f, "feed id") for f in feed_ids]
        rounds = [_int({"r": x}, "r") for x in round_ids]
        view, index = self._view(fids)
        config = view.config
        self._check_digest(digest, config)
        n = len(config.signers)
        if observers <= 0 or observers >> n:
            raise self._refuse("bad_report", f"observers bitmap {observers:#x} names an index outside the {n} signers")
        indices = [i for i in range(n) if observers >> i & 1]
        if len(indices) < config.quorum:
            raise self._refuse("bad_report", f"{len(indices)} observers; the contract needs more than 2f = {2 * config.f}")
        if index not in indices:
            raise self._refuse("bad_report", f"this node (signer {index}) is not an observer of the report")
        k = len(indices)
        if len(answers) != k * len(fids):
            raise self._refuse("bad_report", f"{len(answers)} answers for {len(fids)} feed(s) x {k} observers")
        values = [_int({"a": a}, "a") for a in answers]
        latest_ts = view.latest_timestamp
        if deadline <= latest_ts:
            raise self._refuse("bad_time", f"deadline {deadline} has passed (chain time {latest_ts})")
        if deadline - observed_at > self.config.max_report_window_seconds:
            raise self._refuse("bad_time", f"deadline {deadline - observed_at}s after observedAt; at most {self.config.max_report_window_seconds}s")
        mine = indices.index(index)
        report = Report(config=config, entries=[FeedEntry(f, rd) for f, rd in zip(fids, rounds)], observed_at=observed_at,
                        deadline=deadline)
        for j, i in enumerate(indices):
            report.observations[i] = [values[fi * k + j] for fi in range(len(fids))]
        for fid, rnd in zip(fids, rounds):
            symbol = feed_symbol(fid)
            onchain = self._feed_onchain(view, fid, symbol, rnd, observed_at)
            if observed_at + int(onchain[2]) < latest_ts:
                raise self._refuse("bad_time", f"{symbol}: observedAt {observed_at} older than the feed's maximum report age {onchain[2]}s")
        report_hash = "0x" + report_digest(self.config.chain_id, self.contract, report).hex()
        with self.state.lock:
            for fi, (fid, rnd) in enumerate(zip(fids, rounds)):
                symbol = feed_symbol(fid)
                given = self.state.observation(self.contract, "0x" + fid.hex(), rnd, observed_at)
                if given is None:
                    raise self._refuse("not_observed", f"{symbol} round {rnd}: this node gave no observation at observedAt {observed_at}")
                if values[fi * k + mine] != given:
                    raise self._refuse("not_my_observation", f"{symbol} round {rnd}: the report says this node observed "
                                                             f"{values[fi * k + mine]}, it observed {given}")
                other = self._live_other_report(fid, rnd, report_hash, latest_ts)
                if other is not None:
                    raise self._refuse("round_already_signed", f"{symbol} round {rnd}: another report ({other[0][:18]}...) "
                                                               f"is already signed, valid until {other[1]}")
            prior = self.state.signed(self.contract, "0x" + fids[0].hex(), rounds[0])
            same = [s for h, _, s in prior if h == report_hash]
            if same:
                sig_hex = same[0]
            else:
                sig = sign_report(self.account.key, self.config.chain_id, self.contract, report)
                sig_hex = "0x" + sig[0].hex() + sig[1].hex()
                self.state.record_signature(self.contract, report_hash, deadline, sig_hex,
                                            [("0x" + f.hex(), rd) for f, rd in zip(fids, rounds)])  # before it leaves
                self.signatures.inc()
        raw = bytes.fromhex(sig_hex[2:])
        return {"signer": self.address, "report_hash": report_hash, "signature": ["0x" + raw[:32].hex(), "0x" + raw[32:].hex()]}

    # ----------------------------------------------------------------------------- serving

    def start(self) -> OracleNode:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
