"""Price sources behind one interface: ``Source.fetch() -> dict[key, Quote]``.

A source that returns garbage raises ``SourceError`` with the source name and the reason
(HTML instead of data, empty body, not a number, NaN/Infinity, zero or negative price, ...).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable
from collections.abc import Mapping

import httpx
from stockpile.errors import StockpileError


@dataclass(frozen=True)
class Quote:
    source: str
    key: str
    value: Decimal
    unit: str
    observed_at: float  # unix seconds


class SourceError(StockpileError):
    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"source {source!r}: {reason}")


class Source(Protocol):
    name: str

    def fetch(self) -> dict[str, Quote]: ...


def parse_price(source: str, key: str, raw: Any) -> Decimal:
    """A positive, finite Decimal from a JSON/CSV value, or SourceError saying why not."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise SourceError(source, f"{key}: empty price")
    if isinstance(raw, bool):
        raise SourceError(source, f"{key}: price is a boolean")
    if isinstance(raw, float):
        if math.isnan(raw) or math.isinf(raw):
            raise SourceError(source, f"{key}: price is {raw} (not a number)")
        raw = repr(raw)  # exact decimal text of the JSON number, no binary float arithmetic
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise SourceError(source, f"{key}: price {str(raw)[:40]!r} is not a number") from None
    if value.is_nan() or value.is_infinite():
        raise SourceError(source, f"{key}: price is {value} (not a number)")
    if value <= 0:
        raise SourceError(source, f"{key}: price {value} is not positive")
    return value


def _parse_time(source: str, key: str, raw: Any, default: float) -> float:
    if raw in (None, ""):
        return default
    try:
        number = Decimal(str(raw))
    except InvalidOperation:
        pass
    else:
        # NaN compares false with everything, so it would pass any freshness check: refuse it
        if not number.is_finite():
            raise SourceError(source, f"{key}: timestamp {raw!r} is not a number")
        return float(number)
    from stockpile.core.times import parse_datetime

    try:
        return parse_datetime(str(raw)).timestamp()
    except ValueError:
        raise SourceError(source, f"{key}: unreadable timestamp {raw!r}") from None


def parse_json_document(source: str, text: str, default_unit: str | None, now: float) -> dict[str, Quote]:
    """``{"KEY": {"price": "123.4", "unit": "USD/t", "timestamp": 1700000000}}``, ``{"KEY": 123.4}``,
    or ``[{"key": ..., "price": ..., "unit": ..., "timestamp": ...}, ...]``."""
    stripped = text.strip()
    if not stripped:
        raise SourceError(source, "empty body")
    if stripped.startswith("<"):
        raise SourceError(source, "HTML/XML instead of JSON (an error page?)")
    try:
        doc = json.loads(stripped, parse_float=Decimal, parse_constant=lambda c: c)
    except json.JSONDecodeError as exc:
        raise SourceError(source, f"not JSON: {exc.msg} at char {exc.pos}") from None
    rows: list[tuple[str, Any]] = []
    if isinstance(doc, dict):
        rows = list(doc.items())
    elif isinstance(doc, list):
        for item in doc:
            if not isinstance(item, dict) or "key" not in item:
                raise SourceError(source, "list items must be objects with a 'key'")
            rows.append((str(item["key"]), item))
    else:
        raise SourceError(source, f"JSON {type(doc).__name__} instead of an object or list")
    if not rows:
        raise SourceError(source, "no prices in the document")
    out = {}
    for key, item in rows:
        if isinstance(item, dict):
            raw, unit, ts = item.get("price"), item.get("unit", default_unit), item.get("timestamp", item.get("observed_at"))
        else:
            raw, unit, ts = item, default_unit, None
        if raw in ("NaN", "Infinity", "-Infinity"):
            raise SourceError(source, f"{key}: price is {raw} (not a number)")
        if not unit:
            raise SourceError(source, f"{key}: no unit given and none configured")
        out[key] = Quote(source, key, parse_price(source, key, raw), unit, _parse_time(source, key, ts, now))
    return out


def parse_csv_document(source: str, text: str, default_unit: str | None, now: float) -> dict[str, Quote]:
    """CSV with a header: ``key,price[,unit][,timestamp]``."""
    if not text.strip():
        raise SourceError(source, "empty file")
    if text.lstrip().startswith("<"):
        raise SourceError(source, "HTML/XML instead of CSV")
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "key" not in reader.fieldnames or "price" not in reader.fieldnames:
        raise SourceError(source, f"CSV header must have key and price columns, got {reader.fieldnames}")
    out = {}
    for line, row in enumerate(reader, start=2):
        key = (row.get("key") or "").strip()
        if not key:
            raise SourceError(source, f"line {line}: empty key")
        unit = (row.get("unit") or "").strip() or default_unit
        if not unit:
            raise SourceError(source, f"line {line} ({key}): no unit given and none configured")
        try:
            value = parse_price(source, key, row.get("price"))
        except SourceError as exc:
            raise SourceError(source, f"line {line}: {exc.reason}") from None
        out[key] = Quote(source, key, value, unit, _parse_time(source, key, row.get("timestamp"), now))
    return out


class FileSource:
    """A file drop (CSV or JSON, by extension) written by an operator or a licensed data export.
    Quotes without a timestamp take the file's modification time."""

    def __init__(self, name: str, path: str | Path, unit: str | None = None):
        self.name, self.path, self.unit = name, Path(path), unit

    def fetch(self) -> dict[str, Quote]:
        if not self.path.exists():
            raise SourceError(self.name, f"file {self.path} not found")
        text = self.path.read_text(encoding="utf-8", errors="replace")
        mtime = self.path.stat().st_mtime
        if self.path.suffix.lower() == ".csv":
            return parse_csv_document(self.name, text, self.unit, mtime)
        return parse_json_document(self.name, text, self.unit, mtime)


class HttpJsonSource:
    """An HTTP JSON endpoint (GET), with a timeout and retries on network errors and 5xx."""

    def __init__(
        self,
        name: str,
        url: str,
        unit: str | None = None,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: float = 0.2,
        headers: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.name, self.url, self.unit = name, url, unit
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.headers = headers or {}
        self.clock = clock

    def fetch(self) -> dict[str, Quote]:
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                r = httpx.get(self.url, timeout=self.timeout, headers=self.headers)
            except httpx.HTTPError as exc:
                last = exc
            else:
                if r.status_code >= 500:
                    last = SourceError(self.name, f"HTTP {r.status_code}")
                elif r.status_code != 200:
                    raise SourceError(self.name, f"HTTP {r.status_code} from {self.url}")
                else:
                    ctype = r.headers.get("content-type", "")
                    if "html" in ctype.lower():
                        raise SourceError(self.name, f"HTML instead of JSON (content-type {ctype!r})")
                    return parse_json_document(self.name, r.text, self.unit, self.clock())
            if attempt < self.retries:
                time.sleep(self.backoff * (2**attempt))
        if isinstance(last, SourceError):
            raise SourceError(self.name, f"{last.reason} after {self.retries + 1} attempts")
        raise SourceError(self.name, f"unreachable after {self.retries + 1} attempts: {type(last).__name__}: {last}")


class SimulatedSource:
    """A simulated market for devnets: a seeded random walk per key, in Decimal.

    Each ``fetch`` advances every key by one step of at most ``step_bps`` basis points."""

    def __init__(
        self,
        name: str,
        start: Mapping[str, str | Decimal],
        unit: str = "USD/kg",
        seed: int = 0,
        step_bps: int = 100,
        clock: Callable[[], float] = time.time,
    ):
        self.name, self.unit, self.step_bps, self.clock = name, unit, step_bps, clock
        self.prices = {k: Decimal(str(v)) for k, v in start.items()}
        self.rng = random.Random(seed)

    def fetch(self) -> dict[str, Quote]:
        now = self.clock()
        out = {}
        for key in sorted(self.prices):
            bps = self.rng.randint(-self.step_bps, self.step_bps)
            self.prices[key] = (self.prices[key] * (Decimal(10000 + bps) / Decimal(10000))).quantize(Decimal("0.00000001"))
            out[key] = Quote(self.name, key, self.prices[key], self.unit, now)
        return out
