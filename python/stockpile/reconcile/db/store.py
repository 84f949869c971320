"""Ingestion of custody exports (bulk, streaming) and custody views as of a time."""

from __future__ import annotations

import json
import multiprocessing
import time
from collections import deque
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, text

from stockpile.reconcile.custody.parse import (
    Reject, Validator, check_chunk, duplicate_reason, file_hashes, init_worker, parse_time, read_records, write_rejects,
)
from stockpile.reconcile.custody.schema import RESERVE_STATUSES, Catalogue
from stockpile.reconcile.db.engine import make_engine, migrate
from stockpile.reconcile.progress import gc_paused, progress

BATCH = 20_000  # records per chunk (checked in a worker process when parallel)

LOT_COLUMNS = ("snapshot_id", "line", "warehouse_id", "lot_id", "product_code", "form", "purity_ppm", "gross_quantity",
               "net_quantity", "unit", "assay_ref", "status", "as_of", "quantity", "leaf")

# Index positions of a view lot tuple (see custody_view)
W, L, P, F, PPM, Q, A, S, LEAF, SID, LINE = range(11)


@dataclass
class IngestResult:
    snapshot_id: int
    path: str
    content_hash: str
    kind: str
    accepted: int
    rejected: int
    as_of: int
    duplicate: bool = False
    rejects_path: str | None = None
    warehouses: dict[str, int] = field(default_factory=dict)
    reject_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Database:
    """A reconciliation database (SQLite file by default, PostgreSQL by URL), migrated on open."""

    def __init__(self, url: str | Path | None = None, engine: Engine | None = None):
        self.engine = engine or make_engine(url)
        self.revision = migrate(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------- ingestion
    def find_snapshot(self, content_hash: str, kind: str = "custody"):
        with self.engine.connect() as conn:
            return conn.execute(text("SELECT id, source, as_of, accepted, rejected, rejects_path FROM snapshots "
                                     "WHERE kind = :k AND content_hash = :h"), {"k": kind, "h": content_hash}).first()

    def ingest(
        self,
        path: str | Path,
        catalogue: Catalogue | None = None,
        kind: str = "custody",
        rejects_dir: str | Path | None = None,
        decimal_comma: bool | None = None,
        show_progress: bool = False,
        workers: int | None = None,
    ) -> IngestResult:
        """Ingest one export. The same file (same bytes) a second time changes nothing and
        returns the snapshot it made the first time (``duplicate=True``)."""
        if kind not in ("custody", "attested"):
            raise ValueError(f"kind must be custody or attested, not {kind!r}")
        started = time.perf_counter()
        catalogue = catalogue or Catalogue.load()
        path = Path(path)
        digest, size, report_hash = file_hashes(path)
        existing = self.find_snapshot(digest, kind)
        if existing is not None:
            return IngestResult(existing.id, str(path), digest, kind, existing.accepted, existing.rejected, existing.as_of,
                                duplicate=True, rejects_path=existing.rejects_path,
                                seconds=time.perf_counter() - started)
        with gc_paused():
            return self._ingest(path, catalogue, kind, rejects_dir, decimal_comma, show_progress, workers, started,
                                digest, size, report_hash)

    def _ingest(self, path, catalogue, kind, rejects_dir, decimal_comma, show_progress, workers, started, digest,
                size, report_hash) -> IngestResult:
        meta, records = read_records(path, catalogue, decimal_comma=decimal_comma, content_hash=(digest, size))
        if workers is None:
            workers = 1  # measured: on 2 shared cores the worker pool (pickling) was slower than one process
        rejects: list[Reject] = []
        wh_count: dict[str, int] = defaultdict(int)
        wh_as_of: dict[str, int] = {}
        roots: dict[str, list[tuple[bytes, int]]] = defaultdict(list)
        seen: dict[str, int] = {}
        accepted = 0
        attested = kind == "attested"
        pool = _pool(catalogue, meta, workers) if workers > 1 else None
        try:
            with self.engine.begin() as conn:
                sid = conn.execute(
                    text("INSERT INTO snapshots (kind, content_hash, report_hash, source, format, as_of, ingested_at, "
                         "accepted, rejected, size_bytes, meta) VALUES (:kind, :h, :rh, :src, :fmt, 0, :now, 0, 0, "
                         ":size, :meta) RETURNING id"),
                    {"kind": kind, "h": digest, "rh": report_hash, "src": str(path), "fmt": meta.format,
                     "now": int(time.time()), "size": size, "meta": json.dumps(meta.meta)},
                ).scalar_one()
                writer = _writer(conn, self.dialect, sid)
                bar = progress(desc=f"ingest {path.name}", unit=" rows", total=None, enabled=show_progress)
                local = None if pool else Validator(catalogue, meta.decimal_comma, meta.default_as_of)
                for chunk, results in _checked_chunks(records, pool, local, workers):
                    batch: list[tuple] = []
                    it = iter(results)
                    for rec in chunk:
                        if type(rec) is Reject:
                            rejects.append(rec)
                            continue
                        res = next(it)
                        if res[0] is None:
                            rejects.append(Reject(rec[0], res[1], res[2], rec[2]))
                            continue
                        wh = res[1]
                        key = wh + "\x00" + res[2]
                        first = seen.get(key)
                        if first is not None:
                            rejects.append(Reject(rec[0], "duplicate_lot", duplicate_reason(res[2], wh, first), rec[2]))
                            continue
                        seen[key] = rec[0]
                        batch.append(res)
                        wh_count[wh] += 1
                        if res[11] > wh_as_of.get(wh, -1):
                            wh_as_of[wh] = res[11]
                        if attested and res[10] in RESERVE_STATUSES:
                            roots[res[3]].append((res[13], int(res[12])))
                    if batch:
                        writer(batch)
                        accepted += len(batch)
                        bar.update(len(batch))
                bar.close()
                export_as_of = meta.meta.get("as_of")
                snap_as_of = parse_time(export_as_of) if export_as_of else max(wh_as_of.values(), default=0)
                rejects_path = None
                if rejects:
                    rdir = Path(rejects_dir) if rejects_dir else path.parent
                    rejects_path = str(write_rejects(rdir / f"{path.name}.rejects.csv", rejects))
                    conn.execute(text("INSERT INTO rejects (snapshot_id, line, code, reason, raw) VALUES (:s, :l, :c, :r, :raw)"),
                                 [{"s": sid, "l": x.line, "c": x.code, "r": x.reason, "raw": x.raw} for x in rejects])
                conn.execute(text("UPDATE snapshots SET as_of = :a, accepted = :n, rejected = :r, rejects_path = :p WHERE id = :s"),
                             {"a": snap_as_of, "n": accepted, "r": len(rejects), "p": rejects_path, "s": sid})
                if wh_count:
                    conn.execute(text("INSERT INTO snapshot_warehouses (snapshot_id, warehouse_id, as_of, lots) "
                                      "VALUES (:s, :w, :a, :n)"),
                                 [{"s": sid, "w": w, "a": snap_as_of if export_as_of else wh_as_of[w], "n": n}
                                  for w, n in wh_count.items()])
                if kind == "attested":
                    from stockpile.merkle import LOT_LEAF_TYPES, StandardMerkleTree

                    for product, items in roots.items():
                        tree = StandardMerkleTree(LOT_LEAF_TYPES, [None] * len(items), [leaf for leaf, _ in items])  # type: ignore[list-item]  # only the root is read
                        conn.execute(text("INSERT INTO attested_roots (snapshot_id, product_code, root, total, lot_count) "
                                          "VALUES (:s, :p, :r, :t, :n)"),
                                     {"s": sid, "p": product, "r": "0x" + tree.root.hex(),
                                      "t": str(sum(q for _, q in items)), "n": len(items)})
        finally:
            if pool is not None:
                pool.terminate()
        counts: dict[str, int] = defaultdict(int)
        for x in rejects:
            counts[x.code] += 1
        return IngestResult(sid, str(path), digest, kind, accepted, len(rejects), snap_as_of, False, rejects_path,
                            dict(wh_count), dict(counts), time.perf_counter() - started)

    # ---------------------------------------------------------------- views
    def snapshots(self, kind: str = "custody") -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, source, as_of, ingested_at, accepted, rejected, content_hash FROM snapshots "
                                     "WHERE kind = :k ORDER BY as_of, id"), {"k": kind}).mappings().all()
            return [dict(r) for r in rows]

    def view_sources(self, as_of: int | None = None, before_snapshot: int | None = None) -> dict[str, tuple[int, int]]:
        """warehouse -> (snapshot id, as_of) of the latest custody snapshot at or before ``as_of``."""
        q = ("SELECT sw.warehouse_id, sw.snapshot_id, sw.as_of FROM snapshot_warehouses sw "
             "JOIN snapshots s ON s.id = sw.snapshot_id WHERE s.kind = 'custody'")
        params: dict = {}
        if as_of is not None:
            q += " AND sw.as_of <= :t"
            params["t"] = as_of
        best: dict[str, tuple[int, int]] = {}
        with self.engine.connect() as conn:
            for wh, sid, a in conn.execute(text(q), params):
                if before_snapshot is not None and sid >= before_snapshot:
                    continue
                cur = best.get(wh)
                if cur is None or (a, sid) > (cur[1], cur[0]):
                    best[wh] = (sid, a)
        return best

    def custody_view(self, as_of: int | None = None, sources: dict[str, tuple[int, int]] | None = None,
                     show_progress: bool = False) -> list[tuple]:
        """All lots of the custody books as of ``as_of`` (latest snapshot per warehouse), as tuples
        (warehouse, lot, product, form, purity_ppm, quantity, assay_ref, status, leaf, snapshot_id, line)."""
        sources = self.view_sources(as_of) if sources is None else sources
        with gc_paused():
            return self._load_lots(sources.items(), show_progress)

    def _load_lots(self, pairs, show_progress: bool = False) -> list[tuple]:
        out: list[tuple] = []
        cols = ("warehouse_id, lot_id, product_code, form, purity_ppm, quantity, assay_ref, status, leaf, "
                "snapshot_id, line FROM lots WHERE snapshot_id = {p} AND warehouse_id = {p}")
        bar = progress(desc="load custody view", unit=" lots", total=None, enabled=show_progress)
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection  # plain DBAPI cursor: 1M rows without Row objects
            sql = "SELECT " + cols.format(p="%s" if self.dialect == "postgresql" else "?")
            assert raw is not None
            cur = raw.cursor()
            try:
                for wh, (sid, _a) in sorted(pairs):
                    cur.execute(sql, (sid, wh))
                    while chunk := cur.fetchmany(100_000):
                        out.extend([(r[0], r[1], r[2], r[3], r[4], int(r[5]), r[6], r[7], bytes(r[8]), r[9], r[10])
                                    for r in chunk])
                        bar.update(len(chunk))
            finally:
                cur.close()
        bar.close()
        return out

    def report_list(self, product: str, report_hash: str) -> tuple[int, list[tuple]] | None:
        """The reserve lots of ``product`` in the snapshot whose file's keccak256 is ``report_hash``."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT id FROM snapshots WHERE report_hash = :h ORDER BY id DESC"),
                               {"h": report_hash.lower()}).first()
            if row is None:
                return None
            sid = row[0]
            whs = [w for (w,) in conn.execute(text("SELECT warehouse_id FROM snapshot_warehouses WHERE snapshot_id = :s"),
                                              {"s": sid})]
        with gc_paused():
            lots = self._load_lots([(w, (sid, 0)) for w in whs])
        return sid, [x for x in lots if x[P] == product and x[S] in RESERVE_STATUSES]

    def attested_list(self, product: str, root: str) -> tuple[int, list[tuple]] | None:
        """The lots of an ingested ``attested`` snapshot whose root for ``product`` is ``root``."""
        with self.engine.connect() as conn:
            row = conn.execute(text("SELECT snapshot_id FROM attested_roots WHERE product_code = :p AND root = :r "
                                    "ORDER BY id DESC"), {"p": product, "r": root.lower()}).first()
            if row is None:
                return None
            sid = row[0]
            whs = [w for (w,) in conn.execute(text("SELECT warehouse_id FROM snapshot_warehouses WHERE snapshot_id = :s"),
                                              {"s": sid})]
        lots = self._load_lots([(w, (sid, 0)) for w in whs])
        return sid, [x for x in lots if x[P] == product and x[S] in RESERVE_STATUSES]

    def rejects(self, snapshot_id: int) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(text("SELECT line, code, reason, raw FROM rejects WHERE snapshot_id = :s "
                                                       "ORDER BY line"), {"s": snapshot_id}).mappings()]

    def count(self, table: str) -> int:
        if table not in ("snapshots", "lots", "rejects", "chain_events", "chain_blocks", "runs", "breaks",
                         "snapshot_warehouses", "attested_roots", "chain_checkpoints"):
            raise ValueError(table)
        with self.engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _pool(catalogue, meta, workers):
    ctx = multiprocessing.get_context("fork")
    return ctx.Pool(workers, initializer=init_worker, initargs=(catalogue, meta.decimal_comma, meta.default_as_of))


def _checked_chunks(records, pool, validator, workers):
    """(chunk of records, check results aligned to its non-reject records), in file order; with a
    pool, at most a few chunks are in flight so memory stays flat."""
    def chunks():
        chunk = []
        for rec in records:
            chunk.append(rec)
            if len(chunk) >= BATCH:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    if pool is None:
        for chunk in chunks():
            yield chunk, check_chunk([(r[0], r[1]) for r in chunk if type(r) is not Reject], validator)
        return
    pending: deque = deque()
    for chunk in chunks():
        payload = [(r[0], r[1]) for r in chunk if type(r) is not Reject]
        pending.append((chunk, pool.apply_async(check_chunk, (payload,))))
        if len(pending) > 2 * workers:
            c, fut = pending.popleft()
            yield c, fut.get()
    while pending:
        c, fut = pending.popleft()
        yield c, fut.get()


def _writer(conn, dialect: str, sid: int):
    """Bulk writer of checked rows (line, warehouse, ..., leaf) for snapshot ``sid``."""
    cols = ", ".join(LOT_COLUMNS)
    sid = int(sid)
    if dialect == "postgresql":
        raw = conn.connection.driver_connection

        def write(batch: list[tuple]) -> None:
            with raw.cursor() as cur, cur.copy(f"COPY lots ({cols}) FROM STDIN") as cp:
                for row in batch:
                    cp.write_row((sid, *row))

        return write
    if dialect == "sqlite":
        sql = f"INSERT INTO lots ({cols}) VALUES ({sid}, {', '.join('?' * (len(LOT_COLUMNS) - 1))})"
        raw = conn.connection.driver_connection

        def write_sqlite(batch: list[tuple]) -> None:
            raw.executemany(sql, batch)

        return write_sqlite
    ins = text(f"INSERT INTO lots ({cols}) VALUES ({', '.join(':' + c for c in LOT_COLUMNS)})")

    def write_generic(batch: list[tuple]) -> None:
        conn.execute(ins, [dict(zip(LOT_COLUMNS, (sid, *r))) for r in batch])

    return write_generic
