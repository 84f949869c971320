"""Keys and helpers of the SDK tests (fixtures are in conftest.py)."""

from __future__ import annotations


from stockpile.sdk import Stockpile
from stockpile.toolchain.anvil import dev_keys

ANVIL_KEYS = dev_keys()

DEPLOYER, ADMIN = ANVIL_KEYS[0], ANVIL_KEYS[1]
ATTESTOR_KEYS = ANVIL_KEYS[2:5]
ORACLE_KEYS = ANVIL_KEYS[5:8]
HOLDER, SPENDER = ANVIL_KEYS[8], ANVIL_KEYS[9]


def publish_price(sp: Stockpile, symbol: str, usd: str) -> None:
    """Publish a reference price observed and signed by 2f + 1 oracle signers (real EIP-712 signatures)."""
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
    from stockpile.contracts import load
    from stockpile.oracle.chain import signer_config

    hub_c = sp.w3.eth.contract(address=hub, abi=load("PriceFeed").abi)
    # the sample deployment: 4 oracle signers, f = 1: three observations, each signing the whole report
    report = build_report(ORACLE_KEYS[:3], sp.chain_id, hub, signer_config(hub_c), [entry], now, [[answer]] * 3)
    sp.send(hub_c.functions.transmit(*report.transmit_args()))
