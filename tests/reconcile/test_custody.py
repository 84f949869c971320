"""Custody exports: schema, validation (every bad-row kind), encodings, idempotent ingestion, snapshots."""

from __future__ import annotations

import json
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from stockpile.merkle import lot_tree
from stockpile.reconcile.custody import Catalogue, ExportError, read_export
from stockpile.reconcile.custody.generator import BAD_ROW_KINDS, generate
from stockpile.reconcile.custody.parse import CheckedRow, read_rejects
from stockpile.reconcile.db.engine import head_revision

CAT = Catalogue.load()
OZ_REFERENCE = Path(__file__).resolve().parents[1] / "merkle" / "oz_reference.js"


def oz(types, values):
    """Root from @openzeppelin/merkle-tree itself (node)."""
    payload = {"types": types, "values": [[str(x) if isinstance(x, int) else x for x in v] for v in values]}
    out = subprocess.run(["node", str(OZ_REFERENCE)], input=json.dumps(payload), capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout)


def rows_of(path, **kw):
    meta, it = read_export(path, CAT, **kw)
    good, bad = [], []
    for r in it:
        (good if isinstance(r, CheckedRow) else bad).append(r)
    return meta, good, bad


def lot_fields(x: CheckedRow) -> tuple:
    """What a lot is, whatever file it came from (not its line)."""
    return (x.warehouse_id, x.lot_id, x.product_code, x.form, x.purity_ppm, x.quantity, x.assay_ref)


@pytest.mark.parametrize("kind", BAD_ROW_KINDS)
def test_each_bad_row_kind_is_rejected_with_its_line_and_reason_and_good_rows_kept(kind, db, tmp_path):
    g = generate(60, seed=11, bad_rows={kind: 2})
    path = g.write_csv(tmp_path / "wh.csv")
    res = db.ingest(path, rejects_dir=tmp_path / "rejects")
    assert res.accepted == 60 and res.rejected == 2
    assert res.reject_counts == {kind: 2}
    rejects = read_rejects(res.rejects_path)
    expected_lines = g.bad_lines(first_data_line=3)
    assert {int(r["line"]): r["code"] for r in rejects} == expected_lines
    # the raw row is kept in the rejects file and the DB; nothing is lost
    lines = path.read_text().splitlines()
    for r in rejects:
        assert r["raw"] == lines[int(r["line"]) - 1]
        assert r["reason"]
    assert [x["line"] for x in db.rejects(res.snapshot_id)] == sorted(expected_lines)
    assert db.count("lots") == 60


def test_reasons_are_clear(tmp_path):
    text = ("warehouse_id,lot_id,product_code,form,purity,gross_quantity,net_quantity,unit,assay_ref,status,as_of\n"
            "W1,A,NDPR-OXIDE,powder,99.5,10,9,kg,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,B,NDPR-OXIDE,powder,99.5,10,,kg,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,C,NDPR-OXIDE,powder,99.5,10,abc,kg,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,D,XX,powder,99.5,10,9,kg,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,E,NDPR-OXIDE,powder,99.5,10,-3,kg,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,F,NDPR-OXIDE,powder,99.5,10,9,kg,S1,lost,2026-11-20T00:00:00Z\n"
            "W1,A,NDPR-OXIDE,powder,99.5,10,9,kg,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,G,NDPR-OXIDE,powder,99.5,10,9,kg,S1,in_stock\n"
            "W1,H,NDPR-OXIDE,powder,99.5,10,11,kg,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,I,NDPR-OXIDE,powder,99.5,10,9,furlong,S1,in_stock,2026-11-20T00:00:00Z\n"
            "W1,J,NDPR-OXIDE,powder,99.5,10,9,kg,S1,in_stock,yesterday\n"
            "W1,K,AG-BAR,bar,99.9,10,9.0000001,ozt,S1,in_stock,2026-11-20T00:00:00Z\n")
    p = tmp_path / "x.csv"
    p.write_text(text)
    _, good, bad = rows_of(p)
    assert [r.lot_id for r in good] == ["A"]
    got = {r.line: (r.code, r.reason) for r in bad}
    assert got[3] == ("missing_field", "missing field net_quantity")
    assert got[4] == ("bad_number", "bad number in net_quantity: 'abc'")
    assert got[5] == ("unknown_product", "unknown product 'XX'")
    assert got[6][0] == "nonpositive_quantity" and "-3" in got[6][1]
    assert got[7][0] == "unknown_status" and "'lost'" in got[7][1]
    assert got[8] == ("duplicate_lot", "duplicate lot id A in warehouse W1 (first at line 2)")
    assert got[9][0] == "column_count"
    assert got[10][0] == "net_above_gross"
    assert got[11][0] == "unknown_unit"
    assert got[12][0] == "bad_time"
    assert got[13][0] == "bad_number" and "finer than 1 base unit" in got[13][1]


def test_zero_quantity_is_rejected(tmp_path):
    p = tmp_path / "z.csv"
    p.write_text("warehouse_id,lot_id,product_code,form,purity,gross_quantity,net_quantity,unit,assay_ref,status,as_of\n"
                 "W1,A,DY-METAL,ingot,99.9,1,0.000,kg,S,in_stock,2026-11-20T00:00:00Z\n")
    _, good, bad = rows_of(p)
    assert not good and bad[0].code == "nonpositive_quantity"


def test_bom_crlf_and_decimal_comma_from_metadata(tmp_path):
    g = generate(30, seed=5)
    plain = g.write_csv(tmp_path / "plain.csv")
    odd = g.write_csv(tmp_path / "odd.csv", decimal_comma=True, crlf=True, bom=True)
    raw = odd.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b";" in raw
    _, a, bad_a = rows_of(plain)
    meta, b, bad_b = rows_of(odd)
    assert meta.decimal_comma and meta.delimiter == ";"
    assert not bad_a and not bad_b
    assert [lot_fields(x) for x in a] == [lot_fields(x) for x in b]
    assert [x.leaf for x in a] == [x.leaf for x in b]


def test_decimal_comma_by_option_and_thousands_separators(tmp_path):
    p = tmp_path / "dc.csv"
    p.write_text("warehouse_id;lot_id;product_code;form;purity;gross_quantity;net_quantity;unit;assay_ref;status;as_of\n"
                 "W1;A;NDPR-OXIDE;powder;99,95;1.234,5;1.200,25;kg;S;in_stock;2026-11-20T00:00:00Z\n")
    _, good, bad = rows_of(p, decimal_comma=True)
    assert not bad
    assert good[0].net_quantity == "1200.25" and good[0].purity_ppm == 999_500
    assert int(good[0].quantity) == 120025 * 10**16
    _, good, bad = rows_of(p)  # without the option the comma is not a decimal mark
    assert not good and bad[0].code == "bad_number"


def test_quantities_convert_exactly_to_base_units():
    assert CAT["NDPR-OXIDE"].to_base_units(Decimal("0.000000000000000001"), "kg") == 1
    assert CAT["NDPR-OXIDE"].to_base_units(Decimal("1.5"), "t") == 1500 * 10**18
    assert CAT["LI2CO3"].to_base_units(Decimal("250"), "kg") == 25 * 10**16
    assert CAT["AG-BAR"].to_base_units(Decimal("31.1034768"), "g") == 10**6
    with pytest.raises(ValueError, match="finer"):
        CAT["AG-BAR"].to_base_units(Decimal("1"), "g")


def test_json_export_same_lots_as_csv(tmp_path):
    g = generate(25, seed=9, bad_rows={"unknown_status": 1})
    _, a, ra = rows_of(g.write_csv(tmp_path / "a.csv"))
    meta, b, rb = rows_of(g.write_json(tmp_path / "a.json", metadata={"as_of": "2026-11-20T00:00:00Z"}))
    assert meta.format == "json"
    assert [lot_fields(x) for x in a] == [lot_fields(x) for x in b]
    assert [r.code for r in ra] == [r.code for r in rb] == ["unknown_status"]
    assert rb[0].line == g.bad[0]["index"] + 1  # JSON "line" is the record number


def test_json_numbers_and_bad_values(tmp_path):
    p = tmp_path / "n.json"
    p.write_text(json.dumps({"format": "stockpile-custody-export", "version": 1, "as_of": "2026-11-20T00:00:00Z",
                             "warehouse_id": "W9", "lots": [
                                 {"lot_id": "A", "product_code": "TB-METAL", "form": "ingot", "purity": 99.99,
                                  "gross_quantity": 10.5, "net_quantity": 10, "unit": "kg", "status": "in_stock"},
                                 {"lot_id": "B", "product_code": "TB-METAL", "purity": True, "gross_quantity": 1,
                                  "net_quantity": 1, "unit": "kg", "status": "in_stock"},
                                 {"lot_id": "C", "colour": "red"}, "nonsense"]}))
    _, good, bad = rows_of(p)
    assert [(x.warehouse_id, x.lot_id, int(x.quantity)) for x in good] == [("W9", "A", 10 * 10**18)]
    assert [(r.line, r.code) for r in bad] == [(2, "bad_number"), (3, "unknown_field"), (4, "bad_record")]


def test_export_level_errors_are_named(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("warehouse_id,lot_id\nW,L\n")
    with pytest.raises(ExportError, match="header lacks column"):
        read_export(p, CAT)
    p.write_text("")
    with pytest.raises(ExportError, match="no header"):
        read_export(p, CAT)
    p2 = tmp_path / "bad.json"
    p2.write_text("{not json")
    with pytest.raises(ExportError, match="not valid JSON"):
        read_export(p2, CAT)


def test_reingest_changes_nothing_and_new_exports_are_dated_snapshots(db, tmp_path):
    first = generate(40, seed=1, as_of="2026-11-19T00:00:00Z").write_csv(tmp_path / "d1.csv")
    r1 = db.ingest(first)
    before = {t: db.count(t) for t in ("snapshots", "lots", "rejects", "snapshot_warehouses")}
    r1b = db.ingest(first)
    assert r1b.duplicate and r1b.snapshot_id == r1.snapshot_id
    assert {t: db.count(t) for t in before} == before
    second = generate(40, seed=1, as_of="2026-11-20T00:00:00Z", discrepancies={"quantity_mismatch": 1})
    r2 = db.ingest(second.write_csv(tmp_path / "d2.csv"))
    assert not r2.duplicate and r2.snapshot_id != r1.snapshot_id
    snaps = db.snapshots()
    assert [s["as_of"] for s in snaps] == sorted(s["as_of"] for s in snaps) and len(snaps) == 2
    # views as of each date pick the right snapshot per warehouse
    old = db.custody_view(as_of=r1.as_of)
    new = db.custody_view()
    assert {x[9] for x in old} == {r1.snapshot_id} and {x[9] for x in new} == {r2.snapshot_id}
    assert db.custody_view(as_of=r1.as_of - 1) == []


def test_ingestion_path_roots_equal_openzeppelin(db, tmp_path):
    """Leaves stored at ingestion build the same tree as lot_tree and as @openzeppelin/merkle-tree."""
    from stockpile.merkle import LOT_LEAF_TYPES
    from stockpile.reconcile.breaks.classify import merkle_root

    g = generate(40, seed=21, products=["NDPR-OXIDE", "AG-BAR"])
    db.ingest(g.write_csv(tmp_path / "m.csv"))
    view = db.custody_view()
    for product in ("NDPR-OXIDE", "AG-BAR"):
        lots = [x for x in view if x[2] == product and x[7] in ("in_stock", "allocated")]
        tuples = [x[:7] for x in lots]
        ref = oz(LOT_LEAF_TYPES, tuples)["root"]
        assert merkle_root([x[8] for x in lots]) == ref
        assert "0x" + lot_tree(tuples).root.hex() == ref
        assert "0x" + lot_tree(g.attested[product]).root.hex() == ref


def test_samples_ingest_cleanly(sqlite_db, tmp_path):
    from stockpile.reconcile.samples import SAMPLES

    for path in SAMPLES:
        res = sqlite_db.ingest(path, rejects_dir=tmp_path)
        assert res.rejected == 0 and res.accepted > 0, path


def test_migrations_are_at_head(db):
    assert db.revision == head_revision()


def test_parallel_ingestion_equals_sequential(tmp_path):
    """Worker processes check chunks; the duplicate rule and line numbers stay global and ordered."""
    from stockpile.reconcile.db import store
    from stockpile.reconcile.db.store import Database

    g = generate(3000, seed=31, bad_rows=dict.fromkeys(BAD_ROW_KINDS, 3))
    path = g.write_csv(tmp_path / "big.csv")
    old = store.BATCH
    store.BATCH = 257  # many chunks, a duplicate's first occurrence usually in an earlier chunk
    try:
        results = []
        for workers in (1, 2):
            d = Database(tmp_path / f"w{workers}.db")
            r = d.ingest(path, workers=workers, rejects_dir=tmp_path / f"rej{workers}")
            results.append((r.accepted, r.rejected, r.reject_counts, read_rejects(r.rejects_path),
                            d.custody_view()))
            d.dispose()
    finally:
        store.BATCH = old
    assert results[0] == results[1]
    assert results[0][2] == dict.fromkeys(BAD_ROW_KINDS, 3)


def test_existing_database_is_upgraded_on_start_keeping_its_data(tmp_path):
    from alembic import command
    from sqlalchemy import text

    from stockpile.reconcile.db.engine import alembic_config, make_engine
    from stockpile.reconcile.db.store import Database

    engine = make_engine(tmp_path / "old.db")
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO snapshots (kind, content_hash, source, format, as_of, ingested_at, accepted, "
                          "rejected, size_bytes, meta) VALUES ('custody', 'abc', 'old.csv', 'csv', 1, 1, 0, 0, 0, '{}')"))
    engine.dispose()
    db = Database(tmp_path / "old.db")
    assert db.revision == head_revision() != "0001"
    assert [s["source"] for s in db.snapshots()] == ["old.csv"]
    db.dispose()


def test_a_new_sqlite_database_has_16k_pages_and_an_old_one_keeps_its_own(tmp_path):
    """New files get SQLITE_PAGE_SIZE (faster bulk ingestion); a database made with SQLite's default
    4 KiB pages keeps them (the pragma cannot change a file that holds tables, or is in WAL mode)
    and still opens, ingests and reads."""
    import sqlite3

    from stockpile.reconcile.db.engine import SQLITE_PAGE_SIZE
    from stockpile.reconcile.db.store import Database
    from stockpile.reconcile.samples import SAMPLES

    new = Database(tmp_path / "new.db")
    new.dispose()
    assert SQLITE_PAGE_SIZE == 16384
    assert sqlite3.connect(tmp_path / "new.db").execute("PRAGMA page_size").fetchone()[0] == SQLITE_PAGE_SIZE
    old = sqlite3.connect(tmp_path / "old.db")
    old.execute("CREATE TABLE keep (x INTEGER)")  # a file with a table: its page size is fixed
    old.commit()
    old.close()
    db = Database(tmp_path / "old.db")
    res = db.ingest(SAMPLES[0])
    assert res.accepted > 0 and len(db.custody_view()) == res.accepted
    db.dispose()
    assert sqlite3.connect(tmp_path / "old.db").execute("PRAGMA page_size").fetchone()[0] == 4096


# the tables and columns a database made at 0001 / 0002 has (snapshots.report_hash came with 0002)
_OLD_SCHEMA = {
    "snapshots": "id, kind, content_hash, source, format, as_of, ingested_at, accepted, rejected, size_bytes, meta, "
                 "rejects_path",
    "snapshot_warehouses": "snapshot_id, warehouse_id, as_of, lots",
    "lots": "id, snapshot_id, line, warehouse_id, lot_id, product_code, form, purity_ppm, gross_quantity, "
            "net_quantity, unit, assay_ref, status, as_of, quantity, leaf",
    "rejects": "id, snapshot_id, line, code, reason, raw",
    "attested_roots": "id, snapshot_id, product_code, root, total, lot_count",
}


@pytest.mark.parametrize("start", ["0001", "0002"])
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_upgrading_a_database_that_holds_lots_keeps_every_lot(start, backend, tmp_path, empty_db_url):
    """Reproduced: 0002 and 0003 alter `snapshots` in batch mode, which on SQLite copies the table
    and drops the old one; with foreign keys on, that drop cascade-deleted every lot, reject,
    warehouse row and attested root of an existing database. Every row must survive the upgrade."""
    from alembic import command
    from sqlalchemy import text

    from stockpile.reconcile.db.engine import alembic_config, make_engine
    from stockpile.reconcile.db.store import Database

    def url(name):
        return empty_db_url(backend, name)

    g = generate(300, seed=41, bad_rows={"bad_number": 2, "unknown_status": 1})
    custody = g.write_csv(tmp_path / "wh.csv")
    attested = g.write_csv(tmp_path / "attested.csv")  # a second snapshot, of the attested kind
    new = Database(url("new"))
    res = new.ingest(custody, rejects_dir=tmp_path, columnar=False)
    new.ingest(attested, kind="attested", rejects_dir=tmp_path, columnar=False)
    assert res.accepted == 300 and res.rejected == 3
    want = {t: new.count(t) for t in _OLD_SCHEMA}
    assert want["lots"] == 600 and want["rejects"] == 6 and want["attested_roots"] > 0
    want_view, want_leaves, want_rejects = new.custody_view(), new.reserve_leaves(), new.rejects(res.snapshot_id)

    old_url = url("old")
    engine = make_engine(old_url)
    cfg = alembic_config()
    with new.engine.connect() as src, engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, start)
        for table, cols in _OLD_SCHEMA.items():
            if table == "snapshots" and start >= "0002":
                cols += ", report_hash"
            rows = [dict(r._mapping) for r in src.execute(text(f"SELECT {cols} FROM {table} ORDER BY 1"))]
            names = [c.strip() for c in cols.split(",")]
            conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({', '.join(':' + c for c in names)})"), rows)
    engine.dispose()
    new.dispose()

    old = Database(old_url)  # migrated on open, from `start` to head
    try:
        assert old.revision == head_revision()
        assert {t: old.count(t) for t in _OLD_SCHEMA} == want
        assert old.custody_view() == want_view
        assert old.reserve_leaves() == want_leaves  # 0005 filled the leaf sets from the surviving lots
        assert old.rejects(res.snapshot_id) == want_rejects
        if backend == "sqlite":  # foreign keys are on again for everything after the migrations
            with old.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        old.dispose()
