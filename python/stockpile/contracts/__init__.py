"""Compiled contract artifacts (ABI, bytecode, storage layout) for the Python side.

``load(name)`` reads one (from the installed package, then the checkout's build output);
``contract(w3, name, address)`` is the web3 contract at an address (made once per address).
``compile_all()`` (needs the ``[dev]`` extra: py-solc-x, PyYAML and the checkout's solc-js shim)
compiles ``contracts/`` with the same settings as ``ape-config.yaml`` and writes one JSON
artifact per contract into ``python/stockpile/contracts/artifacts/`` (generated, not committed;
``make dist`` puts the product contracts' artifacts into the wheel and the sdist).
"""

from __future__ import annotations

from typing import Any

from stockpile.contracts.artifacts import Artifact, ArtifactNotFound, artifacts_dir, contract, load

__all__ = ["Artifact", "ArtifactNotFound", "artifacts_dir", "compile_all", "compiler_settings", "contract", "load"]


def __getattr__(name: str) -> Any:  # the compiler side is imported only when used
    if name in ("compile_all", "compiler_settings"):
        from stockpile.contracts import compile as _compile

        return getattr(_compile, name)
    raise AttributeError(f"module 'stockpile.contracts' has no attribute {name!r}")
