"""Storage-layout snapshots of the upgradeable contracts and the upgrade-safety check.

For every contract under ``contracts/`` that inherits
``UUPSUpgradeable``, a snapshot records

* ``storage``: solc's ``storageLayout`` (ordinary, non-namespaced state variables), and
* ``namespaces``: every ERC-7201 namespace (``@custom:storage-location erc7201:<id>``) of the
  contract and its bases: id, slot, struct name and the ordered members (name, type),
* ``structs``: members of the structs those members use (by canonical name), and where each is used
  (``inline`` directly in a namespace struct or another inline struct, or only ``indirect`` behind a
  mapping/array).

``compare(old, new)`` lists what an upgrade from ``old`` to ``new`` would corrupt: a namespace or
slot that moved or vanished, a member removed, renamed, retyped or reordered. Appending members
to a namespace struct, or to a struct used only behind a mapping/array, is allowed; structs stored
inline must stay identical. Snapshots live in ``contracts/storage-layouts/<Contract>.json``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import solcx

from stockpile.contracts.compile import _sources, compiler_settings
from stockpile.toolchain.paths import PROJECT_ROOT
from stockpile.toolchain.solc import SOLC_VERSION, install_solc_shim
from stockpile.errors import StockpileError

SNAPSHOT_DIR = PROJECT_ROOT / "contracts" / "storage-layouts"
_LOCATION = re.compile(r"@custom:storage-location\s+erc7201:([^\s]+)")


class LayoutError(StockpileError, RuntimeError):
    pass


def erc7201_slot(namespace: str) -> str:
    from eth_utils import keccak

    h = int.from_bytes(keccak(text=namespace), "big") - 1
    return "0x" + (int.from_bytes(keccak(h.to_bytes(32, "big")), "big") & ~0xFF).to_bytes(32, "big").hex()


# The last compile of contracts/ itself in this process, by a hash of its standard-JSON input (the
# compiler is deterministic): the check, the snapshot writer and the tests that ask again for the
# same files get it instead of another ~3 s solc-js run (~40 MB kept).
_COMPILED: dict[str, dict[str, Any]] = {}


def compile_layouts(sources: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    """Standard-JSON compile returning ASTs and storage layouts (same settings as `stockpile build`).

    Without ``sources``: ``contracts/`` as it is on disk, compiled once per process for the same
    files; the result is shared, so treat it as read-only."""
    settings = compiler_settings()
    settings["remappings"] = ["@openzeppelin/=node_modules/@openzeppelin/", "@chainlink/=node_modules/@chainlink/"]
    settings["outputSelection"] = {"*": {"": ["ast"], "*": ["storageLayout"]}}
    request = {"language": "Solidity", "sources": sources or _sources(PROJECT_ROOT / "contracts"), "settings": settings}
    if sources is not None:
        return _compile(request)
    key = hashlib.sha256(json.dumps([SOLC_VERSION, request], sort_keys=True).encode()).hexdigest()
    if key not in _COMPILED:
        _COMPILED.clear()
        _COMPILED[key] = _compile(request)
    return _COMPILED[key]


def _compile(request: dict[str, Any]) -> dict[str, Any]:
    install_solc_shim()
    out: dict[str, Any] = solcx.compile_standard(request, solc_version=SOLC_VERSION, base_path=str(PROJECT_ROOT),
                                                 allow_paths=[str(PROJECT_ROOT)])
    return out


def _walk(node: Any):
    if isinstance(node, dict):
        yield node
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def _doc_text(node: dict) -> str:
    doc = node.get("documentation")
    if isinstance(doc, dict):
        return doc.get("text", "")
    return doc or ""


class _Index:
    """Contracts and structs of one compile, by AST id and canonical name."""

    def __init__(self, out: dict[str, Any]):
        self.out = out
        self.contracts: dict[int, tuple[str, dict]] = {}
        self.struct_ids: dict[int, dict] = {}
        # Solidity declares contracts only at file level and structs at file or contract level: two
        # levels of the AST hold them all (no walk through every expression of every function: that
        # took ~0.15 s per snapshot of a compile of contracts/).
        for src, data in out["sources"].items():
            for node in data["ast"].get("nodes", []):
                if node.get("nodeType") == "ContractDefinition":
                    self.contracts[node["id"]] = (src, node)
                    for sub in node.get("nodes", []):
                        if sub.get("nodeType") == "StructDefinition":
                            self.struct_ids[sub["id"]] = sub
                elif node.get("nodeType") == "StructDefinition":
                    self.struct_ids[node["id"]] = node

    def find(self, name: str, source: str | None = None) -> tuple[str, dict]:
        hits = [(s, n) for s, n in self.contracts.values() if n["name"] == name and (source is None or s == source)]
        if len(hits) != 1:
            raise LayoutError(f"contract {name!r} found {len(hits)} times (source={source})")
        return hits[0]


def _member_list(struct: dict) -> list[dict[str, str]]:
    return [{"name": m["name"], "type": m["typeDescriptions"]["typeString"]} for m in struct["members"]]


def _collect_structs(index: _Index, struct: dict, inline: bool, out: dict[str, dict]) -> None:
    """Record the structs used by the members of `struct` (resolved by AST id, not by name)."""
    for m in struct["members"]:
        type_name = m["typeName"]
        for ref in _walk(type_name):
            if ref.get("nodeType") not in ("UserDefinedTypeName", "IdentifierPath"):
                continue
            node = index.struct_ids.get(ref.get("referencedDeclaration"))
            if node is None:
                continue
            name = node["canonicalName"]
            is_inline = inline and ref is type_name  # the member *is* the struct, not a mapping/array of it
            entry = out.get(name)
            first = entry is None
            if entry is None:
                entry = out[name] = {"members": _member_list(node), "usage": "indirect"}
            if is_inline and entry["usage"] != "inline":
                entry["usage"] = "inline"
                first = True
            if first:
                _collect_structs(index, node, is_inline, out)


def snapshot(contract: str, out: dict[str, Any] | None = None, source: str | None = None) -> dict[str, Any]:
    """The storage-layout snapshot of `contract` (a dict ready for JSON)."""
    out = out or compile_layouts()
    index = _Index(out)
    src, node = index.find(contract, source)
    layout = out["contracts"][src][contract].get("storageLayout") or {}
    storage = [{"label": e["label"], "type": (layout.get("types") or {}).get(e["type"], {}).get("label", e["type"]),
                "slot": e["slot"], "offset": e["offset"]} for e in layout.get("storage", [])]
    namespaces: list[Any] = []
    structs: dict[str, Any] = {}
    for base_id in node["linearizedBaseContracts"]:
        base_src, base = index.contracts[base_id]
        for sub in base.get("nodes", []):
            if sub.get("nodeType") != "StructDefinition":
                continue
            m = _LOCATION.search(_doc_text(sub))
            if not m:
                continue
            members = _member_list(sub)
            namespaces.append({"id": m.group(1), "slot": erc7201_slot(m.group(1)), "struct": sub["canonicalName"],
                               "source": base_src, "members": members})
            _collect_structs(index, sub, True, structs)
    return {"contract": contract, "source": src, "compiler": f"solc-js {SOLC_VERSION}", "storage": storage,
            "namespaces": namespaces, "structs": dict(sorted(structs.items()))}


def upgradeable_contracts(out: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, name) of every non-test contract under contracts/ that inherits UUPSUpgradeable."""
    index = _Index(out)
    result = []
    for src, node in index.contracts.values():
        if not src.startswith("contracts/") or node.get("abstract"):
            continue
        if node.get("contractKind") != "contract":
            continue
        bases = {index.contracts[b][1]["name"] for b in node["linearizedBaseContracts"] if b in index.contracts}
        if "UUPSUpgradeable" in bases:
            result.append((src, node["name"]))
    return sorted(result, key=lambda x: x[1])


def _prefix_problems(what: str, old: list[dict], new: list[dict], keys: tuple[str, ...], append_ok: bool) -> list[str]:
    problems = []
    for i, o in enumerate(old):
        if i >= len(new):
            problems.append(f"{what}: member #{i} {o.get('name', o.get('label'))!r} removed")
            continue
        n = new[i]
        for k in keys:
            if o.get(k) != n.get(k):
                problems.append(f"{what}: member #{i} {k} changed {o.get(k)!r} -> {n.get(k)!r}")
    if not append_ok and len(new) > len(old):
        problems.append(f"{what}: members appended to a struct stored inline ({len(old)} -> {len(new)})")
    return problems


def _value_size(type_string: str) -> int | None:
    """Bytes a value type takes in storage (None: not a packable value type)."""
    t = type_string.split(" ")[0] if type_string.startswith(("contract ", "enum ")) else type_string
    if type_string.startswith("contract ") or t in ("address", "address payable"):
        return 20
    if type_string.startswith("enum "):
        return 1
    if t == "bool":
        return 1
    m = re.fullmatch(r"u?int(\d*)", t)
    if m:
        return int(m.group(1) or 256) // 8
    m = re.fullmatch(r"bytes(\d+)", t)
    if m and 1 <= int(m.group(1)) <= 32:
        return int(m.group(1))
    return None


def _packed_slots(members: list[dict]) -> int | None:
    """Slots a struct of value-type members occupies under Solidity's packing (None: unknown)."""
    slots, used = 0, 32
    for m in members:
        size = _value_size(m["type"])
        if size is None:
            return None
        if used + size > 32:
            slots, used = slots + 1, 0
        used += size
    return slots


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What an upgrade from layout `old` to `new` would corrupt (empty list: compatible)."""
    problems = _prefix_problems("storage", old.get("storage", []), new.get("storage", []),
                                ("label", "type", "slot", "offset"), True)
    new_ns = {ns["id"]: ns for ns in new.get("namespaces", [])}
    for ns in old.get("namespaces", []):
        cur = new_ns.get(ns["id"])
        if cur is None:
            problems.append(f"namespace {ns['id']}: removed")
            continue
        if cur["slot"] != ns["slot"]:
            problems.append(f"namespace {ns['id']}: slot changed {ns['slot']} -> {cur['slot']}")
        problems += _prefix_problems(f"namespace {ns['id']}", ns["members"], cur["members"], ("name", "type"), True)
    new_structs = new.get("structs", {})
    for name, st in old.get("structs", {}).items():
        cur = new_structs.get(name)
        if cur is None:
            problems.append(f"struct {name}: no longer used or removed")
            continue
        inline = st["usage"] == "inline" or cur["usage"] == "inline"
        # A struct stored inline may grow only inside the slots it already fills: what follows it
        # must not move.
        same_slots = _packed_slots(st["members"]) is not None and \
            _packed_slots(st["members"]) == _packed_slots(cur["members"])
        problems += _prefix_problems(f"struct {name}", st["members"], cur["members"], ("name", "type"),
                                     not inline or same_slots)
    return problems


def snapshot_path(contract: str, folder: Path | None = None) -> Path:
    return (folder or SNAPSHOT_DIR) / f"{contract}.json"


def write_snapshots(folder: Path | None = None, out: dict[str, Any] | None = None) -> list[Path]:
    """(Re)generate the snapshot of every upgradeable contract."""
    out = out or compile_layouts()
    folder = folder or SNAPSHOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for src, name in upgradeable_contracts(out):
        path = snapshot_path(name, folder)
        path.write_text(json.dumps(snapshot(name, out, src), indent=2) + "\n")
        written.append(path)
    return written


def check_against_snapshots(folder: Path | None = None, out: dict[str, Any] | None = None) -> dict[str, list[str]]:
    """Compare the current sources with the committed snapshots: {contract: problems}. A contract
    without a snapshot is reported too (generate it with `stockpile layout snapshot`)."""
    out = out or compile_layouts()
    folder = folder or SNAPSHOT_DIR
    report = {}
    for src, name in upgradeable_contracts(out):
        path = snapshot_path(name, folder)
        if not path.exists():
            report[name] = [f"no snapshot at {path}"]
            continue
        report[name] = compare(json.loads(path.read_text()), snapshot(name, out, src))
    return report
