"""Simulated prices for tests and benchmarks (development only): ``publish_simulated_prices`` (one
feeder pass over the simulated market, the prices read back from the chain) and a price-feed demo
on its own hub (tests/oracle): a hub with three feeds, one simulated round through the feeder."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from eth_account import Account
from eth_utils import keccak

from devkit import stack
from stockpile.oracle.chain import hub_contract, latest_price
from stockpile.oracle.feeder import simulated_round
from stockpile.sdk.rpc import connect

DEFAULT_SIM_PRICES = {
    "NDPR-OXIDE/USD": Decimal("62.50"),
    "DY-METAL/USD": Decimal("310.00"),
    "TB-METAL/USD": Decimal("1050.00"),
}


def publish_simulated_prices(
    rpc_url: str,
    feed_address: str,
    products: Mapping[str, Decimal | str] | Sequence[str],
    signer_keys: Sequence[str],
    transmitter_key: str,
    seed: int = 7,
    decimals: int = 8,
    state_db: str = "sqlite://",
) -> list[tuple[str, Decimal]]:
    """One feeder pass on the simulated market (``stockpile.oracle.feeder.simulated_round``); returns each
    feed's price read back from the chain. ``products``: feed symbol -> start price (USD/kg), or symbols
    (start prices from DEFAULT_SIM_PRICES). The feeds must already be registered."""
    if not isinstance(products, Mapping):
        products = {s: DEFAULT_SIM_PRICES.get(s, Decimal(100)) for s in products}
    start = {s: Decimal(str(v)) for s, v in products.items()}
    simulated_round(rpc_url, feed_address, start, list(signer_keys), transmitter_key, seed=seed, decimals=decimals,
                    state_db=state_db)
    hub = hub_contract(connect(rpc_url), feed_address)
    return [(s, latest_price(hub, s)) for s in start]


def demo_signer_keys(n: int = 5) -> list[str]:
    """Deterministic demo-only oracle keys (derived from a public label: never use for real)."""
    keys = ["0x" + keccak(text=f"stockpile demo oracle signer {i}").hex() for i in range(n)]
    return sorted(keys, key=lambda k: int(Account.from_key(k).address, 16))


def run_price_demo(rpc_url: str, deployer_key: str, console=None, symbols=tuple(DEFAULT_SIM_PRICES)) -> dict:
    """Deploy (5 signers, f = 1: reports need 3 observations), publish one simulated round signed by
    three of them (devnet mode: one process holds the keys), print and return the prices.

    Returns ``{"address": hub, "adapters": {...}, "prices": [(symbol, Decimal), ...]}``."""
    keys = demo_signer_keys(5)
    w3 = connect(rpc_url)
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
