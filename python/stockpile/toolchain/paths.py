"""Where the project's tools live."""

from __future__ import annotations

import os
from pathlib import Path

# python/stockpile/toolchain/paths.py -> project root (the repository checkout).
PROJECT_ROOT = Path(os.environ.get("STOCKPILE_ROOT", Path(__file__).resolve().parents[3]))


def node_bin(name: str) -> Path:
    """Path of an executable installed by npm into ``node_modules/.bin``."""
    path = PROJECT_ROOT / "node_modules" / ".bin" / name
    if not path.exists():
        raise FileNotFoundError(f"{name} not found at {path}: run `make setup` (npm ci) first")
    return path


def solc_shim() -> Path:
    """The project's ``solc`` executable (tools/solc/solc)."""
    return PROJECT_ROOT / "tools" / "solc" / "solc"
