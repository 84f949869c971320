"""Oracle benchmarks: PriceFeed transaction gas (anvil, web3.py), source-to-chain latency and sustained rounds
per minute, with five operator nodes as separate processes next to the single-process feeder in the same run.

Gas figures are total transaction gas (21,000 base + calldata + execution) of steady-state updates
(feeds that already have rounds), all from one run. A report carries observations from the
smallest valid set, 2f + 1 of the n > 3f signers, each of which signed the whole report. The only
outside figure kept is Chronicle Scribe's published poke gas, labelled as published (it is not
re-measured here).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from devkit.hub import add_feed, deploy_price_feed
from stockpile.oracle.chain import hub_contract, signer_config
from stockpile.oracle.report import FeedEntry, build_report, feed_id
from stockpile.sdk.transactions import Sender
from stockpile.toolchain import Anvil

DEPLOYER = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # anvil dev key 0
TRANSMITTER = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # anvil dev key 1
PUBLISHED = "published figure (Chronicle Scribe docs), not measured in this run"


def _keys(n: int) -> list[str]:
    keys = ["0x" + keccak(text=f"stockpile bench signer {i}").hex() for i in range(n)]
    return sorted(keys, key=lambda k: int(Account.from_key(k).address, 16))


class _Bench:
    def __init__(self, w3: Web3, n_signers: int, f: int, n_feeds: int):
        self.w3 = w3
        self.keys = _keys(n_signers)
        self.observers = 2 * f + 1
        self.hub_address = deploy_price_feed(w3, DEPLOYER, [Account.from_key(k).address for k in self.keys], f)
        self.hub = hub_contract(w3, self.hub_address)
        self.config = signer_config(self.hub)
        self.symbols = [f"FEED{i:02d}/USD" for i in range(n_feeds)]
        self.add_feed_gas = []
        for s in self.symbols:
            before = w3.eth.block_number
            add_feed(w3, DEPLOYER, self.hub_address, s, 8, f"{s} per kg", 1, 10**14, 86400)
            self.add_feed_gas.append(w3.eth.get_block(before + 1, full_transactions=False) and
                                     w3.eth.get_transaction_receipt(w3.eth.get_block(before + 1)["transactions"][0])["gasUsed"])
        self.sender = Sender(w3, TRANSMITTER)
        self.price = 6_250_000_000

    def push(self, n: int) -> int:
        """One transmit updating the first n feeds, observed and signed by 2f + 1 signers; returns gasUsed."""
        self.w3.provider.make_request("evm_increaseTime", [5])
        self.w3.provider.make_request("evm_mine", [])
        t = self.w3.eth.get_block("latest")["timestamp"]
        entries = [FeedEntry(feed_id(s), self.hub.functions.feedConfig(feed_id(s)).call()[5] + 1) for s in self.symbols[:n]]
        self.price += 1_000_000
        answers = [[self.price + 10_000 * i + j for j in range(n)] for i in range(self.observers)]
        report = build_report(self.keys[: self.observers], self.w3.eth.chain_id, self.hub_address, self.config,
                              entries, t, answers)
        receipt = self.sender.transact(self.hub.functions.transmit(*report.transmit_args()))
        assert receipt["status"] == 1
        return receipt["gasUsed"]


def _gas_metrics(w3: Web3) -> list[dict]:
    out = []
    for n_signers, f in ((5, 1), (7, 2), (13, 4)):
        b = _Bench(w3, n_signers, f, 20)
        b.push(20)  # every feed gets its first round: steady state from here
        one = statistics.median(b.push(1) for _ in range(3))
        five = b.push(5)
        twenty = b.push(20)
        tag = f"n={n_signers} f={f}, {2 * f + 1} observations and signatures"
        m_one = {"metric": f"gas: one feed, {tag} (total tx gas)", "value": one, "unit": "gas",
                 "target": 70_000 if n_signers == 5 else None}
        if n_signers == 5:
            m_one.update(baseline="Chronicle Scribe poke, bar 5 (published)", baseline_value=81_025,
                         baseline_source=PUBLISHED)
        out.append(m_one)
        out.append({"metric": f"gas: 5 feeds in one tx, {tag}", "value": five, "unit": "gas",
                    "target": 140_000 if n_signers == 5 else None})
        out.append({"metric": f"gas: 20 feeds in one tx, {tag}", "value": twenty, "unit": "gas"})
        out.append({"metric": f"gas: marginal per extra feed in a batch, {tag} ((20 feeds - 1 feed) / 19)",
                    "value": round((twenty - one) / 19), "unit": "gas"})
        if n_signers == 5:
            out.append({"metric": "gas: addFeed (one-time, deploys the adapter and pre-writes 32 history slots)",
                        "value": int(statistics.median(b.add_feed_gas)), "unit": "gas"})
    return out


ROUNDS = 20  # latency samples per mode
THROUGHPUT_SECONDS = 30.0  # sustained run per mode, 20 feeds


def _write_prices(path: Path, prices: dict[str, Decimal]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: {"price": str(v), "unit": "USD/kg"} for k, v in prices.items()}))
    tmp.replace(path)


class _Setup:
    """One anvil with 1 s blocks, a hub (5 signers, f = 1) with 20 feeds, and both ways of signing:
    the single-process feeder (--local-signers: 3 keys in one process) and five operator nodes as
    separate processes (python -m stockpile oracle node), each with its own key and prices file."""

    def __init__(self, node: Anvil, tmp: Path):
        from stockpile.demo import start_oracle_node
        from stockpile.nodes import NodeRef, Nodes, token_hash
        from stockpile.oracle.config import FeederConfig
        from stockpile.oracle.feeder import Feeder
        from stockpile.oracle.transmitter import NodeTransmitter

        self.w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        self.keys = _keys(5)
        self.hub = deploy_price_feed(self.w3, DEPLOYER, [Account.from_key(k).address for k in self.keys], 1)
        self.symbols = [f"FEED{i:02d}/USD" for i in range(20)]
        for s in self.symbols:
            add_feed(self.w3, DEPLOYER, self.hub, s, 8, f"{s} per kg", 1, 10**14, 86400)
        self.hubc = hub_contract(self.w3, self.hub)
        self.price = Decimal("62.5")
        products = [{"symbol": s, "sources": [{"source": "drop", "key": s}], "deviation_bps": 1} for s in self.symbols]
        self.local_drop = tmp / "local.json"
        self._prices(self.price)
        local_cfg = FeederConfig.model_validate({
            "rpc_url": node.url, "feed_address": self.hub, "state_db": f"sqlite:///{tmp}/local.sqlite",
            "sources": {"drop": {"kind": "file", "path": str(self.local_drop)}}, "products": products,
            "metrics": {"enabled": False}})
        self.local = Feeder(local_cfg, w3=self.w3, signers=[Account.from_key(k) for k in self.keys[:3]],
                            transmitter=Account.from_key(TRANSMITTER))
        self.local.sender.poll_latency = 0.05
        token = "bench-transmitter-token"
        self.procs, refs, self.node_drops = [], [], []
        for i in range(len(self.keys)):
            folder = tmp / f"node{i}"
            folder.mkdir()
            self.node_drops.append(folder / "prices.json")
        self._prices(self.price)
        for i, key in enumerate(self.keys):
            cfg = {"chain_id": int(self.w3.eth.chain_id), "rpc_url": node.url, "feed_address": self.hub,
                   "key": {"key_env": "ORACLE_NODE_KEY"}, "state_db": "state.sqlite",
                   "server": {"transmitters": [{"name": "bench", "token_sha256": token_hash(token)}],
                              "rate_limit": {"per_second": 100, "burst": 200}},
                   "sources": {"drop": {"kind": "file", "path": "prices.json"}}, "products": products}
            proc, url = start_oracle_node(tmp / f"node{i}", cfg, key)
            self.procs.append(proc)
            refs.append(NodeRef(name=f"node{i}", url=url, token_env="BENCH_TOKEN", address=Account.from_key(key).address))
        node_cfg = FeederConfig.model_validate({
            "rpc_url": node.url, "feed_address": self.hub, "state_db": f"sqlite:///{tmp}/nodes.sqlite",
            "nodes": [r.model_dump() for r in refs], "products": [p | {"sources": []} for p in products],
            "metrics": {"enabled": False}})
        self.nodes = NodeTransmitter(node_cfg, w3=self.w3, transmitter=Account.from_key(TRANSMITTER),
                                     nodes=Nodes(refs, env={"BENCH_TOKEN": token}))
        self.nodes.sender.poll_latency = 0.05

    def _prices(self, base: Decimal, n: int | None = None) -> None:
        feeds = self.symbols[: n or len(self.symbols)]
        _write_prices(self.local_drop, {s: base + j for j, s in enumerate(feeds)})
        for i, path in enumerate(getattr(self, "node_drops", [])):
            _write_prices(path, {s: base + j + Decimal(i) / 1000 for j, s in enumerate(feeds)})

    def close(self) -> None:
        self.nodes.close()
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            p.wait(10)

    def latency(self, feeder, rounds: int) -> list[float]:
        """Source change (the price files rewritten) -> the new value readable on chain, one feed."""
        samples = []
        for _ in range(rounds):
            self.price = (self.price * Decimal("1.01")).quantize(Decimal("0.0001"))
            time.sleep(1.05)  # chain time passes the previous observation
            t0 = time.monotonic()
            self._prices(self.price)
            res = feeder.run_once()
            mine = [p for p in res.published if p.symbol == self.symbols[0]]
            assert mine, (res.errors, res.held)
            end = time.monotonic() + 60
            while self.hubc.functions.latestRoundData(feed_id(self.symbols[0])).call()[1] != mine[0].answer:
                if time.monotonic() > end:
                    raise TimeoutError("published value never became readable")
                time.sleep(0.02)
            samples.append(time.monotonic() - t0)
        return samples

    def throughput(self, feeder, seconds: float) -> tuple[int, int]:
        """Passes back to back for ``seconds``, every price moving each pass: (reports sent, feed rounds published)."""
        reports = feed_rounds = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.price = (self.price * Decimal("1.002")).quantize(Decimal("0.0001"))
            self._prices(self.price)
            res = feeder.run_once()
            if res.published:
                reports += 1
                feed_rounds += len(res.published)
        return reports, feed_rounds


def _latency_metrics() -> list[dict]:
    """Both modes in the same run, on the same chain (1 s blocks): latency over ROUNDS rounds, then rounds
    per minute sustained with 20 feeds. The single-process mode is the baseline."""
    with Anvil(block_time=1) as node, tempfile.TemporaryDirectory() as tmp:
        setup = _Setup(node, Path(tmp))
        try:
            # only the first feed moves in the latency runs (the others stay, so policy holds them)
            local = setup.latency(setup.local, ROUNDS)
            nodes = setup.latency(setup.nodes, ROUNDS)
            local_tp = setup.throughput(setup.local, THROUGHPUT_SECONDS)
            nodes_tp = setup.throughput(setup.nodes, THROUGHPUT_SECONDS)
        finally:
            setup.close()
    per_min = 60.0 / THROUGHPUT_SECONDS
    base = "single process (--local-signers, 3 keys in the feeder), same run"
    return [
        {"metric": "latency: source change to value readable on chain, 5 operator nodes as separate processes "
                   "(anvil, 1 s blocks), median", "value": round(statistics.median(nodes), 3), "unit": "s",
         "samples": len(nodes), "target": 2.0, "baseline": base, "baseline_value": round(statistics.median(local), 3)},
        {"metric": "latency: source change to value readable on chain, 5 operator nodes, max", "value": round(max(nodes), 3),
         "unit": "s", "samples": len(nodes), "baseline": base, "baseline_value": round(max(local), 3)},
        {"metric": "feeder latency: source change to value readable on chain (anvil, 1 s blocks), single process, median",
         "value": round(statistics.median(local), 3), "unit": "s", "samples": len(local)},
        {"metric": f"throughput: reports per minute sustained, 20 feeds each, 5 operator nodes ({THROUGHPUT_SECONDS:.0f} s run)",
         "value": round(nodes_tp[0] * per_min, 1), "unit": "rounds/min", "feed_rounds_per_min": round(nodes_tp[1] * per_min, 1),
         "baseline": base, "baseline_value": round(local_tp[0] * per_min, 1)},
    ]


def run() -> list[dict]:
    with Anvil() as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        metrics = _gas_metrics(w3)
    metrics += _latency_metrics()
    for m in metrics:
        if m.get("target") is None:
            m.pop("target", None)
    return metrics
