"""A price-feed demo on its own hub (development only, tests/oracle): deploy a hub with three feeds, publish prices from the
simulated market through the feeder, and return them as read back from the chain."""

from __future__ import annotations

from decimal import Decimal

from eth_account import Account
from eth_utils import keccak

from web3 import Web3

from devkit import stack
from stockpile.oracle.api import DEFAULT_SIM_PRICES, publish_simulated_prices


def demo_signer_keys(n: int = 5) -> list[str]:
    """Deterministic demo-only oracle keys (derived from a public label: never use for real)."""
    keys = ["0x" + keccak(text=f"stockpile demo oracle signer {i}").hex() for i in range(n)]
    return sorted(keys, key=lambda k: int(Account.from_key(k).address, 16))


def run_price_demo(rpc_url: str, deployer_key: str, console=None, symbols=tuple(DEFAULT_SIM_PRICES)) -> dict:
    """Deploy (5 signers, f = 1: reports need 3 observations), publish one simulated round signed by
    three of them (devnet mode: one process holds the keys), print and return the prices.

    Returns ``{"address": hub, "adapters": {...}, "prices": [(symbol, Decimal), ...]}``."""
    keys = demo_signer_keys(5)
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 60}))
    deployed = stack.deploy_hub(w3, deployer_key, [Account.from_key(k).address for k in keys], 1, {
        s.split("/")[0]: stack.feed("1000000", heartbeat=86400, description=f"{s.split('/')[0]} / USD per kg")
        for s in symbols})
    prices = publish_simulated_prices(rpc_url, deployed["address"], {s: DEFAULT_SIM_PRICES.get(s, Decimal(100))
                                                                     for s in symbols}, keys[:3], deployer_key)
    if console is not None:
        from rich.table import Table

        table = Table(title=f"Reference prices (PriceFeed {deployed['address']}, 3 of 5 signers, f = 1)")
        for col in ("feed", "adapter (AggregatorV3)", "USD/kg on chain"):
            table.add_column(col, no_wrap=True)
        for sym, price in prices:
            table.add_row(sym, deployed["adapters"][sym], f"{price:.2f}")
        console.print(table)
    return {**deployed, "prices": prices}
