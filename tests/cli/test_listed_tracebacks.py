"""The tracebacks issue 15 found, reproduced through the `stockpile` command: each is now one line on
stderr naming the problem, exit 2. The one-shot commands run in-process (devkit.cli: click's runner on
the same app the installed script runs, its logging and any escaping traceback in the captured
stderr); the reconcile watcher runs as a real process (it listens on a socket for its whole life). Before the fix these printed 50 to 163
lines of traceback (`oracle prices` before any price: ContractCustomError('0x1cca32ec...'); `reserve
status` with an unreachable RPC, a token's address, a malformed address; a malformed feeder YAML;
the feeder and the reconcile watcher both on port 9464: OSError: Address already in use).
The daemons bind 127.0.0.1 by default, on distinct ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from devkit.cli import run

STOCKPILE = str(Path(sys.executable).parent / "stockpile")


def stockpile(*args, **env) -> subprocess.CompletedProcess:
    return run(*args, env={k: None for k in os.environ if k.startswith("STOCKPILE_")} | env)


def one_line(out: subprocess.CompletedProcess, *names: str) -> str:
    err = out.stderr.strip()
    assert out.returncode == 2, (out.returncode, out.stdout, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for name in names:
        assert name in err, err
    return err


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_oracle_prices_before_any_price_exists(chain):
    one_line(stockpile("oracle", "prices", "--rpc-url", chain.url, "--price-feed", chain.price_feed, "NDPR-OXIDE/USD"),
             "no price published yet for NDPR-OXIDE/USD")
    one_line(stockpile("oracle", "prices", "--rpc-url", chain.url, "--price-feed", chain.price_feed, "XX/USD"),
             "unknown feed 'XX/USD'", "NDPR-OXIDE/USD")


def test_reserve_status_unreachable_token_address_malformed_address(chain):
    one_line(stockpile("reserve", "status", "--rpc-url", dead_url(), "--attestor", chain.attestor),
             "cannot reach the node at http://127.0.0.1")
    one_line(stockpile("reserve", "status", "--rpc-url", chain.url, "--attestor", chain.token),
             f"{chain.token} is not a ReserveAttestor")
    one_line(stockpile("reserve", "status", "--rpc-url", chain.url, "--attestor", "0x123"),
             "--attestor", "not an address: '0x123'")
    one_line(stockpile("reserve", "status", "--rpc-url", chain.url, "--attestor", chain.attestor, "--chain-id", 1),
             "chain id 31337", "1 was expected")
    ok = stockpile("reserve", "status", "--rpc-url", chain.url, "--attestor", chain.attestor)
    assert ok.returncode == 0 and '"product": "NDPR-OXIDE"' in ok.stdout, ok.stderr


def test_malformed_feeder_yaml(tmp_path):
    bad = tmp_path / "feeder.yaml"
    bad.write_text("rpc_url: [\n  - {x: \n")
    one_line(stockpile("oracle", "run-once", "--config", bad), str(bad), "YAML")
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("rpc_url: http://127.0.0.1:1\nfeed_address: 12\n")
    one_line(stockpile("oracle", "run-once", "--config", wrong), str(wrong))


def test_daemons_default_to_distinct_ports_on_loopback():
    from stockpile.cli.options import DEFAULT_PORTS, LOCAL_HOST
    from stockpile.oracle.config import MetricsConfig

    assert len(set(DEFAULT_PORTS.values())) == len(DEFAULT_PORTS)
    assert MetricsConfig().port == DEFAULT_PORTS["oracle-metrics"] and MetricsConfig().host == LOCAL_HOST
    from stockpile.reconcile.cli import watch
    from stockpile.portal.cli import serve

    defaults = {p.name: p.default for p in watch.params}
    assert defaults["metrics_port"] == DEFAULT_PORTS["reconcile-metrics"] and defaults["host"] == LOCAL_HOST
    defaults = {p.name: p.default for p in serve.params}
    assert defaults["port"] == DEFAULT_PORTS["portal"] and defaults["host"] == LOCAL_HOST


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp writes them) listening on ``port``."""
    out = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, p = local.split(":")
        if state == "0A" and int(p, 16) == port:
            out.append(addr)
    return out


def test_reconcile_watch_binds_loopback_logs_every_pass_and_refuses_a_busy_port(chain, tmp_path):
    from stockpile.toolchain.anvil import free_port

    products = tmp_path / "products.yaml"
    products.write_text(f"rpc_url: {chain.url}\ndirectory: '{chain.directory}'\nstart_block: 0\n")
    args = ["reconcile", "watch", "--products", products, "--db", tmp_path / "w.db", "--confirmations", "0", "--quiet",
            "--out", tmp_path / "out", "--interval", "0.5"]
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        one_line(stockpile(*args, "--iterations", 1, "--metrics-port", port), f"127.0.0.1:{port} is already in use")
    port = free_port()
    proc = subprocess.Popen([STOCKPILE, *map(str, args), "--iterations", "3", "--metrics-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert _listening(port) == ["0100007F"]  # 127.0.0.1 only, not 0.0.0.0
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode in (0, 1), err  # 1: the sample products have supply but no attestation yet (breaks)
    assert f"metrics http://127.0.0.1:{port}/metrics" in out
    assert out.count("run ") >= 3 and err.count("stockpile.reconcile.watch: run ") == 3  # a line per pass


def test_portal_refuses_a_busy_port_before_reading_anything(chain, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        products = tmp_path / "p.yaml"
        products.write_text(f"rpc_url: {chain.url}\ndirectory: '{chain.directory}'\n")
        one_line(stockpile("portal", "serve", "--products", products, "--db", tmp_path / "c.db", "--port", port),
                 f"127.0.0.1:{port} is already in use")


def test_mapping_an_exception_imports_nothing(monkeypatch):
    """Which exceptions are the user's is looked up among the modules already imported: an exception of a
    module never imported cannot have been raised. (Importing them all, the oracle's and reconciliation's
    databases with them, cost ~0.7 s CPU on every `--help`, whose click.exceptions.Exit comes this way.)"""
    import click

    from stockpile.cli.errors import as_click_error, user_error
    from stockpile.reconcile.config import ConfigError

    assert user_error(ConfigError("products.yaml: no products")) == "products.yaml: no products"
    monkeypatch.delitem(sys.modules, "stockpile.reconcile.config")
    assert as_click_error(click.exceptions.Exit(0)) is None  # not an error: click handles it
    assert "stockpile.reconcile.config" not in sys.modules
