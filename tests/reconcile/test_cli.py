"""`stockpile reconcile` commands without a chain: ingest, generate, lazy registration."""

from __future__ import annotations

from click.testing import CliRunner

from stockpile.cli import main
from stockpile.reconcile.cli import reconcile
from stockpile.reconcile.db.store import Database


def test_reconcile_group_is_registered():
    res = CliRunner().invoke(main, ["reconcile", "--help"])
    assert res.exit_code == 0
    for cmd in ("ingest", "run", "watch", "generate"):
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
    assert "ingest p.csv" in res.stderr and "rows" in res.stderr  # the progress bar on stderr


def test_generate_writes_the_attested_list_so_a_break_report_comes_from_generated_data_alone(tmp_path):
    """Issue 16: `reconcile generate` can also write the attested list its planted discrepancies are
    measured against."""
    import re

    from stockpile.reconcile.breaks.classify import Classifier
    from stockpile.reconcile.chain.state import Attestation, ProductChainState
    from stockpile.reconcile.custody.parse import parse_time
    from stockpile.reconcile.db.store import Database

    runner = CliRunner()
    out, att = tmp_path / "custody.csv", tmp_path / "attested.csv"
    res = runner.invoke(reconcile, ["generate", str(out), "--lots", "120", "--seed", "5", "--attested-out", str(att),
                                    "--discrepancy", "quantity_mismatch=2", "--discrepancy", "missing_lot=1"])
    assert res.exit_code == 0, res.output
    planted = re.findall(r"planted (\w+): (\S+)", res.output)
    attest = {p: (r, int(t), int(n)) for p, r, t, n in re.findall(r"attest (\S+): root (0x\w+) total (\d+) lots (\d+)",
                                                                   res.output)}
    assert len(planted) == 3 and set(attest) == {"NDPR-OXIDE", "DY-METAL", "TB-METAL", "LI2CO3"}
    db_path = str(tmp_path / "g.db")
    assert runner.invoke(reconcile, ["ingest", "--db", db_path, "--quiet", str(out)]).exit_code == 0
    assert runner.invoke(reconcile, ["ingest", "--db", db_path, "--quiet", "--attested", str(att)]).exit_code == 0
    db = Database(db_path)
    t = parse_time("2026-11-20T00:00:00Z")
    states = {p: ProductChainState(p, "0x" + "11" * 20, "0x" + "22" * 20, 1, t + 60, total // 2, 18, 0,
                                   Attestation(root, total, n, t, "0x" + "00" * 32, 1, t + 10), total // 2, 0, [], {})
              for p, (root, total, n) in attest.items()}
    results = Classifier(db).classify(states, t + 60)
    found = {(b.kind, b.lot_id) for r in results for b in r.breaks if b.lot_id}
    assert {("quantity_mismatch", lot) for k, lot in planted if k == "quantity_mismatch"} <= found
    assert {("lot_not_in_custody", lot) for k, lot in planted if k == "missing_lot"} <= found
    assert all(r.summary["attested_list_source"].startswith("ingested attested list") for r in results
               if r.summary["root_matches"] is False)
    db.dispose()
