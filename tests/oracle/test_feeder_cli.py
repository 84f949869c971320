"""`stockpile oracle run-once` / `run` as an operator runs them: YAML config, keystore and env keys,
metrics and health on 127.0.0.1, graceful SIGTERM. One-shot commands run in-process (devkit.cli:
the same click app as the installed script); the daemon is a real process (metrics port, SIGTERM)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import yaml
from eth_account import Account

from devkit.cli import run
from oracle_helpers import ANVIL_TRANSMITTER, advance
from stockpile.sdk.accounts import write_keystore
from stockpile.toolchain.anvil import free_port

pytestmark = pytest.mark.anvil

STOCKPILE = str(Path(sys.executable).parent / "stockpile")


def _config(tmp_path, anvil, hub, signer_keys, anvil_keys, metrics_port=None):
    env = dict(os.environ)
    signers = []
    for i, key in enumerate(signer_keys[:3]):
        if i == 0:  # one signer from an encrypted keystore, passphrase from the environment
            write_keystore(Account.from_key(key), tmp_path / "signer0.json", "correct horse", kdf="pbkdf2",
                           iterations=1000)  # weak KDF: tests only
            signers.append({"keystore": "signer0.json", "passphrase_env": "ORACLE_SIGNER0_PASS"})
            env["ORACLE_SIGNER0_PASS"] = "correct horse"
        else:
            signers.append({"key_env": f"ORACLE_SIGNER{i}_KEY"})
            env[f"ORACLE_SIGNER{i}_KEY"] = key
    env["ORACLE_TX_KEY"] = anvil_keys[ANVIL_TRANSMITTER]
    cfg = {
        "rpc_url": anvil.url,
        "feed_address": hub,
        "state_db": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "interval_seconds": 0.5,
        "signers": signers,
        "transmitter": {"key_env": "ORACLE_TX_KEY"},
        "sources": {"drop": {"kind": "file", "path": "prices.csv"}},
        "products": [
            {"symbol": "NDPR-OXIDE/USD", "sources": [{"source": "drop", "key": "NDPR"}]},
            {"symbol": "DY-METAL/USD", "sources": [{"source": "drop", "key": "DY"}]},
        ],
        "metrics": {"host": "127.0.0.1", "port": metrics_port or free_port(), "enabled": metrics_port is not None},
    }
    path = tmp_path / "feeder.yaml"
    path.write_text(yaml.safe_dump(cfg))
    (tmp_path / "prices.csv").write_text("key,price,unit\nNDPR,62500,USD/t\nDY,310.5,USD/kg\n")
    return path, env


def test_run_once_from_yaml_with_keystore_and_env_keys(anvil, w3, deployed_hub, tmp_path, signer_keys, anvil_keys):
    path, env = _config(tmp_path, anvil, deployed_hub["address"], signer_keys, anvil_keys)
    advance(w3, 5)
    out = run("oracle", "run-once", "--local-signers", "--config", path, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "published NDPR-OXIDE/USD round 1: 62.5" in out.stdout
    assert "published DY-METAL/USD round 1: 310.5" in out.stdout
    for key in [*signer_keys[:3], anvil_keys[ANVIL_TRANSMITTER], "correct horse"]:
        assert key[2:] not in out.stdout + out.stderr and key not in out.stdout + out.stderr
    # nothing moved: a second pass publishes nothing and says why
    out = run("oracle", "run-once", "--local-signers", "--config", path, env=env)
    assert out.returncode == 0 and "held NDPR-OXIDE/USD" in out.stdout and "published" not in out.stdout
    # a wrong keystore passphrase is a clear error naming the file, not the secret
    env["ORACLE_SIGNER0_PASS"] = "wrong"
    out = run("oracle", "run-once", "--local-signers", "--config", path, env=env)
    assert out.returncode != 0 and "wrong passphrase for keystore" in out.stderr and "signer0.json" in out.stderr


def test_daemon_serves_metrics_and_health_and_stops_on_sigterm(anvil, w3, deployed_hub, tmp_path, signer_keys, anvil_keys):
    port = free_port()
    path, env = _config(tmp_path, anvil, deployed_hub["address"], signer_keys, anvil_keys, metrics_port=port)
    advance(w3, 5)
    proc = subprocess.Popen([STOCKPILE, "oracle", "run", "--local-signers", "--config", str(path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                if health.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert health is not None and health.status_code == 200, health and health.text
        assert health.json()["status"] == "ok"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        assert 'stockpile_oracle_last_price{product="NDPR-OXIDE/USD"} 62.5' in metrics
        assert "stockpile_oracle_pushes_total 1.0" in metrics
        assert "stockpile_oracle_failures_total" in metrics or "stockpile_oracle_failures" in metrics
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
        assert "stopping after the current pass" in stderr and "stopped" in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_prices_command(anvil, w3, signer_keys, anvil_keys):
    """`oracle prices` on a hub the deploy engine deployed: one line before any price exists (exit 2,
    no traceback), an unknown feed named, then the prices the feeder published, as read back."""
    from devkit import stack
    from devkit.oracle_demo import publish_simulated_prices

    deployed = stack.deploy_hub(w3, anvil_keys[0], [Account.from_key(k).address for k in signer_keys[:5]], 1,
                                {code: stack.feed("1000000") for code in ("NDPR-OXIDE", "DY-METAL")})

    def prices(*symbols):
        return run("oracle", "prices", "--rpc-url", anvil.url, "--price-feed", deployed["address"], *symbols)

    before = prices("NDPR-OXIDE/USD")
    assert before.returncode == 2 and "no price published yet for NDPR-OXIDE/USD" in before.stderr
    unknown = prices("XX/USD")
    assert unknown.returncode == 2 and "unknown feed 'XX/USD'" in unknown.stderr and "DY-METAL/USD" in unknown.stderr
    assert "Traceback" not in before.stderr + unknown.stderr
    published = publish_simulated_prices(anvil.url, deployed["address"], {"NDPR-OXIDE/USD": "62.5", "DY-METAL/USD": "310"},
                                         signer_keys[:3], anvil_keys[ANVIL_TRANSMITTER])
    out = prices("NDPR-OXIDE/USD", "DY-METAL/USD")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [f"{s}\t{p}" for s, p in published]
    assert [s for s, _ in published] == ["NDPR-OXIDE/USD", "DY-METAL/USD"]
    assert all(abs(p - Decimal(start)) / Decimal(start) <= Decimal("0.005") for (_, p), start in zip(published, ("62.5", "310")))


def test_single_process_mode_must_be_asked_for_by_name(anvil, tmp_path, signer_keys, anvil_keys):
    """A config holding every signer key runs only with --local-signers (devnets); nothing is sent without it."""
    path, env = _config(tmp_path, anvil, "0x" + "11" * 20, signer_keys, anvil_keys)
    out = run("oracle", "run-once", "--config", path, env=env)
    assert out.returncode == 2 and "--local-signers" in out.stderr and "unsafe for production" in out.stderr
    assert "Traceback" not in out.stderr
