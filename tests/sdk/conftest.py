"""A devnet deployed through an RPC URL, as a wallet developer would meet it."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from stockpile.deploy import SAMPLE_DEVNET, connect, load_deployment, make_engine
from stockpile.sdk import Stockpile
from stockpile.sdk.transactions import Sender
from stockpile.toolchain import Anvil
from stockpile.toolchain.anvil import dev_keys

ANVIL_KEYS = dev_keys()

DEPLOYER, ADMIN = ANVIL_KEYS[0], ANVIL_KEYS[1]
ATTESTOR_KEYS = ANVIL_KEYS[2:5]
ORACLE_KEYS = ANVIL_KEYS[5:8]
HOLDER, SPENDER = ANVIL_KEYS[8], ANVIL_KEYS[9]


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    """anvil + the sample deployment applied through its RPC URL; yields (url, manifest path)."""
    manifest_dir = tmp_path_factory.mktemp("deployments")
    with Anvil() as node:
        dep = load_deployment(SAMPLE_DEVNET)
        with connect(node.url, expected_chain_id=31337) as conn:
            engine = make_engine(dep, conn.w3, manifest_dir)
            engine.apply(Sender(conn.w3, Account.from_key(DEPLOYER)), progress=False)
        yield node.url, manifest_dir / "31337.json"


@pytest.fixture
def operator(devnet):
    url, manifest = devnet
    return Stockpile.connect(url, manifest=manifest, account=Account.from_key(DEPLOYER))


@pytest.fixture
def holder(devnet):
    url, manifest = devnet
    return Stockpile.connect(url, manifest=manifest, account=Account.from_key(HOLDER))


def publish_price(sp: Stockpile, symbol: str, usd: str) -> None:
    """Publish a reference price signed by the oracle quorum (real EIP-712 signatures)."""
    from decimal import Decimal

    from stockpile.oracle.report import FeedEntry, build_report
    from stockpile.deploy.steps import feed_id

    product = sp.product(symbol)
    hub = product.feed.functions.hub().call() if hasattr(product.feed.functions, "hub") else None
    decimals = product.feed.functions.decimals().call()
    latest = product.price()
    round_id = 1 if latest is None else latest.round_id + 1
    now = sp.w3.eth.get_block("latest")["timestamp"]
    answer = int(Decimal(usd).scaleb(decimals))
    entry = FeedEntry(feed_id=feed_id(product.info.product_code), round_id=round_id)
    report = build_report(ORACLE_KEYS[:2], sp.chain_id, hub, [entry], now, [[answer], [answer]])
    from stockpile.contracts import load

    hub_c = sp.w3.eth.contract(address=hub, abi=load("PriceFeed").abi)
    sp.send(hub_c.functions.transmit(*report.transmit_args()))
