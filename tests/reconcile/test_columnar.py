"""The columnar fast path (custody/columnar.py) stores exactly what the row-by-row exact path
stores: the same lots (leaves included), the same rejects with the same lines, reasons and raw
text, the same warehouse counts; and it gives way to the exact path for files it cannot map
line by line."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text

from stockpile.merkle.lots import lot_leaf
from stockpile.reconcile.custody.generator import BAD_ROW_KINDS, generate
from stockpile.reconcile.db.store import Database

HEADER = "warehouse_id,lot_id,product_code,form,purity,gross_quantity,net_quantity,unit,assay_ref,status,as_of"
T = "2026-11-20T00:00:00Z"

# rows at the edges of every fast check: each must come out as the exact path says
EDGE_ROWS = [
    "W1,E-empty-form,NDPR-OXIDE,,99.5,10,9,kg,,in_stock,",  # empty form, assay and as_of (metadata's)
    "W1,E-long-" + "x" * 40 + ",NDPR-OXIDE,powder-" + "y" * 30 + ",99.5,10,9,kg," + "A" * 70 + ",in_stock," + T,
    "W1,E-exact-32-" + "z" * 18 + ",NDPR-OXIDE,powder,99.5,10,9,kg," + "B" * 32 + ",in_stock," + T,
    "W1, E-space ,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,  # edge spaces: stripped by the exact path
    "W1,E-nonascii-é,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,
    "W1,E-grams,NDPR-OXIDE,powder,99.5,10000,9000,g,S,in_stock," + T,  # another unit: converted exactly
    "W1,E-ounces,AG-BAR,bar,99.99,1000.5,1000.123456,ozt,S,in_stock," + T,
    "W1,E-finer,AG-BAR,bar,99.99,10,1.1234567,ozt,S,in_stock," + T,  # finer than 1 base unit: bad_number
    "W1,E-equal,NDPR-OXIDE,powder,99.5,9,9,kg,S,in_stock," + T,  # net == gross
    "W1,E-equal-text,NDPR-OXIDE,powder,99.5,9.0,9,kg,S,in_stock," + T,  # equal, other text
    "W1,E-above,NDPR-OXIDE,powder,99.5,9.000000000001,9.000000000002,kg,S,in_stock," + T,  # net > gross by a hair
    "W1,E-purity-100,NDPR-OXIDE,powder,100.0000,10,9,kg,S,in_stock," + T,
    "W1,E-purity-over,NDPR-OXIDE,powder,100.0001,10,9,kg,S,in_stock," + T,
    "W1,E-purity-fine,NDPR-OXIDE,powder,99.12345,10,9,kg,S,in_stock," + T,
    "W1,E-purity-zero,NDPR-OXIDE,powder,0,10,9,kg,S,in_stock," + T,
    "W1,E-signed,NDPR-OXIDE,powder,99.5,+10,9,kg,S,in_stock," + T,
    "W1,E-leading-zeros,NDPR-OXIDE,powder,099.5,0010.500,0009.250,kg,S,in_stock," + T,
    "W1,E-huge,NDPR-OXIDE,powder,99.5,1" + "0" * 70 + ",1" + "0" * 70 + ",kg,S,in_stock," + T,
    "W1,E-unix-time,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock,1763596800",
    "W1,E-bad-time,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock,yesterday",
    "W1,E-status,NDPR-OXIDE,powder,99.5,10,9,kg,S,lost," + T,
    "W1,E-product,NOPE,powder,99.5,10,9,kg,S,in_stock," + T,
    "W1,E-1,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,
    "W1,E-1,NDPR-OXIDE,powder,99.5,10,8,kg,S,in_stock," + T,  # duplicate of the row above
    "W1,E-space-dup ,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,  # exact-path row ...
    "W1,E-space-dup,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,  # ... duplicated by a fast row
    "W1,E-tail-dot,NDPR-OXIDE,powder,99.5,10.,9.,kg,S,in_stock," + T,
    "W1,E-too-long-" + "q" * 130 + ",NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,
]


def _export(tmp_path: Path, n: int = 3000) -> Path:
    g = generate(n, seed=7, bad_rows=dict.fromkeys(BAD_ROW_KINDS, 3),
                 discrepancies={"duplicate_across_warehouses": 2, "released": 2})
    base = g.write_csv(tmp_path / "gen.csv")
    lines = base.read_text().splitlines()
    body = [x for x in lines if not x.startswith("#")][1:]
    out = tmp_path / "wh.csv"
    out.write_text("\n".join([f"# as_of: {T}", HEADER, *body[: n // 2], *EDGE_ROWS, *body[n // 2:]]) + "\n")
    return out


def _stored(db: Database) -> tuple:
    with db.engine.connect() as c:
        lots = c.execute(text("SELECT line, warehouse_id, lot_id, product_code, form, purity_ppm, gross_quantity, "
                              "net_quantity, unit, assay_ref, status, as_of, quantity, leaf FROM lots ORDER BY line")).all()
        rejects = c.execute(text("SELECT line, code, reason, raw FROM rejects ORDER BY line, id")).all()
        whs = c.execute(text("SELECT warehouse_id, as_of, lots FROM snapshot_warehouses ORDER BY warehouse_id")).all()
        snap = c.execute(text("SELECT as_of, accepted, rejected, distinct_lot_ids FROM snapshots")).all()
    return [tuple(r[:-1]) + (bytes(r[-1]),) for r in lots], [tuple(r) for r in rejects], whs, snap


@pytest.mark.parametrize("kind, children", [("custody", False), ("attested", False), ("custody", True)])
def test_columnar_and_exact_paths_store_the_same(db, tmp_path, kind, children, monkeypatch):
    from stockpile.reconcile import parallel
    from stockpile.reconcile.custody import columnar
    from stockpile.reconcile.custody.schema import Catalogue

    if children:  # many small chunks, hashed by the forked children, exact-path rows merged into several
        monkeypatch.setattr(columnar, "CHUNK", 300)
        monkeypatch.setattr(parallel, "MIN_SPLIT", 1)
    path = _export(tmp_path)
    cols = columnar.read_columns(path, 2, HEADER.split(","), ",", Catalogue.load(), T, None)
    assert cols is not None and len(cols) > 3000 and len(cols.slow) > 30  # the fast path ran, and left rows to the exact one
    fast = db.ingest(path, kind=kind, rejects_dir=tmp_path / "fast", columnar=True)
    assert fast.accepted > 3000 and fast.rejected > 18
    got = _stored(db)
    other = Database(tmp_path / "exact.db")
    exact = other.ingest(path, kind=kind, rejects_dir=tmp_path / "exact", columnar=False)
    want = _stored(other)
    other.dispose()
    assert (fast.accepted, fast.rejected, fast.reject_counts, fast.warehouses) == (
        exact.accepted, exact.rejected, exact.reject_counts, exact.warehouses)
    assert got[0] == want[0]  # every lot, its leaf included
    assert got[1] == want[1]  # every reject: line, code, reason, raw text
    assert got[2:] == want[2:]
    assert (tmp_path / "fast" / "wh.csv.rejects.csv").read_text() == (tmp_path / "exact" / "wh.csv.rejects.csv").read_text()
    # the same lot id in two warehouses (planted): counted at ingestion, so the view scans the lot ids
    assert got[3][0][3] < got[3][0][1] and (kind == "attested" or db.has_duplicate_lot_ids(db.view_sources()))
    codes = {r[3].split(",")[1].strip(): r[1] for r in got[1] if r[3].startswith("W1,")}  # lot id -> code
    assert codes["E-finer"] == "bad_number" and codes["E-above"] == "net_above_gross" and codes["E-1"] == "duplicate_lot"
    # the leaves are OpenZeppelin's: recomputed from the stored fields with the reference encoder
    for r in got[0][::97]:
        assert r[13] == lot_leaf((r[1], r[2], r[3], r[4], r[5], int(r[12]), r[9]))


def test_a_clean_export_is_stored_grouped_by_warehouse_and_read_back_as_the_exact_path_reads_it(db, tmp_path,
                                                                                                monkeypatch):
    """An export the fast path takes whole (no exact-path row to merge in by line) is written
    warehouse by warehouse, so the (snapshot, warehouse) index only appends at its right edge; what
    the database holds and what a custody view reads back, warehouse by warehouse in line order,
    are those of the exact path."""
    from stockpile.reconcile import parallel
    from stockpile.reconcile.custody import columnar

    monkeypatch.setattr(columnar, "CHUNK", 300)  # many chunks, hashed by the forked children
    monkeypatch.setattr(parallel, "MIN_SPLIT", 1)
    path = generate(3000, seed=11).write_csv(tmp_path / "clean.csv")
    fast = db.ingest(path, rejects_dir=tmp_path / "fast", columnar=True)
    assert fast.accepted == 3000 and fast.rejected == 0
    with db.engine.connect() as c:
        order = [tuple(r) for r in c.execute(text("SELECT warehouse_id, line FROM lots ORDER BY id"))]
    assert len({w for w, _line in order}) == 3
    assert order == sorted(order)  # grouped by warehouse, file order within each
    assert order != sorted(order, key=lambda r: r[1])  # not the file's order: its warehouses are interleaved
    other = Database(tmp_path / "exact.db")
    other.ingest(path, rejects_dir=tmp_path / "exact", columnar=False)
    try:
        assert _stored(db) == _stored(other)
        assert db.custody_view() == other.custody_view()
        assert db.reserve_roots() == other.reserve_roots()
    finally:
        other.dispose()


def test_a_failing_write_mid_ingest_stores_nothing_and_the_export_can_be_ingested_again(db, tmp_path, monkeypatch):
    """The lot rows are written by a background thread, in the ingestion's one transaction: a
    write that fails half-way (disk full, lost connection) raises in the caller and leaves no
    snapshot, lot, leaf set or reject behind; the same export then ingests normally."""
    from stockpile.reconcile import parallel
    from stockpile.reconcile.custody import columnar
    from stockpile.reconcile.db import store

    monkeypatch.setattr(columnar, "CHUNK", 300)
    monkeypatch.setattr(parallel, "MIN_SPLIT", 1)
    real = store._writer

    def failing(conn, dialect, sid):
        write, calls = real(conn, dialect, sid), []

        def fail_at_four():
            calls.append(1)
            if len(calls) == 4:
                raise OSError("disk full")

        def rows(batch):
            fail_at_four()
            write.rows(batch)

        def chunk(c):
            fail_at_four()
            assert write.chunk is not None
            write.chunk(c)
        return store._Writer(rows, chunk if write.chunk is not None else None, write.finish)

    monkeypatch.setattr(store, "_writer", failing)
    path = _export(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        db.ingest(path, rejects_dir=tmp_path, columnar=True)
    tables = ("snapshots", "lots", "reserve_leaves", "rejects", "snapshot_warehouses")
    with db.engine.connect() as c:
        assert {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables} == dict.fromkeys(tables, 0)
    monkeypatch.setattr(store, "_writer", real)
    res = db.ingest(path, rejects_dir=tmp_path, columnar=True)
    assert not res.duplicate and res.accepted > 3000 and db.count("lots") == res.accepted


@pytest.mark.parametrize("body, why", [
    ('W1,A,NDPR-OXIDE,"powder, fine",99.5,10,9,kg,S,in_stock,' + T, "a quoted field"),
    ("W1,A,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T + "\n\nW1,B,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,
     "a blank line"),
    ("W1,A,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T + "\n", "a blank last line"),
    ("W1,A,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T + "\r\n\r\nW1,B,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T,
     "a blank line between CRLF lines"),
    ("W1,A,NDPR-OXIDE,powder,99.5,10,9,kg,S,in_stock," + T + "\nW1,B,NDPR-OXIDE,powder,99.5,10,9,kg,S", "a short row"),
])
def test_files_the_fast_path_cannot_map_line_by_line_go_through_the_exact_path(tmp_path, body, why):
    from stockpile.reconcile.custody import columnar
    from stockpile.reconcile.custody.schema import Catalogue

    path = tmp_path / "wh.csv"
    path.write_text(HEADER + "\n" + body + "\n")
    assert columnar.read_columns(path, 1, HEADER.split(","), ",", Catalogue.load(), None, None) is None, why
    a, b = Database(tmp_path / "a.db"), Database(tmp_path / "b.db")
    ra = a.ingest(path, rejects_dir=tmp_path / "a", columnar=True)
    rb = b.ingest(path, rejects_dir=tmp_path / "b", columnar=False)
    assert (ra.accepted, ra.rejected, ra.reject_counts) == (rb.accepted, rb.rejected, rb.reject_counts)
    assert _stored(a)[:2] == _stored(b)[:2]
    a.dispose()
    b.dispose()


def test_reserve_leaves_give_the_roots_and_totals_of_the_lot_rows(db, tmp_path):
    """reserve_leaves (written at ingestion) hold, per warehouse and product, exactly the reserve
    lots of the lot rows: the view's roots and totals read from them equal those of the rows."""
    from stockpile.reconcile.breaks.classify import merkle_root
    from stockpile.reconcile.custody.schema import RESERVE_STATUSES

    db.ingest(_export(tmp_path), rejects_dir=tmp_path, columnar=True)
    got = db.reserve_leaves()
    lots = db.custody_view()
    for product, (leaves, total) in got.items():
        mine = [x for x in lots if x.product_code == product and x.status in RESERVE_STATUSES]
        assert leaves == sorted(x.leaf for x in mine) and total == sum(x.quantity for x in mine)
        assert merkle_root(leaves, presorted=True) == merkle_root([x.leaf for x in mine])
    assert set(got) == {x.product_code for x in lots if x.status in RESERVE_STATUSES}


def test_migration_0005_fills_reserve_leaves_of_existing_snapshots(tmp_path):
    from alembic import command

    from stockpile.reconcile.db.engine import alembic_config, make_engine

    path = tmp_path / "old.db"
    db = Database(path)
    db.ingest(_export(tmp_path), rejects_dir=tmp_path, columnar=False)
    want = db.reserve_leaves()
    db.dispose()
    engine = make_engine(path)
    cfg = alembic_config()
    with engine.begin() as conn:  # back to a database made before 0005
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    engine.dispose()
    again = Database(path)  # migrated on open: 0005 fills the table from the lot rows
    assert again.reserve_leaves() == want and len(want) >= 4
    again.dispose()


def test_two_core_hashing_gives_the_one_core_digests():
    """The forked children (ChunkWorkers for the leaves of an ingestion) return exactly what
    hashing everything in this process returns, in order; a tree over more leaves than a fork is
    worth has OpenZeppelin's layout's root."""
    import os

    from sha3 import keccak_256

    from stockpile.reconcile.breaks.classify import merkle_root
    from stockpile.reconcile.parallel import MIN_SPLIT, ChunkWorkers
    from stockpile.merkle import StandardMerkleTree

    size, n = 96, MIN_SPLIT + 1234
    buf = os.urandom(size * n)
    want = [keccak_256(keccak_256(buf[i * size:(i + 1) * size]).digest()).digest() for i in range(n)]
    bounds = [(lo, min(lo + 7000, n)) for lo in range(0, n, 7000)]

    def chunk(i):
        lo, hi = bounds[i]
        return b"".join(keccak_256(keccak_256(buf[j * size:(j + 1) * size]).digest()).digest() for j in range(lo, hi))

    for workers in (2, 1, 0):
        with ChunkWorkers(chunk, [hi - lo for lo, hi in bounds], workers) as h:
            assert (h.workers > 0) == (workers > 0 and (os.cpu_count() or 1) > 1)
            got = b"".join(h.get(i) for i in range(len(bounds)))
        assert [got[i:i + 32] for i in range(0, len(got), 32)] == want
    with ChunkWorkers(lambda i: b"".join(want[:10]), [10], 2) as h:  # small work stays in this process
        assert h.workers == 0 and h.get(0) == b"".join(want[:10])
    leaves = want[: 2 * MIN_SPLIT + 7]
    tree = StandardMerkleTree(["bytes32"], [None] * len(leaves), leaves)  # type: ignore[list-item]
    assert merkle_root(leaves) == "0x" + tree.root.hex()


def test_a_hashing_child_that_fails_makes_the_ingestion_fail_not_store_wrong_leaves():
    import os

    from stockpile.reconcile.parallel import MIN_SPLIT, ChunkWorkers

    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: no child processes")
    parent = os.getpid()

    def chunk(i):
        if i == 3 and os.getpid() != parent:
            raise ValueError("boom")
        return bytes(32 * MIN_SPLIT)

    with pytest.raises(RuntimeError, match="chunk 3"), ChunkWorkers(chunk, [MIN_SPLIT] * 6, 2) as h:
        for i in range(6):
            assert h.get(i) == bytes(32 * MIN_SPLIT)


def test_a_snapshot_without_repeated_lot_ids_needs_no_duplicate_scan(db, tmp_path):
    g = generate(400, seed=3)
    res = db.ingest(g.write_csv(tmp_path / "clean.csv"))
    with db.engine.connect() as c:
        assert c.execute(text("SELECT distinct_lot_ids FROM snapshots WHERE id = :s"), {"s": res.snapshot_id}).scalar() == 400
    assert not db.has_duplicate_lot_ids(db.view_sources())
    # a second export of another warehouse repeating a lot id: the views of both snapshots are scanned
    first = g.rows[0]
    (tmp_path / "other.csv").write_text(HEADER + "\n" + ",".join(["WH-OTHER", first[1], *first[2:10], T]) + "\n")
    db.ingest(tmp_path / "other.csv")
    assert db.has_duplicate_lot_ids(db.view_sources())


def test_reserve_roots_are_reused_for_the_same_view_and_recomputed_for_a_newer_snapshot(db, tmp_path, monkeypatch):
    """The Merkle stage's roots (reserve_roots) serve the reconciliation of the same custody view
    without reading a leaf again; a newer snapshot of a warehouse is another view, whose roots are
    computed from its own leaves."""
    from stockpile.reconcile.breaks.classify import merkle_root
    from stockpile.reconcile.custody.schema import RESERVE_STATUSES

    def from_rows(as_of=None):
        out: dict = {}
        for x in db.custody_view(as_of):
            if x.status in RESERVE_STATUSES:
                out.setdefault(x.product_code, []).append(x)
        return {p: (merkle_root([x.leaf for x in v]), sum(x.quantity for x in v), len(v)) for p, v in out.items()}

    g = generate(2000, seed=5, as_of="2026-11-20T00:00:00Z")
    db.ingest(g.write_csv(tmp_path / "old.csv"), rejects_dir=tmp_path)
    first = db.reserve_roots()
    assert first == from_rows() and len(first) >= 3
    sources = db.view_sources()

    def no_leaves(*a, **k):
        raise AssertionError("the leaves were read again")

    with monkeypatch.context() as m:
        m.setattr(db, "view_reserve", no_leaves)
        assert db.reserve_roots() == first
        for p, got in first.items():
            assert db.view_root(sources, p) == got
    # a newer export of the same warehouses: one lot released, one quantity changed
    lines = (tmp_path / "old.csv").read_text().splitlines()
    body = [i for i, x in enumerate(lines) if x and not x.startswith("#") and ",in_stock," in x]
    released, changed = body[3], body[10]
    lines[released] = lines[released].replace(",in_stock,", ",released,")
    f = lines[changed].split(",")
    f[6] = str(Decimal(f[6]) - 1)
    lines[changed] = ",".join(f)
    new = "\n".join(x.replace("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z") for x in lines) + "\n"
    (tmp_path / "new.csv").write_text(new)
    db.ingest(tmp_path / "new.csv", rejects_dir=tmp_path)
    assert db.view_sources() != sources
    second = db.reserve_roots()
    assert second == from_rows() and second != first
    assert db.reserve_roots(as_of=int(sources[next(iter(sources))][1])) == first  # the older view: still its own
