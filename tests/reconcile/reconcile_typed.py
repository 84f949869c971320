"""Check a report (as built, or as read back from its JSON file) against its TypedDicts in
stockpile.reconcile.report.model: every key declared, every required key there, every value of
the declared type, recursively. mypy checks the code that builds and reads the report; this checks
what a real run produced (including the parts built by untyped code)."""

from __future__ import annotations

import types
import typing
from typing import Any, NotRequired, get_args, get_origin, get_type_hints, is_typeddict


def mismatches(tp: Any, value: Any, where: str = "report") -> list[str]:
    """What in ``value`` does not fit ``tp`` (empty when it fits)."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return []
    if origin is NotRequired:
        return mismatches(args[0], value, where)
    if origin in (typing.Union, types.UnionType):
        found = [mismatches(a, value, where) for a in args]
        return [] if any(not f for f in found) else min(found, key=len)
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a {tp.__name__}"]
        hints = get_type_hints(tp)
        out = [f"{where}.{k}: not declared in {tp.__name__}" for k in value if k not in hints]
        out += [f"{where}.{k}: missing (required by {tp.__name__})" for k in tp.__required_keys__ if k not in value]
        for k, v in value.items():
            if k in hints:
                out += mismatches(hints[k], v, f"{where}.{k}")
        return out
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, not a list"]
        return [m for i, v in enumerate(value) for m in mismatches(args[0], v, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a dict"]
        return [m for k, v in value.items() for m in mismatches(args[0], k, f"{where} key") + mismatches(args[1], v, f"{where}[{k!r}]")]
    if tp is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    if tp is int:  # a bool is an int to isinstance, not to a reader of the report
        return [] if type(value) is int else [f"{where}: {value!r} is not an int"]
    if tp is float:  # JSON has numbers: a float field may hold an integral value
        return [] if type(value) in (int, float) else [f"{where}: {value!r} is not a number"]
    return [] if isinstance(value, tp) else [f"{where}: {value!r} is not a {tp.__name__}"]


def assert_typed(tp: Any, value: Any) -> None:
    problems = mismatches(tp, value)
    assert not problems, "\n".join(problems[:20])
