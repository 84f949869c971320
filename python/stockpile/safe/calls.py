"""One contract call (to, value, data) with its method and argument values as the Safe
Transaction Builder writes them.

The Transaction Builder keeps a call as ``contractMethod`` (the ABI entry: name, inputs, payable)
and ``contractInputsValues`` (input name -> value as a string: integers in decimal, addresses,
``true``/``false``, hex bytes, arrays and tuples as JSON), with ``data`` null; a call without a
known method carries raw ``data``. ``encode`` turns either back into calldata, so the file's
meaning is what its readable part says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, is_hex_address, to_checksum_address

from stockpile.safe.errors import SafeError

_INT = re.compile(r"^u?int(\d*)$")
_BYTES_N = re.compile(r"^bytes(\d+)$")


class CallError(SafeError):
    pass


@dataclass
class Call:
    to: str
    value: int = 0
    data: bytes = b""
    method: dict[str, Any] | None = None  # {"name", "inputs", "payable"}
    values: dict[str, str] | None = None  # contractInputsValues

    def summary(self) -> str:
        if self.method and self.values is not None:  # from_builder sets both or neither
            args = ", ".join(f"{i['name']}={self.values[i['name']]}" for i in self.method["inputs"])
            text = f"{self.method['name']}({args}) on {self.to}"
        else:
            text = f"call {self.to} with data 0x{self.data[:4].hex()}... ({len(self.data)} bytes)"
        return text + (f" sending {self.value} wei" if self.value else "")

    def to_builder(self) -> dict[str, Any]:
        """This call as a Transaction Builder ``transactions[]`` entry."""
        return {"to": self.to, "value": str(self.value),
                "data": None if self.method else "0x" + self.data.hex(),
                "contractMethod": self.method, "contractInputsValues": self.values}

    @classmethod
    def from_builder(cls, entry: dict[str, Any], where: str = "transaction") -> Call:
        try:
            to = _address(entry["to"], f"{where}.to")
            value = int(str(entry.get("value") or "0"), 10)
        except (KeyError, ValueError) as exc:
            raise CallError(f"{where}: {exc}") from None
        method, values = entry.get("contractMethod"), entry.get("contractInputsValues")
        if method:
            if not isinstance(method, dict) or "name" not in method or not isinstance(method.get("inputs"), list):
                raise CallError(f"{where}.contractMethod: needs name and inputs")
            values = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (values or {}).items()}
            data = encode_call(method, values, where)
            return cls(to, value, data, method, values)
        raw = entry.get("data") or "0x"
        try:
            data = bytes.fromhex(raw.removeprefix("0x"))
        except (ValueError, AttributeError):
            raise CallError(f"{where}.data: not hex: {raw!r}") from None
        return cls(to, value, data)


def _address(v: Any, where: str) -> str:
    if not isinstance(v, str) or not is_hex_address(v):
        raise CallError(f"{where}: not an address: {v!r}")
    return to_checksum_address(v)


def _canonical_type(inp: dict[str, Any]) -> str:
    t = inp["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_canonical_type(c) for c in inp.get("components", [])) + ")" + t[len("tuple"):]
    return t


def parse_value(inp: dict[str, Any], raw: Any, where: str) -> Any:
    """A Transaction Builder / command-line string for ABI input ``inp`` as a Python value for eth_abi."""
    t = inp["type"]
    if t.endswith("]"):
        items = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(items, list):
            raise CallError(f"{where}: {t} needs a JSON array, got {raw!r}")
        inner = dict(inp, type=t[:t.rindex("[")])
        size = t[t.rindex("[") + 1:-1]
        if size and len(items) != int(size):
            raise CallError(f"{where}: {t} needs {size} items, got {len(items)}")
        return [parse_value(inner, x, f"{where}[{i}]") for i, x in enumerate(items)]
    if t == "tuple":
        items = json.loads(raw) if isinstance(raw, str) else raw
        comps = inp.get("components", [])
        if isinstance(items, dict):
            items = [items[c["name"]] for c in comps]
        if not isinstance(items, list) or len(items) != len(comps):
            raise CallError(f"{where}: tuple needs {len(comps)} items, got {raw!r}")
        return tuple(parse_value(c, x, f"{where}.{c.get('name') or i}") for i, (c, x) in enumerate(zip(comps, items)))
    text = raw if isinstance(raw, str) else value_to_text(raw)
    if m := _INT.match(t):
        try:
            value = int(text, 0) if text.lower().startswith(("0x", "-0x")) else int(text, 10)
        except ValueError:
            raise CallError(f"{where}: {t} needs an integer, got {raw!r}") from None
        bits = int(m.group(1) or 256)
        lo, hi = (0, 2**bits - 1) if t.startswith("u") else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
        if not lo <= value <= hi:
            raise CallError(f"{where}: {value} does not fit {t}")
        return value
    if t == "address":
        return _address(text, where)
    if t == "bool":
        if text.lower() not in ("true", "false"):
            raise CallError(f"{where}: bool needs true or false, got {raw!r}")
        return text.lower() == "true"
    if t == "string":
        return text
    if t == "bytes" or _BYTES_N.match(t):
        try:
            blob = bytes.fromhex(text.removeprefix("0x"))
        except ValueError:
            raise CallError(f"{where}: {t} needs 0x-prefixed hex, got {raw!r}") from None
        if t != "bytes" and len(blob) != int(t[5:]):
            raise CallError(f"{where}: {t} needs {t[5:]} bytes, got {len(blob)}")
        return blob
    raise CallError(f"{where}: unsupported ABI type {t}")


def value_to_text(v: Any) -> str:
    """A Python ABI value as the Transaction Builder writes it."""
    def plain(x: Any) -> Any:
        if isinstance(x, bool):
            return "true" if x else "false"
        if isinstance(x, int):
            return str(x)
        if isinstance(x, (bytes, bytearray)):
            return "0x" + bytes(x).hex()
        if isinstance(x, (list, tuple)):
            return [plain(i) for i in x]
        return str(x)
    out = plain(v)
    return out if isinstance(out, str) else json.dumps(out, separators=(",", ":"))


def _input_names(method: dict[str, Any]) -> list[str]:
    return [i.get("name") or f"arg{n}" for n, i in enumerate(method["inputs"])]


def encode_call(method: dict[str, Any], values: dict[str, str], where: str = "call") -> bytes:
    inputs = method["inputs"]
    names = _input_names(method)
    missing = [n for n in names if n not in values]
    if missing:
        raise CallError(f"{where}: {method['name']}: no value for {', '.join(missing)}")
    args = [parse_value(i, values[n], f"{where}.{method['name']}.{n}") for i, n in zip(inputs, names)]
    types = [_canonical_type(i) for i in inputs]
    selector = function_signature_to_4byte_selector(f"{method['name']}({','.join(types)})")
    return selector + abi_encode(types, args)


def _method_of(abi_entry: dict[str, Any]) -> dict[str, Any]:
    def clean(i: dict[str, Any], n: int) -> dict[str, Any]:
        out = {"internalType": i.get("internalType", i["type"]), "name": i.get("name") or f"arg{n}", "type": i["type"]}
        if "components" in i:
            out["components"] = [clean(c, k) for k, c in enumerate(i["components"])]
        return out
    return {"inputs": [clean(i, n) for n, i in enumerate(abi_entry.get("inputs", []))], "name": abi_entry["name"],
            "payable": abi_entry.get("stateMutability") == "payable"}


def call_from_args(to: str, abi_entry: dict[str, Any], args: list[Any], value: int = 0) -> Call:
    """A call of ABI function ``abi_entry`` at ``to`` with ``args`` (strings as on a command line, or
    Python values)."""
    method = _method_of(abi_entry)
    if len(args) != len(method["inputs"]):
        sig = f"{method['name']}({','.join(_canonical_type(i) for i in method['inputs'])})"
        raise CallError(f"{sig} takes {len(method['inputs'])} argument(s), got {len(args)}")
    values = {}
    for inp, arg in zip(method["inputs"], args):
        parsed = parse_value(inp, arg, f"{method['name']}.{inp['name']}")
        values[inp["name"]] = value_to_text(parsed)
    to = _address(to, "to")
    return Call(to, value, encode_call(method, values), method, values)


def call_from_function(fn: Any, value: int = 0) -> Call:
    """A call from a web3 ``contract.functions.f(...)`` object."""
    return call_from_args(fn.address, fn.abi, list(fn.args), value)


def parse_signature(signature: str) -> dict[str, Any]:
    """``mint(address,uint256,bytes32)`` or ``mint(address to,uint256 amount,bytes32 mintId)`` as an ABI entry."""
    m = re.fullmatch(r"\s*([A-Za-z_$][A-Za-z0-9_$]*)\s*\((.*)\)\s*", signature)
    if not m:
        raise CallError(f"not a function signature: {signature!r} (e.g. \"mint(address,uint256,bytes32)\")")
    parts, depth, cur = [], 0, ""
    for ch in m.group(2):
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += (ch == "(") - (ch == ")")
        cur += ch
    if cur.strip():
        parts.append(cur)
    inputs = []
    for n, part in enumerate(parts):
        words = part.split()
        if not words or len(words) > 2 or "(" in part:
            raise CallError(f"{signature!r}: cannot read parameter {part.strip()!r} (tuples: use --contract and --function)")
        inputs.append({"type": words[0], "name": words[1] if len(words) == 2 else f"arg{n}"})
    return {"type": "function", "name": m.group(1), "inputs": inputs, "stateMutability": "nonpayable"}


def find_function(abi: list[dict[str, Any]], name_or_signature: str) -> dict[str, Any]:
    """The ABI entry for ``mint`` or ``mint(address,uint256,bytes32)`` (overloads need the signature)."""
    fns = [e for e in abi if e.get("type") == "function"]
    if "(" in name_or_signature:
        wanted = name_or_signature.replace(" ", "")
        found = [e for e in fns if f"{e['name']}({','.join(_canonical_type(i) for i in e['inputs'])})" == wanted]
    else:
        found = [e for e in fns if e["name"] == name_or_signature]
    if not found:
        raise CallError(f"no function {name_or_signature!r} in the ABI")
    if len(found) > 1:
        sigs = ", ".join(f"{e['name']}({','.join(_canonical_type(i) for i in e['inputs'])})" for e in found)
        raise CallError(f"{name_or_signature!r} is overloaded: give one of {sigs}")
    return found[0]
