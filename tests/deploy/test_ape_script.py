"""`ape run deploy` uses the same engine as `stockpile deploy apply`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stockpile.toolchain import PROJECT_ROOT


def test_ape_run_deploy_on_the_in_process_network(tmp_path):
    ape = Path(sys.executable).parent / "ape"
    env = dict(os.environ, STOCKPILE_MANIFEST_DIR=str(tmp_path))
    out = subprocess.run([str(ape), "run", "deploy"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "74 steps applied, 0 already done" in out.stdout  # tests/deploy/test_apply.py N_STEPS
    (manifest,) = tmp_path.glob("*.json")
    data = json.loads(manifest.read_text())
    assert len(data["contracts"]) == 19 and data["chain_id"] == int(manifest.stem)  # tests/deploy/test_apply.py N_DEPLOYS
