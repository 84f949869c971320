"""Feeder configuration (YAML, validated by pydantic)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stockpile.nodes.config import NodeRef, ServerConfig
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
        if self.sources and not 1 <= self.min_sources <= len(self.sources):
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
    signers: list[KeyConfig] = []  # --local-signers mode only (devnets): every key in this process
    transmitter: KeyConfig | None = None
    # Node mode: the operators' signer nodes. Each observes with its own sources and key; this
    # process only collects, builds the report and transmits it.
    nodes: list[NodeRef] = []
    observe_deadline_seconds: float = Field(default=2.0, gt=0)  # wait for observations at most this long
    observe_settle_seconds: float = Field(default=0.3, ge=0)  # once 2f + 1 have answered, wait this much more for the rest
    sign_deadline_seconds: float = Field(default=3.0, gt=0)  # and for the report signatures
    liar_bps: int = Field(default=500, ge=1)  # an observation this far from the median: its operator is named
    sources: dict[str, SourceConfig] = {}
    fx: list[FxConfig] = []
    products: list[ProductConfig]
    metrics: MetricsConfig = MetricsConfig()

    @model_validator(mode="after")
    def _refs(self) -> FeederConfig:
        if self.signers and self.nodes:
            raise ValueError("give either signers (--local-signers mode) or nodes, not both")
        _check_references(self.products, self.sources, self.fx, sources_required=not self.nodes)
        return self


class NodeConfig(_Strict):
    """One oracle operator's signer node (``stockpile oracle node --config node.yaml``)."""

    chain_id: int  # the chain this node signs for; requests for another are refused
    rpc_url: str  # the node's own view of the chain (rounds, configuration, time)
    feed_address: str  # the PriceFeed hub; requests for another contract are refused
    key: KeyConfig  # this operator's signer key: never leaves the process
    state_db: Path = Path("oracle-node.sqlite")  # what it observed and signed (survives a SIGKILL)
    server: ServerConfig = ServerConfig()
    max_clock_skew_seconds: int = Field(default=5, ge=0)  # observedAt may be this far past the chain's latest block time
    max_observation_lag_seconds: int = Field(default=60, ge=1)  # ... and at most this far behind it
    max_report_window_seconds: int = Field(default=600, ge=1)  # deadline - observedAt of a report it signs
    sources: dict[str, SourceConfig]
    fx: list[FxConfig] = []
    products: list[ProductConfig]

    @model_validator(mode="after")
    def _refs(self) -> NodeConfig:
        _check_references(self.products, self.sources, self.fx, sources_required=True)
        return self


def _check_references(products: list[ProductConfig], sources: dict[str, SourceConfig], fx: list[FxConfig],
                      sources_required: bool) -> None:
    """Every product's and FX pair's source is declared; product symbols are unique (feeder and node)."""
    for p in products:
        if sources_required and not p.sources:
            raise ValueError(f"{p.symbol}: no sources")
        for s in p.sources:
            if s.source not in sources:
                raise ValueError(f"{p.symbol}: unknown source {s.source!r}")
    for f in fx:
        if f.source not in sources:
            raise ValueError(f"fx {f.pair}: unknown source {f.source!r}")
    symbols = [p.symbol for p in products]
    if len(set(symbols)) != len(symbols):
        raise ValueError("duplicate product symbols")


def _resolve_paths(cfg: FeederConfig | NodeConfig, base: Path) -> None:
    """Relative file paths are relative to the config file."""
    for src in cfg.sources.values():
        if isinstance(src, FileSourceConfig) and not src.path.is_absolute():
            src.path = (base / src.path).resolve()
    keys = [*cfg.signers, cfg.transmitter] if isinstance(cfg, FeederConfig) else [cfg.key]
    for key in keys:
        if key is not None and key.keystore and not key.keystore.is_absolute():
            key.keystore = (base / key.keystore).resolve()
    if isinstance(cfg, NodeConfig):
        if not cfg.state_db.is_absolute():
            cfg.state_db = (base / cfg.state_db).resolve()
        if cfg.server.tls is not None:
            for attr in ("cert", "key"):
                p = getattr(cfg.server.tls, attr)
                if not p.is_absolute():
                    setattr(cfg.server.tls, attr, (base / p).resolve())
    else:
        for n in cfg.nodes:
            if n.ca_file is not None and not n.ca_file.is_absolute():
                n.ca_file = (base / n.ca_file).resolve()


def load_node_config(path: str | Path) -> NodeConfig:
    path = Path(path)
    cfg = NodeConfig.model_validate(yaml.safe_load(path.read_text()))
    _resolve_paths(cfg, path.parent)
    return cfg


def load_config(path: str | Path) -> FeederConfig:
    path = Path(path)
    data = yaml.safe_load(path.read_text())
    cfg = FeederConfig.model_validate(data)
    _resolve_paths(cfg, path.parent)
    return cfg
