"""Read custody exports (CSV or JSON) and validate them row by row.

Every data row ends up either as a :class:`CheckedRow` (kept) or a :class:`Reject` (with its line
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
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, cast, final

from stockpile.merkle.lots import lot_leaf
from stockpile.core.times import format_time, parse_time  # noqa: F401  (the package's one time parser; re-exported)
from stockpile.reconcile.custody.schema import (
    FIELD_LIMITS, FIELDS, OPTIONAL, SHORTEST_LIMIT, STATUSES, UINT256_MAX, UNITS, Catalogue,
)
from stockpile.errors import StockpileError

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")
# decimal comma: "1234,5" or thousands grouped in threes with one separator throughout ("1.234.567,5",
# "1 234,5"); anything else with a "." in it ("1.5", "2.50") is refused, never read as 15 or 250
_DC_PLAIN = re.compile(r"[+-]?(?:\d+(?:,\d*)?|,\d+)\Z")
_DC_GROUPED = re.compile(r"[+-]?\d{1,3}([. \u00a0\u202f'])\d{3}(?:\1\d{3})*(?:,\d*)?\Z")
_THOUSANDS = str.maketrans("", "", ". \u00a0\u202f'")
_BAD_CHARS = re.compile("[\x00\udc80-\udcff]")  # NUL, or a byte that was not UTF-8 (surrogateescape)
_DELIMITERS = {",": ",", ";": ";", "|": "|", "\\t": "\t", "tab": "\t", "\t": "\t"}


class RawRow:
    """The original text of a CSV record, joined only when it is needed (rejects)."""

    __slots__ = ("delim", "vals")

    def __init__(self, delim: str, vals: list[str]):
        self.delim, self.vals = delim, vals

    def __str__(self) -> str:
        return self.delim.join(self.vals)


class ExportError(StockpileError, ValueError):
    """The export as a whole cannot be read (not a row problem)."""


@final  # never subclassed: `type(r) is Reject` tells a reject from a row (and mypy narrows on it)
@dataclass(slots=True)
class Reject:
    line: int
    code: str
    reason: str
    raw: str

    def __post_init__(self):
        if not isinstance(self.raw, str):
            self.raw = str(self.raw)
        if _BAD_CHARS.search(self.raw):
            self.raw = printable(self.raw)
        if _BAD_CHARS.search(self.reason):
            self.reason = printable(self.reason)


def printable(text: str) -> str:
    """Text that any database and a UTF-8 file accept: bytes that were not UTF-8 as ``\\xe9``, NUL as ``\\x00``."""
    return (text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            .replace("\x00", "\\x00"))


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
    as_of: int | None = None  # the metadata's as_of (unix seconds), checked
    warehouse_id: str | None = None  # the metadata's warehouse_id
    header_line: int = 0  # CSV: physical line number of the header
    columns: list[str] = field(default_factory=list)  # CSV: the header's column names, in file order

    def parse_options(self) -> str:
        """How the bytes were read: part of an export's identity (the same file read with another
        decimal separator or delimiter is another ingestion)."""
        return f"{self.format};decimal_comma={int(self.decimal_comma)};delimiter={self.delimiter or '-'}"


@dataclass(frozen=True)
class FileScan:
    """One pass over an export's bytes: identity hashes, and whether the slow character checks are needed."""

    sha256: str
    size: int
    keccak: str | None  # None: not computed (scan_file(keccak=False))
    utf8: bool  # the whole file is valid UTF-8
    nul: bool  # the file holds a NUL byte

    @property
    def clean(self) -> bool:
        return self.utf8 and not self.nul


def scan_file(path: str | Path, keccak: bool = True) -> FileScan:
    """sha256, size and keccak256 (the attestation reportHash of a report that is this file) in one
    pass, plus UTF-8 validity and NUL bytes (C-speed checks, so clean files skip per-row ones).
    ``keccak=False``: no keccak256 (``FileScan.keccak`` None; :func:`file_keccak` makes it apart)."""
    import codecs

    from stockpile.core.hashing import keccak_256

    h = hashlib.sha256()
    k = keccak_256() if keccak else None
    size = 0
    dec = codecs.getincrementaldecoder("utf-8")()
    utf8, nul = True, False
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            if k is not None:
                k.update(chunk)
            size += len(chunk)
            if utf8:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError:
                    utf8 = False
            if not nul and b"\x00" in chunk:
                nul = True
    if utf8:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    return FileScan(h.hexdigest(), size, "0x" + k.hexdigest() if k is not None else None, utf8, nul)


def file_keccak(path: str | Path) -> str:
    """keccak256 of a file's bytes (0x-hex: the attestation reportHash of a report that is this
    file), read 4 MiB at a time; each block is hashed without the GIL, so a thread can compute it
    while this process does other work (an ingestion's columnar read)."""
    from stockpile.core.hashing import keccak_256

    k = keccak_256()
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            k.update(chunk)
    return "0x" + k.hexdigest()


def file_hash(path: str | Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file: the export's identity for idempotent ingestion."""
    digest, size, _k = file_hashes(path)
    return digest, size


def file_hashes(path: str | Path) -> tuple[str, int, str]:
    """(sha256 hex, size, keccak256 0x-hex) in one pass; the keccak is the attestation reportHash
    of a report that is this file."""
    s = scan_file(path)
    assert s.keccak is not None
    return s.sha256, s.size, s.keccak


class CheckedRow(NamedTuple):
    """A good row (:meth:`Validator.check`, :func:`read_export`): a typed record that is still a plain
    tuple (made with ``tuple.__new__`` at C speed, and written to the database as it is). The one lot
    record of the custody books: ``quantity`` is token base units as decimal text (as stored, and as
    in the report), ``int(row.quantity)`` for arithmetic."""

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
    quantity: str  # token base units, decimal text
    leaf: bytes  # OpenZeppelin StandardMerkleTree leaf of the lot


def checked_row(values: tuple) -> CheckedRow:
    """A CheckedRow from a tuple in its field order (no per-field Python work)."""
    return tuple.__new__(CheckedRow, values)



class Validator:
    """Validates rows (lists of strings in FIELDS order) of one export."""

    def __init__(self, catalogue: Catalogue, decimal_comma: bool = False, default_as_of: str | None = None,
                 check_chars: bool = True):
        self.catalogue = catalogue
        self.decimal_comma = decimal_comma
        self.default_as_of = (default_as_of or "").strip()
        self.check_chars = check_chars  # False when the file scan found only UTF-8 and no NUL
        self.seen: dict[str, int] = {}
        self._times: dict[str, int] = {}
        self._statuses = frozenset(STATUSES)

    @staticmethod
    def comma_number(text: str) -> str | None:
        """Decimal-comma text -> decimal-point text, or None when it is not a number in that notation."""
        if _DC_PLAIN.match(text):
            return text.replace(",", ".")
        if _DC_GROUPED.match(text):
            return text.translate(_THOUSANDS).replace(",", ".")
        return None

    @staticmethod
    def text_problem(v: list[str]) -> tuple[str, str] | None:
        """(code, reason) when a field holds NUL, a byte that is not UTF-8, or is longer than its
        column (FIELD_LIMITS, the same on every database)."""
        for name, val in zip(FIELDS, v):
            m = _BAD_CHARS.search(val)
            if m:
                if m.group() == "\x00":
                    return "bad_character", f"{name} contains a NUL character"
                return "bad_encoding", f"{name} is not UTF-8 text (byte {printable(m.group())})"
        for name, val in zip(FIELDS, v):
            limit = FIELD_LIMITS.get(name)
            if limit is not None and len(val.strip()) > limit:
                return "field_too_long", f"{name} is {len(val.strip())} characters long; at most {limit} allowed"
        return None

    def validate(self, line: int, v: list[str], raw: str) -> CheckedRow | Reject:
        """check() plus the duplicate-lot rule (the first occurrence in the export is kept)."""
        r = self.check(line, v, raw)
        if type(r) is not Reject:
            key = r.warehouse_id + "\x00" + r.lot_id
            first = self.seen.get(key)
            if first is not None:
                return Reject(line, "duplicate_lot", duplicate_reason(r.lot_id, r.warehouse_id, first), raw)
            self.seen[key] = line
        return r

    def check(self, line: int, v: list[str], raw: str) -> CheckedRow | Reject:
        """Every row rule except duplicates (which need the whole export, in order). A good row
        comes back as the compact tuple ``(line, warehouse, lot, product, form, purity_ppm, gross,
        net, unit, assay_ref, status, as_of, quantity as decimal text, leaf)``."""
        if self.check_chars or max(map(len, v)) > SHORTEST_LIMIT:
            problem = self.text_problem(v)
            if problem is not None:
                return Reject(line, problem[0], problem[1], raw)
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
            conv = self.comma_number
            for name, text in (("purity", purity), ("gross_quantity", gross), ("net_quantity", net)):
                if conv(text) is None:
                    return Reject(line, "bad_number", f"bad number in {name}: {text!r} (decimal separator is ','; "
                                  "'.' or a space only groups thousands in threes, e.g. 1.234,5)", raw)
            purity, gross, net = cast(str, conv(purity)), cast(str, conv(gross)), cast(str, conv(net))  # numbers: checked above
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
        if base > UINT256_MAX:
            return Reject(line, "out_of_range", f"net_quantity {net} {unit} is {base} base units of {product}, "
                          "more than a uint256 holds", raw)
        ts = self._times.get(as_of)
        if ts is None:
            try:
                ts = parse_time(as_of)
            except ValueError:
                return Reject(line, "bad_time", f"bad as_of time {as_of!r} (ISO 8601 or unix seconds, 1970..9999 "
                              "expected)", raw)
            self._times[as_of] = ts
        try:
            leaf = lot_leaf((wh, lot, product, form, ppm_i, base, assay))
        except Exception as e:  # a value the leaf encoding cannot take: that row, not the export
            return Reject(line, "bad_record", f"cannot encode the lot's Merkle leaf: {e}", raw)
        return tuple.__new__(CheckedRow, (line, wh, lot, product, form, ppm_i, gross, net, unit, assay, status, ts, str(base),
                                          leaf))


def is_field_value(text: str, name: str) -> bool:
    """A non-empty value the ``name`` column can hold (length limit, no NUL, UTF-8)."""
    return bool(text) and len(text) <= FIELD_LIMITS[name] and not _BAD_CHARS.search(text)


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
    scan: FileScan | None = None,
) -> tuple[ExportMeta, Iterator[CheckedRow | Reject]]:
    """Open an export: its metadata now, its rows (validated) as an iterator."""
    scan = scan or scan_file(path)
    meta, records = read_records(path, catalogue, decimal_comma, delimiter, content_hash, scan)
    validator = Validator(catalogue, meta.decimal_comma, meta.default_as_of, check_chars=meta_checks_chars(meta, scan))

    def rows() -> Iterator[CheckedRow | Reject]:
        for rec in records:
            yield rec if type(rec) is Reject else validator.validate(*rec)

    return meta, rows()


def meta_checks_chars(meta: ExportMeta, scan: FileScan | None) -> bool:
    """Whether rows need the per-field NUL / encoding checks: JSON always (``\\u0000`` escapes),
    CSV only when the file scan found a NUL or a byte that is not UTF-8."""
    return meta.format == "json" or scan is None or not scan.clean


def read_records(
    path: str | Path,
    catalogue: Catalogue,
    decimal_comma: bool | None = None,
    delimiter: str | None = None,
    content_hash: tuple[str, int] | None = None,
    scan: FileScan | None = None,
) -> tuple[ExportMeta, Iterator[tuple | Reject]]:
    """Open an export: metadata, and its records ``(line, values in FIELDS order, raw text)`` (or a
    Reject when a record cannot even be split into fields), not yet validated. ExportError (naming
    the file and line) when the export as a whole cannot be read."""
    path = Path(path)
    if content_hash is None:
        scan = scan or scan_file(path)
        content_hash = (scan.sha256, scan.size)
    digest, size = content_hash
    fmt = detect_format(path)
    if fmt == "json":
        return _read_json(path, catalogue, decimal_comma, digest, size)
    return _read_csv(path, catalogue, decimal_comma, delimiter, digest, size)


def _check_meta(path: Path, meta: dict[str, str], lines: dict[str, int], decimal_comma, delimiter) -> dict:
    """Checked metadata: as_of (unix seconds), decimal comma, delimiter; ExportError naming the line."""
    where = lambda k: f"{path}: line {lines.get(k, '?')}"  # noqa: E731
    out: dict = {}
    a = meta.get("as_of")
    out["as_of"] = None
    if a:
        try:
            out["as_of"] = parse_time(a)
        except ValueError:
            raise ExportError(f"{where('as_of')}: bad as_of metadata {a!r} (ISO 8601 time or unix seconds "
                              "expected)") from None
    ds = meta.get("decimal_separator", ".")
    if ds not in (".", ","):
        raise ExportError(f"{where('decimal_separator')}: decimal_separator must be '.' or ',', not {ds!r}")
    out["decimal_comma"] = decimal_comma if decimal_comma is not None else ds == ","
    d = delimiter or meta.get("delimiter")
    if d is not None and d not in _DELIMITERS:
        raise ExportError(f"{where('delimiter')}: delimiter must be one of , ; | tab, not {d!r}")
    out["delimiter"] = _DELIMITERS[d] if d is not None else None
    wh = meta.get("warehouse_id")
    if wh is not None and (_BAD_CHARS.search(wh) or len(wh) > FIELD_LIMITS["warehouse_id"]):
        raise ExportError(f"{where('warehouse_id')}: bad warehouse_id metadata {printable(wh)[:200]!r}")
    out["warehouse_id"] = wh or None
    return out


def _read_csv(path, catalogue, decimal_comma, delimiter, digest, size):
    # bytes that are not UTF-8 survive as surrogates: that row is rejected, the export is not
    # closed on every error path below, else by the records() generator it is handed to
    f = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    meta: dict[str, str] = {}
    meta_lines: dict[str, int] = {}
    line_no = 0
    header_line = None
    while True:
        line = f.readline(1 << 20)
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
                key = k.strip().lower()
                meta[key] = val.strip()
                meta_lines[key] = line_no
            continue
        header_line = line
        break
    if header_line is None:
        f.close()
        raise ExportError(f"{path}: no header line")
    try:
        checked = _check_meta(path, meta, meta_lines, decimal_comma, delimiter)
    except ExportError:
        f.close()
        raise
    dc = checked["decimal_comma"]
    delim = checked["delimiter"] or (";" if ";" in header_line and "," not in header_line else ",")
    header = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=delim))]

    def fail(msg):
        f.close()
        raise ExportError(f"{path}: {msg} (line {line_no})")

    if _BAD_CHARS.search(header_line):
        fail("the header is not UTF-8 text or holds a NUL character")
    dups = sorted({h for h in header if header.count(h) > 1})
    if dups:
        fail(f"duplicated column(s) {', '.join(dups)} in header")
    missing = [c for c in FIELDS if c not in header and c not in OPTIONAL and not (c == "as_of" and checked["as_of"])
               and not (c == "warehouse_id" and checked["warehouse_id"])]
    if missing:
        fail(f"header lacks column(s) {', '.join(missing)}")
    unknown = [h for h in header if h not in FIELDS]
    if unknown:
        fail(f"unknown column(s) {', '.join(unknown)} in header")
    idx = [header.index(c) if c in header else -1 for c in FIELDS]
    em = ExportMeta(path, "csv", digest, size, meta, dc, delim, meta.get("as_of"), checked["as_of"],
                    checked["warehouse_id"])
    ncols = len(header)
    header_at = line_no
    em.header_line, em.columns = header_at, header
    default_wh = checked["warehouse_id"] or ""
    wh_at = idx[0]

    def records() -> Iterator[tuple | Reject]:
        with f:
            reader = csv.reader(f, delimiter=delim)
            start = header_at
            prev = 0
            while True:
                try:
                    vals = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:  # e.g. a field over the csv module's limit: that record only
                    line = start + prev + 1
                    prev = reader.line_num
                    code = "field_too_long" if "field limit" in str(exc) else "bad_record"
                    yield Reject(line, code, f"cannot split the record into fields: {exc}", "")
                    continue
                line = start + prev + 1
                prev = reader.line_num
                if not vals or (len(vals) == 1 and not vals[0].strip()):
                    continue
                if len(vals) != ncols:
                    yield Reject(line, "column_count", f"expected {ncols} columns, got {len(vals)}",
                                 delim.join(vals))
                    continue
                # the raw text is only needed for a reject: keep the field list, join it then
                if canonical:
                    yield (line, vals, RawRow(delim, vals))
                else:
                    v = [vals[i] if i >= 0 else "" for i in idx]
                    if wh_at < 0:
                        v[0] = default_wh
                    yield (line, v, RawRow(delim, vals))

    canonical = idx == list(range(len(FIELDS)))
    return em, records()


class _JsonNumber(str):
    """A JSON number's text (a number is unambiguous whatever the export's decimal separator)."""

    __slots__ = ()


class _JsonObject(dict):
    """A JSON object that remembers keys given more than once."""

    __slots__ = ("duplicates",)


def _pairs(pairs):
    obj = _JsonObject(pairs)
    obj.duplicates = None
    if len(obj) != len(pairs):
        seen: dict[str, int] = {}
        for k, _ in pairs:
            seen[k] = seen.get(k, 0) + 1
        obj.duplicates = sorted(k for k, n in seen.items() if n > 1)
    return obj


def _json_line(text: str, key: str) -> int | str:
    i = text.find(f'"{key}"')
    return text.count("\n", 0, i) + 1 if i >= 0 else "?"


def _read_json(path, catalogue, decimal_comma, digest, size):
    raw_bytes = Path(path).read_bytes()
    text = raw_bytes.decode("utf-8-sig", errors="surrogateescape")
    del raw_bytes
    try:
        data = json.loads(text, parse_float=_JsonNumber, parse_int=_JsonNumber, object_pairs_hook=_pairs)
    except json.JSONDecodeError as e:
        raise ExportError(f"{path}: line {e.lineno}: not valid JSON: {e.msg}") from None
    except RecursionError:
        raise ExportError(f"{path}: JSON nested too deeply") from None
    if isinstance(data, list):
        meta, items = {}, data
    elif isinstance(data, dict) and isinstance(data.get("lots"), list):
        if getattr(data, "duplicates", None):
            raise ExportError(f"{path}: line {_json_line(text, data.duplicates[0])}: key(s) "
                              f"{', '.join(data.duplicates)} given more than once")
        meta = {k: _meta_value(v) for k, v in data.items() if k != "lots"}
        items = data["lots"]
    else:
        raise ExportError(f"{path}: expected a list of lots or an object with a 'lots' list")
    lines = {k: _json_line(text, k) for k in meta}
    del text
    checked = _check_meta(path, meta, lines, decimal_comma, None)
    dc = checked["decimal_comma"]
    em = ExportMeta(path, "json", digest, size, meta, dc, "", meta.get("as_of"), checked["as_of"],
                    checked["warehouse_id"])
    default_wh = checked["warehouse_id"] or ""

    def records() -> Iterator[tuple | Reject]:
        for i, rec in enumerate(items, start=1):
            raw = json.dumps(rec, ensure_ascii=False)
            if not isinstance(rec, dict):
                yield Reject(i, "bad_record", "record is not an object", raw)
                continue
            if dups := getattr(rec, "duplicates", None):
                yield Reject(i, "bad_record", f"key(s) {', '.join(dups)} given more than once", raw)
                continue
            unknown = [k for k in rec if k not in FIELDS]
            if unknown:
                yield Reject(i, "unknown_field", f"unknown field(s) {', '.join(printable(k) for k in unknown)}", raw)
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
                if type(x) is _JsonNumber:
                    x = str(x)
                    if dc:  # the validator reads this export's numbers with a decimal comma
                        x = x.replace(".", ",")
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


# ---------------------------------------------------------------- bulk checking (ingestion)
_WORKER_VALIDATOR: Validator | None = None


def init_worker(catalogue: Catalogue, decimal_comma: bool, default_as_of: str | None, check_chars: bool = True) -> None:
    global _WORKER_VALIDATOR  # noqa: PLW0603 - a multiprocessing Pool initializer sets the per-process validator
    _WORKER_VALIDATOR = Validator(catalogue, decimal_comma, default_as_of, check_chars)


def check_chunk(payload: list[tuple[int, list[str]]], validator: Validator | None = None) -> list[tuple[Any, ...]]:
    """Check records (no duplicate rule); one compact result per record: a good row
    ``(line, warehouse, lot, product, form, ppm, gross, net, unit, assay, status, as_of, quantity_text, leaf)``
    or ``(None, code, reason)``."""
    v = cast(Validator, validator or _WORKER_VALIDATOR)  # in a worker, init_worker set it
    out: list[tuple[Any, ...]] = []
    for line, vals in payload:
        r = v.check(line, vals, "")
        if type(r) is not Reject:
            out.append(r)
        else:
            out.append((None, r.code, r.reason))
    return out
