"""Read custody exports (CSV or JSON) and validate them row by row.

Every data row ends up either as a :class:`LotRow` (kept) or a :class:`Reject` (with its line
number, a reason code and a readable reason); nothing is dropped silently.

CSV files may start with metadata lines ``# key: value`` before the header, e.g.::

    # stockpile-custody-export: 1
    # warehouse_id: WH-ROTTERDAM-01
    # as_of: 2026-11-20T00:00:00Z
    # decimal_separator: ,
    warehouse_id;lot_id;...

``decimal_separator: ,`` (or the ``decimal_comma`` option) makes ``,`` the decimal mark and
``.``, spaces and no-break spaces thousands separators. The delimiter is ``,`` unless the
metadata says ``delimiter: ;`` or the header has ``;`` and no ``,``. UTF-8 with or without a
BOM, LF or CRLF line ends. Line numbers are physical line numbers of the file (1-based).

JSON: ``{"format": "stockpile-custody-export", "version": 1, "as_of": ..., "decimal_separator": ".",
"warehouse_id": ..., "lots": [{...}, ...]}`` or a bare list of lot objects; the "line" of a JSON
record is its 1-based index in ``lots``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, UTC
from decimal import Decimal
from pathlib import Path

from stockpile.merkle.lots import lot_leaf
from stockpile.reconcile.custody.schema import FIELDS, OPTIONAL, STATUSES, UNITS, Catalogue

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")
_THOUSANDS = str.maketrans("", "", ". \u00a0\u202f'")


class RawRow:
    """The original text of a CSV record, joined only when it is needed (rejects)."""

    __slots__ = ("delim", "vals")

    def __init__(self, delim: str, vals: list[str]):
        self.delim, self.vals = delim, vals

    def __str__(self) -> str:
        return self.delim.join(self.vals)


class ExportError(ValueError):
    """The export as a whole cannot be read (not a row problem)."""


@dataclass(slots=True)
class Reject:
    line: int
    code: str
    reason: str
    raw: str

    def __post_init__(self):
        if not isinstance(self.raw, str):
            self.raw = str(self.raw)


@dataclass(slots=True)
class LotRow:
    line: int
    warehouse_id: str
    lot_id: str
    product_code: str
    form: str
    purity_ppm: int
    gross_quantity: str
    net_quantity: str
    unit: str
    assay_ref: str
    status: str
    as_of: int  # unix seconds
    quantity: int  # token base units
    leaf: bytes  # OpenZeppelin StandardMerkleTree leaf of the lot

    def lot_tuple(self) -> tuple:
        return (self.warehouse_id, self.lot_id, self.product_code, self.form, self.purity_ppm, self.quantity, self.assay_ref)


@dataclass
class ExportMeta:
    path: Path
    format: str
    content_hash: str
    size: int
    meta: dict = field(default_factory=dict)
    decimal_comma: bool = False
    delimiter: str = ","
    default_as_of: str | None = None


def file_hash(path: str | Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file: the export's identity for idempotent ingestion."""
    digest, size, _k = file_hashes(path)
    return digest, size


def file_hashes(path: str | Path) -> tuple[str, int, str]:
    """(sha256 hex, size, keccak256 0x-hex) in one pass; the keccak is the attestation reportHash
    of a report that is this file."""
    from sha3 import keccak_256

    h = hashlib.sha256()
    k = keccak_256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            k.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size, "0x" + k.hexdigest()


def parse_time(value: str) -> int:
    """ISO 8601 (``Z`` or offset; naive means UTC) or unix seconds -> unix seconds."""
    v = value.strip()
    if v.isdigit():
        return int(v)
    dt = datetime.fromisoformat(v)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def format_time(ts: int | None) -> str:
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Validator:
    """Validates rows (lists of strings in FIELDS order) of one export."""

    def __init__(self, catalogue: Catalogue, decimal_comma: bool = False, default_as_of: str | None = None):
        self.catalogue = catalogue
        self.decimal_comma = decimal_comma
        self.default_as_of = (default_as_of or "").strip()
        self.seen: dict[str, int] = {}
        self._times: dict[str, int] = {}
        self._statuses = frozenset(STATUSES)

    def _number(self, name: str, text: str) -> Decimal | str:
        t = text.strip()
        if self.decimal_comma:
            t = t.translate(_THOUSANDS).replace(",", ".")
        if not _NUMBER.match(t):
            return f"bad number in {name}: {text!r}"
        return Decimal(t)

    def validate(self, line: int, v: list[str], raw: str) -> LotRow | Reject:
        """check() plus the duplicate-lot rule (the first occurrence in the export is kept)."""
        r = self.check(line, v, raw)
        if type(r) is tuple:
            key = r[1] + "\x00" + r[2]
            first = self.seen.get(key)
            if first is not None:
                return Reject(line, "duplicate_lot", duplicate_reason(r[2], r[1], first), raw)
            self.seen[key] = line
            return LotRow(*r[:12], int(r[12]), r[13])  # type: ignore[call-arg]  # check() gives a plain tuple or a Reject (a NamedTuple); mypy does not narrow `type(r) is tuple`
        return r  # type: ignore[return-value]  # check() gives a plain tuple or a Reject (a NamedTuple); mypy does not narrow `type(r) is tuple`

    def check(self, line: int, v: list[str], raw: str) -> tuple | Reject:
        """Every row rule except duplicates (which need the whole export, in order). A good row
        comes back as the compact tuple ``(line, warehouse, lot, product, form, purity_ppm, gross,
        net, unit, assay_ref, status, as_of, quantity as decimal text, leaf)``."""
        wh, lot, product, form, purity, gross, net, unit, assay, status, as_of = map(str.strip, v)
        if not as_of:
            as_of = self.default_as_of
        if not (wh and lot and product and purity and gross and net and unit and status and as_of):
            for name, val in (("warehouse_id", wh), ("lot_id", lot), ("product_code", product), ("purity", purity),
                              ("gross_quantity", gross), ("net_quantity", net), ("unit", unit), ("status", status),
                              ("as_of", as_of)):
                if not val:
                    return Reject(line, "missing_field", f"missing field {name}", raw)
        prod = self.catalogue.products.get(product)
        if prod is None:
            return Reject(line, "unknown_product", f"unknown product {product!r}", raw)
        if status not in self._statuses:
            return Reject(line, "unknown_status", f"unknown status {status!r} (expected one of {', '.join(STATUSES)})", raw)
        if unit not in UNITS:
            return Reject(line, "unknown_unit", f"unknown unit {unit!r} (expected one of {', '.join(UNITS)})", raw)
        if self.decimal_comma:
            purity, gross, net = (t.translate(_THOUSANDS).replace(",", ".") for t in (purity, gross, net))
        match = _NUMBER.match
        for name, text in (("purity", purity), ("gross_quantity", gross), ("net_quantity", net)):
            if not match(text):
                return Reject(line, "bad_number", f"bad number in {name}: {text!r}", raw)
        p, g, n = Decimal(purity), Decimal(gross), Decimal(net)
        if n <= 0:
            return Reject(line, "nonpositive_quantity", f"net_quantity must be > 0, got {net}", raw)
        if g <= 0:
            return Reject(line, "nonpositive_quantity", f"gross_quantity must be > 0, got {gross}", raw)
        if n > g:
            return Reject(line, "net_above_gross", f"net_quantity {net} exceeds gross_quantity {gross}", raw)
        if not 0 < p <= 100:
            return Reject(line, "bad_number", f"purity must be in (0, 100] percent, got {purity}", raw)
        ppm = p.scaleb(4)
        ppm_i = int(ppm)
        if ppm != ppm_i:
            return Reject(line, "bad_number", f"purity {purity} has more precision than 1 ppm", raw)
        try:
            base = prod.to_base_units(n, unit)
        except ValueError as e:
            return Reject(line, "bad_number", str(e), raw)
        ts = self._times.get(as_of)
        if ts is None:
            try:
                ts = parse_time(as_of)
            except ValueError:
                return Reject(line, "bad_time", f"bad as_of time {as_of!r} (ISO 8601 expected)", raw)
            self._times[as_of] = ts
        return (line, wh, lot, product, form, ppm_i, gross, net, unit, assay, status, ts, str(base),
                lot_leaf((wh, lot, product, form, ppm_i, base, assay)))


def duplicate_reason(lot: str, wh: str, first: int) -> str:
    return f"duplicate lot id {lot} in warehouse {wh} (first at line {first})"


def _meta_value(v) -> str:
    return str(v).strip()


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    with open(path, "rb") as f:
        head = f.read(64).lstrip(b"\xef\xbb\xbf").lstrip()
    return "json" if head[:1] in (b"{", b"[") else "csv"


def read_export(
    path: str | Path,
    catalogue: Catalogue,
    decimal_comma: bool | None = None,
    delimiter: str | None = None,
    content_hash: tuple[str, int] | None = None,
) -> tuple[ExportMeta, Iterator[LotRow | Reject]]:
    """Open an export: its metadata now, its rows (validated) as an iterator."""
    meta, records = read_records(path, catalogue, decimal_comma, delimiter, content_hash)
    validator = Validator(catalogue, meta.decimal_comma, meta.default_as_of)

    def rows() -> Iterator[LotRow | Reject]:
        for rec in records:
            yield rec if type(rec) is Reject else validator.validate(*rec)  # type: ignore[misc]  # a record is a Reject or a plain tuple

    return meta, rows()


def read_records(
    path: str | Path,
    catalogue: Catalogue,
    decimal_comma: bool | None = None,
    delimiter: str | None = None,
    content_hash: tuple[str, int] | None = None,
) -> tuple[ExportMeta, Iterator[tuple | Reject]]:
    """Open an export: metadata, and its records ``(line, values in FIELDS order, raw text)`` (or a
    Reject when a record cannot even be split into fields), not yet validated."""
    path = Path(path)
    digest, size = content_hash or file_hash(path)
    fmt = detect_format(path)
    if fmt == "json":
        return _read_json(path, catalogue, decimal_comma, digest, size)
    return _read_csv(path, catalogue, decimal_comma, delimiter, digest, size)


def _read_csv(path, catalogue, decimal_comma, delimiter, digest, size):
    f = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed on each return path below
    meta: dict[str, str] = {}
    line_no = 0
    header_line = None
    while True:
        line = f.readline()
        if not line:
            break
        line_no += 1
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if ":" in body:
                k, _, val = body.partition(":")
                meta[k.strip().lower()] = val.strip()
            continue
        header_line = line
        break
    if header_line is None:
        f.close()
        raise ExportError(f"{path}: no header line")
    dc = decimal_comma if decimal_comma is not None else meta.get("decimal_separator", ".") == ","
    delim = delimiter or meta.get("delimiter") or (";" if ";" in header_line and "," not in header_line else ",")
    if delim == "\\t" or delim == "tab":
        delim = "\t"
    header = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=delim))]
    missing = [c for c in FIELDS if c not in header and c not in OPTIONAL and not (c == "as_of" and meta.get("as_of"))]
    if missing:
        f.close()
        raise ExportError(f"{path}: header lacks column(s) {', '.join(missing)} (line {line_no})")
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        f.close()
        raise ExportError(f"{path}: unknown column(s) {', '.join(unknown)} in header (line {line_no})")
    idx = [header.index(c) if c in header else -1 for c in FIELDS]
    em = ExportMeta(path, "csv", digest, size, meta, dc, delim, meta.get("as_of"))
    ncols = len(header)
    header_at = line_no

    def records() -> Iterator[tuple | Reject]:
        with f:
            reader = csv.reader(f, delimiter=delim)
            start = header_at
            prev = 0
            for vals in reader:
                line = start + prev + 1
                prev = reader.line_num
                if not vals or (len(vals) == 1 and not vals[0].strip()):
                    continue
                if len(vals) != ncols:
                    yield Reject(line, "column_count", f"expected {ncols} columns, got {len(vals)}",
                                 delim.join(vals))
                    continue
                # the raw text is only needed for a reject: keep the field list, join it then
                yield (line, vals if canonical else [vals[i] if i >= 0 else "" for i in idx], RawRow(delim, vals))

    canonical = idx == list(range(len(FIELDS)))
    return em, records()


def _read_json(path, catalogue, decimal_comma, digest, size):
    with open(path, encoding="utf-8-sig") as f:
        try:
            data = json.load(f, parse_float=str, parse_int=str)
        except json.JSONDecodeError as e:
            raise ExportError(f"{path}: not valid JSON: {e}") from e
    if isinstance(data, list):
        meta, items = {}, data
    elif isinstance(data, dict) and isinstance(data.get("lots"), list):
        meta = {k: _meta_value(v) for k, v in data.items() if k != "lots"}
        items = data["lots"]
    else:
        raise ExportError(f"{path}: expected a list of lots or an object with a 'lots' list")
    dc = decimal_comma if decimal_comma is not None else meta.get("decimal_separator", ".") == ","
    em = ExportMeta(path, "json", digest, size, meta, dc, "", meta.get("as_of"))
    default_wh = meta.get("warehouse_id", "")

    def records() -> Iterator[tuple | Reject]:
        for i, rec in enumerate(items, start=1):
            raw = json.dumps(rec, ensure_ascii=False)
            if not isinstance(rec, dict):
                yield Reject(i, "bad_record", "record is not an object", raw)
                continue
            unknown = [k for k in rec if k not in FIELDS]
            if unknown:
                yield Reject(i, "unknown_field", f"unknown field(s) {', '.join(unknown)}", raw)
                continue
            vals = []
            bad = None
            for c in FIELDS:
                x = rec.get(c)
                if x is None:
                    x = default_wh if c == "warehouse_id" else ""
                if not isinstance(x, str):
                    bad = c
                    break
                vals.append(x)
            if bad:
                yield Reject(i, "bad_number" if bad in ("purity", "gross_quantity", "net_quantity") else "bad_field",
                             f"bad value in {bad}: {rec.get(bad)!r}", raw)
                continue
            yield (i, vals, raw)

    return em, records()


def write_rejects(path: str | Path, rejects: list[Reject]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["line", "code", "reason", "raw"])
        for r in rejects:
            w.writerow([r.line, r.code, r.reason, r.raw])
    return path


def read_rejects(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def to_text(rows: list[dict], fields: list[str] = FIELDS) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


# ---------------------------------------------------------------- bulk checking (ingestion)
_WORKER_VALIDATOR: Validator | None = None


def init_worker(catalogue: Catalogue, decimal_comma: bool, default_as_of: str | None) -> None:
    global _WORKER_VALIDATOR  # noqa: PLW0603 - process-pool initializer: one validator per worker process
    _WORKER_VALIDATOR = Validator(catalogue, decimal_comma, default_as_of)


def check_chunk(payload: list[tuple[int, list[str]]], validator: Validator | None = None) -> list[tuple]:
    """Check records (no duplicate rule); one compact result per record: a good row
    ``(line, warehouse, lot, product, form, ppm, gross, net, unit, assay, status, as_of, quantity_text, leaf)``
    or ``(None, code, reason)``."""
    v = validator or _WORKER_VALIDATOR
    assert v is not None, "init_worker() sets the validator of a worker process"
    out = []
    for line, vals in payload:
        r = v.check(line, vals, "")
        if type(r) is tuple:
            out.append(r)
        else:
            out.append((None, r.code, r.reason))  # type: ignore[union-attr]  # a Reject here (see above)
    return out
