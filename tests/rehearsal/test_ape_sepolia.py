"""`ape run deploy --network ethereum:sepolia:node` against the rehearsal network by URL, as the README
documents it for Sepolia: the RPC URL from SEPOLIA_RPC_URL (ape-config.yaml), the account a keystore
(STOCKPILE_ACCOUNT)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rehearsal_helpers import N_DEPLOYS, PASSPHRASE_ENV, SEPOLIA
from stockpile.toolchain.paths import PROJECT_ROOT

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def test_ape_run_deploy_on_sepolia_by_url_with_a_keystore(rehearsal, tmp_path):
    r = rehearsal
    env = dict(os.environ, **PASSPHRASE_ENV, SEPOLIA_RPC_URL=r.node.url, STOCKPILE_ACCOUNT=r.account_spec,
               STOCKPILE_DEPLOYMENT=str(r.deployment_file), STOCKPILE_MANIFEST_DIR=str(tmp_path))
    out = subprocess.run([str(Path(sys.executable).parent / "ape"), "run", "deploy", "--network", "ethereum:sepolia:node"],
                         cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "(chain id 11155111)" in out.stdout and "steps applied" in out.stdout
    manifest = json.loads((tmp_path / f"{SEPOLIA}.json").read_text())
    assert len(manifest["contracts"]) == N_DEPLOYS and not manifest["pending"]
    assert PASSPHRASE_ENV["DEPLOYER_PASS"] not in out.stdout + out.stderr
