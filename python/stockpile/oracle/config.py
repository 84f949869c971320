"""Feeder configuration (YAML, validated by pydantic)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stockpile.oracle.units import parse_unit


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileSourceConfig(_Strict):
    kind: Literal["file"]
    path: Path
    unit: str | None = None


class HttpSourceConfig(_Strict):
    kind: Literal["http"]
    url: str
    unit: str | None = None
    timeout: float = 5.0
    retries: int = 3
    backoff: float = 0.2


class SimulatedSourceConfig(_Strict):
    kind: Literal["simulated"]
    start: dict[str, Decimal]
    unit: str = "USD/kg"
    seed: int = 0
    step_bps: int = 100


SourceConfig = Annotated[FileSourceConfig | HttpSourceConfig | SimulatedSourceConfig, Field(discriminator="kind")]


class ProductSource(_Strict):
    """Where one product's price comes from in a source: the key in that source's data."""

    source: str
    key: str


class FxConfig(_Strict):
    """An FX rate read from a source: ``pair`` is QUOTE/BASE (e.g. CNY/USD: CNY per 1 USD)."""

    pair: str
    source: str
    key: str
    max_age_seconds: int = 86400


class ProductConfig(_Strict):
    symbol: str  # feed id = bytes32 of this symbol
    unit: str = "USD/kg"  # the feed's unit
    decimals: int = 8
    sources: list[ProductSource]
    min_sources: int = 1
    max_age_seconds: int = 86400  # older quotes are not fresh
    outlier_bps: int = 500  # a quote further than this from the median is rejected
    deviation_bps: int = 50  # publish when the price moved at least this much ...
    heartbeat_seconds: int = 86400  # ... or when the last publication is this old
    max_jump_ratio: Decimal = Decimal(10)  # vs the last published value: beyond is garbage

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        parse_unit(v)
        return v

    @model_validator(mode="after")
    def _check(self) -> ProductConfig:
        if not self.sources:
            raise ValueError(f"{self.symbol}: no sources")
        if not 1 <= self.min_sources <= len(self.sources):
            raise ValueError(f"{self.symbol}: min_sources must be between 1 and the number of sources")
        if len(self.symbol.encode()) > 32:
            raise ValueError(f"{self.symbol}: symbol longer than 32 bytes")
        return self


class KeyConfig(_Strict):
    """A private key from an encrypted keystore file (passphrase from an env var) or from an env var."""

    keystore: Path | None = None
    passphrase_env: str | None = None
    key_env: str | None = None

    @model_validator(mode="after")
    def _one(self) -> KeyConfig:
        if bool(self.keystore) == bool(self.key_env):
            raise ValueError("give exactly one of keystore (+ passphrase_env) or key_env")
        if self.keystore and not self.passphrase_env:
            raise ValueError("a keystore needs passphrase_env")
        return self


class MetricsConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = 9464
    enabled: bool = True


class FeederConfig(_Strict):
    rpc_url: str
    feed_address: str
    state_db: str = "sqlite:///oracle-state.sqlite"
    interval_seconds: float = 10.0
    confirm_timeout_seconds: float = 30.0
    max_replacements: int = 3
    report_deadline_seconds: int = Field(default=300, gt=0)  # a signed report may land this long after observation
    signers: list[KeyConfig] = []
    transmitter: KeyConfig | None = None
    sources: dict[str, SourceConfig]
    fx: list[FxConfig] = []
    products: list[ProductConfig]
    metrics: MetricsConfig = MetricsConfig()

    @model_validator(mode="after")
    def _refs(self) -> FeederConfig:
        for p in self.products:
            for s in p.sources:
                if s.source not in self.sources:
                    raise ValueError(f"{p.symbol}: unknown source {s.source!r}")
        for f in self.fx:
            if f.source not in self.sources:
                raise ValueError(f"fx {f.pair}: unknown source {f.source!r}")
        symbols = [p.symbol for p in self.products]
        if len(set(symbols)) != len(symbols):
            raise ValueError("duplicate product symbols")
        return self


def load_config(path: str | Path) -> FeederConfig:
    path = Path(path)
    data = yaml.safe_load(path.read_text())
    cfg = FeederConfig.model_validate(data)
    # relative file paths are relative to the config file
    for src in cfg.sources.values():
        if isinstance(src, FileSourceConfig) and not src.path.is_absolute():
            src.path = (path.parent / src.path).resolve()
    for key in [*cfg.signers, cfg.transmitter]:
        if key is not None and key.keystore and not key.keystore.is_absolute():
            key.keystore = (path.parent / key.keystore).resolve()
    return cfg
