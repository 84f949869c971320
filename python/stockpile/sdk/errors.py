"""Contract custom errors as Python exceptions, the same on anvil and on ape's in-process network.

Every custom error in the compiled ABIs (ours and OpenZeppelin's) is registered by its 4-byte
selector. ``decode_revert(data)`` turns revert data into a ``ContractError`` subclass named after
the Solidity error, carrying its arguments by name::

    try:
        sp.token("NDPR").mint(to, amount, mint_id)
    except errors.ReserveExceeded as e:
        print(e.args_dict["requested"], e.args_dict["available"])

``errors.<Name>`` is the exception class of a custom error that one of the packaged ABIs (ours,
OpenZeppelin's, Safe's) declares: the classes are built from those ABIs on first use, one per
error name. A name no ABI declares (a typo such as ``errors.ReserveExceded``) is an
``AttributeError``, never a class that no revert would match. ``decode_revert(data, abi)`` with
an extra ABI also gives classes for that ABI's errors.

Every exception derives from ``stockpile.errors.StockpileError``; a decoded contract error has
one shape: ``.name`` (the Solidity error), ``.args_dict`` (its arguments by name) and ``.data``
(the raw revert data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector

from stockpile.errors import StockpileError

__all__ = ["ContractError", "Panicked", "RevertedWithReason", "StockpileError", "UnknownRevert", "decode_revert",
           "declared_errors", "error_class", "revert_data_of", "translate"]

AbiLike = Sequence[Mapping[str, Any]]  # a contract ABI: JSON entries, or web3's typed ones

ERROR_STRING = bytes.fromhex("08c379a0")
PANIC = bytes.fromhex("4e487b71")


class ContractError(StockpileError):
    """A revert from a contract. ``name`` is the Solidity error name, ``args_dict`` its arguments."""

    error_name: str = "ContractError"

    def __init__(self, name: str, args_dict: dict[str, Any] | None = None, data: bytes = b""):
        self.name = name
        self.args_dict = dict(args_dict or {})
        self.data = data
        inner = ", ".join(f"{k}={_fmt(v)}" for k, v in self.args_dict.items())
        super().__init__(f"{name}({inner})")


class RevertedWithReason(ContractError):
    error_name = "Error"


class Panicked(ContractError):
    error_name = "Panic"


class UnknownRevert(ContractError):
    error_name = "UnknownRevert"


def _fmt(v: Any) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return repr(v) if isinstance(v, str) else str(v)


_classes: dict[str, type[ContractError]] = {
    "Error": RevertedWithReason,
    "Panic": Panicked,
}


def _class_for(name: str) -> type[ContractError]:
    if name not in _classes:
        _classes[name] = type(name, (ContractError,), {"error_name": name, "__module__": __name__,
                                                      "__doc__": f"The Solidity custom error {name}."})
    return _classes[name]


def declared_errors() -> list[str]:
    """The name of every custom error the packaged ABIs declare, sorted."""
    return sorted({entry[0] for entry in _registry().values()})


def error_class(name: str) -> type[ContractError]:
    """The exception class of Solidity error ``name`` (one class per name); ``AttributeError``
    when no packaged ABI declares it."""
    if name in _classes:
        return _classes[name]
    if name not in {entry[0] for entry in _registry().values()}:
        raise AttributeError(f"no contract in the package declares an error named {name!r}")
    return _class_for(name)


def __getattr__(name: str) -> type[ContractError]:  # errors.ReserveExceeded
    if name[:1].isupper():
        return error_class(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(declared_errors()))


def _abi_type(inp: dict[str, Any]) -> str:
    t: str = inp["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in inp["components"]) + ")" + t[5:]
    return t


ErrorEntry = tuple[str, list[str], list[str]]  # name, argument names, argument types


def _abi_errors(abi: AbiLike) -> dict[bytes, ErrorEntry]:
    out: dict[bytes, ErrorEntry] = {}
    for item in abi:
        if item.get("type") != "error":
            continue
        types = [_abi_type(i) for i in item["inputs"]]
        sig = f"{item['name']}({','.join(types)})"
        out[function_signature_to_4byte_selector(sig)] = (
            item["name"], [i["name"] or f"arg{n}" for n, i in enumerate(item["inputs"])], types)
    return out


@lru_cache(maxsize=1)
def _registry() -> dict[bytes, ErrorEntry]:
    """Every error of every compiled artifact. Two contracts may declare the same signature
    with other argument names: decoding with the reverting contract's ABI settles that."""
    from stockpile.contracts import artifacts

    reg: dict[bytes, ErrorEntry] = {}
    for name in artifacts.names():
        reg.update(_abi_errors(artifacts.abi(name)))
    return reg


def _to_bytes(data: Any) -> bytes:
    if data is None:
        return b""
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    if isinstance(data, str):
        s = data[2:] if data.startswith("0x") else data
        try:
            return bytes.fromhex(s)
        except ValueError:
            return b""
    return b""


def decode_revert(data: Any, abi: AbiLike | None = None) -> ContractError:
    """Decode revert data into the matching exception (not raised). ``abi``: the reverting
    contract's, looked up first (argument names as that contract declares them)."""
    raw = _to_bytes(data)
    selector, body = raw[:4], raw[4:]
    if selector == ERROR_STRING:
        (reason,) = abi_decode(["string"], body)
        return RevertedWithReason("Error", {"reason": reason}, raw)
    if selector == PANIC:
        (code,) = abi_decode(["uint256"], body)
        return Panicked("Panic", {"code": code}, raw)
    entry = (_abi_errors(abi).get(selector) if abi else None) or _registry().get(selector)
    if entry is None:
        return UnknownRevert("UnknownRevert", {"data": raw}, raw)
    name, names, types = entry
    try:
        values = abi_decode(types, body) if types else ()
    except Exception:
        return UnknownRevert("UnknownRevert", {"data": raw}, raw)
    from eth_utils import to_checksum_address

    args = [to_checksum_address(v) if t == "address" else v for t, v in zip(types, values)]
    return _class_for(name)(name, dict(zip(names, args)), raw)


def revert_data_of(exc: BaseException) -> bytes | None:
    """Revert data carried by a web3 / eth-tester exception, if any."""
    for attr in ("data",):
        value = getattr(exc, attr, None)
        if isinstance(value, (str, bytes)) and _to_bytes(value):
            return _to_bytes(value)
        if isinstance(value, dict) and "data" in value:
            return _to_bytes(value["data"])
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, str) and "reverted: b'" in arg or isinstance(arg, str) and 'reverted: b"' in arg:
            # eth-tester (py-evm): "execution reverted: b'...'" with the raw revert data
            import ast

            literal = arg[arg.index("reverted: b") + len("reverted: "):]
            try:
                value = ast.literal_eval(literal)
            except (ValueError, SyntaxError):
                value = b""
            if isinstance(value, bytes) and len(value) >= 4:
                return value
        if isinstance(arg, (bytes, bytearray)) and len(arg) >= 4:
            return bytes(arg)
        if isinstance(arg, str) and arg.startswith("0x") and len(arg) >= 10:
            return _to_bytes(arg)
        if isinstance(arg, dict) and "data" in arg:
            return _to_bytes(arg["data"])
    return None


def translate(exc: BaseException, abi: AbiLike | None = None) -> BaseException:
    """The SDK exception for a web3 / eth-tester exception (or ``exc`` unchanged)."""
    data = revert_data_of(exc)
    if data:
        return decode_revert(data, abi)
    return exc
