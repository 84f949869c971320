"""Typed views of on-chain state (pydantic). Quantities: ``units`` are integers in token base
units; ``amount``/``price``/``value`` are Decimal in product units or USD."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)


class ProductInfo(Model):
    symbol: str
    name: str
    product_code: str
    unit: str
    decimals: int
    token: str
    attestor: str | None = None
    feed: str | None = None


class Balance(Model):
    symbol: str
    holder: str
    units: int
    amount: Decimal
    frozen_units: int = 0


class Price(Model):
    symbol: str
    feed: str
    description: str
    round_id: int
    answer: int
    decimals: int
    price: Decimal  # USD per product unit
    updated_at: int
    age: int  # seconds, at the chain's latest block time
    heartbeat: int | None = None
    stale: bool = False


class Holding(Model):
    balance: Balance
    price: Price | None
    value_usd: Decimal | None
    stale_price: bool


class AttestationView(Model):
    round_id: int
    merkle_root: str
    total_quantity: int
    lot_count: int
    as_of: int
    attested_at: int
    report_hash: str


class ReserveStatus(Model):
    symbol: str
    total_supply: int
    escrowed: int
    attested_total: int
    attestation: AttestationView | None
    attestation_age: int | None
    max_attestation_age: int
    backed: bool  # totalSupply + burned since the attestation's as-of <= attested total
    stale: bool
    burned_since_attestation: int = 0  # delivered after the attestation's as-of: no longer in the warehouse
    collateralization: Decimal | None  # attested / supply


class RedemptionRequest(Model):
    id: int
    holder: str
    units: int
    amount: Decimal
    status: str  # pending, processing (accepted by the operator), completed, rejected, cancelled
    delivery_ref: str
    requested_at: int


class HistoryEvent(Model):
    block_number: int
    tx_hash: str
    log_index: int
    event: str
    args: dict[str, Any]


class HistoryPage(Model):
    events: list[HistoryEvent]
    next_cursor: int | None  # pass as from_block to get the next page; None when done


class BasketComponentInfo(Model):
    symbol: str  # the product symbol when the product is known to this client, else the token's symbol
    token: str
    units: int  # component base units per basket base unit (share)
    amount_per_share: Decimal  # product units per whole basket share
    decimals: int
    feed: str | None
    heartbeat: int


class BasketInfo(Model):
    symbol: str
    name: str
    address: str
    decimals: int
    nav_feed: str | None
    components: list[BasketComponentInfo]


class ComponentValue(Model):
    symbol: str
    amount_per_share: Decimal
    price: Price
    value_per_share: Decimal  # USD


class Nav(Model):
    symbol: str
    nav: Decimal  # USD per whole share, as the NAV feed answers (rounded down at its decimals)
    answer: int
    decimals: int
    round_id: int
    updated_at: int  # oldest component price time
    components: list[ComponentValue]  # the look-through: each component's price and value per share


class BasketBacking(Model):
    symbol: str
    token: str
    held: int  # base units held by the basket
    required: int  # totalSupply x units
    surplus: int  # held - required when positive (donations)
    backed: bool


class BasketHolding(Model):
    balance: Balance
    nav: Nav | None
    value_usd: Decimal | None
