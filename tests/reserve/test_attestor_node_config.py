"""Bad node configurations and bad `reserve attest` input: one line naming what is wrong, exit 2."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from stockpile.reserve.cli import reserve
from stockpile.reserve.node import ConfigError, load_node_config

GOOD = {"name": "custodian-1", "chain_id": 31337, "account": "env:ATTESTOR_KEY", "state_dir": "state",
        "rpc_url": "http://127.0.0.1:1", "custody": {"exports": "custody"},
        "products": {"NDPR-OXIDE": {"attestor": "0x" + "ab" * 20}}}


def write(tmp_path, data) -> str:
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_good_config_resolves_paths_relative_to_the_file(tmp_path):
    cfg = load_node_config(write(tmp_path, GOOD))
    assert cfg.state_dir == tmp_path / "state" and cfg.custody.exports == tmp_path / "custody"
    assert cfg.server.host == "127.0.0.1"


@pytest.mark.parametrize("change,needle", [
    ({"custdy": {}}, "custdy"),
    ({"custody": {"exports": "a", "db_url": "sqlite:///x.db"}}, "exactly one of exports"),
    ({"rpc_url": None}, "need a pinned config_digest"),
    ({"account": "keystore:key.json"}, "PASSPHRASE_ENV"),
    ({"products": {"NDPR-OXIDE": {"attestor": "0x1234"}}}, "products.NDPR-OXIDE.attestor"),
    ({"server": {"host": "0.0.0.0"}}, "tls"),
])
def test_bad_config_is_named(tmp_path, change, needle):
    with pytest.raises(ConfigError) as info:
        load_node_config(write(tmp_path, {**GOOD, **change}))
    assert needle in str(info.value) and "node.yaml" in str(info.value)


def test_node_command_bad_config_and_missing_key_exit_2_in_one_line(tmp_path):
    runner = CliRunner(mix_stderr=False)
    r = runner.invoke(reserve, ["node", "--config", write(tmp_path, {**GOOD, "chain_id": "x"})])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1 and "chain_id" in r.stderr
    (tmp_path / "custody").mkdir()
    r = runner.invoke(reserve, ["node", "--config", write(tmp_path, GOOD)], env={"ATTESTOR_KEY": ""})
    assert r.exit_code == 2 and "ATTESTOR_KEY is not set" in r.stderr and "Traceback" not in r.stderr


def test_attest_needs_exactly_one_mode(tmp_path):
    lots = tmp_path / "lots.json"
    lots.write_text(json.dumps([{"warehouse_id": "W", "lot_id": "L", "product_code": "NDPR-OXIDE", "purity_ppm": 1,
                                 "quantity": 5}]))
    report = tmp_path / "r.txt"
    report.write_text("r")
    runner = CliRunner(mix_stderr=False)
    base = ["attest", str(lots), "--as-of", "1", "--report", str(report), "--rpc", "http://127.0.0.1:1",
            "--contract", "0x" + "ab" * 20]
    r = runner.invoke(reserve, base)
    assert r.exit_code == 2 and "--nodes" in r.stderr and "--local-signers" in r.stderr
    r = runner.invoke(reserve, [*base, "--nodes", str(report), "--local-signers", "env:X"])
    assert r.exit_code == 2
