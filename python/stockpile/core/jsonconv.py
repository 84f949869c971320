"""JSON conversion, one rule for every file and API answer the package writes: integers as
decimal strings (uint256 values exceed what JSON numbers carry exactly), Decimal as its text,
bytes as 0x-hex, datetimes as ISO 8601 UTC, tuples as lists; booleans and None unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def jsonable(v: Any) -> Any:
    """``v`` with every value converted by the rule above (recursively through lists and maps)."""
    if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
        return v
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, Mapping):
        return {k: jsonable(x) for k, x in v.items()}
    return default(v)  # bytes, Decimal, datetimes


def default(v: Any) -> Any:
    """For ``json.dumps(..., default=default)``: Decimal, bytes and datetimes by the rule above;
    anything else as ``str``. (``json`` writes ints as numbers before asking this.)"""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "0x" + bytes(v).hex()
    if isinstance(v, datetime):
        dt = v if v.tzinfo is not None else v.replace(tzinfo=UTC)
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(v, "items"):
        return {k: jsonable(x) for k, x in v.items()}
    return str(v)
