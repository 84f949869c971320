"""stockpile.nodes.launch: `stockpile ARGV` in a child forked from the launcher (what `make demo` starts
its node processes with) is a process of its own: own pid and environment, its stdout read through the
pipe, its stderr in the log, its exit code; SIGTERM stops it."""

from __future__ import annotations

import os
import signal
import time

import httpx

import pytest

from stockpile.nodes.launch import launch, shutdown


def test_launched_command_is_its_own_process_with_its_output_exit_code_and_log(tmp_path):
    try:
        ok = launch(["--help"], log=tmp_path / "help.log", capture_stdout=True)
        assert ok.pid != os.getpid()
        assert "Stockpile: warehouse-backed strategic metal tokens." in ok.stdout.read()
        assert ok.wait(60) == 0 and ok.returncode == 0
        bad = launch(["no-such-command"], log=tmp_path / "bad.log")
        assert bad.wait(60) == 2  # the CLI's one-line usage error, in the log
        assert "no-such-command" in (tmp_path / "bad.log").read_text()
        # a node-like child that only stops on a signal: the environment given, then SIGTERM
        cfg = tmp_path / "node.yaml"
        cfg.write_text("not: [a node config")
        env_seen = launch(["oracle", "node", "--config", cfg], env={"ORACLE_NODE_KEY": "0x" + "11" * 32},
                          log=tmp_path / "node.log")
        assert env_seen.wait(60) == 2 and "cannot read config" in (tmp_path / "node.log").read_text()
    finally:
        shutdown()


@pytest.mark.anvil
def test_sigterm_stops_a_running_oracle_node(anvil, tmp_path):
    key = "0x" + "22" * 32
    cfg = tmp_path / "node.yaml"
    cfg.write_text(
        f"chain_id: 31337\nrpc_url: {anvil.url}\nfeed_address: '0x" + "33" * 20 + "'\n"
        "key: {key_env: ORACLE_NODE_KEY}\nstate_db: state.sqlite\n"
        "sources: {m: {kind: simulated, seed: 1, start: {X/USD: '1'}}}\nproducts: [{symbol: X/USD, sources: [{source: m, key: X/USD}]}]\n")
    try:
        node = launch(["oracle", "node", "--config", cfg], env={"ORACLE_NODE_KEY": key}, log=tmp_path / "node.log",
                      capture_stdout=True)
        line = node.stdout.readline()
        assert "listening on http://" in line, (tmp_path / "node.log").read_text()
        assert node.poll() is None
        url = line.strip().rsplit(" ", 1)[-1]
        deadline = time.monotonic() + 30
        with httpx.Client(timeout=2) as web:
            while True:  # serving: a SIGTERM between the "listening" line and serve_forever exits 1 (ValueError)
                try:
                    if web.get(url + "/health").status_code in (200, 503):
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the node never answered /health"
                time.sleep(0.1)
        node.send_signal(signal.SIGTERM)
        assert node.wait(30) == 0, (tmp_path / "node.log").read_text()
    finally:
        shutdown()
