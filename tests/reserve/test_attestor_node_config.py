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
    base = ["attest", str(lots), "--as-of", "1", "--report", str(report), "--rpc-url", "http://127.0.0.1:1",
            "--attestor", "0x" + "ab" * 20, "--account", "env:STOCKPILE_TEST_RELAYER_KEY"]
    r = runner.invoke(reserve, base)
    assert r.exit_code == 2 and "--nodes" in r.stderr and "--local-signers" in r.stderr
    r = runner.invoke(reserve, [*base, "--nodes", str(report), "--local-signers", "env:X"])
    assert r.exit_code == 2


def test_in_process_node_with_pinned_digest_signs_and_reports_unreadable_books_as_unhealthy(tmp_path):
    """The node behind the transport without an RPC URL (pinned config digest): it signs over HTTP,
    and /health turns 503 naming the export it cannot read."""
    import time

    import httpx

    from stockpile.nodes import token_hash
    from stockpile.reserve.custodian import AttestationRequest
    from stockpile.reserve.models import Attestation, report_hash
    from stockpile.reserve.node import AttestorNode

    from custodian_helpers import ATTESTORS, PRODUCT, custody_folder, reserve_lots

    as_of = int(time.time()) - 600
    books = custody_folder(tmp_path / "custody", as_of)
    digest = "0x" + "11" * 32
    cfg = load_node_config(write(tmp_path, {
        **GOOD, "rpc_url": None, "custody": {"exports": "custody"},
        "products": {PRODUCT: {"attestor": "0x" + "ab" * 20, "config_digest": digest}},
        "server": {"port": 0, "transmitters": [{"name": "t", "token_sha256": token_hash("tok")}]}}))
    node = AttestorNode(cfg, ATTESTORS[0])
    node.server.start()
    try:
        lots = reserve_lots(books, PRODUCT, as_of)
        req = AttestationRequest(product=PRODUCT, chain_id=31337, attestor="0x" + "ab" * 20, config_digest=digest,
                                 deadline=as_of + 86400, lots=lots,
                                 attestation=Attestation.of_lots(lots, as_of, report_hash(b"r")))
        r = httpx.post(node.server.url + "/attest", content=req.model_dump_json(), timeout=10,
                       headers={"Authorization": "Bearer tok", "Content-Type": "application/json"})
        assert r.status_code == 200 and r.json()["signer"] == ATTESTORS[0].address, r.text
        h = httpx.get(node.server.url + "/health", timeout=10)
        assert h.status_code == 200 and h.json()["signed"] == 1 and h.json()["signer"] == ATTESTORS[0].address
        (books / "WH-BROKEN.json").write_text("{", encoding="utf-8")
        h = httpx.get(node.server.url + "/health", timeout=10)
        assert h.status_code == 503 and h.json()["custody_readable"] is False
        assert "WH-BROKEN.json" in h.json()["custody_error"]
    finally:
        node.server.stop()
        node.close()
