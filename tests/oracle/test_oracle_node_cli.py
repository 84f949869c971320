"""`stockpile oracle node` refuses an operator's own mistakes in one line (exit 2, no traceback), before serving.
Run in-process (devkit.cli: the same click app as the installed script); no case here serves."""

from __future__ import annotations

import pytest
import yaml

from devkit.cli import run

BASE = {"chain_id": 31337, "rpc_url": "http://127.0.0.1:9", "feed_address": "0x" + "11" * 20, "key": {"key_env": "NODE_KEY_FOR_TEST"},
        "sources": {"drop": {"kind": "file", "path": "prices.json"}},
        "products": [{"symbol": "NDPR-OXIDE/USD", "sources": [{"source": "drop", "key": "NDPR"}]}]}


def _run(tmp_path, cfg, env=None):
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return run("oracle", "node", "--config", path, env={"NODE_KEY_FOR_TEST": None} | (env or {}))


@pytest.mark.parametrize("change, env, expected", [
    ({"server": {"host": "0.0.0.0"}}, {}, "plain HTTP is allowed only on loopback"),
    ({"server": {"transmitters": [{"name": "t", "token_sha256": "abc"}]}}, {}, "token_sha256 must be 64 hex digits"),
    ({}, {}, "environment variable NODE_KEY_FOR_TEST is not set"),
    ({}, {"NODE_KEY_FOR_TEST": "not-a-key"}, "does not hold a valid private key"),
    ({}, {"NODE_KEY_FOR_TEST": "0x" + "42" * 32}, "cannot reach http://127.0.0.1:9"),
])
def test_operator_mistakes_are_one_line_exit_2(tmp_path, change, env, expected):
    out = _run(tmp_path, BASE | change, env)
    assert out.returncode == 2, out.stderr
    assert expected in out.stderr and "Traceback" not in out.stderr
    assert "42" * 32 not in out.stderr + out.stdout  # the key is never echoed


def test_transmitter_without_a_node_token_refuses_in_one_line(tmp_path):
    cfg = {"rpc_url": "http://127.0.0.1:9", "feed_address": "0x" + "11" * 20, "state_db": f"sqlite:///{tmp_path / 's.sqlite'}",
           "transmitter": {"key_env": "TX_KEY_FOR_TEST"},
           "nodes": [{"name": "op-a", "url": "http://127.0.0.1:9700", "token_env": "OP_A_TOKEN_FOR_TEST"}],
           "products": [{"symbol": "NDPR-OXIDE/USD", "sources": []}], "metrics": {"enabled": False}}
    path = tmp_path / "transmitter.yaml"
    path.write_text(yaml.safe_dump(cfg))
    env = {"OP_A_TOKEN_FOR_TEST": None, "TX_KEY_FOR_TEST": "0x" + "42" * 32}
    out = run("oracle", "run-once", "--config", path, env=env)
    assert out.returncode != 0 and "OP_A_TOKEN_FOR_TEST" in out.stderr and "Traceback" not in out.stderr
    # and the single-process flag is refused for a node-mode config
    out = run("oracle", "run-once", "--local-signers", "--config", path, env=env)
    assert out.returncode == 2 and "drop --local-signers" in out.stderr
