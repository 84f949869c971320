"""Reference price feeds: the PriceFeed contract from Python and the oracle feeder service.

See README.md in this folder. Entry points: ``deploy_feeds``, ``publish_simulated_prices``,
``read_prices`` (api), ``Feeder`` (feeder), ``deploy_price_feed``/``add_feed`` (chain)."""

from stockpile.oracle.api import DEFAULT_SIM_PRICES, deploy_feeds, publish_simulated_prices, read_prices
from stockpile.oracle.chain import add_feed, deploy_price_feed

__all__ = [
    "DEFAULT_SIM_PRICES",
    "add_feed",
    "deploy_feeds",
    "deploy_price_feed",
    "publish_simulated_prices",
    "read_prices",
]
