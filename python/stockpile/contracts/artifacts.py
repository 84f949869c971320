"""Read compiled contract artifacts."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel


class ArtifactNotFound(FileNotFoundError):
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
    return Path(__file__).resolve().parent / "artifacts"


@lru_cache(maxsize=None)
def load(name: str) -> Artifact:
    path = artifacts_dir() / f"{name}.json"
    if not path.exists():
        raise ArtifactNotFound(f"no artifact for {name!r} at {path}: run `stockpile build` (or `make setup`)")
    return Artifact.model_validate_json(path.read_text())


def write(artifact: Artifact, folder: Path | None = None) -> Path:
    folder = folder or artifacts_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{artifact.name}.json"
    path.write_text(json.dumps(artifact.model_dump(), indent=1, sort_keys=True) + "\n")
    return path
