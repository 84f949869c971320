"""A lone PriceFeed hub with feeds registered one by one (the oracle benchmarks): a shape the deploy
engine does not produce, since a deployment file registers a feed per product (``devkit.stack.deploy_hub``
is the way when tokens may come with the feeds). Sends with the SDK's Sender."""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import to_checksum_address
from web3 import Web3

from stockpile.contracts import load
from stockpile.deploy.config import FeedConfig
from stockpile.oracle.chain import hub_contract
from stockpile.oracle.report import feed_id
from stockpile.sdk.transactions import Sender


def deploy_price_feed(w3: Web3, deployer_key: str, signers: Sequence[str], f: int) -> str:
    """A PriceFeed hub from its artifact, the deployer its admin and config admin (no timelock).
    ``signers``: addresses (sorted here); ``f``: faulty signers tolerated (reports need 2f + 1
    observations; more than 3f signers). Returns the hub's address."""
    art = load("PriceFeed")
    sender = Sender(w3, deployer_key)
    ordered = sorted((to_checksum_address(s) for s in signers), key=lambda a: int(a, 16))
    receipt = sender.deploy(art.abi, art.bytecode, sender.address, 0, sender.address, ordered, f)
    return receipt["contractAddress"]


def add_feed(w3: Web3, admin_key: str, hub_address: str, symbol: str, decimals: int, description: str,
             min_answer: int, max_answer: int, heartbeat: int) -> str:
    """Register a feed (feed id = bytes32 of ``symbol``, bounds in feed units, the deploy engine's
    default maximum report age); returns its AggregatorV3 adapter address."""
    hub = hub_contract(w3, hub_address)
    fid = feed_id(symbol)
    age = FeedConfig.model_construct(heartbeat=heartbeat, max_report_age=None).report_age
    Sender(w3, admin_key).transact(hub.functions.addFeed(fid, decimals, description, min_answer, max_answer,
                                                         heartbeat, age))
    return hub.functions.adapterOf(fid).call()
