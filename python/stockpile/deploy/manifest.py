"""The per-chain deployment manifest: ``deployments/<chain-id>.json``.

It records every contract deployed (address, tx hash, block, args, code hash) and every
configuration transaction, and - before a transaction is broadcast - the signed transaction
as *pending*, so that an ``apply`` killed at any point is completed by the next run without
sending anything twice. Written atomically (temp file + rename) after every change.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field


class DeployedContract(BaseModel):
    contract: str
    address: str
    tx_hash: str
    block_number: int
    args: list[Any] = []
    code_hash: str = ""


class Action(BaseModel):
    description: str
    tx_hash: str
    block_number: int


class Pending(BaseModel):
    tx_hash: str
    nonce: int
    sender: str
    raw: str


class FeedRecord(BaseModel):
    """A product's price feed: its symbol and id on the PriceFeed hub, and its Chainlink-style
    (AggregatorV3Interface) adapter, the address consumers read."""

    symbol: str
    feed_id: str  # bytes32, 0x-hex: the symbol's ASCII, zero-padded
    adapter: str
    hub: str


class Manifest(BaseModel):
    chain_id: int
    deployment: str = "stockpile"
    compiler: str = ""
    contracts: dict[str, DeployedContract] = Field(default_factory=dict)
    actions: dict[str, Action] = Field(default_factory=dict)
    pending: dict[str, Pending] = Field(default_factory=dict)
    feeds: dict[str, FeedRecord] = Field(default_factory=dict)  # product symbol -> its price feed

    def address(self, key: str) -> str:
        return self.contracts[key].address


def manifest_path(folder: str | Path, chain_id: int) -> Path:
    return Path(folder) / f"{chain_id}.json"


def load_manifest(folder: str | Path, chain_id: int) -> Manifest:
    path = manifest_path(folder, chain_id)
    if path.exists():
        manifest = Manifest.model_validate_json(path.read_text())
        if manifest.chain_id != chain_id:
            raise ValueError(f"{path} is for chain id {manifest.chain_id}, not {chain_id}")
        return manifest
    return Manifest(chain_id=chain_id)


def save_manifest(folder: str | Path, manifest: Manifest) -> Path:
    path = manifest_path(folder, manifest.chain_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path
