"""Compile ``contracts/`` with py-solc-x through the project's solc-js shim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import solcx
import yaml

from stockpile.contracts import artifacts
from stockpile.toolchain.paths import PROJECT_ROOT
from stockpile.toolchain.solc import SOLC_VERSION, install_solc_shim

OUTPUTS = [
    "abi",
    "evm.bytecode.object",
    "evm.deployedBytecode.object",
    "evm.deployedBytecode.immutableReferences",
    "evm.methodIdentifiers",
    "storageLayout",
    "metadata",
]

# Contracts compiled from npm packages as they ship (not copied into contracts/, which ape walks):
# source path -> contract names to write artifacts for. Safe 1.4.1 for operating through a multisig.
SAFE_SOURCES = "node_modules/@safe-global/safe-contracts/contracts"
EXTERNAL_CONTRACTS: dict[str, list[str]] = {
    f"{SAFE_SOURCES}/Safe.sol": ["Safe"],
    f"{SAFE_SOURCES}/proxies/SafeProxyFactory.sol": ["SafeProxyFactory"],
    f"{SAFE_SOURCES}/proxies/SafeProxy.sol": ["SafeProxy"],
    f"{SAFE_SOURCES}/handler/CompatibilityFallbackHandler.sol": ["CompatibilityFallbackHandler"],
    f"{SAFE_SOURCES}/libraries/MultiSendCallOnly.sol": ["MultiSendCallOnly"],
}


def compiler_settings() -> dict[str, Any]:
    """Optimizer and EVM settings, read from ape-config.yaml so both compile paths agree."""
    cfg = yaml.safe_load((PROJECT_ROOT / "ape-config.yaml").read_text())["solidity"]
    return {
        "optimizer": {"enabled": bool(cfg.get("optimize", True)), "runs": int(cfg.get("optimization_runs", 200))},
        "evmVersion": cfg.get("evm_version", "cancun"),
        "viaIR": bool(cfg.get("via_ir", False)),
    }


def _external_sources() -> dict[str, dict[str, str]]:
    return {path: {"content": (PROJECT_ROOT / path).read_text()} for path in EXTERNAL_CONTRACTS}


def _sources(contracts_dir: Path) -> dict[str, dict[str, str]]:
    return {
        p.relative_to(PROJECT_ROOT).as_posix(): {"content": p.read_text()}
        for p in sorted(contracts_dir.rglob("*.sol"))
        if ".cache" not in p.parts
    }


def compile_standard_json(sources: dict[str, dict[str, str]], outputs: list[str] = OUTPUTS,
                          imports_too: bool = True) -> dict[str, Any]:
    """Compile ``sources`` (and what they import). ``imports_too=False``: output only for the given
    sources; solc then skips generating code for the imported contracts (OpenZeppelin's, Safe's
    libraries, a base compiled again on its own), the same bytecode of ours for less CPU."""
    install_solc_shim()
    settings = compiler_settings()
    settings["remappings"] = ["@openzeppelin/=node_modules/@openzeppelin/", "@chainlink/=node_modules/@chainlink/"]
    settings["outputSelection"] = {"*": {"*": outputs}} if imports_too else {src: {"*": outputs} for src in sources}
    return solcx.compile_standard(
        {"language": "Solidity", "sources": sources, "settings": settings},
        solc_version=SOLC_VERSION,
        base_path=str(PROJECT_ROOT),
        allow_paths=[str(PROJECT_ROOT)],
    )


def compile_all(contracts_dir: Path | None = None, out_dir: Path | None = None) -> list[Path]:
    """Compile every contract under ``contracts/`` and write its artifact. Returns the files written."""
    contracts_dir = contracts_dir or PROJECT_ROOT / "contracts"
    out = compile_standard_json({**_sources(contracts_dir), **_external_sources()}, imports_too=False)
    written = []
    version = f"solc-js {SOLC_VERSION}"
    for source, contracts in out.get("contracts", {}).items():
        wanted = EXTERNAL_CONTRACTS.get(source)
        if not source.startswith("contracts/") and wanted is None:  # OpenZeppelin and other libraries
            continue
        for name, data in contracts.items():
            if wanted is not None and name not in wanted:
                continue
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode:  # interfaces and abstract contracts
                continue
            art = artifacts.Artifact(
                name=name,
                source=source,
                abi=data["abi"],
                bytecode="0x" + bytecode,
                deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
                storage_layout=data.get("storageLayout"),
                method_identifiers=data["evm"].get("methodIdentifiers", {}),
                immutable_references=data["evm"]["deployedBytecode"].get("immutableReferences", {}),
                compiler=version,
                metadata=data.get("metadata") or None,
            )
            written.append(artifacts.write(art, out_dir))
    _drop_stale(out_dir or artifacts.artifacts_dir(), written)
    artifacts.load.cache_clear()
    artifacts.abi.cache_clear()
    artifacts._contract.cache_clear()
    return written


def _drop_stale(folder: Path, written: list[Path]) -> None:
    """Remove artifacts of contracts whose source file is gone (a deleted or moved contract)."""
    import json

    for path in folder.glob("*.json"):
        if path in written:
            continue
        source = json.loads(path.read_text()).get("source", "")
        if source and not (PROJECT_ROOT / source).is_file():
            path.unlink()
