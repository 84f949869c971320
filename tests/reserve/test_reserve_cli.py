"""`stockpile reserve`: lots file -> attestation -> attestor signatures -> submit -> status, on anvil."""

from __future__ import annotations

import csv
import json
from datetime import datetime, UTC

import pytest
from click.testing import CliRunner
from eth_account import Account

from stockpile.merkle import lot_tree
from stockpile.merkle.lots import LOT_LEAF_FIELDS
from stockpile.reserve import Attestation, report_hash
from stockpile.reserve.cli import reserve
from devkit.reserve import deploy_reserve_attestor

from reserve_helpers import DECIMALS, PRODUCT, SIGNERS, oz_tree, sample_lots


def write_csv(path, lots, extra_rows=()):
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LOT_LEAF_FIELDS)
        w.writeheader()
        for lot in lots:
            w.writerow(lot.model_dump())
        for row in extra_rows:
            w.writerow(row)


def test_attestation_from_csv_and_json(tmp_path):
    lots = sample_lots(9)
    write_csv(tmp_path / "lots.csv", lots)
    (tmp_path / "lots.json").write_text(json.dumps([l.model_dump() for l in lots]))
    (tmp_path / "report.pdf").write_bytes(b"%PDF custodian report")
    runner = CliRunner()
    outs = []
    for name in ("lots.csv", "lots.json"):
        r = runner.invoke(reserve, ["attestation", str(tmp_path / name), "--as-of", "2026-11-20T00:00:00Z",
                                    "--report", str(tmp_path / "report.pdf"), "--tree-out", str(tmp_path / "tree.json")],
                          catch_exceptions=False)
        assert r.exit_code == 0, r.output
        outs.append(Attestation.model_validate_json(r.output))
    expected = Attestation.of_lots(lots, int(datetime(2026, 11, 20, tzinfo=UTC).timestamp()), report_hash(b"%PDF custodian report"))
    assert outs == [expected, expected]
    dump = json.loads((tmp_path / "tree.json").read_text())
    assert dump["format"] == "standard-v1" and dump["tree"][0] == "0x" + lot_tree(lots).root.hex()


def test_bad_lot_row_is_named(tmp_path):
    bad = {**sample_lots(1)[0].model_dump(), "lot_id": "LOT-BAD", "quantity": "-5"}
    write_csv(tmp_path / "lots.csv", sample_lots(3), [bad])
    (tmp_path / "r.txt").write_text("r")
    r = CliRunner().invoke(reserve, ["attestation", str(tmp_path / "lots.csv"), "--as-of", "100", "--report", str(tmp_path / "r.txt")])
    assert r.exit_code == 2
    assert "line 5" in r.output and "quantity" in r.output
    write_csv(tmp_path / "good.csv", sample_lots(3))
    r = CliRunner().invoke(reserve, ["attestation", str(tmp_path / "good.csv"), "--as-of", "2026-11-20T00:00", "--report", str(tmp_path / "r.txt")])
    assert r.exit_code == 2 and "time zone" in r.output


@pytest.mark.anvil
def test_sign_submit_status_on_anvil(tmp_path, w3, anvil, anvil_keys, monkeypatch):
    feed = deploy_reserve_attestor(w3, anvil_keys[0], PRODUCT, DECIMALS, [s.address for s in SIGNERS], 3)
    lots = sample_lots(6)
    write_csv(tmp_path / "lots.csv", lots)
    (tmp_path / "report.txt").write_text("custodian report")
    as_of = w3.eth.get_block("latest")["timestamp"] - 100
    runner = CliRunner()
    r = runner.invoke(reserve, ["attestation", str(tmp_path / "lots.csv"), "--as-of", str(as_of),
                                "--report", str(tmp_path / "report.txt"), "--tree-out", str(tmp_path / "tree.json")],
                      catch_exceptions=False)
    (tmp_path / "att.json").write_text(r.output)
    sig_files = []
    for i, s in enumerate(SIGNERS[:3]):
        monkeypatch.setenv("ATTESTOR_KEY", s.key.hex())
        r = runner.invoke(reserve, ["sign", str(tmp_path / "att.json"), "--chain-id", str(w3.eth.chain_id),
                                    "--attestor", feed.address, "--rpc-url", anvil.url, "--account", "env:ATTESTOR_KEY"],
                          catch_exceptions=False)
        assert json.loads(r.output)["signer"] == s.address
        (tmp_path / f"sig{i}.json").write_text(r.output)
        sig_files.append(str(tmp_path / f"sig{i}.json"))

    # a signature made for another chain id is caught before sending
    monkeypatch.setenv("ATTESTOR_KEY", SIGNERS[3].key.hex())
    r = runner.invoke(reserve, ["sign", str(tmp_path / "att.json"), "--chain-id", "1", "--attestor", feed.address,
                                "--config-digest", "0x" + bytes(feed.functions.configDigest().call()).hex(),
                                "--account", "env:ATTESTOR_KEY"], catch_exceptions=False)
    (tmp_path / "wrong.json").write_text(r.output)
    monkeypatch.setenv("RELAYER_KEY", anvil_keys[5])
    r = runner.invoke(reserve, ["submit", str(tmp_path / "att.json"), *sig_files, str(tmp_path / "wrong.json"),
                                "--rpc-url", anvil.url, "--attestor", feed.address, "--account", "env:RELAYER_KEY"])
    assert r.exit_code == 2 and "wrong.json" in r.output
    assert feed.functions.latestRoundId().call() == 0

    # the attestor set changes after signing (quorum 3 -> 4 -> 3): the signatures are refused off chain
    from devkit.reserve import send as send_tx

    for q in (4, 3):
        send_tx(w3, anvil_keys[0], feed.functions.setQuorum(q))
    r = runner.invoke(reserve, ["submit", str(tmp_path / "att.json"), *sig_files, "--rpc-url", anvil.url,
                                "--attestor", feed.address, "--account", "env:RELAYER_KEY"])
    assert r.exit_code == 2 and "sign again" in r.output and "Traceback" not in r.output
    sig_files = []
    for i, s in enumerate(SIGNERS[:3]):
        monkeypatch.setenv("ATTESTOR_KEY", s.key.hex())
        r = runner.invoke(reserve, ["sign", str(tmp_path / "att.json"), "--chain-id", str(w3.eth.chain_id),
                                    "--attestor", feed.address, "--rpc-url", anvil.url, "--account", "env:ATTESTOR_KEY"],
                          catch_exceptions=False)
        (tmp_path / f"sig{i}.json").write_text(r.output)
        sig_files.append(str(tmp_path / f"sig{i}.json"))

    r = runner.invoke(reserve, ["submit", str(tmp_path / "att.json"), *reversed(sig_files), "--rpc-url", anvil.url,
                                "--attestor", feed.address, "--account", "env:RELAYER_KEY"], catch_exceptions=False)
    assert json.loads(r.output)["round"] == 1
    r = runner.invoke(reserve, ["status", "--rpc-url", anvil.url, "--attestor", feed.address], catch_exceptions=False)
    st = json.loads(r.output)
    assert st["round"] == 1 and st["product"] == PRODUCT and st["quorum"] == 3
    assert Attestation.model_validate(st["attestation"]) == Attestation.model_validate_json((tmp_path / "att.json").read_text())
    assert Account.from_key(anvil_keys[5]).address != SIGNERS[0].address

    # any holder checks a lot from the tree dump: ours, and @openzeppelin/merkle-tree's dump of the same lots
    (tmp_path / "oz_tree.json").write_text(json.dumps(oz_tree(lots)["dump"]))
    for dump in ("tree.json", "oz_tree.json"):
        r = runner.invoke(reserve, ["proof", str(tmp_path / dump), lots[2].lot_id, "--rpc-url", anvil.url,
                                    "--attestor", feed.address], catch_exceptions=False)
        assert r.exit_code == 0, r.output
        out = json.loads(r.output)
        assert out["on_chain"] is True and out["lot"]["quantity"] == lots[2].quantity
    # a lot that is not in the attested reserve: a dump of another lot list, verified against this chain
    other = sample_lots(8)[6:]
    (tmp_path / "other.json").write_text(lot_tree(other).dumps())
    r = runner.invoke(reserve, ["proof", str(tmp_path / "other.json"), other[0].lot_id, "--rpc-url", anvil.url,
                                "--attestor", feed.address], catch_exceptions=False)
    assert r.exit_code == 1 and json.loads(r.output)["on_chain"] is False
    r = runner.invoke(reserve, ["proof", str(tmp_path / "tree.json"), "LOT-NOPE"])
    assert r.exit_code == 2 and "not in" in r.output
