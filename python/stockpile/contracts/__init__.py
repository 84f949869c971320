"""Compiled contract artifacts (ABI, bytecode, storage layout) for the Python side.

``compile_all()`` compiles ``contracts/`` with py-solc-x through the project's solc-js shim,
with the same settings as ``ape-config.yaml``, and writes one JSON artifact per contract into
``python/stockpile/contracts/artifacts/`` (generated, not committed). ``load(name)`` reads one.
"""

from stockpile.contracts.artifacts import Artifact, ArtifactNotFound, load, artifacts_dir
from stockpile.contracts.compile import compile_all, compiler_settings

__all__ = ["Artifact", "ArtifactNotFound", "artifacts_dir", "compile_all", "compiler_settings", "load"]
