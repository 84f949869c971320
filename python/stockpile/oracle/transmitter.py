"""The transmitter of node mode: collect the operators' observations, build one report, get it signed, send it once.

Each pass (``NodeTransmitter.run_once``):

1. settle any transaction an earlier run left pending (the feeder's state: recorded before broadcast,
   so a crash between signing and mining never leads to a second submission of a round);
2. read the chain (rounds, last answers, the signer configuration) and ask every configured node,
   in parallel and within ``observe_deadline_seconds``, for its signed observation of each feed's
   next round at ``observedAt`` = the latest block's time; once 2f + 1 have answered, the others
   get ``observe_settle_seconds`` more;
3. keep the answers whose Observation signature comes from a registered signer (and from the
   address configured for that node, when one is); a node that is down, slow, refuses, answers
   garbage or with an unregistered key is left out and counted under its name;
4. per feed: the median of the observations (the contract's rule); an observation further than
   ``liar_bps`` from it is named (log, ``stockpile_oracle_node_outliers_total{node,product}``) -
   it stays in the report: the contract takes the median of the signed set, which tolerates f
   liars among 2f + 1; publish on deviation or heartbeat, as the feeder does;
5. the report carries every valid observation (at least 2f + 1) for the feeds to publish; every
   observer must sign the whole report within ``sign_deadline_seconds``; then one transaction.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import Counter

from stockpile.nodes import Failure, Nodes
from stockpile.oracle.aggregate import should_publish
from stockpile.oracle.chain import signer_config
from stockpile.oracle.feeder import Feeder, RunResult
from stockpile.oracle.report import FeedEntry, Report, SignerConfig, feed_id, median, observation_signer, report_signer
from stockpile.oracle.units import from_answer

log = logging.getLogger(__name__)


def _pair(v: Any) -> tuple[bytes, bytes]:
    if not isinstance(v, list) or len(v) != 2 or not all(isinstance(x, str) for x in v):
        raise ValueError("signature must be [r, vs] hex")
    r, vs = (bytes.fromhex(x.removeprefix("0x")) for x in v)
    if len(r) != 32 or len(vs) != 32:
        raise ValueError("signature parts must be 32 bytes")
    return r, vs


class NodeTransmitter(Feeder):
    """``stockpile oracle run`` with ``nodes:`` configured. Holds no signer key, only the transmitter's."""

    def __init__(self, config, *, nodes: Nodes | None = None, **kwargs: Any):
        if not config.nodes:
            raise ValueError("node mode needs nodes: in the config")
        super().__init__(config, signers=[], **kwargs)
        self.nodes = nodes or Nodes(config.nodes)
        self.expected = {r.name: r.address for r in config.nodes}
        reg = self.metrics.registry
        self.node_failures = Counter("stockpile_oracle_node_failures", "Nodes that gave no usable answer, by kind",
                                     ["node", "stage", "kind"], registry=reg)
        self.outliers = Counter("stockpile_oracle_node_outliers", "Observations far from the median, by operator",
                                ["node", "product"], registry=reg)
        self._chain_id: int | None = None
        # A report some observers have signed and others not (yet): asked again, unchanged, next pass.
        self._unsigned: tuple[Report, dict[str, int], dict[str, Any], list[str]] | None = None

    def close(self) -> None:
        self.nodes.close()

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    def _fail(self, result: RunResult, stage: str, f: Failure) -> None:
        result.node_failures[f.node] = f"{stage}: {f}"
        self.node_failures.labels(f.node, stage, f.reason or f.kind).inc()
        log.warning("node %s (%s): %s", f.node, stage, f)

    def _parse_observation(self, node: str, answer: dict[str, Any], config: SignerConfig, body: dict[str, Any]) -> tuple[int, dict[str, int]]:
        """(signer index, symbol -> answer) of a node's answer; raises ValueError (garbage) or LookupError (unregistered)."""
        if answer.get("observed_at") != body["observed_at"]:
            raise ValueError("observation for another observedAt")
        feeds = answer.get("feeds")
        if not isinstance(feeds, list):
            raise ValueError("no feeds list")
        wanted = {(f["symbol"], f["round"]) for f in body["feeds"]}
        values: dict[str, int] = {}
        fids, rounds, ans = [], [], []
        for item in feeds:
            if not isinstance(item, dict) or (item.get("symbol"), item.get("round")) not in wanted:
                raise ValueError(f"feed entry not asked for: {str(item)[:80]}")
            if "answer" in item:
                a = int(str(item["answer"]))
                values[item["symbol"]] = a
                fids.append(feed_id(item["symbol"]))
                rounds.append(int(item["round"]))
                ans.append(a)
        signer = observation_signer(self.chain_id, self.address, config.digest, body["observed_at"], fids, rounds, ans,
                                    _pair(answer.get("signature")))
        claimed = answer.get("signer")
        if not isinstance(claimed, str) or int(claimed, 16) != int(signer, 16):
            raise ValueError(f"signature is {signer}'s, the answer claims {claimed}")
        expected = self.expected.get(node)
        if expected and int(expected, 16) != int(signer, 16):
            raise LookupError(f"signed by {signer}, this node's configured key is {expected}")
        try:
            return config.index_of(signer), values
        except ValueError:
            raise LookupError(f"signed by {signer}, not a registered signer of configuration {config.version}") from None

    def _run(self, result: RunResult) -> None:
        if not self._resolve_pending(result):
            return
        if self._unsigned is not None and self._retry_unsigned(result):
            return
        onchain = self._read_chain()
        config = signer_config(self.hub)
        observed_at = int(self.w3.eth.get_block("latest")["timestamp"])
        asked = []
        for product in self.config.products:
            chain = onchain[product.symbol]
            if chain is None:
                result.errors[product.symbol] = f"feed {product.symbol!r} is not registered in {self.address}"
            elif chain["decimals"] != product.decimals:
                result.errors[product.symbol] = f"decimals {product.decimals} configured, feed has {chain['decimals']}"
            elif observed_at <= chain["observed_at"]:
                result.held[product.symbol] = "chain time has not moved past the last observation yet"
            else:
                asked.append({"symbol": product.symbol, "round": chain["round"] + 1})
        if not asked:
            return
        body = {"chain_id": self.chain_id, "contract": self.address, "config_digest": "0x" + config.digest.hex(),
                "observed_at": observed_at, "feeds": asked}
        got = self.nodes.collect("/observe", body, self.config.observe_deadline_seconds,
                                 enough=lambda c: len(c.answers) >= config.quorum, settle=self.config.observe_settle_seconds)
        for f in got.failures.values():
            self._fail(result, "observe", f)
        by_node: dict[str, tuple[int, dict[str, int]]] = {}
        seen_index: dict[int, str] = {}
        for node, answer in got.answers.items():
            try:
                index, values = self._parse_observation(node, answer, config, body)
            except LookupError as exc:
                self._fail(result, "observe", Failure(node, "unregistered", str(exc)))
                continue
            except Exception as exc:
                self._fail(result, "observe", Failure(node, "garbage", f"{type(exc).__name__}: {exc}"[:300]))
                continue
            if index in seen_index:
                self._fail(result, "observe", Failure(node, "garbage", f"same signer as node {seen_index[index]}"))
                continue
            seen_index[index] = node
            by_node[node] = (index, values)
            for sym, a in values.items():
                result.observations.setdefault(sym, {})[node] = a
        self._decide_and_send(result, onchain, config, observed_at, by_node)

    def _decide_and_send(self, result: RunResult, onchain, config: SignerConfig, observed_at: int,
                         by_node: dict[str, tuple[int, dict[str, int]]]) -> None:
        now = self.clock()
        quorum = config.quorum
        chosen: list[tuple[Any, list[str]]] = []  # product, nodes that observed it
        for product in self.config.products:
            sym = product.symbol
            chain = onchain.get(sym)
            if chain is None or sym in result.errors or sym in result.held:
                continue
            nodes = [n for n, (_, v) in by_node.items() if sym in v]
            if len(nodes) < quorum:
                result.errors[sym] = f"{len(nodes)} observation(s), the contract needs {quorum}: not published"
                self.metrics.failures.labels("quorum", sym).inc()
                continue
            values = [by_node[n][1][sym] for n in nodes]
            mid = median(values)
            for n in nodes:
                a = by_node[n][1][sym]
                if mid > 0 and abs(a - mid) * 10000 > self.config.liar_bps * mid:
                    bps = abs(a - mid) * 10000 // mid
                    result.liars.setdefault(sym, []).append(n)
                    self.outliers.labels(n, sym).inc()
                    log.warning("node %s (signer %d) observed %s = %d, %d bps from the median %d: named as an outlier",
                                n, by_node[n][0], sym, a, bps, mid)
            if not chain["min"] <= mid <= chain["max"]:
                result.errors[sym] = f"median {mid} outside the feed bounds [{chain['min']}, {chain['max']}]: not published"
                continue
            decision = should_publish(mid, chain["answer"] if chain["round"] else None,
                                      chain["updated_at"] if chain["round"] else None, now,
                                      product.deviation_bps, product.heartbeat_seconds)
            if not decision.publish:
                result.held[sym] = decision.reason
                continue
            chosen.append((product, nodes))
        if not chosen:
            return
        # Observers: the nodes that observed every chosen feed; feeds that would break the quorum wait.
        chosen.sort(key=lambda pn: -len(pn[1]))
        observers = set(chosen[0][1])
        products = []
        for product, nodes in chosen:
            if len(observers & set(nodes)) >= quorum:
                observers &= set(nodes)
                products.append(product)
            else:
                result.held[product.symbol] = "its observers and the other feeds' do not share a quorum: next pass"
        names = sorted(observers, key=lambda n: by_node[n][0])
        entries = [FeedEntry(feed_id(p.symbol), onchain[p.symbol]["round"] + 1) for p in products]
        report = Report(config=config, entries=entries, observed_at=observed_at,
                        deadline=observed_at + self.config.report_deadline_seconds)
        for n in names:
            index, observed = by_node[n]
            report.observations[index] = [observed[p.symbol] for p in products]
        index_of = {n: by_node[n][0] for n in names}
        medians = report.medians()
        payload = {"symbols": [p.symbol for p in products], "rounds": [e.round_id for e in entries],
                   "answers": [str(a) for a in medians],
                   "values": [str(from_answer(m, p.decimals)) for m, p in zip(medians, products)],
                   "observed_at": observed_at, "signed_by": names}
        self._sign_and_send(report, index_of, payload, names, result)

    def _sign_and_send(self, report: Report, index_of: dict[str, int], payload: dict[str, Any], ask: list[str],
                       result: RunResult) -> bool:
        """Ask ``ask`` to sign ``report``; once every observer has, transmit it. True when it was sent."""
        config = report.config
        rt = report.report_tuple()
        sign_body = {"chain_id": self.chain_id, "contract": self.address, "report": {
            "config_digest": "0x" + rt[0].hex(), "observed_at": rt[1], "deadline": rt[2], "observers": rt[3],
            "feed_ids": ["0x" + f.hex() for f in rt[4]], "round_ids": rt[5], "answers": [str(a) for a in rt[6]]}}
        signed = self.nodes.collect("/sign", sign_body, self.config.sign_deadline_seconds, names=ask)
        for f in signed.failures.values():
            self._fail(result, "sign", f)
        for n, answer in signed.answers.items():
            index = index_of[n]
            try:
                sig = _pair(answer.get("signature"))
                if int(report_signer(self.chain_id, self.address, report, sig), 16) != int(config.signers[index], 16):
                    raise ValueError("signature is not from the observer's key")
            except Exception as exc:
                self._fail(result, "sign", Failure(n, "garbage", f"{type(exc).__name__}: {exc}"[:300]))
                continue
            report.signatures[index] = sig
        missing = [n for n, i in index_of.items() if i not in report.signatures]
        if missing:
            result.errors["sign"] = (f"observer(s) {', '.join(missing)} did not sign; every observer of a report must: "
                                     f"not sent yet (asked again next pass, until the report's deadline {report.deadline})")
            self.metrics.failures.labels("sign", "missing").inc()
            self._unsigned = (report, index_of, payload, missing)
            return False
        self._unsigned = None
        result.signed_by = sorted(index_of, key=lambda n: index_of[n])
        self._transmit(report, payload, result)
        return True

    def _retry_unsigned(self, result: RunResult) -> bool:
        """The report of an earlier pass that lacks signatures: the same report, to the same observers (they
        sign the same report again; a different one for those rounds they would refuse until its deadline)."""
        assert self._unsigned is not None
        report, index_of, payload, missing = self._unsigned
        latest = int(self.w3.eth.get_block("latest")["timestamp"])
        rounds_now = [int(self.hub.functions.feedConfig(bytes(e.feed_id)).call()[5]) for e in report.entries]
        if latest >= report.deadline or any(r + 1 != e.round_id for r, e in zip(rounds_now, report.entries)):
            self._unsigned = None  # expired or overtaken: a fresh round
            return False
        self._sign_and_send(report, index_of, payload, missing, result)
        return True
