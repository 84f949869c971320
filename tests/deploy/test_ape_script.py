"""`ape run deploy` uses the same engine as `stockpile deploy apply`, on ape's in-process network
and on anvil (`--network ethereum:local:foundry`, as the README types it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stockpile.toolchain import PROJECT_ROOT


def ape_run_deploy(manifests: Path, *network: str) -> subprocess.CompletedProcess[str]:
    venv_bin = Path(sys.executable).parent  # as in an activated venv: ape-foundry finds anvil on PATH
    env = dict(os.environ, STOCKPILE_MANIFEST_DIR=str(manifests), PATH=f"{venv_bin}:{os.environ['PATH']}")
    return subprocess.run([str(venv_bin / "ape"), "run", "deploy", *network], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def assert_deployed(out: subprocess.CompletedProcess[str], manifests: Path, chain_id: int | None = None) -> None:
    assert out.returncode == 0, out.stdout + out.stderr
    assert "75 steps applied, 0 already done" in out.stdout  # tests/deploy/test_apply.py N_STEPS
    (manifest,) = manifests.glob("*.json")
    data = json.loads(manifest.read_text())
    assert len(data["contracts"]) == 19 and data["chain_id"] == int(manifest.stem)  # N_DEPLOYS
    if chain_id is not None:
        assert data["chain_id"] == chain_id


def test_ape_run_deploy_on_the_in_process_network(tmp_path):
    assert_deployed(ape_run_deploy(tmp_path), tmp_path)


@pytest.mark.anvil
def test_ape_run_deploy_on_anvil(tmp_path):
    """ape's providers give web3 a gas price strategy, which used to add gasPrice next to the
    EIP-1559 fees and fail signing (`TypeError: Unknown kwargs: ['gasPrice']`). ape starts its own
    anvil on a free port (ape-config.yaml `foundry: host: auto`) and stops it afterwards."""
    out = ape_run_deploy(tmp_path, "--network", "ethereum:local:foundry")
    assert "Starting 'anvil' process" in out.stdout + out.stderr
    assert_deployed(out, tmp_path, chain_id=31337)
