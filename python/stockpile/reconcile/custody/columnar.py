"""Columnar fast path for large CSV exports (pyarrow): parse, validate and hash a million rows
without a Python loop per field.

The fast path decides nothing on its own: a row passes it only when every check is certain
from cheap vectorised tests (printable ASCII without edge spaces, catalogue product in its own
unit, plain ``digits[.digits]`` numbers far from every boundary, a known time). Every other row
goes, with its line number and raw text, to the exact row validator
(:meth:`stockpile.reconcile.custody.parse.Validator.check`), which gives the same rows and the
same rejects as reading the file without this module. A file the fast path cannot map line by
line (quotes, blank lines, bare CR, a field over the csv module's limit, a row with another
column count) is read entirely by the exact path.

The Merkle leaf of a fast row is built as fixed-layout bytes (rows grouped by the number of
32-byte words of each string) and hashed a group at a time by
:func:`stockpile.core.hashing.keccak_rows` (the same leaf as :func:`stockpile.merkle.lots.lot_leaf`);
tests check both paths store identical rows.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from stockpile.reconcile.custody.schema import FIELD_LIMITS, FIELDS, STATUSES, UNITS, Catalogue

if TYPE_CHECKING:
    from stockpile.reconcile.custody.parse import CheckedRow  # noqa: F401 - named in docstrings

MIN_BYTES = 256 * 1024  # smaller exports: the exact path is as fast (and pyarrow need not load)
_ASCII_SPACE = "".join(chr(i) for i in range(128) if chr(i).isspace())  # what str.strip removes in ASCII
_HEAD = 7 * 32


# what a chunk of fast rows adds up to: lots per warehouse, latest as-of per warehouse, and per
# (warehouse, product) the reserve lots' leaves (concatenated) and total base units
Tally = tuple[dict[str, int], dict[str, int], dict[tuple[str, str], tuple[bytes, int]]]

CHUNK = 16_384  # fast rows turned into Python rows at a time (small: the hashing children start the pipeline sooner)


class Columns:
    """A CSV export read column-wise: the rows that passed the fast checks (``fast``, file order)
    and the rows left to the exact validator (``slow``: ``(line, values in FIELDS order, raw text)``)."""

    def __init__(self, cols: dict[str, Any], enc: dict[str, tuple[list[str], Any]], lines, fast, ppm, ts, qty,
                 header: list[str], delimiter: str, slow: list[tuple[int, list[str], str]]):
        self._cols, self._enc, self._lines, self.fast = cols, enc, lines, fast
        self._ppm, self._ts, self._qty = ppm, ts, qty
        self._header, self._delimiter = header, delimiter
        self.slow = slow
        self._obj: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.fast)

    def _objects(self, name: str):
        """The distinct values of a dictionary-encoded column as a numpy object array (a take from
        it makes the column's Python list at C speed)."""
        import numpy as np

        got = self._obj.get(name)
        if got is None:
            values = self._enc[name][0]
            got = self._obj[name] = np.array(values, dtype=object)
        return got

    def keys(self):
        """``warehouse \x00 lot`` of every fast row (an Arrow array), for the duplicate rule."""
        import pyarrow as pa
        import pyarrow.compute as pc

        take = pa.array(self.fast)
        return pc.binary_join_element_wise(self._cols["warehouse_id"].take(take), self._cols["lot_id"].take(take), "\x00")

    def lot_ids(self):
        """The lot ids of the fast rows (an Arrow array)."""
        import pyarrow as pa

        return self._cols["lot_id"].take(pa.array(self.fast))

    def lines(self):
        return self._lines[self.fast]

    def drop(self, positions) -> None:
        """Leave out these fast rows (positions in ``fast``): duplicates rejected by the caller."""
        import numpy as np

        keep = np.ones(len(self.fast), dtype=bool)
        keep[np.asarray(positions, dtype=np.int64)] = False
        self.fast = self.fast[keep]

    def raw(self, position: int) -> str:
        i = int(self.fast[position])
        return self._delimiter.join(self._cols[h][i].as_py() for h in self._header)

    @functools.cached_property
    def warehouse_rank(self):
        """Per row of the file, the place of its warehouse id in ascending string order (an int64
        array): the order of the ``(snapshot, warehouse)`` index."""
        import numpy as np

        values, idx = self._enc["warehouse_id"]
        rank = np.argsort(np.argsort(np.array(values, dtype=object))) if values else np.zeros(1, dtype=np.int64)
        return rank[idx]

    def rows(self, size: int | None = None, workers: int = 2, by_warehouse: bool = False) -> Iterator[FastChunk]:
        """The fast rows, in file order, ``size`` (default :data:`CHUNK`) at a time, as
        :class:`FastChunk`s (each with its :data:`Tally`). Their leaves are encoded and hashed by
        ``workers`` forked children (:class:`~stockpile.reconcile.parallel.ChunkWorkers`) ahead of
        the caller, which meanwhile builds and stores the rows; 0 hashes here.

        ``by_warehouse``: grouped by warehouse (ascending), in file order within each, so a
        ``(snapshot, warehouse)`` index only ever appends at its right edge (measured at 1M lots on
        SQLite: the writer thread's CPU -0.3 s, the ingestion ~6% faster); what a read of one
        warehouse's lots returns, in rowid order, is unchanged. For callers that merge no other
        rows in by line."""
        import numpy as np
        import pyarrow as pa

        from stockpile.reconcile.custody.schema import RESERVE_STATUSES
        from stockpile.reconcile.parallel import ChunkWorkers

        cols = self._cols
        size = size or CHUNK
        if size * 10 ** _LIMB >= 2 ** 63:
            raise ValueError(f"chunks of {size} rows would overflow the int64 limb sums of their quantities")
        wh_values, wh_idx = self._enc["warehouse_id"]
        order = self.fast
        if by_warehouse and len(wh_values) > 1:
            order = order[np.argsort(self.warehouse_rank[order], kind="stable")]
        bounds = [(lo, min(lo + size, len(order))) for lo in range(0, len(order), size)]
        prod_values, prod_idx = self._enc["product_code"]
        st_values, st_idx = self._enc["status"]
        reserve_code = np.array([v in RESERVE_STATUSES for v in st_values] or [False])
        n_prod = max(1, len(prod_values))

        def chunk_leaves(i: int) -> bytes:
            lo, hi = bounds[i]
            take = pa.array(order[lo:hi])
            quantity = self._qty.take(take).to_numpy(zero_copy_only=False).tolist()
            return leaf_block(cols, take, self._ppm[order[lo:hi]], quantity)

        with ChunkWorkers(chunk_leaves, [hi - lo for lo, hi in bounds], workers) as hashers:
            for i, (lo, hi) in enumerate(bounds):
                fast = order[lo:hi]
                chunk = FastChunk(self, fast, hashers.get(i))
                # the tally, column-wise: lots and latest as-of per warehouse, reserve per warehouse and product
                w = wh_idx[fast]
                counts = np.bincount(w, minlength=len(wh_values))
                latest = np.full(len(wh_values), -1, dtype=np.int64)
                np.maximum.at(latest, w, self._ts[fast])
                present = np.flatnonzero(counts)
                in_reserve = np.flatnonzero(reserve_code[st_idx[fast]])
                group = w[in_reserve] * n_prod + prod_idx[fast][in_reserve]
                leaves = np.frombuffer(chunk.leaves, dtype="S32")
                limbs = chunk.quantity_limbs()
                reserve: dict[tuple[str, str], tuple[bytes, int]] = {}
                for g in np.unique(group).tolist():
                    pos = in_reserve[group == g]
                    reserve[(wh_values[g // n_prod], prod_values[g % n_prod])] = (
                        leaves[pos].tobytes(), _join_limbs(limbs[pos].sum(axis=0).tolist()))
                chunk.tally = ({wh_values[j]: int(counts[j]) for j in present},
                               {wh_values[j]: int(latest[j]) for j in present}, reserve)
                yield chunk


class FastChunk:
    """A stretch of fast rows (file order) with their leaves: as Python tuples in
    :class:`CheckedRow` field order (:meth:`rows`, for drivers that take rows) or as Arrow
    columns (:meth:`arrow`, for bulk loaders), and the :data:`Tally` of what they add up to."""

    def __init__(self, cols: Columns, fast, leaves: bytes) -> None:
        import pyarrow as pa

        self._c, self.fast, self.leaves = cols, fast, leaves
        self._take = pa.array(fast)
        self.first_line, self.last_line = int(cols._lines[fast[0]]), int(cols._lines[fast[-1]])
        self.tally: Tally = ({}, {}, {})
        self._params: list | None = None

    def __len__(self) -> int:
        return len(self.fast)

    @functools.cached_property
    def quantity(self) -> list[str]:
        """The base-unit quantities as decimal text (made when asked: the bulk writers take them
        from the column)."""
        return self._c._qty.take(self._take).to_numpy(zero_copy_only=False).tolist()

    def quantity_limbs(self):
        """The base-unit quantities as a (rows, L) int64 array of base-10**13 limbs, most
        significant first, L as few as the chunk's longest quantity needs (every fast quantity is
        below 10**77): a column sum over a chunk stays below 2**63 (:meth:`Columns.rows` refuses
        larger chunks), so a group's exact total is :func:`_join_limbs` of its rows' column sums."""
        import numpy as np
        import pyarrow.compute as pc

        n = len(self.fast)
        qty = self._c._qty.take(self._take)
        longest = pc.max(pc.binary_length(qty)).as_py() or 1
        if longest >= _QTY_DIGITS:
            raise AssertionError("a fast quantity longer than 77 digits")  # read_columns leaves those to the exact path
        width = -(-longest // _LIMB) * _LIMB
        padded = pc.utf8_lpad(qty, width=width, padding="0")
        offsets = np.frombuffer(padded.buffers()[1], dtype=np.int32)[padded.offset:padded.offset + n + 1]
        raw = np.frombuffer(padded.buffers()[2], dtype=np.uint8)[int(offsets[0]):int(offsets[-1])]
        digits = raw.reshape(n, width // _LIMB, _LIMB).astype(np.int64) - ord("0")
        return digits @ (10 ** np.arange(_LIMB - 1, -1, -1, dtype=np.int64))

    def rows(self) -> list[tuple]:
        c, fast, take = self._c, self.fast, self._take

        def text(name: str) -> list[str]:
            if name in c._enc:
                values, idx = c._enc[name]
                return c._objects(name)[idx[fast]].tolist()
            return c._cols[name].take(take).to_numpy(zero_copy_only=False).tolist()

        block = self.leaves
        leaf = [block[j:j + 32] for j in range(0, len(block), 32)]
        return list(zip(c._lines[fast].tolist(), text("warehouse_id"), text("lot_id"), text("product_code"),
                        text("form"), c._ppm[fast].tolist(), text("gross_quantity"), text("net_quantity"), text("unit"),
                        text("assay_ref"), text("status"), c._ts[fast].tolist(), self.quantity, leaf))

    def params(self) -> list:
        """The rows' values flattened row by row (14 per row, :class:`CheckedRow` order), made
        column-wise through a numpy object array (no tuple per row): what a multi-row ``INSERT``
        binds. The rows are grouped by warehouse, in file order within each (a stable sort: the
        ``(snapshot, warehouse)`` index then takes each warehouse's entries as one ascending run;
        a warehouse's rows keep their line order in rowid order). Memoised (made in the caller's
        thread, bound in the writer's)."""
        if self._params is None:
            import numpy as np
            import pyarrow as pa

            c, fast, take = self._c, self.fast, self._take
            leaves = np.frombuffer(self.leaves, dtype="S32")
            wh = c.warehouse_rank[fast]
            if len(wh) > 1 and bool((wh[1:] < wh[:-1]).any()):
                order = np.argsort(wh, kind="stable")
                fast, take, leaves = fast[order], pa.array(fast[order]), leaves[order]
            # each column's values as a list, put in place by a slice assignment of the flat list
            # (a C loop; the numpy object matrix, ravelled and listed, was 0.73 of 1.15 s at 1M lots)
            width = 14
            flat: list = [None] * (len(fast) * width)
            flat[0::width] = c._lines[fast].tolist()
            for j, name in ((1, "warehouse_id"), (2, "lot_id"), (3, "product_code"), (4, "form"), (6, "gross_quantity"),
                            (7, "net_quantity"), (8, "unit"), (9, "assay_ref"), (10, "status")):
                if name in c._enc:
                    flat[j::width] = c._objects(name)[c._enc[name][1][fast]].tolist()
                else:
                    flat[j::width] = c._cols[name].take(take).to_numpy(zero_copy_only=False).tolist()
            flat[5::width] = c._ppm[fast].tolist()
            flat[11::width] = c._ts[fast].tolist()
            flat[12::width] = c._qty.take(take).to_numpy(zero_copy_only=False).tolist()
            # the leaves as bytearray slices: the sqlite3 module binds a bytearray as a BLOB at once,
            # while bytes go through its adapter lookup (measured with callgrind: 3,300 of 25,700
            # instructions per stored row)
            block = bytearray(leaves.tobytes())
            flat[13::width] = [block[j:j + 32] for j in range(0, len(block), 32)]
            self._params = flat
        return self._params

    def arrow(self):
        """The rows as an Arrow table, columns in :class:`CheckedRow` order (``leaf``: 32-byte binary)."""
        import pyarrow as pa

        c, fast, take = self._c, self.fast, self._take
        leaf = pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), len(fast), [None, pa.py_buffer(self.leaves)])
        names = ("line", "warehouse_id", "lot_id", "product_code", "form", "purity_ppm", "gross_quantity",
                 "net_quantity", "unit", "assay_ref", "status", "as_of", "quantity", "leaf")
        arrays = [pa.array(c._lines[fast]), *(c._cols[n].take(take) for n in names[1:5]), pa.array(c._ppm[fast]),
                  *(c._cols[n].take(take) for n in names[6:11]), pa.array(c._ts[fast]), c._qty.take(take), leaf]
        return pa.table(arrays, names=list(names))


def available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pragma: no cover - pyarrow is a dependency; the exact path still works
        return False
    return True


def read_columns(path: Path, header_line: int, header: list[str], delimiter: str, catalogue: Catalogue,
                 default_as_of: str | None, default_warehouse: str | None) -> Columns | None:
    """The export's rows after the header, or None when this file must go through the exact path.
    ``path`` is a file :func:`~stockpile.reconcile.custody.parse.scan_file` found clean (valid
    UTF-8, no NUL): Arrow does not check the UTF-8 again."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    pos = 0
    for _ in range(header_line):
        nl = data.find(b"\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    # one record per physical line, and nothing the csv module reads differently. Each test is a
    # pass over the file, so only memchr-fast ones run on an LF export (callgrind: a bytes.count of
    # CR and a search for a blank line were a quarter of this function's work): the CR checks only
    # when there is a CR; a blank line (which the csv module skips, and Arrow reads as a row of
    # empty fields) is found among the rows that fail the fast checks, below
    if (pos >= len(data) or data.find(b'"', pos) >= 0
            or (data.find(b"\r", pos) >= 0 and (data.find(b"\n\r\n", pos) >= 0
                                                 or data.count(b"\r") != data.count(b"\r\n")))
            or data[pos:pos + 1] in (b"\n", b"\r")):
        return None
    body = pa.py_buffer(data)[pos:]
    try:
        table = pacsv.read_csv(
            body,
            read_options=pacsv.ReadOptions(column_names=header, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, escape_char=False,
                                             newlines_in_values=False, ignore_empty_lines=False),
            # the bytes were checked as UTF-8 already (FileScan.clean: the only files read here)
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header}, strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False, check_utf8=False),
        ).combine_chunks()
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    del data, body
    n = table.num_rows
    limit = csv.field_size_limit()
    cols: dict[str, Any] = {}
    for name in FIELDS:
        if name in header:
            col = table.column(name).chunk(0) if table.column(name).num_chunks else pa.array([], pa.string())
            if n and pc.max(pc.binary_length(col)).as_py() > limit:
                return None  # the csv module refuses that field: the exact path says so
            cols[name] = col
        else:
            fill = (default_warehouse or "") if name == "warehouse_id" else ""
            cols[name] = pa.array([fill] * n, pa.string()) if n else pa.array([], pa.string())
    del table
    lines = np.arange(header_line + 1, header_line + 1 + n, dtype=np.int64)
    ok = np.ones(n, dtype=bool)

    def trimmed_ascii(col) -> Any:
        """printable ASCII text that str.strip leaves as it is."""
        same = pc.equal(pc.binary_length(pc.ascii_trim(col, characters=_ASCII_SPACE)), pc.binary_length(col))
        return np.asarray(pc.and_(pc.string_is_ascii(col), same))

    # repeating columns: checked once per distinct value
    enc: dict[str, tuple[list[str], Any]] = {}
    for name in ("warehouse_id", "product_code", "form", "unit", "status", "as_of"):
        d = cols[name].dictionary_encode()
        values = d.dictionary.to_pylist()
        enc[name] = (values, np.asarray(d.indices, dtype=np.int64))

    def per_value(name: str, good) -> Any:
        values, idx = enc[name]
        table_ok = np.array([good(v) for v in values] or [False], dtype=bool)
        return table_ok[idx] if len(values) else np.zeros(n, dtype=bool)

    def plain(v: str, required: bool, limit: int | None) -> bool:
        return v.isascii() and v == v.strip() and (bool(v) or not required) and (limit is None or len(v) <= limit)

    products = catalogue.products
    statuses = frozenset(STATUSES)
    ok &= per_value("warehouse_id", lambda v: plain(v, True, FIELD_LIMITS["warehouse_id"]))
    ok &= per_value("product_code", lambda v: v in products and plain(v, True, FIELD_LIMITS["product_code"])
                    and products[v].decimals <= 60)
    ok &= per_value("form", lambda v: plain(v, False, FIELD_LIMITS["form"]))
    ok &= per_value("unit", lambda v: v in UNITS and plain(v, True, FIELD_LIMITS["unit"]))
    ok &= per_value("status", lambda v: v in statuses and plain(v, True, FIELD_LIMITS["status"]))
    from stockpile.reconcile.custody.parse import parse_time

    default = (default_as_of or "").strip()
    times: list[int] = []
    for v in enc["as_of"][0]:
        t = -1
        if v.isascii() and v == v.strip() and (v or default):
            try:
                t = parse_time(v or default)
            except ValueError:
                t = -1
        times.append(t)
    ts = np.array(times or [-1], dtype=np.int64)[enc["as_of"][1]] if times else np.zeros(n, dtype=np.int64) - 1
    ok &= ts >= 0
    # unit of the row == the product's token unit (the exact path converts other units)
    prod_values, prod_idx = enc["product_code"]
    unit_values, unit_idx = enc["unit"]
    unit_code = {u: i for i, u in enumerate(unit_values)}
    prod_unit = np.array([unit_code.get(products[p].unit, -1) if p in products else -2 for p in prod_values] or [-2])
    if n:
        ok &= prod_unit[prod_idx] == unit_idx
    decimals = np.array([products[p].decimals if p in products else 0 for p in prod_values] or [0], dtype=np.int64)
    row_dec = decimals[prod_idx] if n else np.zeros(0, dtype=np.int64)
    for name in ("lot_id", "assay_ref"):
        col = cols[name]
        ok &= trimmed_ascii(col)
        ok &= np.asarray(pc.less_equal(pc.binary_length(col), FIELD_LIMITS[name]))
        if name == "lot_id":
            ok &= np.asarray(pc.greater(pc.binary_length(col), 0))
    # numbers: digits[.digits], exact comparisons left to the exact path near every boundary
    num = r"^\d{1,19}(?:\.\d{1,60})?$"
    for name in ("gross_quantity", "net_quantity"):
        ok &= np.asarray(pc.match_substring_regex(cols[name], num))
        ok &= np.asarray(pc.less_equal(pc.binary_length(cols[name]), FIELD_LIMITS[name]))
    pur = cols["purity"]
    ok &= np.asarray(pc.match_substring_regex(pur, r"^\d{1,3}(?:\.\d{1,4}0*)?$"))
    safe = lambda col: pc.if_else(pa.array(ok), col, "1")  # noqa: E731 - only rows that look like numbers are cast
    p_f = np.asarray(pc.cast(safe(pur), pa.float64()))
    ppm = np.rint(p_f * 10_000).astype(np.int64)
    ok &= (ppm > 0) & (ppm <= 1_000_000)
    g_f = np.asarray(pc.cast(safe(cols["gross_quantity"]), pa.float64()))
    n_f = np.asarray(pc.cast(safe(cols["net_quantity"]), pa.float64()))
    ok &= (n_f > 0) & (g_f > 0)
    same_text = np.asarray(pc.equal(cols["gross_quantity"], cols["net_quantity"]))
    ok &= (n_f < g_f * (1 - 1e-9)) | same_text
    # base units: integer digits + fraction padded to the product's decimals (no finer than 1 base unit)
    net = cols["net_quantity"]
    has_dot = np.asarray(pc.greater_equal(pc.find_substring(net, "."), 0))
    parts = pc.split_pattern(pc.if_else(pa.array(has_dot), net, pc.binary_join_element_wise(net, ".", "")), ".",
                             max_splits=1)
    int_part = pc.list_element(parts, 0)
    frac = pc.list_element(parts, 1)
    ok &= np.asarray(pc.binary_length(frac)) <= row_dec
    qty = None
    for d in sorted(set(decimals.tolist())):
        q_d = pc.utf8_ltrim(pc.binary_join_element_wise(int_part, pc.utf8_rpad(frac, width=int(d), padding="0"), ""),
                            characters="0")
        mask = pa.array(row_dec == d)
        qty = q_d if qty is None else pc.if_else(mask, q_d, qty)
    if qty is not None:
        ok &= np.asarray(pc.binary_length(qty)) <= 77  # < 10**77 < 2**256
        ok &= np.asarray(pc.binary_length(qty)) > 0

    # ---- split: fast rows, and the rest for the exact validator
    fast = np.flatnonzero(ok)
    slow_idx = np.flatnonzero(~ok)
    slow: list[tuple[int, list[str], str]] = []
    if len(slow_idx):
        take = pa.array(slow_idx)
        vals = [cols[f].take(take).to_pylist() for f in FIELDS]
        raw_cols = [cols[h].take(take).to_pylist() for h in header]
        if any(not any(c[j] for c in raw_cols) for j in range(len(slow_idx))):
            return None  # a blank line, or one of delimiters only: the exact path tells them apart
        for j, i in enumerate(slow_idx.tolist()):
            slow.append((int(lines[i]), [v[j] for v in vals], delimiter.join(c[j] for c in raw_cols)))
    if qty is None:
        qty = pa.array([""] * n, pa.string())
    return Columns(cols, enc, lines, fast, ppm, ts, qty, header, delimiter, slow)


_QTY_DIGITS = 78  # a fast row's quantity has at most 77 digits
_LIMB = 13  # digits per int64 limb: the column sum of a chunk of up to 922,337 rows stays below 2**63


def _join_limbs(sums: list[int]) -> int:
    """The integer whose base-10**13 limbs (most significant first, each possibly over 10**13:
    a column sum of :meth:`FastChunk.quantity_limbs`) are ``sums``."""
    total = 0
    for x in sums:
        total = total * 10 ** _LIMB + int(x)
    return total


def leaf_block(cols: dict[str, Any], take, ppm, quantity: list[str]) -> bytes:
    """Merkle leaves of the fast rows ``take``, concatenated (32 bytes each, in row order):
    keccak256(keccak256(abi.encode(string, string, string, string, uint32, uint256, string))) built
    as fixed-layout bytes per group of rows whose strings take the same number of 32-byte words."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    from stockpile.core.hashing import keccak_rows

    n = len(quantity)
    if not n:
        return b""
    names = ("warehouse_id", "lot_id", "product_code", "form", "assay_ref")
    strs = [cols[c].take(take) for c in names]
    lens = [np.asarray(pc.binary_length(s), dtype=np.int64) for s in strs]
    words = [(x + 31) // 32 for x in lens]
    sig = np.zeros(n, dtype=np.int64)
    for wk in words:
        sig = sig * 16 + wk
    q = np.frombuffer(b"".join([int(x).to_bytes(32, "big") for x in quantity]), dtype=np.uint8).reshape(n, 32)
    ppm_be = ppm.astype(">u4").view(np.uint8).reshape(n, 4)
    groups, inverse = np.unique(sig, return_inverse=True)
    out = np.empty(n, dtype="S32") if len(groups) > 1 else None
    for gi in range(len(groups)):
        idx = np.flatnonzero(inverse == gi) if len(groups) > 1 else np.arange(n)
        i0 = int(idx[0])
        nwords = [int(x[i0]) for x in words]
        tails = [32 + 32 * w for w in nwords]
        size = _HEAD + sum(tails)
        m = np.zeros((len(idx), size), dtype=np.uint8)
        offs = [_HEAD]
        for t in tails[:-1]:
            offs.append(offs[-1] + t)
        for h, o in zip((0, 1, 2, 3, 6), offs):  # head words: offsets of the five strings
            m[:, h * 32 + 28:h * 32 + 32] = np.frombuffer(o.to_bytes(4, "big"), dtype=np.uint8)
        m[:, 4 * 32 + 28:5 * 32] = ppm_be[idx]
        m[:, 5 * 32:6 * 32] = q[idx]
        sub = pa.array(idx) if len(groups) > 1 else None
        for s, ln, w, o in zip(strs, lens, nwords, offs):
            lg = ln[idx]
            m[:, o + 30] = lg >> 8
            m[:, o + 31] = lg & 0xFF
            if w:
                col = s.take(sub) if sub is not None else s
                padded = pc.utf8_rpad(col, width=32 * w, padding="\x00")
                buf = padded.buffers()[2]
                start = padded.offset
                offsets = np.frombuffer(padded.buffers()[1], dtype=np.int32)
                a, b = int(offsets[start]), int(offsets[start + len(idx)])
                m[:, o + 32:o + 32 + 32 * w] = np.frombuffer(buf, dtype=np.uint8)[a:b].reshape(len(idx), 32 * w)
        hashed = keccak_rows(m.data, size, twice=True)
        if out is None:
            return hashed
        out[idx] = np.frombuffer(hashed, dtype="S32")
    assert out is not None
    return out.tobytes()

