"""Abusive custodian exports (issue 16 #2-#6): every one is a row reject or one clear error naming
the file and the line, on SQLite and PostgreSQL alike; nothing crashes and good rows are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from stockpile.reconcile.cli import reconcile as reconcile_cli
from stockpile.reconcile.custody import Catalogue, ExportError
from stockpile.reconcile.custody.parse import parse_time, read_rejects
from stockpile.reconcile.custody.schema import FIELD_LIMITS

CAT = Catalogue.load()
HEADER = "warehouse_id,lot_id,product_code,form,purity,gross_quantity,net_quantity,unit,assay_ref,status,as_of\n"
T = "2026-11-20T00:00:00Z"


def row(lot="A", wh="W1", gross="10", net="9", as_of=T, assay="S1", product="NDPR-OXIDE", status="in_stock",
        purity="99.5") -> str:
    return f"{wh},{lot},{product},powder,{purity},{gross},{net},kg,{assay},{status},{as_of}\n"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def lots(db, snapshot_id) -> dict[str, str]:
    from sqlalchemy import text

    with db.engine.connect() as c:
        return dict(c.execute(text("SELECT lot_id, quantity FROM lots WHERE snapshot_id = :s"), {"s": snapshot_id}).all())


def codes(db, res) -> dict[int, str]:
    return {r["line"]: r["code"] for r in db.rejects(res.snapshot_id)}


# ---------------------------------------------------------------- #2: row rejects, not crashes
def test_latin1_byte_in_a_csv_row_is_that_rows_reject(db, tmp_path):
    path = write(tmp_path / "wh.csv", (HEADER + row("A")).encode() + row("B\xe9").encode("latin-1") + row("C").encode())
    res = db.ingest(path)
    assert (res.accepted, res.rejected) == (2, 1) and codes(db, res) == {3: "bad_encoding"}
    assert set(lots(db, res.snapshot_id)) == {"A", "C"}
    rej = read_rejects(res.rejects_path)[0]
    assert "UTF-8" in rej["reason"] and "B\\xe9" in rej["raw"]


def test_latin1_byte_in_a_json_record_is_that_records_reject(db, tmp_path):
    recs = [{"warehouse_id": "W1", "lot_id": lot, "product_code": "NDPR-OXIDE", "purity": "99.5",
             "gross_quantity": "10", "net_quantity": "9", "unit": "kg", "status": "in_stock", "as_of": T}
            for lot in ("A", "B@", "C")]
    data = json.dumps({"lots": recs}, indent=1).encode().replace(b"B@", b"B\xe9")
    res = db.ingest(write(tmp_path / "wh.json", data))
    assert (res.accepted, res.rejected) == (2, 1) and codes(db, res) == {2: "bad_encoding"}


def test_a_quantity_too_large_for_uint256_is_rejected_and_good_rows_kept(db, tmp_path):
    huge = "1" + "0" * 70
    path = write(tmp_path / "wh.csv", HEADER + row("A") + row("HUGE", gross=huge, net=huge) + row("C"))
    res = db.ingest(path)
    assert (res.accepted, res.rejected) == (2, 1) and codes(db, res) == {3: "out_of_range"}
    assert lots(db, res.snapshot_id) == {"A": str(9 * 10**18), "C": str(9 * 10**18)}
    assert "uint256" in db.rejects(res.snapshot_id)[0]["reason"]


def test_an_as_of_beyond_any_calendar_is_a_bad_time(db, tmp_path):
    path = write(tmp_path / "wh.csv", HEADER + row("A") + row("B", as_of="99999999999999999999") + row("C", as_of="-5"))
    res = db.ingest(path)
    assert (res.accepted, res.rejected) == (1, 2) and codes(db, res) == {3: "bad_time", 4: "bad_time"}


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_bad_as_of_metadata_is_one_error_naming_file_and_line(fmt, tmp_path, sqlite_db):
    if fmt == "csv":
        path = write(tmp_path / "wh.csv", "# stockpile-custody-export: 1\n# as_of: yesterday\n" + HEADER + row("A"))
        line = 2
    else:
        rec = {"warehouse_id": "W1", "lot_id": "A", "product_code": "NDPR-OXIDE", "purity": "99.5",
               "gross_quantity": "10", "net_quantity": "9", "unit": "kg", "status": "in_stock", "as_of": T}
        path = write(tmp_path / "wh.json", json.dumps({"format": "stockpile-custody-export", "as_of": "yesterday",
                                                       "lots": [rec]}, indent=1))
        line = 3
    with pytest.raises(ExportError, match=rf"{path.name}.*line {line}.*as_of.*'yesterday'"):
        sqlite_db.ingest(path)
    assert sqlite_db.count("snapshots") == 0


def test_a_field_longer_than_the_csv_limit_is_that_rows_reject(db, tmp_path):
    path = write(tmp_path / "wh.csv", HEADER + row("A") + row("B", assay="x" * 200_000) + row("C"))
    res = db.ingest(path)
    assert (res.accepted, res.rejected) == (2, 1) and codes(db, res) == {3: "field_too_long"}
    assert set(lots(db, res.snapshot_id)) == {"A", "C"}


def test_a_duplicated_header_column_is_one_error_naming_file_and_line(tmp_path, sqlite_db):
    path = write(tmp_path / "wh.csv", "# as_of: 2026-11-20T00:00:00Z\n" + HEADER.replace("form,", "lot_id,") + row("A"))
    with pytest.raises(ExportError, match=r"wh\.csv.*duplicated column.*lot_id.*line 2"):
        sqlite_db.ingest(path)
    rec = '{"lot_id": "A", "lot_id": "B", "warehouse_id": "W1"}'
    res = sqlite_db.ingest(write(tmp_path / "dup.json", '{"as_of": "' + T + '", "lots": [' + rec + ", " + json.dumps(
        {"warehouse_id": "W1", "lot_id": "C", "product_code": "NDPR-OXIDE", "purity": "99.5", "gross_quantity": "10",
         "net_quantity": "9", "unit": "kg", "status": "in_stock"}) + "]}"))
    assert codes(sqlite_db, res) == {1: "bad_record"} and res.accepted == 1


def test_cli_ingest_names_each_broken_file_and_still_ingests_the_others(tmp_path):
    good = write(tmp_path / "good.csv", HEADER + row("A"))
    bad_meta = write(tmp_path / "meta.csv", "# as_of: tomorrow-ish\n" + HEADER + row("B"))
    dup = write(tmp_path / "dup.csv", HEADER.replace("form,", "lot_id,") + row("C"))
    latin = write(tmp_path / "latin.csv", (HEADER + row("D")).encode() + row("E\xe9").encode("latin-1"))
    db = str(tmp_path / "c.db")
    res = CliRunner().invoke(reconcile_cli, ["ingest", "--db", db, "--quiet", str(bad_meta), str(good), str(dup),
                                             str(latin)])
    assert res.exit_code == 2 and isinstance(res.exception, SystemExit), res.output
    assert "Traceback" not in res.output
    assert f"{bad_meta}: FAILED:" in res.output and "line 1" in res.output
    assert f"{dup}: FAILED:" in res.output and "duplicated column" in res.output
    assert f"{good}: snapshot" in res.output and f"{latin}: snapshot" in res.output and "bad_encoding: 1" in res.output


# ---------------------------------------------------------------- #3: one validator for both backends
def test_column_limits_and_nul_are_rejected_on_both_backends(db, tmp_path):
    long_lot = "L" * 10_000
    path = write(tmp_path / "wh.csv", HEADER + row("A") + row(long_lot) + row("NUL", assay="S\x00X")
                 + row("B", wh="W" * (FIELD_LIMITS["warehouse_id"] + 1)) + row("C"))
    res = db.ingest(path)
    assert (res.accepted, res.rejected) == (2, 3)
    assert codes(db, res) == {3: "field_too_long", 4: "bad_character", 5: "field_too_long"}
    assert set(lots(db, res.snapshot_id)) == {"A", "C"}
    reasons = [r["reason"] for r in db.rejects(res.snapshot_id)]
    assert "lot_id" in reasons[0] and "10000" in reasons[0] and str(FIELD_LIMITS["lot_id"]) in reasons[0]
    assert "NUL" in reasons[1] and "assay_ref" in reasons[1]
    at_limit = write(tmp_path / "limit.csv", HEADER + row("M" * FIELD_LIMITS["lot_id"]))
    assert db.ingest(at_limit).accepted == 1


def test_json_nul_escape_is_rejected(db, tmp_path):
    rec = {"warehouse_id": "W1", "lot_id": "A\u0000", "product_code": "NDPR-OXIDE", "purity": "99.5",
           "gross_quantity": "10", "net_quantity": "9", "unit": "kg", "status": "in_stock", "as_of": T}
    res = db.ingest(write(tmp_path / "wh.json", json.dumps([rec, {**rec, "lot_id": "B"}])))
    assert codes(db, res) == {1: "bad_character"} and res.accepted == 1


# ---------------------------------------------------------------- #4: decimal comma
@pytest.mark.parametrize(("text", "expected"), [
    ("1,5", "1.5"), ("2,50", "2.5"), ("1.234,5", "1234.5"), ("1 234 567,25", "1234567.25"), ("1.500", "1500"),
    ("12", "12"), ("1.5", None), ("2.50", None), ("12.34.567", None), ("1.234 567,5", None), ("1,2,3", None),
    ("1234.567", None), (",5", "0.5"),
])
def test_decimal_comma_numbers_and_thousands_grouping(text, expected, tmp_path):
    from decimal import Decimal

    from stockpile.reconcile.custody.parse import CheckedRow, read_export

    path = write(tmp_path / "dc.csv", "# decimal_separator: ,\n" + HEADER.replace(",", ";") +
                 f"W1;A;NDPR-OXIDE;powder;99,5;99999999;{text};kg;S1;in_stock;{T}\n")
    _meta, it = read_export(path, CAT)
    (r,) = list(it)
    if expected is None:
        assert not isinstance(r, CheckedRow) and r.code == "bad_number" and repr(text) in r.reason, r
    else:
        assert isinstance(r, CheckedRow), r
        assert int(r.quantity) == int(Decimal(expected).scaleb(18))


def test_json_numbers_are_numbers_whatever_the_decimal_separator(tmp_path):
    from stockpile.reconcile.custody.parse import CheckedRow, read_export

    path = tmp_path / "dc.json"
    path.write_text('{"decimal_separator": ",", "lots": [{"warehouse_id": "W1", "lot_id": "A", "product_code": '
                    '"NDPR-OXIDE", "purity": 99.5, "gross_quantity": "10,5", "net_quantity": 1.5, "unit": "kg", '
                    '"status": "in_stock", "as_of": "' + T + '"}]}')
    (r,) = list(read_export(path, CAT)[1])
    assert isinstance(r, CheckedRow) and int(r.quantity) == 15 * 10**17 and r.purity_ppm == 995_000


# ---------------------------------------------------------------- #5: idempotency and parse options
def test_reingest_with_the_right_separator_is_a_new_snapshot(db, tmp_path):
    """Issue 16 #5: an export read with the wrong decimal separator could not be corrected: the
    re-ingest said "already ingested, nothing changed"."""
    path = write(tmp_path / "dc.csv", HEADER.replace(",", ";") + row("A", purity="99").replace(",", ";")
                 + row("B", gross="10,5", net="9,5", purity="99").replace(",", ";").replace("10;5", "10,5")
                 .replace("9;5", "9,5"))
    wrong = db.ingest(path, decimal_comma=False)
    assert (wrong.accepted, wrong.rejected) == (1, 1) and not wrong.duplicate
    right = db.ingest(path, decimal_comma=True)
    assert not right.duplicate and right.snapshot_id != wrong.snapshot_id and (right.accepted, right.rejected) == (2, 0)
    assert lots(db, right.snapshot_id)["B"] == str(95 * 10**17)
    again = db.ingest(path, decimal_comma=True)
    assert again.duplicate and again.snapshot_id == right.snapshot_id
    assert db.ingest(path, decimal_comma=False).snapshot_id == wrong.snapshot_id
    # the view takes the correction (the later snapshot of the same warehouse and as-of)
    view = db.custody_view()
    assert sorted(x[1] for x in view) == ["A", "B"] and {x[9] for x in view} == {right.snapshot_id}


def test_cli_reingest_with_decimal_comma_is_not_already_ingested(tmp_path):
    path = write(tmp_path / "dc.csv", HEADER.replace(",", ";") + row("A", purity="99").replace(",", ";")
                 + row("B", net="9,5", purity="99").replace(",", ";").replace("9;5", "9,5"))
    db = str(tmp_path / "c.db")
    run = lambda *a: CliRunner().invoke(reconcile_cli, ["ingest", "--db", db, "--quiet", *a, str(path)])  # noqa: E731
    assert "1 rows kept, 1 rejected" in run("--decimal-point").output
    out = run("--decimal-comma").output
    assert "already ingested" not in out and "2 rows kept, 0 rejected" in out
    assert "already ingested" in run("--decimal-comma").output


# ---------------------------------------------------------------- #6: empty newer exports
def test_a_newer_header_only_export_empties_the_warehouse(db, tmp_path):
    old = write(tmp_path / "w1.csv", f"# warehouse_id: W1\n# as_of: {T}\n" + HEADER + row("A") + row("B"))
    other = write(tmp_path / "w2.csv", HEADER + row("Z", wh="W2"))
    db.ingest(old), db.ingest(other)
    empty = write(tmp_path / "w1-empty.csv", "# warehouse_id: W1\n# as_of: 2026-11-21T00:00:00Z\n" + HEADER)
    res = db.ingest(empty)
    assert res.accepted == 0 and res.warehouses == {"W1": 0}
    assert sorted((x[0], x[1]) for x in db.custody_view()) == [("W2", "Z")]
    # as of before the empty export the lots are still there
    assert sorted(x[1] for x in db.custody_view(as_of=parse_time(T))) == ["A", "B", "Z"]


def test_json_empty_lot_list_empties_the_warehouse(sqlite_db, tmp_path):
    sqlite_db.ingest(write(tmp_path / "w1.csv", HEADER + row("A")))
    p = write(tmp_path / "w1.json", json.dumps({"warehouse_id": "W1", "as_of": "2026-11-21T00:00:00Z", "lots": []}))
    assert sqlite_db.ingest(p).warehouses == {"W1": 0}
    assert sqlite_db.custody_view() == []


def test_an_empty_export_that_does_not_say_which_warehouse_is_refused(sqlite_db, tmp_path):
    with pytest.raises(ExportError, match="empty export must name its warehouse"):
        sqlite_db.ingest(write(tmp_path / "e.csv", f"# as_of: {T}\n" + HEADER))
    with pytest.raises(ExportError, match="empty export must name its warehouse"):
        sqlite_db.ingest(write(tmp_path / "e.json", "[]"))
    assert sqlite_db.count("snapshots") == 0


def test_a_newer_export_whose_only_rows_are_rejected_is_refused(db, tmp_path):
    db.ingest(write(tmp_path / "w1.csv", HEADER + row("A") + row("B")))
    bad = write(tmp_path / "w1-bad.csv", HEADER + row("A", net="0", as_of="2026-11-21T00:00:00Z"))
    with pytest.raises(ExportError, match=r"w1-bad\.csv: every row was rejected \(first at line 2: net_quantity"):
        db.ingest(bad)
    assert (tmp_path / "w1-bad.csv.rejects.csv").exists()  # the custodian still gets the reasons
    # a file with good rows of one warehouse and only rejected rows of another: refused too
    mixed = write(tmp_path / "mixed.csv", HEADER + row("C", wh="W2") + row("A", net="x", as_of="2026-11-21T00:00:00Z"))
    with pytest.raises(ExportError, match="every row of warehouse W1 was rejected"):
        db.ingest(mixed)
    assert sorted(x[1] for x in db.custody_view()) == ["A", "B"] and db.count("snapshots") == 1


def test_cli_empty_export_exit_codes(tmp_path):
    db = str(tmp_path / "c.db")
    write(tmp_path / "w1.csv", HEADER + row("A"))
    write(tmp_path / "bad.csv", HEADER + row("A", net="-1", as_of="2026-11-21T00:00:00Z"))
    write(tmp_path / "empty.csv", "# warehouse_id: W1\n# as_of: 2026-11-22T00:00:00Z\n" + HEADER)
    r = CliRunner().invoke(reconcile_cli, ["ingest", "--db", db, "--quiet", str(tmp_path / "w1.csv"),
                                           str(tmp_path / "bad.csv")])
    assert r.exit_code == 2 and "every row was rejected" in r.output
    r = CliRunner().invoke(reconcile_cli, ["ingest", "--db", db, "--quiet", str(tmp_path / "empty.csv")])
    assert r.exit_code == 0 and "0 rows kept" in r.output and "holds nothing" in r.output
