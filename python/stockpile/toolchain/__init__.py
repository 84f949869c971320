"""Offline toolchain: the project's ``solc`` (over solc-js from npm) and local anvil chains."""

from stockpile.toolchain.paths import PROJECT_ROOT, node_bin, solc_shim
from stockpile.toolchain.solc import SOLC_VERSION, install_solc_shim, solc_version_of
from stockpile.toolchain.anvil import Anvil

__all__ = [
    "PROJECT_ROOT",
    "SOLC_VERSION",
    "Anvil",
    "install_solc_shim",
    "node_bin",
    "solc_shim",
    "solc_version_of",
]
