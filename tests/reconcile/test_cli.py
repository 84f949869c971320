"""`stockpile reconcile` commands without a chain: ingest, generate, lazy registration."""

from __future__ import annotations

from click.testing import CliRunner

from stockpile.cli import main
from stockpile.reconcile.db.store import Database


def test_reconcile_group_is_registered():
    res = CliRunner().invoke(main, ["reconcile", "--help"])
    assert res.exit_code == 0
    for cmd in ("ingest", "run", "watch", "generate", "demo"):
        assert cmd in res.output


def test_generate_then_ingest_twice_and_bad_file(tmp_path):
    runner = CliRunner()
    out = tmp_path / "gen.csv"
    res = runner.invoke(main, ["reconcile", "generate", str(out), "--lots", "50", "--seed", "4",
                               "--bad-row", "unknown_status=2", "--discrepancy", "extra_lot=1"])
    assert res.exit_code == 0, res.output
    assert "planted extra_lot" in res.output
    db = tmp_path / "cli.db"
    res = runner.invoke(main, ["reconcile", "ingest", str(out), "--db", str(db), "--quiet",
                               "--rejects-dir", str(tmp_path / "rej")])
    assert res.exit_code == 0, res.output
    assert "51 rows kept, 2 rejected" in res.output and "unknown_status: 2" in res.output
    assert (tmp_path / "rej" / "gen.csv.rejects.csv").exists()
    res = runner.invoke(main, ["reconcile", "ingest", str(out), "--db", str(db), "--quiet"])
    assert res.exit_code == 0 and "nothing changed" in res.output
    d = Database(db)
    assert d.count("snapshots") == 1 and d.count("lots") == 51
    d.dispose()
    bad = tmp_path / "bad.csv"
    bad.write_text("lot_id\nX\n")
    res = runner.invoke(main, ["reconcile", "ingest", str(bad), "--db", str(db), "--quiet"])
    assert res.exit_code == 2 and "header lacks column" in res.output


def test_generate_json_and_decimal_comma(tmp_path):
    runner = CliRunner()
    j = tmp_path / "g.json"
    c = tmp_path / "g.csv"
    assert runner.invoke(main, ["reconcile", "generate", str(j), "--lots", "10"]).exit_code == 0
    assert runner.invoke(main, ["reconcile", "generate", str(c), "--lots", "10", "--decimal-comma"]).exit_code == 0
    db = tmp_path / "x.db"
    res = runner.invoke(main, ["reconcile", "ingest", str(j), str(c), "--db", str(db), "--quiet"])
    assert res.exit_code == 0 and res.output.count("10 rows kept, 0 rejected") == 2, res.output


def test_ingest_with_progress_bars(tmp_path):
    runner = CliRunner(mix_stderr=False)
    out = tmp_path / "p.csv"
    assert runner.invoke(main, ["reconcile", "generate", str(out), "--lots", "120000"]).exit_code == 0
    res = runner.invoke(main, ["reconcile", "ingest", str(out), "--db", str(tmp_path / "p.db")])
    assert res.exit_code == 0, res.output
    assert "120000 rows kept" in res.output
    assert "ingest p.csv" in res.stderr and "rows" in res.stderr  # tqdm on stderr
