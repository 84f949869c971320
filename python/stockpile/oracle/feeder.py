"""The oracle feeder: sources -> conversion -> aggregation -> policy -> signed batch -> chain.

``Feeder.run_once()`` does one pass and returns what happened; ``Feeder.run()`` loops until
stopped. The chain is the source of truth for rounds: every report is for ``latestRound + 1`` as
read just before signing, and the contract refuses any other round, so nothing is published
twice and no round is skipped. The SQLite state records each transaction before it is broadcast,
so after a crash or an RPC outage the next run resolves it (mined, superseded or dropped) before
publishing anything else.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from collections.abc import Callable

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import TransactionNotFound
from web3.logs import DISCARD

from stockpile.oracle.aggregate import AggregationError, aggregate, should_publish
from stockpile.oracle.chain import connect, decode_error, hub_contract, read_hub, signer_config
from stockpile.oracle.config import FeederConfig, FileSourceConfig, HttpSourceConfig, SimulatedSourceConfig
from stockpile.oracle.keys import load_account
from stockpile.oracle.metrics import Metrics
from stockpile.oracle.report import FeedEntry, Report, SignerConfig, feed_id, feed_symbol
from stockpile.oracle.sources import FileSource, HttpJsonSource, SimulatedSource, Source, SourceError
from stockpile.oracle.state import State
from stockpile.oracle.units import from_answer, to_answer
from stockpile.errors import StockpileError
from stockpile.sdk.errors import ContractError
from stockpile.sdk.transactions import ConfirmationTimeout, Sender, SentTransaction, TransactionFailed

log = logging.getLogger(__name__)


class QuorumUnavailable(StockpileError):
    """Fewer usable signer keys than the contract's quorum: nothing is pushed."""


@dataclass
class PublishedValue:
    symbol: str
    round_id: int
    answer: int
    value: Decimal


@dataclass
class RunResult:
    published: list[PublishedValue] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # symbol -> why not pushed (policy)
    errors: dict[str, str] = field(default_factory=dict)  # symbol/source/stage -> what went wrong
    rejected: dict[str, list[str]] = field(default_factory=dict)  # symbol -> rejected sources with reasons
    tx_hash: str | None = None
    gas_used: int | None = None
    # node mode: who observed what, who signed the report sent, which nodes failed and why, outliers
    observations: dict[str, dict[str, int]] = field(default_factory=dict)  # symbol -> node -> answer
    signed_by: list[str] = field(default_factory=list)
    node_failures: dict[str, str] = field(default_factory=dict)
    liars: dict[str, list[str]] = field(default_factory=dict)  # symbol -> nodes far from the median

    @property
    def ok(self) -> bool:
        return not self.errors


def build_source(name: str, cfg, clock: Callable[[], float]) -> Source:
    if isinstance(cfg, FileSourceConfig):
        return FileSource(name, cfg.path, cfg.unit)
    if isinstance(cfg, HttpSourceConfig):
        return HttpJsonSource(name, cfg.url, cfg.unit, cfg.timeout, cfg.retries, cfg.backoff, clock=clock)
    if isinstance(cfg, SimulatedSourceConfig):
        return SimulatedSource(name, cfg.start, cfg.unit, cfg.seed, cfg.step_bps, clock=clock)
    raise TypeError(f"unknown source config {cfg!r}")


def needed_sources(config) -> set[str]:
    """The sources a configuration's products and FX rates read."""
    return {ps.source for p in config.products for ps in p.sources} | {f.source for f in config.fx}


def fetch_quotes(sources: dict[str, Source], names: set[str]) -> tuple[dict[str, dict], dict[str, str]]:
    """Every named source's quotes (by key), and the reason of each source that failed."""
    quotes: dict[str, dict] = {}
    errors: dict[str, str] = {}
    for name in sorted(names):
        try:
            quotes[name] = sources[name].fetch()
        except SourceError as exc:
            errors[name] = exc.reason
        except Exception as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
    return quotes, errors


def fx_rates(fx_config, quotes, source_errors, now: float) -> tuple[dict[str, Decimal], dict[str, str]]:
    """The configured FX rates that are present and fresh; ``fx:PAIR`` -> why for the others."""
    fx: dict[str, Decimal] = {}
    errors: dict[str, str] = {}
    for f in fx_config:
        q = quotes.get(f.source, {}).get(f.key)
        if q is None:
            errors[f"fx:{f.pair}"] = source_errors.get(f.source, f"no rate for key {f.key!r} in {f.source}")
        elif now - q.observed_at > f.max_age_seconds:
            errors[f"fx:{f.pair}"] = f"stale rate: observed {now - q.observed_at:.0f}s ago"
        else:
            fx[f.pair] = q.value
    return fx, errors


class Feeder:
    def __init__(
        self,
        config: FeederConfig,
        *,
        clock: Callable[[], float] = time.time,
        sources: dict[str, Source] | None = None,
        signers: list[LocalAccount] | None = None,
        transmitter: LocalAccount | None = None,
        w3: Web3 | None = None,
        metrics: Metrics | None = None,
        state: State | None = None,
    ):
        self.config = config
        self.clock = clock
        self.sources = sources or {n: build_source(n, c, clock) for n, c in config.sources.items()}
        self.signers = signers if signers is not None else [load_account(k) for k in config.signers]
        if transmitter is None:
            if config.transmitter is None:
                raise ValueError("no transmitter key configured")
            transmitter = load_account(config.transmitter)
        self.transmitter = transmitter
        self.w3 = w3 or connect(config.rpc_url)
        self.address = to_checksum_address(config.feed_address)
        self.hub = hub_contract(self.w3, self.address)
        self.metrics = metrics or Metrics()
        self.state = state or State(config.state_db)
        self.sender = Sender(self.w3, transmitter, confirm_timeout=config.confirm_timeout_seconds,
                             max_replacements=config.max_replacements)
        self._stop = threading.Event()

    # ------------------------------------------------------------------------------- one pass

    def run_once(self) -> RunResult:
        result = RunResult()
        try:
            self._run(result)
        except Exception as exc:  # RPC down, etc.: recorded, nothing lost; the next run resolves it
            result.errors.setdefault("run", f"{type(exc).__name__}: {exc}")
            self.metrics.failures.labels("run", type(exc).__name__).inc()
            log.warning("run failed: %s", result.errors["run"])
        self.metrics.health.update(
            status="ok" if result.ok else "degraded", last_run=time.time(),
            last_error=None if result.ok else "; ".join(f"{k}: {v}" for k, v in result.errors.items()))
        self.metrics.last_run.set(time.time())
        return result

    def _run(self, result: RunResult) -> None:
        if not self._resolve_pending(result):
            return
        onchain = self._read_chain()
        quotes, source_errors = self._fetch_sources(result)
        fx = self._fx(quotes, source_errors, result)
        now = self.clock()
        to_publish: list[tuple[Any, int, Decimal]] = []
        for product in self.config.products:
            chain = onchain[product.symbol]
            if chain is None:
                result.errors[product.symbol] = f"feed {product.symbol!r} is not registered in {self.address}"
                continue
            if chain["decimals"] != product.decimals:
                result.errors[product.symbol] = f"decimals {product.decimals} configured, feed has {chain['decimals']}"
                continue
            last_value = from_answer(chain["answer"], product.decimals) if chain["round"] else None
            product_quotes = {ps.source: quotes[ps.source][ps.key]
                              for ps in product.sources if ps.key in quotes.get(ps.source, {})}
            try:
                agg = aggregate(product, product_quotes, source_errors, fx, now, last_value)
            except AggregationError as exc:
                result.errors[product.symbol] = str(exc)
                result.rejected[product.symbol] = [str(r) for r in exc.rejected]
                self.metrics.failures.labels("aggregate", product.symbol).inc()
                continue
            if agg.rejected:
                result.rejected[product.symbol] = [str(r) for r in agg.rejected]
            answer = to_answer(agg.value, product.decimals)
            if not chain["min"] <= answer <= chain["max"]:
                result.errors[product.symbol] = (
                    f"value {agg.value} ({answer}) outside the feed bounds [{chain['min']}, {chain['max']}]: not published")
                self.metrics.failures.labels("bounds", product.symbol).inc()
                continue
            if chain["round"]:
                self.metrics.price_age.labels(product.symbol).set(max(0, now - chain["updated_at"]))
            decision = should_publish(answer, chain["answer"] if chain["round"] else None,
                                      chain["updated_at"] if chain["round"] else None, now,
                                      product.deviation_bps, product.heartbeat_seconds)
            if not decision.publish:
                result.held[product.symbol] = decision.reason
                continue
            to_publish.append((product, answer, agg.value))
        if to_publish:
            self._publish(to_publish, onchain, result)

    # -------------------------------------------------------------------------------- reading

    def _read_chain(self) -> dict[str, dict | None]:
        view = read_hub(self.w3, self.hub, [feed_id(p.symbol) for p in self.config.products])
        out: dict[str, dict | None] = {}
        for product in self.config.products:
            fid = feed_id(product.symbol)
            cfg = view.feeds[fid]
            if cfg is None:  # UnknownFeed
                out[product.symbol] = None
                continue
            decimals, heartbeat, _max_age, mn, mx, latest_round, latest_obs, adapter, desc = cfg
            entry = {"decimals": decimals, "heartbeat": heartbeat, "min": mn, "max": mx, "round": latest_round,
                     "observed_at": latest_obs, "answer": None, "updated_at": None}
            answer = view.answers[fid]
            if latest_round and answer is not None:
                entry.update(answer=answer, updated_at=latest_obs)  # updatedAt is the observation time
                self.metrics.last_price.labels(product.symbol).set(float(from_answer(answer, decimals)))
                self.metrics.last_round.labels(product.symbol).set(latest_round)
                self.metrics.last_publish_ts.labels(product.symbol).set(latest_obs)
            out[product.symbol] = entry
        return out

    def _fetch_sources(self, result: RunResult):
        quotes, errors = fetch_quotes(self.sources, needed_sources(self.config))
        for name, reason in errors.items():
            result.errors[f"source:{name}"] = reason
            self.metrics.failures.labels("source", name).inc()
            log.warning("source %s rejected: %s", name, reason)
        return quotes, errors

    def _fx(self, quotes, source_errors, result: RunResult) -> dict[str, Decimal]:
        fx, errors = fx_rates(self.config.fx, quotes, source_errors, self.clock())
        result.errors.update(errors)
        return fx

    # ------------------------------------------------------------------------------ publishing

    def usable_signers(self, config: SignerConfig | None = None) -> list[LocalAccount]:
        """The loaded keys that are signers of the hub's current configuration."""
        config = config or signer_config(self.hub)
        members = {int(s, 16) for s in config.signers}
        return [a for a in self.signers if int(a.address, 16) in members]

    def _publish(self, items, onchain, result: RunResult) -> None:
        config = signer_config(self.hub)
        quorum = config.quorum
        signers = self.usable_signers(config)
        if len(signers) < quorum:
            unknown = len(self.signers) - len(signers)
            msg = (f"{len(signers)} usable signer key(s) ({len(self.signers)} loaded, {unknown} not registered), "
                   f"quorum is {quorum}: nothing pushed")
            result.errors["quorum"] = msg
            self.metrics.failures.labels("quorum", "signers").inc()
            log.error(msg)
            return
        observed_at = int(self.w3.eth.get_block("latest")["timestamp"])
        entries, answers, values, symbols = [], [], [], []
        for product, answer, value in items:
            chain = onchain[product.symbol]
            if observed_at <= chain["observed_at"]:
                result.held[product.symbol] = "chain time has not moved past the last observation yet"
                continue
            entries.append(FeedEntry(feed_id(product.symbol), chain["round"] + 1))
            answers.append(answer)
            values.append(value)
            symbols.append(product.symbol)
        if not entries:
            return
        report = Report(config=config, entries=entries, observed_at=observed_at,
                        deadline=observed_at + self.config.report_deadline_seconds)
        chain_id = self.w3.eth.chain_id
        # Devnet mode: this process holds every key, and each signer's observation is the aggregated
        # value. Every observer then signs the whole report (all observations), as the contract requires.
        for acct in signers:
            report.observations[config.index_of(acct.address)] = list(answers)
        for acct in signers:
            report.sign(acct.key, chain_id, self.address)
        payload = {"symbols": symbols, "rounds": [e.round_id for e in entries], "answers": [str(a) for a in answers],
                   "values": [str(v) for v in values], "observed_at": observed_at}
        self._transmit(report, payload, result)

    def _transmit(self, report: Report, payload: dict, result: RunResult) -> None:
        """Send a fully signed report once: the pending transaction is recorded before it is broadcast."""
        pending_id: list[int] = []

        def on_sent(sent: SentTransaction) -> None:
            if not pending_id:
                pending_id.append(self.state.add_pending(self.address, self.sender.address, sent.nonce, sent.tx_hash, payload))
            else:
                self.state.add_replacement(pending_id[0], sent.tx_hash)

        self.sender.resync()  # the chain is the source of truth for the nonce too (a node restart drops its mempool)
        try:
            receipt = self.sender.transact(self.hub.functions.transmit(*report.transmit_args()), before_broadcast=on_sent)
        except TransactionFailed as exc:  # mined and reverted (the replay did not say why)
            receipt = exc.receipt
        except ContractError as exc:
            if pending_id:  # mined and reverted
                self.state.set_status(pending_id[0], "dropped")
            result.errors["transmit"] = f"refused by the contract: {exc}"
            self.metrics.failures.labels("transmit", exc.name).inc()
            return
        except ConfirmationTimeout as exc:
            result.errors["transmit"] = str(exc)
            self.metrics.failures.labels("transmit", "timeout").inc()
            return
        self._process_receipt(receipt, pending_id[0], payload, result)

    def _process_receipt(self, receipt, pending_id: int, payload: dict, result: RunResult) -> None:
        tx_hash = "0x" + bytes(receipt["transactionHash"]).hex()
        result.tx_hash, result.gas_used = tx_hash, receipt["gasUsed"]
        if receipt["status"] != 1:
            self.state.set_status(pending_id, "dropped")
            result.errors["transmit"] = f"transaction {tx_hash} reverted"
            return
        by_symbol = {s: (Decimal(v), int(a)) for s, v, a in zip(payload["symbols"], payload["values"], payload["answers"])}
        for ev in self.hub.events.AnswerUpdated().process_receipt(receipt, errors=DISCARD):
            sym = feed_symbol(ev["args"]["feedId"])
            value, _ = by_symbol.get(sym, (from_answer(ev["args"]["answer"], 8), 0))
            self.state.record_published(self.address, sym, ev["args"]["roundId"], ev["args"]["answer"], str(value),
                                        payload["observed_at"], tx_hash)
            result.published.append(PublishedValue(sym, ev["args"]["roundId"], ev["args"]["answer"], value))
            self.metrics.last_price.labels(sym).set(float(value))
            self.metrics.last_round.labels(sym).set(ev["args"]["roundId"])
        for ev in self.hub.events.FeedUpdateSkipped().process_receipt(receipt, errors=DISCARD):
            sym = feed_symbol(ev["args"]["feedId"])
            err = decode_error(ev["args"]["reason"])
            result.errors[sym] = f"skipped by the contract: {err or ev['args']['reason'].hex()}"
        self.state.set_status(pending_id, "mined")
        self.metrics.pushes.inc()
        self.metrics.last_push.set(time.time())

    def _resolve_pending(self, result: RunResult) -> bool:
        """Settle transactions left by an earlier run. False when one is still in flight."""
        for row in self.state.pending(self.address):
            hashes = json.loads(row.tx_hashes)
            payload = json.loads(row.payload)
            receipt = self.sender.wait_any(hashes, 0)  # one look, no waiting
            if receipt is not None:
                log.info("pending tx %s was mined", receipt["transactionHash"].hex())
                self._process_receipt(receipt, row.id, payload, result)
                continue
            known = False
            for h in hashes:
                try:
                    self.w3.eth.get_transaction(h)
                    known = True
                except TransactionNotFound:
                    pass
            if known:
                receipt = self.sender.wait_any(hashes, self.config.confirm_timeout_seconds)
                if receipt is not None:
                    self._process_receipt(receipt, row.id, payload, result)
                    continue
                result.errors["pending"] = f"transaction nonce {row.nonce} ({hashes[-1]}) still pending; not publishing"
                return False
            # unknown to the node: dropped (e.g. the node restarted) or replaced by another nonce user
            rounds_now = [self.hub.functions.feedConfig(feed_id(s)).call()[5] for s in payload["symbols"]]
            status = "superseded" if all(r >= p for r, p in zip(rounds_now, payload["rounds"])) else "dropped"
            log.info("pending tx nonce %d %s", row.nonce, status)
            self.state.set_status(row.id, status)
        return True

    # ----------------------------------------------------------------------------------- daemon

    def stop(self) -> None:
        self._stop.set()

    def run(self, max_runs: int | None = None) -> None:
        runs = 0
        while not self._stop.is_set():
            res = self.run_once()
            for p in res.published:
                log.info("published %s round %d = %s%s", p.symbol, p.round_id, p.value,
                         f" (signed by {', '.join(res.signed_by)})" if res.signed_by else "")
            for k, v in res.errors.items():
                log.warning("%s: %s", k, v)
            runs += 1
            log.info("pass %d: %d published, %d held (%s), %d with rejected sources, %d errors; next pass in %ss",
                     runs, len(res.published), len(res.held), ", ".join(f"{k}: {v}" for k, v in res.held.items()) or "-",
                     len(res.rejected), len(res.errors), self.config.interval_seconds)
            if max_runs is not None and runs >= max_runs:
                break
            self._stop.wait(self.config.interval_seconds)


def simulated_round(
    rpc_url: str,
    feed_address: str,
    start: dict[str, Decimal],
    signer_keys: list[str],
    transmitter_key: str,
    *,
    seed: int = 7,
    decimals: int = 8,
    state_db: str = "sqlite://",
) -> RunResult:
    """One feeder pass on a devnet over the simulated market (a seeded random walk from ``start``:
    feed symbol -> USD/kg), every signer key held in this process (``--local-signers`` mode):
    ``stockpile devnet`` publishes its first prices with it. The feeds must be registered on the hub.
    Raises StockpileError when nothing was published and the pass reported errors."""
    from eth_account import Account

    from stockpile.oracle.config import ProductConfig, ProductSource

    cfg = FeederConfig(
        rpc_url=rpc_url,
        feed_address=feed_address,
        state_db=state_db,
        sources={"sim": SimulatedSourceConfig(kind="simulated", start={k: Decimal(str(v)) for k, v in start.items()},
                                              unit="USD/kg", seed=seed, step_bps=50)},
        products=[ProductConfig(symbol=s, unit="USD/kg", decimals=decimals, sources=[ProductSource(source="sim", key=s)])
                  for s in start],
        metrics={"enabled": False},
    )
    result = Feeder(cfg, signers=[Account.from_key(k) for k in signer_keys],
                    transmitter=Account.from_key(transmitter_key)).run_once()
    if not result.published and result.errors:
        raise StockpileError("nothing published: " + "; ".join(f"{k}: {v}" for k, v in result.errors.items()))
    return result
