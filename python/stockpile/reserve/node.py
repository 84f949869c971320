"""``stockpile reserve node --config node.yaml``: one custodian attestor as a long-running service.

The attestor core is :mod:`stockpile.reserve.custodian`; the HTTP/JSON endpoint (bearer tokens per
transmitter, TLS, deadline, body limit, rate limits, ``/health``, ``/metrics``) is the shared node
transport :mod:`stockpile.nodes`. Routes:

- ``POST /attest``: an :class:`~stockpile.reserve.custodian.AttestationRequest`; answers
  ``{"node", "signer", "signature", "config_digest", "deadline", "attestation", "repeated"}`` or a
  refusal ``{"refused": code, "detail": one line, "details": evidence}`` (HTTP 409; 400 for a
  request that does not validate).
- ``GET /health``: signer address, products, chain reachable, custody readable, signatures given.
- ``GET /metrics``: the transport's request counters plus ``stockpile_attestor_signed_total{product}``
  and ``stockpile_attestor_refused_total{product,reason}``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from stockpile.errors import StockpileError
from stockpile.nodes import NodeServer, Refusal, Request, ServerConfig
from stockpile.reserve.custodian import (
    AttestationRequest,
    CustodianAttestor,
    CustodyRecords,
    ProductTarget,
    Refused,
    SignedLog,
)
from stockpile.reserve.models import Bytes32

log = logging.getLogger("stockpile.reserve.node")

ATTEST_PATH = "/attest"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustodyConfig(_Strict):
    """This attestor's own copy of the custody records: an export folder or a custody database URL."""

    exports: Path | None = None
    db_url: str | None = None
    catalogue: Path | None = None
    reports: Path | None = None  # the custodian's report files: the report hash must be one of them

    @model_validator(mode="after")
    def _one(self) -> CustodyConfig:
        if (self.exports is None) == (self.db_url is None):
            raise ValueError("give exactly one of exports (a folder) or db_url")
        return self


class ProductConfig(_Strict):
    attestor: str  # the product's ReserveAttestor (proxy) address
    config_digest: Bytes32 | None = None  # pinned digest, for a node without rpc_url

    @field_validator("attestor", mode="before")
    @classmethod
    def _address(cls, v: Any) -> str:
        if isinstance(v, int):  # YAML reads an unquoted 0x... as an integer
            v = f"0x{v:040x}"
        if not isinstance(v, str) or len(v.removeprefix("0x")) != 40:
            raise ValueError(f"not a 20-byte hex address: {v!r}")
        bytes.fromhex(v.removeprefix("0x"))
        return v


class NodeConfig(_Strict):
    name: str = Field(min_length=1)
    chain_id: int = Field(gt=0)
    rpc_url: str | None = None  # read configDigest() live; without it every product needs config_digest
    account: str  # env:NAME or keystore:PATH:PASSPHRASE_ENV (stockpile.sdk.accounts.from_env)
    state_dir: Path
    custody: CustodyConfig
    products: dict[str, ProductConfig] = Field(min_length=1)
    max_validity_seconds: int = Field(default=8 * 86_400, gt=0)
    max_clock_skew_seconds: int = Field(default=300, ge=0)
    server: ServerConfig = ServerConfig()

    @model_validator(mode="after")
    def _digests(self) -> NodeConfig:
        if self.rpc_url is None:
            missing = [p for p, c in self.products.items() if c.config_digest is None]
            if missing:
                raise ValueError(f"no rpc_url: products {', '.join(missing)} need a pinned config_digest")
        if self.account.startswith("keystore:") and self.account.count(":") < 2:
            raise ValueError("account keystore:PATH needs :PASSPHRASE_ENV (a node does not prompt)")
        return self


class ConfigError(StockpileError, ValueError):
    """A node configuration that cannot be used; the message names the file and the field."""


def load_node_config(path: str | Path) -> NodeConfig:
    """Read node.yaml; relative paths are relative to the file's folder."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(" ".join(f"{path}: cannot read: {exc}".split())) from None  # one line
    try:
        cfg = NodeConfig.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise ConfigError(f"{path}: {'.'.join(map(str, e['loc'])) or 'top level'}: {e['msg']}") from None
    base = path.parent

    def rel(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else (base / p).resolve()

    cfg.state_dir = rel(cfg.state_dir)  # type: ignore[assignment]
    cfg.custody.exports = rel(cfg.custody.exports)
    cfg.custody.catalogue = rel(cfg.custody.catalogue)
    cfg.custody.reports = rel(cfg.custody.reports)
    if cfg.server.tls is not None:
        cfg.server.tls.cert = rel(cfg.server.tls.cert)  # type: ignore[assignment]
        cfg.server.tls.key = rel(cfg.server.tls.key)  # type: ignore[assignment]
    if cfg.account.startswith("keystore:"):
        _, ks, env = cfg.account.split(":", 2)
        cfg.account = f"keystore:{rel(Path(ks))}:{env}"
    return cfg


class _Refusal(Refusal):
    """The transport's refusal, with the attestor's evidence (the lots that differ) in the body."""

    def __init__(self, refused: Refused, status: int = 409):
        super().__init__(refused.code, refused.message, status)
        self.details = refused.details

    def body(self) -> dict[str, Any]:
        return {**super().body(), **({"details": self.details} if self.details else {})}


class AttestorNode:
    """The attestor core behind the transport."""

    def __init__(self, cfg: NodeConfig, account: Any):
        self.cfg = cfg
        reader = None
        self.w3 = None
        if cfg.rpc_url:
            from web3 import Web3

            from stockpile.contracts import load

            self.w3 = Web3(Web3.HTTPProvider(cfg.rpc_url, request_kwargs={"timeout": 10}))
            abi = load("ReserveAttestor").abi
            w3 = self.w3

            def reader(address: str) -> bytes:
                contract = w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)
                return bytes(contract.functions.configDigest().call())

        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        custody = CustodyRecords(exports=cfg.custody.exports, db_url=cfg.custody.db_url,
                                 db_path=cfg.state_dir / "custody.db", catalogue=cfg.custody.catalogue)
        self.attestor = CustodianAttestor(
            account=account, chain_id=cfg.chain_id,
            products={p: ProductTarget(c.attestor, c.config_digest) for p, c in cfg.products.items()},
            custody=custody, signed=SignedLog(cfg.state_dir / "signed.db"), config_digest_of=reader,
            reports=cfg.custody.reports,
            max_validity_seconds=cfg.max_validity_seconds, max_clock_skew_seconds=cfg.max_clock_skew_seconds)
        self.server = NodeServer(cfg.server, {ATTEST_PATH: self.attest}, health=self.health, name=cfg.name)
        self.signed_total = Counter("stockpile_attestor_signed", "Attestations signed", ["product"],
                                    registry=self.server.registry)
        self.refused_total = Counter("stockpile_attestor_refused", "Attestation requests refused",
                                     ["product", "reason"], registry=self.server.registry)

    @property
    def signer(self) -> str:
        return self.attestor.address

    def attest(self, request: Request) -> dict[str, Any]:
        product = str(request.body.get("product", "?"))[:64]
        try:
            req = AttestationRequest.model_validate(request.body)
        except ValidationError as exc:
            e = exc.errors()[0]
            self.refused_total.labels(product, "bad_request").inc()
            raise Refusal("bad_request", f"{'.'.join(map(str, e['loc']))}: {e['msg']}", 400) from None
        try:
            signed = self.attestor.handle(req)
        except Refused as r:
            self.refused_total.labels(req.product, r.code).inc()
            log.warning("refused %s as of %s for %s: %s: %s", req.product, req.attestation.as_of, request.client,
                        r.code, r.message)
            raise _Refusal(r) from None
        self.signed_total.labels(req.product).inc()
        log.info("signed %s as of %s root 0x%s for %s%s", req.product, req.attestation.as_of,
                 req.attestation.merkle_root.hex(), request.client, " (repeat)" if signed.repeated else "")
        return {"node": self.cfg.name, **signed.as_dict()}

    def health(self) -> tuple[bool, dict[str, Any]]:
        out: dict[str, Any] = {"node": self.cfg.name, "signer": self.signer, "chain_id": self.cfg.chain_id,
                               "products": sorted(self.cfg.products), "signed": self.attestor.signed.count()}
        ok = True
        if self.w3 is not None:
            try:
                out["chain_reachable"] = int(self.w3.eth.chain_id) == self.cfg.chain_id
            except Exception:
                out["chain_reachable"] = False
            ok = ok and out["chain_reachable"]
        try:
            self.attestor.refresh_custody()
            out["custody_readable"] = True
        except Refused as r:
            out["custody_readable"] = False
            out["custody_error"] = r.message
            ok = False
        out["status"] = "ok" if ok else "degraded"
        return ok, out

    def close(self) -> None:
        self.attestor.custody.close()


def run_node(config_path: str | Path) -> None:
    """Load the configuration and the key, serve until SIGINT/SIGTERM. Prints one JSON line with the
    URL and the signer address when it listens (for supervisors and tests)."""
    import signal
    import sys
    import threading

    from stockpile.sdk.accounts import from_env

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_node_config(config_path)
    account = from_env(cfg.account)
    node = AttestorNode(cfg, account)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    node.server.start()
    print(json.dumps({"node": cfg.name, "url": node.server.url, "signer": node.signer}), flush=True)
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        node.server.stop()
        node.close()
