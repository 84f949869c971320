"""Entry points for the demo and the deploy tooling."""

from __future__ import annotations

from decimal import Decimal
from collections.abc import Mapping, Sequence

from eth_account import Account

from stockpile.oracle.chain import add_feed, connect, deploy_price_feed, hub_contract
from stockpile.oracle.config import FeederConfig, ProductConfig, ProductSource, SimulatedSourceConfig
from stockpile.oracle.report import feed_id
from stockpile.oracle.units import from_answer

DEFAULT_SIM_PRICES = {
    "NDPR-OXIDE/USD": Decimal("62.50"),
    "DY-METAL/USD": Decimal("310.00"),
    "TB-METAL/USD": Decimal("1050.00"),
}


def deploy_feeds(
    rpc_url: str,
    deployer_key: str,
    signers: Sequence[str],
    f: int,
    feeds: Sequence[Mapping],
    admin: str | None = None,
    admin_delay: int = 0,
    config_admin: str | None = None,
) -> dict:
    """Deploy a PriceFeed hub and register feeds.

    ``signers``: addresses; ``f``: faulty signers tolerated (reports need 2f + 1 observations).
    ``feeds``: mappings with ``symbol``, ``description``, ``decimals`` (8), ``min_answer``,
    ``max_answer`` (integers in feed units), ``heartbeat`` (seconds), ``max_report_age`` (seconds,
    default min(heartbeat, 3600)). The deployer registers the feeds, so it must be the config
    admin (the default); hand the roles to the timelock afterwards.
    Returns ``{"address": hub, "adapters": {symbol: adapter address}}``."""
    w3 = connect(rpc_url)
    hub = deploy_price_feed(w3, deployer_key, signers, f, admin=admin, admin_delay=admin_delay,
                            config_admin=config_admin)
    adapters = {}
    for feed in feeds:
        age = feed.get("max_report_age")
        adapters[feed["symbol"]] = add_feed(
            w3, deployer_key, hub, feed["symbol"], int(feed.get("decimals", 8)), feed.get("description", feed["symbol"]),
            int(feed.get("min_answer", 1)), int(feed["max_answer"]), int(feed.get("heartbeat", 86400)),
            None if age is None else int(age))
    return {"address": hub, "adapters": adapters}


def read_prices(rpc_url: str, feed_address: str, symbols: Sequence[str]) -> list[tuple[str, Decimal]]:
    """Latest on-chain price of each symbol, as a Decimal in the feed unit."""
    w3 = connect(rpc_url)
    hub = hub_contract(w3, feed_address)
    out = []
    for sym in symbols:
        decimals = hub.functions.feedConfig(feed_id(sym)).call()[0]
        _, answer, _, _, _ = hub.functions.latestRoundData(feed_id(sym)).call()
        out.append((sym, from_answer(answer, decimals)))
    return out


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
    """Run the feeder once on a simulated market (seeded random walk) and return each product's
    price read back from the chain. ``products``: symbol -> start price (USD/kg), or symbols
    (start prices from DEFAULT_SIM_PRICES). The feeds must already be registered."""
    from stockpile.oracle.feeder import Feeder

    if not isinstance(products, Mapping):
        products = {s: DEFAULT_SIM_PRICES.get(s, Decimal(100)) for s in products}
    cfg = FeederConfig(
        rpc_url=rpc_url,
        feed_address=feed_address,
        state_db=state_db,
        sources={"sim": SimulatedSourceConfig(kind="simulated", start={k: Decimal(str(v)) for k, v in products.items()},
                                              unit="USD/kg", seed=seed, step_bps=50)},
        products=[ProductConfig(symbol=s, unit="USD/kg", decimals=decimals, sources=[ProductSource(source="sim", key=s)])
                  for s in products],
        metrics={"enabled": False},
    )
    feeder = Feeder(cfg, signers=[Account.from_key(k) for k in signer_keys], transmitter=Account.from_key(transmitter_key))
    result = feeder.run_once()
    if not result.published and result.errors:
        raise RuntimeError("nothing published: " + "; ".join(f"{k}: {v}" for k, v in result.errors.items()))
    return read_prices(rpc_url, feed_address, list(products))
