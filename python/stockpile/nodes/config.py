"""Configuration of a node's HTTP/JSON endpoint (server side) and of the nodes a transmitter asks (client side)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def token_hash(token: str) -> str:
    """The value a node's configuration holds for a transmitter's bearer token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TlsConfig(_Strict):
    """The node's certificate chain and private key (PEM files)."""

    cert: Path
    key: Path


class TransmitterAuth(_Strict):
    """A transmitter allowed to ask this node: its name (logs, metrics) and the SHA-256 of its bearer token.
    The node never holds the token itself."""

    name: str
    token_sha256: str

    @field_validator("token_sha256")
    @classmethod
    def _hex(cls, v: str) -> str:
        v = v.lower().removeprefix("0x")
        if not re.fullmatch(r"[0-9a-f]{64}", v):
            raise ValueError("token_sha256 must be 64 hex digits (sha256 of the token)")
        return v


class RateLimit(_Strict):
    """Token bucket per client (transmitter name, or address for unauthenticated callers)."""

    per_second: float = Field(default=20.0, gt=0)
    burst: int = Field(default=40, ge=1)


class ServerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)  # 0: any free port (tests)
    tls: TlsConfig | None = None  # required unless host is loopback
    transmitters: list[TransmitterAuth] = []
    max_body_bytes: int = Field(default=64 * 1024, ge=256)
    request_deadline_seconds: float = Field(default=5.0, gt=0)  # reading a request and answering it
    rate_limit: RateLimit = RateLimit()

    @model_validator(mode="after")
    def _check(self) -> ServerConfig:
        if self.tls is None and not is_loopback(self.host):
            raise ValueError(f"host {self.host} is not loopback: plain HTTP is allowed only on loopback, configure tls")
        names = [t.name for t in self.transmitters]
        if len(set(names)) != len(names):
            raise ValueError("duplicate transmitter names")
        return self


class NodeRef(_Strict):
    """A node a transmitter collects from."""

    name: str  # the operator, as named in logs and metrics
    url: str  # https://host:port (http:// only for loopback)
    token_env: str  # environment variable holding this transmitter's bearer token for the node
    address: str | None = None  # the node's signer address, when known: an answer signed by another key is refused
    ca_file: Path | None = None  # CA bundle or the node's self-signed certificate, for https

    @model_validator(mode="after")
    def _check(self) -> NodeRef:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"node {self.name}: url must be http(s)://host:port, got {self.url!r}")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError(f"node {self.name}: plain http only to a loopback address; use https")
        return self
