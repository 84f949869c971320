"""The declarative deployment file (YAML), validated by pydantic.

Errors name the field path and the value, e.g. ``products[2].decimals: must be <= 18, got 40``.
Quantities are written in product units as strings or integers (never floats) and converted
to token base units with the product's decimals.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import yaml
from eth_utils import is_checksum_address, is_hex_address, to_checksum_address
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from stockpile.core.units import QuantityError, to_units
from stockpile.errors import StockpileError

SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9\-]{0,15}$")


class DeploymentFileError(StockpileError, ValueError):
    """A deployment file that cannot be used; ``problems`` lists one line per bad field."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + ("; ".join(problems) if len(problems) < 2 else "\n  " + "\n  ".join(problems)))


def _address(v: Any) -> str:
    if not isinstance(v, str) or not is_hex_address(v):
        raise ValueError(f"must be a 0x-prefixed 20-byte hex address, got {v!r}")
    if v != v.lower() and v != v.upper()[:2].lower() + v[2:].upper() and not is_checksum_address(v):
        raise ValueError(f"bad EIP-55 checksum in address, got {v!r}")
    return to_checksum_address(v)


def _decimal(v: Any) -> Decimal:
    if isinstance(v, float):
        raise ValueError(f"write quantities as strings or integers, not floats, got {v!r}")
    if isinstance(v, bool):
        raise ValueError(f"must be a number, got {v!r}")
    try:
        d = Decimal(str(v))
    except InvalidOperation:
        raise ValueError(f"must be a decimal number, got {v!r}") from None
    if not d.is_finite():
        raise ValueError(f"must be finite, got {v!r}")
    return d


Address = Annotated[str, BeforeValidator(_address)]
Quantity = Annotated[Decimal, BeforeValidator(_decimal)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MintLimits(Strict):
    capacity: Quantity = Field(description="bucket size in product units")
    refill_per_second: Quantity = Field(description="product units added per second")

    @field_validator("capacity", "refill_per_second")
    @classmethod
    def _non_negative(cls, v: Decimal) -> Decimal:
        if v < 0:
            raise ValueError(f"must be >= 0, got {v}")
        return v


class FeedConfig(Strict):
    symbol: str | None = Field(default=None, description='the feed\'s symbol on the PriceFeed hub and in the oracle '
                               'feeder, e.g. "NDPR-OXIDE/USD" (default: <product_code>/USD)')
    description: str = Field(min_length=1, max_length=100)
    decimals: int = Field(default=8, ge=0, le=18)
    min_answer: Quantity
    max_answer: Quantity
    heartbeat: int = Field(gt=0, description="seconds; consumers treat older prices as stale")
    max_report_age: int | None = Field(default=None, gt=0, description="seconds; older observations are refused "
                                       "on chain (<= heartbeat; default min(heartbeat, 3600))")
    deviation_bps: int = Field(default=50, ge=1, le=10_000)

    @field_validator("symbol")
    @classmethod
    def _feed_symbol(cls, v: str | None) -> str | None:
        if v is not None and (not v or len(v) > 32 or not v.isascii() or not v.isprintable()):
            raise ValueError(f"must be 1-32 printable ASCII characters, got {v!r}")
        return v

    @property
    def report_age(self) -> int:
        return self.max_report_age if self.max_report_age is not None else min(self.heartbeat, 3600)

    @model_validator(mode="after")
    def _bounds(self) -> FeedConfig:
        if self.max_report_age is not None and self.max_report_age > self.heartbeat:
            raise ValueError(f"max_report_age: must be <= heartbeat ({self.heartbeat}), got {self.max_report_age}")
        if self.min_answer <= 0:
            raise ValueError(f"min_answer: must be > 0, got {self.min_answer}")
        if self.max_answer <= self.min_answer:
            raise ValueError(f"max_answer: must be > min_answer ({self.min_answer}), got {self.max_answer}")
        return self


class Product(Strict):
    symbol: str
    name: str = Field(min_length=1, max_length=64)
    product_code: str = Field(min_length=1, max_length=32)
    unit: str = Field(min_length=1, max_length=100, description='e.g. "NdPr oxide, 1 kg, 99.5%"')
    decimals: int = Field(default=18, ge=0, le=18)
    min_redemption: Quantity
    max_attestation_age: int = Field(gt=0, description="seconds")
    mint_limits: MintLimits
    allowlist: bool = False
    feed: FeedConfig | None = None

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, v: str) -> str:
        if not SYMBOL_RE.match(v):
            raise ValueError(f"must be 1-16 upper-case letters, digits or '-', got {v!r}")
        return v

    @property
    def feed_symbol(self) -> str | None:
        """The symbol of this product's feed on the PriceFeed hub (None without a feed)."""
        if self.feed is None:
            return None
        return self.feed.symbol or f"{self.product_code}/USD"

    @model_validator(mode="after")
    def _fits_decimals(self) -> Product:
        for field in ("min_redemption",):
            value: Decimal = getattr(self, field)
            if value <= 0:
                raise ValueError(f"{field}: must be > 0, got {value}")
            self.to_units(value, field)
        self.to_units(self.mint_limits.capacity, "mint_limits.capacity")
        self.to_units(self.mint_limits.refill_per_second, "mint_limits.refill_per_second")
        return self

    def to_units(self, quantity: Decimal, field: str = "quantity") -> int:
        """Product units -> token base units; refuses values finer than the token's decimals."""
        try:
            return to_units(quantity, self.decimals)
        except QuantityError as exc:
            raise ValueError(f"{field}: {exc}") from None


class Roles(Strict):
    admin: Address = Field(description="final DEFAULT_ADMIN of every contract (a multisig on real networks)")
    minters: list[Address] = []
    redemption_operators: list[Address] = []
    asset_protection: list[Address] = []
    pausers: list[Address] = []
    compliance: list[Address] = []
    admin_transfer_delay: int = Field(default=86_400, ge=0, description="seconds of the two-step admin handover")


class Timelock(Strict):
    delay: int = Field(ge=0, description="seconds before a scheduled upgrade or governed change can execute")
    proposers: list[Address] = Field(min_length=1)
    executors: list[Address] = Field(min_length=1)


class SignerSet(Strict):
    """Reserve attestors: an attestation needs ``quorum`` signatures, a strict majority."""

    signers: list[Address] = Field(min_length=1)
    quorum: int = Field(ge=1)

    @model_validator(mode="after")
    def _quorum(self) -> SignerSet:
        if len(set(self.signers)) != len(self.signers):
            raise ValueError(f"signers: duplicate address in {self.signers}")
        if self.quorum > len(self.signers):
            raise ValueError(f"quorum: must be <= number of signers ({len(self.signers)}), got {self.quorum}")
        if 2 * self.quorum <= len(self.signers):
            raise ValueError(f"quorum: must be a strict majority of the {len(self.signers)} signers, got {self.quorum}")
        return self


class OracleSet(Strict):
    """Price oracle signers: reports need observations from 2f + 1 of them; more than 3f signers."""

    signers: list[Address] = Field(min_length=4, max_length=31)
    f: int = Field(ge=1, description="faulty signers tolerated")

    @model_validator(mode="after")
    def _f(self) -> OracleSet:
        if len(set(self.signers)) != len(self.signers):
            raise ValueError(f"signers: duplicate address in {self.signers}")
        if len(self.signers) <= 3 * self.f:
            raise ValueError(f"f: needs more than 3f signers ({len(self.signers)} given), got {self.f}")
        return self


class BasketComponent(Strict):
    product: str = Field(description="symbol of a product of this file")
    amount: Quantity = Field(description="product units per whole basket share")
    heartbeat: int | None = Field(default=None, gt=0,
                                  description="seconds before the component price is stale for the NAV "
                                              "(default: the product feed's heartbeat)")

    @field_validator("amount")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError(f"must be > 0, got {v}")
        return v


class Basket(Strict):
    """A BasketToken: one share for a fixed bundle of this file's products (see contracts/basket/README.md)."""

    symbol: str
    name: str = Field(min_length=1, max_length=64)
    decimals: int = Field(default=0, ge=0, le=18, description="share decimals; one base unit is one composition unit")
    allowlist: bool = False
    composition: list[BasketComponent] = Field(min_length=1, max_length=16)

    @field_validator("symbol")
    @classmethod
    def _symbol(cls, v: str) -> str:
        if not SYMBOL_RE.match(v):
            raise ValueError(f"must be 1-16 upper-case letters, digits or '-', got {v!r}")
        return v

    def units(self, component: BasketComponent, product: Product) -> int:
        """Component base units per basket base unit: amount x 10^product decimals / 10^basket decimals, exact."""
        scaled = component.amount.scaleb(product.decimals - self.decimals)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{component.amount:f} {product.symbol} per share is not a whole number of base units "
                             f"({product.symbol} has {product.decimals} decimals) per basket base unit "
                             f"(basket decimals {self.decimals})")
        return int(scaled)


class Deployment(Strict):
    name: str = Field(default="stockpile", min_length=1)
    roles: Roles
    timelock: Timelock
    attestors: SignerSet
    oracle: OracleSet | None = None
    products: list[Product] = Field(min_length=1)
    baskets: list[Basket] = []

    def basket(self, symbol: str) -> Basket:
        for b in self.baskets:
            if b.symbol == symbol:
                return b
        raise KeyError(symbol)

    @model_validator(mode="after")
    def _unique(self) -> Deployment:
        seen: dict[str, int] = {}
        for i, p in enumerate(self.products):
            if p.symbol in seen:
                raise ValueError(f"products[{i}].symbol: duplicate of products[{seen[p.symbol]}], got {p.symbol!r}")
            seen[p.symbol] = i
        feeds: dict[str, int] = {}
        for i, p in enumerate(self.products):
            if p.feed_symbol is None:
                continue
            if p.feed_symbol in feeds:
                raise ValueError(f"products[{i}].feed.symbol: duplicate of products[{feeds[p.feed_symbol]}]'s feed, "
                                 f"got {p.feed_symbol!r}")
            feeds[p.feed_symbol] = i
        if any(p.feed for p in self.products) and self.oracle is None:
            raise ValueError("oracle: required when a product has a feed")
        return self

    @model_validator(mode="after")
    def _baskets(self) -> Deployment:
        symbols = {p.symbol for p in self.products}
        seen: dict[str, int] = {}
        for i, b in enumerate(self.baskets):
            if b.symbol in symbols or b.symbol in seen:
                raise ValueError(f"baskets[{i}].symbol: already used by a product or basket, got {b.symbol!r}")
            seen[b.symbol] = i
            parts: set[str] = set()
            for j, c in enumerate(b.composition):
                where = f"baskets[{i}].composition[{j}]"
                if c.product not in symbols:
                    raise ValueError(f"{where}.product: not a product of this file, got {c.product!r}")
                if c.product in parts:
                    raise ValueError(f"{where}.product: listed twice, got {c.product!r}")
                parts.add(c.product)
                try:
                    b.units(c, self.product(c.product))
                except ValueError as exc:
                    raise ValueError(f"{where}.amount: {exc}") from None
        return self

    def product(self, symbol: str) -> Product:
        for p in self.products:
            if p.symbol == symbol:
                return p
        raise KeyError(symbol)


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-after") or part.startswith("function-before"):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _format(err: ErrorDetails, data: Any) -> str:
    loc = _loc(err["loc"])
    msg = err["msg"]
    for prefix in ("Value error, ",):
        msg = msg.removeprefix(prefix)
    # "field: ..." inside model validators carries its own sub-path.
    m = re.match(r"^([a-z_.]+(?:\[\d+\][a-z_.]*)*): (.*)$", msg)
    if m and err["type"] == "value_error":
        loc = f"{loc}.{m.group(1)}" if loc else m.group(1)
        msg = m.group(2)
        return f"{loc}: {msg}"
    if err["type"] in {"less_than_equal", "greater_than_equal", "greater_than", "less_than"}:
        msg = msg.replace("Input should be less than or equal to", "must be <=").replace(
            "Input should be greater than or equal to", "must be >=").replace(
            "Input should be greater than", "must be >").replace("Input should be less than", "must be <")
        return f"{loc}: {msg}, got {err.get('input')!r}"
    if err["type"] == "extra_forbidden":
        return f"{loc}: unknown field"
    if err["type"] == "missing":
        return f"{loc}: required field is missing"
    got = err.get("input")
    suffix = "" if "got" in msg or isinstance(got, (dict, list)) else f", got {got!r}"
    return f"{loc}: {msg[0].lower() + msg[1:]}{suffix}"


def parse_deployment(data: Any, source: str = "<deployment>") -> Deployment:
    try:
        return Deployment.model_validate(data)
    except ValidationError as exc:
        raise DeploymentFileError(source, [_format(e, data) for e in exc.errors()]) from None


def load_deployment(path: str | Path) -> Deployment:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise DeploymentFileError(str(path), ["file not found"]) from None
    except yaml.YAMLError as exc:
        raise DeploymentFileError(str(path), [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise DeploymentFileError(str(path), ["top level must be a mapping"])
    return parse_deployment(data, str(path))
