"""Reference price feeds: the PriceFeed contract from Python and the oracle feeder service.

See README.md in this folder. Entry points: ``Feeder`` (feeder), ``OracleNode`` (node),
``latest_price``/``read_hub`` (chain). The hub and its feeds are deployed by the deploy engine
(``stockpile deploy apply``)."""
