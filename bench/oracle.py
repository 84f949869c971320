"""Oracle benchmarks: PriceFeed transaction gas (anvil, web3.py) and the feeder's source-to-chain latency.

Gas figures are total transaction gas (21,000 base + calldata + execution) of steady-state updates
(feeds that already have rounds), all from one run. A report carries observations from the
smallest valid set, 2f + 1 of the n > 3f signers, each of which signed the whole report. The only
outside figure kept is Chronicle Scribe's published poke gas, labelled as published (it is not
re-measured here).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from web3 import Web3

from stockpile.oracle.chain import add_feed, deploy_price_feed, hub_contract, signer_config
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


def _latency_metrics() -> list[dict]:
    """Source change -> value readable on chain, through the feeder (file drop, 5 signers, f = 1), 1 s blocks."""
    from stockpile.oracle.config import FeederConfig
    from stockpile.oracle.feeder import Feeder
    samples = []
    with Anvil(block_time=1) as node, tempfile.TemporaryDirectory() as tmp:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 30}))
        keys = _keys(5)
        hub = deploy_price_feed(w3, DEPLOYER, [Account.from_key(k).address for k in keys], 1)
        add_feed(w3, DEPLOYER, hub, "NDPR-OXIDE/USD", 8, "NDPR-OXIDE / USD per kg", 1, 10**14, 86400)
        drop = Path(tmp) / "drop.csv"
        cfg = FeederConfig.model_validate({
            "rpc_url": node.url, "feed_address": hub, "state_db": f"sqlite:///{tmp}/state.sqlite",
            "sources": {"drop": {"kind": "file", "path": str(drop)}},
            "products": [{"symbol": "NDPR-OXIDE/USD", "sources": [{"source": "drop", "key": "NDPR"}]}],
            "metrics": {"enabled": False},
        })
        feeder = Feeder(cfg, w3=w3, signers=[Account.from_key(k) for k in keys[:3]],
                        transmitter=Account.from_key(TRANSMITTER))
        feeder.sender.poll_latency = 0.05
        hubc = hub_contract(w3, hub)
        price = Decimal("62.5")
        for _ in range(6):
            price = (price * Decimal("1.01")).quantize(Decimal("0.0001"))
            time.sleep(1.1)  # let chain time pass the previous observation
            t0 = time.monotonic()
            drop.write_text(f"key,price,unit\nNDPR,{price},USD/kg\n")
            res = feeder.run_once()
            assert res.published, res.errors
            deadline = time.monotonic() + 60
            while hubc.functions.latestRoundData(feed_id("NDPR-OXIDE/USD")).call()[1] != res.published[0].answer:
                if time.monotonic() > deadline:
                    raise TimeoutError("published value never became readable")
                time.sleep(0.02)
            samples.append(time.monotonic() - t0)
    return [
        {"metric": "feeder latency: source change to value readable on chain (anvil, 1 s blocks), median",
         "value": round(statistics.median(samples), 3), "unit": "s", "samples": len(samples)},
        {"metric": "feeder latency: source change to value readable on chain (anvil, 1 s blocks), max",
         "value": round(max(samples), 3), "unit": "s", "samples": len(samples)},
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
