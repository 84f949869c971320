"""Verification bundles: what block explorers and Sourcify need to verify every deployed contract.

For each manifest entry, ``DIR/<key>/``:

- ``input.json``: the solc standard-JSON input that reproduces the deployed code exactly (the
  contract's own sources and settings, from its metadata; each source's keccak256 is checked
  against the metadata, so a changed ``node_modules`` is caught here and not on the explorer);
- ``metadata.json``: solc's metadata (its IPFS hash is what the deployed bytecode ends with);
- ``constructor-args.txt``: the ABI-encoded constructor arguments, read from the creation
  transaction (its input after the artifact's creation code);
- ``sources/<path>``: the sources as files (Sourcify's metadata-plus-sources form);

and ``DIR/bundle.json`` indexing them (address, creation tx, compiler, source path and name).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

from eth_typing import HexStr
from web3 import Web3

from stockpile.contracts import load
from stockpile.deploy.manifest import Manifest
from stockpile.toolchain.paths import PROJECT_ROOT
from stockpile.errors import StockpileError


class BundleError(StockpileError, RuntimeError):
    pass


def standard_json_input(artifact_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(standard-JSON input, metadata) of a compiled contract, checked against its metadata."""
    art = load(artifact_name)
    if not art.metadata:
        raise BundleError(f"artifact {artifact_name} has no metadata: rebuild with `stockpile build`")
    meta = json.loads(art.metadata)
    sources = {}
    for path, entry in meta["sources"].items():
        file = PROJECT_ROOT / path
        if not file.exists():
            raise BundleError(f"{artifact_name}: source {path} is missing")
        content = file.read_text()
        if Web3.to_hex(Web3.keccak(text=content)) != entry["keccak256"]:
            raise BundleError(f"{artifact_name}: {path} differs from the source it was compiled from: rebuild")
        sources[path] = {"content": content}
    settings = {k: v for k, v in meta["settings"].items() if k != "compilationTarget"}
    settings["outputSelection"] = {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "metadata"]}}
    return {"language": meta["language"], "sources": sources, "settings": settings}, meta


def constructor_arguments(w3: Web3, tx_hash: str, artifact_name: str) -> str:
    """The ABI-encoded constructor arguments of a creation transaction, as 0x-hex."""
    tx_input = bytes(w3.eth.get_transaction(HexStr(tx_hash))["input"])
    code = bytes.fromhex(load(artifact_name).bytecode[2:])
    if not tx_input.startswith(code):
        raise BundleError(f"the creation code of {tx_hash} is not {artifact_name}'s artifact")
    return "0x" + tx_input[len(code):].hex()


def write_bundle(w3: Web3, manifest: Manifest, folder: str | Path) -> Path:
    """Write a bundle for every contract of ``manifest``; returns the index file."""
    folder = Path(folder)
    index: dict[str, Any] = {"chain_id": manifest.chain_id, "deployment": manifest.deployment, "contracts": {}}
    for key, rec in sorted(manifest.contracts.items()):
        std_input, meta = standard_json_input(rec.contract)
        ((source, name),) = meta["settings"]["compilationTarget"].items()
        out = folder / key
        (out / "sources").mkdir(parents=True, exist_ok=True)
        (out / "input.json").write_text(json.dumps(std_input, indent=1, sort_keys=True) + "\n")
        (out / "metadata.json").write_text(cast(str, load(rec.contract).metadata))  # standard_json_input checked it is there
        args = constructor_arguments(w3, rec.tx_hash, rec.contract)
        (out / "constructor-args.txt").write_text(args + "\n")
        for path, src in std_input["sources"].items():
            target = out / "sources" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(src["content"])
        index["contracts"][key] = {
            "address": rec.address, "creation_tx": rec.tx_hash, "contract": rec.contract, "source": source,
            "name": name, "compiler": meta["compiler"]["version"], "constructor_arguments": args,
            "folder": key,
        }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bundle.json"
    path.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
    return path
