"""Read compiled contract artifacts.

An artifact is looked up inside the installed package first (``stockpile/contracts/artifacts/``
as package data, through ``importlib.resources``: what a wheel carries), then in the checkout's
build output (``<STOCKPILE_ROOT>/python/stockpile/contracts/artifacts/``, what ``stockpile build``
writes; in an editable install both are the same folder). Reading an artifact reads nothing else.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from stockpile.errors import StockpileError


class ArtifactNotFound(StockpileError, FileNotFoundError):
    pass


class Artifact(BaseModel):
    """One compiled contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    storage_layout: dict[str, Any] | None = None
    method_identifiers: dict[str, str] = {}
    immutable_references: dict[str, list[dict[str, int]]] = {}
    compiler: str
    metadata: str | None = None  # solc's metadata JSON (sources' hashes, settings): for verification bundles


def artifacts_dir() -> Path:
    """The build output: where ``stockpile build`` writes (the package's folder in a checkout)."""
    from stockpile.toolchain.paths import PROJECT_ROOT

    return PROJECT_ROOT / "python" / "stockpile" / "contracts" / "artifacts"


def packaged_dir() -> Traversable:
    """The artifacts shipped inside the installed package."""
    return resources.files("stockpile.contracts").joinpath("artifacts")


def _folders() -> list[Traversable]:
    folders: list[Traversable] = []
    for folder in (packaged_dir(), artifacts_dir()):
        if folder.is_dir() and str(folder) not in {str(f) for f in folders}:
            folders.append(folder)
    return folders


def _find(name: str) -> Traversable | None:
    for folder in _folders():
        entry = folder.joinpath(f"{name}.json")
        if entry.is_file():
            return entry
    return None


def names() -> list[str]:
    """Every contract with an artifact (package first, then build output), sorted."""
    found = {entry.name[:-5] for folder in _folders() for entry in folder.iterdir()
             if entry.name.endswith(".json") and entry.is_file()}
    return sorted(found)


@lru_cache(maxsize=None)
def load(name: str) -> Artifact:
    entry = _find(name)
    if entry is None:
        raise ArtifactNotFound(
            f"no artifact for {name!r} in the installed package ({packaged_dir()}) nor in the build output"
            f" ({artifacts_dir()}): run `stockpile build` (or `make setup`)")
    return Artifact.model_validate_json(entry.read_text())


@lru_cache(maxsize=None)
def abi(name: str) -> list[dict[str, Any]]:
    """Only the ABI of ``name`` (plain JSON, no model validation)."""
    entry = _find(name)
    if entry is None:
        raise ArtifactNotFound(f"no artifact for {name!r}: run `stockpile build` (or `make setup`)")
    value: list[dict[str, Any]] = json.loads(entry.read_text())["abi"]
    return value


def contract(w3: Any, name: str, address: str) -> Any:
    """The web3 contract ``name`` (an artifact) at ``address`` on ``w3``: the one way the package makes
    one for a deployed address. web3 builds every function, event and error object of the ABI when a
    contract object is made (~10-20 ms of CPU for CommodityToken's 176 entries, measured), and the
    same few contracts are asked for again and again (every reconciliation run, every portal refresh,
    every deployment step), so each (w3, name, address) is made once."""
    from eth_utils import to_checksum_address

    return _contract(w3, name, to_checksum_address(address))


@lru_cache(maxsize=1024)
def _contract(w3: Any, name: str, address: str) -> Any:
    return w3.eth.contract(address=address, abi=abi(name))


def write(artifact: Artifact, folder: Path | None = None) -> Path:
    folder = folder or artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{artifact.name}.json"
    path.write_text(json.dumps(artifact.model_dump(), indent=1, sort_keys=True) + "\n")
    return path
