"""The portal's lot index: each product's attested lot list with its Merkle tree, in a SQLite file
the portal owns (the custody database is only read).

Built once per attested root (a new attestation round with a new root builds a new list; the old
one answers until the new one is complete). Every question a visitor can ask is answered by a few
index look-ups, never by loading the list:

- order: lots sorted by (lot id, warehouse id); ``r`` is the position in that order, ``r_wh``,
  ``r_form`` and ``r_whf`` the position within the lot's warehouse, form, and warehouse + form;
- a page of a filter = a range of the matching rank column; a lot id prefix is a contiguous
  range of it too (two index probes give its bounds, hence the exact count);
- a proof = the ~log2(n) sibling hashes read from ``portal_nodes`` (the StandardMerkleTree array);
- the allocation rule walks ``cum`` (quantity of all lots before this one, 32-byte big-endian, so
  byte order is numeric order).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from stockpile.merkle import LOT_LEAF_TYPES, StandardMerkleTree
from stockpile.merkle.tree import proof_positions

SCHEMA = """
CREATE TABLE IF NOT EXISTS portal_lists (
    id INTEGER PRIMARY KEY, product_code TEXT NOT NULL, root TEXT NOT NULL, lot_count INTEGER NOT NULL,
    total TEXT NOT NULL, source TEXT NOT NULL, built_at INTEGER NOT NULL, complete INTEGER NOT NULL DEFAULT 0,
    facets TEXT NOT NULL DEFAULT '{}', UNIQUE (product_code, root));
CREATE TABLE IF NOT EXISTS portal_lots (
    list_id INTEGER NOT NULL, r INTEGER NOT NULL, r_wh INTEGER NOT NULL, r_form INTEGER NOT NULL,
    r_whf INTEGER NOT NULL, warehouse_id TEXT NOT NULL, lot_id TEXT NOT NULL, form TEXT NOT NULL,
    purity_ppm INTEGER NOT NULL, quantity TEXT NOT NULL, assay_ref TEXT NOT NULL, pos INTEGER NOT NULL,
    cum BLOB NOT NULL, PRIMARY KEY (list_id, r)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS portal_nodes (
    list_id INTEGER NOT NULL, pos INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (list_id, pos)) WITHOUT ROWID;
"""
INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_pl_lot ON portal_lots (list_id, lot_id, warehouse_id, r)",
    "CREATE INDEX IF NOT EXISTS ix_pl_wh_r ON portal_lots (list_id, warehouse_id, r_wh)",
    "CREATE INDEX IF NOT EXISTS ix_pl_wh_lot ON portal_lots (list_id, warehouse_id, lot_id, r_wh)",
    "CREATE INDEX IF NOT EXISTS ix_pl_form_r ON portal_lots (list_id, form, r_form)",
    "CREATE INDEX IF NOT EXISTS ix_pl_form_lot ON portal_lots (list_id, form, lot_id, warehouse_id, r_form)",
    "CREATE INDEX IF NOT EXISTS ix_pl_whf_r ON portal_lots (list_id, warehouse_id, form, r_whf)",
    "CREATE INDEX IF NOT EXISTS ix_pl_whf_lot ON portal_lots (list_id, warehouse_id, form, lot_id, r_whf)",
    "CREATE INDEX IF NOT EXISTS ix_pl_cum ON portal_lots (list_id, cum)",
)
LOT_COLS = "r, warehouse_id, lot_id, form, purity_ppm, quantity, assay_ref, pos"


def cum_key(n: int) -> bytes:
    return n.to_bytes(32, "big")


@dataclass(frozen=True)
class LotRow:
    rank: int
    warehouse_id: str
    lot_id: str
    form: str
    purity_ppm: int
    quantity: int
    assay_ref: str
    pos: int

    def value(self, product_code: str) -> list:
        """The leaf value in LOT_LEAF_TYPES order, JSON-ready the way @openzeppelin/merkle-tree
        dumps it (integers as decimal strings)."""
        return [self.warehouse_id, self.lot_id, product_code, self.form, str(self.purity_ppm), str(self.quantity),
                self.assay_ref]

    def as_tuple(self, product_code: str) -> tuple:
        return (self.warehouse_id, self.lot_id, product_code, self.form, self.purity_ppm, self.quantity, self.assay_ref)


def _row(r) -> LotRow:
    return LotRow(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7])


@dataclass(frozen=True)
class LotList:
    id: int
    product_code: str
    root: str
    lot_count: int
    total: int
    source: str
    built_at: int
    facets: dict


class LotIndex:
    """One SQLite file; a connection per thread (the web server answers from a thread pool)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._build_lock = threading.Lock()
        with self._conn() as c:
            c.executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        c = getattr(self._local, "conn", None)
        if c is None:
            c = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            c.execute("PRAGMA journal_mode=WAL")
            c.execute("PRAGMA synchronous=NORMAL")
            c.execute("PRAGMA cache_size=-65536")
            c.execute("PRAGMA mmap_size=1073741824")
            self._local.conn = c
        return c

    # ---------------------------------------------------------------- lists
    def find(self, product_code: str, root: str) -> LotList | None:
        r = self._conn().execute("SELECT id, product_code, root, lot_count, total, source, built_at, facets FROM "
                                 "portal_lists WHERE product_code = ? AND root = ? AND complete = 1",
                                 (product_code, root.lower())).fetchone()
        return None if r is None else LotList(r[0], r[1], r[2], r[3], int(r[4]), r[5], r[6], json.loads(r[7]))

    def build(self, product_code: str, root: str, lots: Sequence[tuple[Any, ...]], source: str) -> LotList:
        """Store a lot list (tuples in the reconcile store's layout: warehouse, lot, product, form,
        purity_ppm, quantity, assay_ref, status, leaf, ...) whose Merkle root must be ``root``."""
        root = root.lower()
        with self._build_lock:
            found = self.find(product_code, root)
            if found is not None:
                return found
            if not lots:
                raise ValueError(f"{product_code}: empty lot list")
            lots = sorted(lots, key=lambda x: (x[1], x[0]))
            tree = StandardMerkleTree(LOT_LEAF_TYPES, [None] * len(lots), [bytes(x[8]) for x in lots])  # type: ignore[list-item]  # values are not kept: rows go to portal_lots
            got = "0x" + tree.root.hex()
            if got != root:
                raise ValueError(f"{product_code}: the lot list gives root {got}, not the attested {root}")
            c = self._conn()
            with c:
                c.execute("DELETE FROM portal_lots WHERE list_id IN (SELECT id FROM portal_lists WHERE product_code = ? "
                          "AND root = ?)", (product_code, root))
                c.execute("DELETE FROM portal_nodes WHERE list_id IN (SELECT id FROM portal_lists WHERE product_code = ? "
                          "AND root = ?)", (product_code, root))
                c.execute("DELETE FROM portal_lists WHERE product_code = ? AND root = ?", (product_code, root))
                total = sum(int(x[5]) for x in lots)
                list_id = c.execute("INSERT INTO portal_lists (product_code, root, lot_count, total, source, built_at) "
                                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                                    (product_code, root, len(lots), str(total), source, int(time.time()))).fetchone()[0]
                n_wh: dict[str, int] = {}
                n_form: dict[str, int] = {}
                n_whf: dict[tuple, int] = {}
                cum = 0
                rows = []
                for i, x in enumerate(lots):
                    wh, form = x[0], x[3]
                    a, b, k = n_wh.get(wh, 0), n_form.get(form, 0), n_whf.get((wh, form), 0)
                    n_wh[wh], n_form[form], n_whf[(wh, form)] = a + 1, b + 1, k + 1
                    rows.append((list_id, i, a, b, k, wh, x[1], form, int(x[4]), str(int(x[5])), x[6],
                                 tree.tree_index[i], cum_key(cum)))
                    cum += int(x[5])
                    if len(rows) >= 50_000:
                        c.executemany("INSERT INTO portal_lots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                        rows = []
                if rows:
                    c.executemany("INSERT INTO portal_lots VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                step = 100_000
                for s in range(0, len(tree.tree), step):
                    c.executemany("INSERT INTO portal_nodes VALUES (?, ?, ?)",
                                  [(list_id, p, tree.tree[p]) for p in range(s, min(s + step, len(tree.tree)))])
                for ddl in INDEXES:
                    c.execute(ddl)
                facets = {"warehouses": dict(sorted(n_wh.items())), "forms": dict(sorted(n_form.items()))}
                c.execute("UPDATE portal_lists SET complete = 1, facets = ? WHERE id = ?", (json.dumps(facets), list_id))
            c.execute("ANALYZE")
            return cast(LotList, self.find(product_code, root))  # complete now: found

    def prune(self, product_code: str, keep_root: str) -> None:
        """Drop the product's older lists (after a new one is complete)."""
        c = self._conn()
        with c:
            ids = [i for (i,) in c.execute("SELECT id FROM portal_lists WHERE product_code = ? AND root != ?",
                                           (product_code, keep_root.lower()))]
            for i in ids:
                c.execute("DELETE FROM portal_lots WHERE list_id = ?", (i,))
                c.execute("DELETE FROM portal_nodes WHERE list_id = ?", (i,))
                c.execute("DELETE FROM portal_lists WHERE id = ?", (i,))

    # ---------------------------------------------------------------- search
    def search(self, lst: LotList, prefix: str = "", warehouse: str | None = None, form: str | None = None,
               offset: int = 0, limit: int = 50) -> tuple[int, list[LotRow]]:
        """(number of matching lots, the ``limit`` lots from ``offset``) in (lot id, warehouse) order."""
        group, rank = [], "r"
        if warehouse is not None and form is not None:
            group, rank = [("warehouse_id", warehouse), ("form", form)], "r_whf"
        elif warehouse is not None:
            group, rank = [("warehouse_id", warehouse)], "r_wh"
        elif form is not None:
            group, rank = [("form", form)], "r_form"
        where = "list_id = ?" + "".join(f" AND {col} = ?" for col, _ in group)
        params = [lst.id] + [v for _, v in group]
        c = self._conn()
        last = c.execute(f"SELECT {rank} FROM portal_lots WHERE {where} ORDER BY {rank} DESC LIMIT 1", params).fetchone()
        if last is None:
            return 0, []
        lo, hi = 0, last[0] + 1
        if prefix:
            upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            first = c.execute(f"SELECT {rank} FROM portal_lots WHERE {where} AND lot_id >= ? ORDER BY lot_id LIMIT 1",
                              params + [prefix]).fetchone()
            if first is None:
                return 0, []
            beyond = c.execute(f"SELECT {rank} FROM portal_lots WHERE {where} AND lot_id >= ? ORDER BY lot_id LIMIT 1",
                               params + [upper]).fetchone()
            lo, hi = first[0], (hi if beyond is None else beyond[0])
        count = max(0, hi - lo)
        a, b = lo + offset, min(hi, lo + offset + limit)
        if a >= b:
            return count, []
        rows = c.execute(f"SELECT {LOT_COLS} FROM portal_lots WHERE {where} AND {rank} >= ? AND {rank} < ? "
                         f"ORDER BY {rank}", params + [a, b]).fetchall()
        return count, [_row(r) for r in rows]

    def lots_by_id(self, lst: LotList, lot_id: str) -> list[LotRow]:
        return [_row(r) for r in self._conn().execute(
            f"SELECT {LOT_COLS} FROM portal_lots WHERE list_id = ? AND lot_id = ? ORDER BY warehouse_id",
            (lst.id, lot_id))]

    def proof_and_leaf(self, lst: LotList, row: LotRow) -> tuple[list[str], str]:
        """Sibling hashes from the lot's leaf to the root (StandardMerkleTree order) and the leaf,
        in one query."""
        want = proof_positions(row.pos)
        got = dict(self._conn().execute(f"SELECT pos, hash FROM portal_nodes WHERE list_id = ? AND pos IN "
                                        f"({', '.join('?' * (len(want) + 1))})", [lst.id, row.pos, *want]))
        return ["0x" + bytes(got[p]).hex() for p in want], "0x" + bytes(got[row.pos]).hex()

    def proof(self, lst: LotList, row: LotRow) -> list[str]:
        return self.proof_and_leaf(lst, row)[0]

    def leaf(self, lst: LotList, row: LotRow) -> str:
        return self.proof_and_leaf(lst, row)[1]

    def dump_chunks(self, lst: LotList, product_code: str, batch: int = 20_000):
        """The whole tree as @openzeppelin/merkle-tree's ``standard-v1`` dump (what
        ``StandardMerkleTree.load`` reads), in text chunks: streamed, never held whole."""
        c = sqlite3.connect(self.path, check_same_thread=False, timeout=30)  # the stream may hop threads
        try:
            yield '{"format":"standard-v1","leafEncoding":' + json.dumps(LOT_LEAF_TYPES) + ',"tree":['
            cur = c.execute("SELECT hash FROM portal_nodes WHERE list_id = ? ORDER BY pos", (lst.id,))
            first = True
            while rows := cur.fetchmany(batch):
                yield ("" if first else ",") + ",".join('"0x' + bytes(h).hex() + '"' for (h,) in rows)
                first = False
            yield '],"values":['
            cur = c.execute("SELECT warehouse_id, lot_id, form, purity_ppm, quantity, assay_ref, pos FROM portal_lots "
                            "WHERE list_id = ? ORDER BY r", (lst.id,))
            first = True
            while rows := cur.fetchmany(batch):
                yield ("" if first else ",") + ",".join(
                    json.dumps({"value": [w, lot, product_code, f, str(ppm), q, a], "treeIndex": pos})
                    for w, lot, f, ppm, q, a, pos in rows)
                first = False
            yield "]}"
        finally:
            c.close()

    def covering(self, lst: LotList, start: int, end: int, limit: int) -> list[tuple[LotRow, int]]:
        """Lots whose quantity interval [cum, cum + quantity) meets [start, end), with the start of each."""
        if end <= start:
            return []
        c = self._conn()
        first = c.execute("SELECT cum FROM portal_lots WHERE list_id = ? AND cum <= ? ORDER BY cum DESC LIMIT 1",
                          (lst.id, cum_key(start))).fetchone()
        lo = cum_key(0) if first is None else first[0]
        rows = c.execute(f"SELECT {LOT_COLS}, cum FROM portal_lots WHERE list_id = ? AND cum >= ? AND cum < ? "
                         f"ORDER BY cum LIMIT ?", (lst.id, lo, cum_key(end), limit)).fetchall()
        return [(_row(r), int.from_bytes(r[8], "big")) for r in rows]
