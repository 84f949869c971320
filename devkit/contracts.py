"""Artifacts of the test and benchmark contracts (tests/contracts, bench/contracts), which are not
product contracts: they live outside ``contracts/``, so neither ape nor ``stockpile build`` puts
them in the package's artifacts.

``load(name)`` returns a product artifact (``stockpile.contracts.load``) or, for a test/bench
contract, its artifact compiled with the project's settings (``stockpile.contracts.compile``).
The compiled set is cached in ``.build/dev-artifacts/<hash of every .sol source>.json``, so the
test workers compile it at most once per change of any contract (``make setup`` builds it, see
the Makefile). ``ape_container(name)`` is the same contract for ape's network.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import cache
from typing import Any

from stockpile.contracts import Artifact
from stockpile.contracts import load as load_product
from stockpile.toolchain.paths import PROJECT_ROOT

DEV_FOLDERS = (PROJECT_ROOT / "tests" / "contracts", PROJECT_ROOT / "bench" / "contracts")
CACHE = PROJECT_ROOT / ".build" / "dev-artifacts"


def _dev_sources() -> dict[str, dict[str, str]]:
    return {p.relative_to(PROJECT_ROOT).as_posix(): {"content": p.read_text()}
            for folder in DEV_FOLDERS for p in sorted(folder.glob("*.sol"))}


def _fingerprint(sources: dict[str, dict[str, str]]) -> str:
    h = hashlib.sha256()
    for p in sorted((PROJECT_ROOT / "contracts").rglob("*.sol")):
        if ".cache" not in p.parts:
            h.update(p.as_posix().encode() + p.read_bytes())
    for name, src in sorted(sources.items()):
        h.update(name.encode() + src["content"].encode())
    h.update((PROJECT_ROOT / "ape-config.yaml").read_bytes())
    return h.hexdigest()[:16]


@cache
def dev_artifacts() -> dict[str, Artifact]:
    """Every test/bench contract's artifact, by contract name."""
    sources = _dev_sources()
    path = CACHE / f"{_fingerprint(sources)}.json"
    if not path.exists():
        from stockpile.contracts.compile import compile_standard_json

        out = compile_standard_json(sources, outputs=["abi", "evm.bytecode.object", "evm.deployedBytecode.object",
                                                      "evm.deployedBytecode.immutableReferences"], imports_too=False)
        found: dict[str, Any] = {}
        for source in sources:
            for name, data in out["contracts"][source].items():
                found[name] = {"name": name, "source": source, "abi": data["abi"],
                               "bytecode": "0x" + data["evm"]["bytecode"]["object"],
                               "deployed_bytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                               "immutable_references": data["evm"]["deployedBytecode"].get("immutableReferences") or {},
                               "compiler": "solc-js"}
        CACHE.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=CACHE, suffix=".tmp")  # parallel workers: write then rename
        with os.fdopen(fd, "w") as f:
            json.dump(found, f)
        os.replace(tmp, path)
    return {name: Artifact(**fields) for name, fields in json.loads(path.read_text()).items()}


def load(name: str) -> Artifact:
    """A product artifact, else a test/bench contract's."""
    return dev_artifacts()[name] if dev_contract(name) else load_product(name)


def dev_contract(name: str) -> bool:
    """True for a contract of tests/contracts or bench/contracts."""
    return name in _dev_names()


@cache
def _dev_names() -> frozenset[str]:
    import re

    names = set()
    for src in _dev_sources().values():
        names.update(re.findall(r"^contract\s+(\w+)", src["content"], flags=re.M))
    return frozenset(names)


def ape_container(name: str):
    """An ape ContractContainer of ``name`` (deploy with ``account.deploy(container, *args)``)."""
    import ape
    from ethpm_types import ContractType

    art = load(name)
    ct = ContractType.model_validate({"contractName": art.name, "abi": art.abi,
                                      "deploymentBytecode": {"bytecode": art.bytecode},
                                      "runtimeBytecode": {"bytecode": art.deployed_bytecode}})
    return ape.contracts.ContractContainer(ct)


if __name__ == "__main__":  # `python -m devkit.contracts` (make setup): compile once, before the test workers start
    print(f"{len(dev_artifacts())} test/bench contract artifacts in {CACHE}")
