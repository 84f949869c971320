"""Register the project's solc-js shim where py-solc-x and ape-solidity look for compilers.

py-solc-x (and ape-solidity through it) lists installed compilers as ``solc-v<X.Y.Z>`` files in
``$SOLCX_BINARY_PATH`` or ``~/.solcx``. A symlink there to ``tools/solc/solc`` makes both use
solc-js, so nothing is ever downloaded from binaries.soliditylang.org.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from stockpile.toolchain.paths import PROJECT_ROOT, solc_shim

VERSION_RE = re.compile(r"Version: (\d+\.\d+\.\d+)\+commit\.([0-9a-f]+)")


def _pinned_version() -> str:
    lock = json.loads((PROJECT_ROOT / "package-lock.json").read_text())
    return lock["packages"]["node_modules/solc"]["version"]


SOLC_VERSION = _pinned_version()


def solcx_folder() -> Path:
    env = os.environ.get("SOLCX_BINARY_PATH")
    return Path(env) if env else Path.home() / ".solcx"


def solc_version_of(executable: Path | str) -> str:
    """The ``X.Y.Z`` that ``executable --version`` reports."""
    out = subprocess.run([str(executable), "--version"], capture_output=True, text=True, check=True).stdout
    match = VERSION_RE.search(out)
    if not match:
        raise RuntimeError(f"{executable} --version printed no solc version: {out!r}")
    return match.group(1)


def install_solc_shim(extra_bin_dirs: list[Path] | None = None) -> list[Path]:
    """Link the shim as ``solc-v<version>`` into the py-solc-x folder (and as ``solc`` into
    each of ``extra_bin_dirs``). Returns the links made or refreshed; existing correct links
    are left alone."""
    target = solc_shim()
    links = [solcx_folder() / f"solc-v{SOLC_VERSION}"]
    links += [Path(d) / "solc" for d in extra_bin_dirs or []]
    changed = []
    for link in links:
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.exists() or link.is_symlink():
            link.unlink()
        link.symlink_to(target)
        changed.append(link)
    return changed
