"""Offline toolchain: the project's ``solc`` (over solc-js from npm) and local anvil chains.

Names are imported on first use: ``stockpile.toolchain.paths`` is read by the SDK (through the
artifact lookup) and must not pull in the compiler side (which reads ``package-lock.json``).
"""

from __future__ import annotations

from typing import Any

from stockpile.toolchain.paths import PROJECT_ROOT, node_bin, solc_shim

__all__ = [
    "PROJECT_ROOT",
    "SOLC_VERSION",
    "Anvil",
    "install_solc_shim",
    "node_bin",
    "solc_shim",
    "solc_version_of",
]

_LAZY = {
    "SOLC_VERSION": "stockpile.toolchain.solc",
    "install_solc_shim": "stockpile.toolchain.solc",
    "solc_version_of": "stockpile.toolchain.solc",
    "Anvil": "stockpile.toolchain.anvil",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stockpile.toolchain' has no attribute {name!r}")
