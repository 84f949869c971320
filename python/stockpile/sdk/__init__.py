"""Python SDK for wallets and integrators (web3.py + eth-account; ape is not needed)."""

from stockpile.sdk import accounts, errors
from stockpile.sdk.basket import BasketClient
from stockpile.sdk.client import ProductClient, SdkError, Stockpile
from stockpile.sdk.models import (
    Balance, BasketBacking, BasketComponentInfo, BasketHolding, BasketInfo, Holding, Nav, Price, ProductInfo,
    RedemptionRequest, ReserveStatus,
)
from stockpile.sdk.units import from_units, to_units

__all__ = [
    "Balance", "BasketBacking", "BasketClient", "BasketComponentInfo", "BasketHolding", "BasketInfo", "Nav",
    "Holding", "Price", "ProductClient", "ProductInfo", "RedemptionRequest", "ReserveStatus",
    "SdkError", "Stockpile", "accounts", "errors", "from_units", "to_units",
]
