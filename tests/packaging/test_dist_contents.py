"""Which compiled artifacts ship (setup.py) and stale artifacts of deleted contracts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup_module():
    spec = importlib.util.spec_from_file_location("stockpile_setup", ROOT / "setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _artifact(folder: Path, name: str, source: str) -> Path:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"name": name, "source": source}))
    return path


def test_only_product_contracts_with_their_source_ship(tmp_path):
    setup = _setup_module()
    assert setup.is_product(_artifact(tmp_path, "CommodityToken", "contracts/token/CommodityToken.sol"))
    assert setup.is_product(_artifact(tmp_path, "Safe", "node_modules/@safe-global/safe-contracts/contracts/Safe.sol"))
    assert not setup.is_product(_artifact(tmp_path, "CommodityTokenV2", "contracts/test/CommodityTokenV2.sol"))
    assert not setup.is_product(_artifact(tmp_path, "PlainERC20", "contracts/bench/PlainERC20.sol"))
    assert not setup.is_product(_artifact(tmp_path, "Mock", "tests/contracts/Mock.sol"))
    assert not setup.is_product(_artifact(tmp_path, "Gone", "contracts/Gone.sol"))  # deleted: stale
    setup.drop_non_product(tmp_path)
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == ["CommodityToken", "Safe"]


def test_a_build_without_abis_is_refused(tmp_path):
    import pytest

    setup = _setup_module()
    with pytest.raises(SystemExit, match="CommodityToken"):
        setup.check_artifacts(tmp_path)


def test_compile_drops_artifacts_of_deleted_contracts(tmp_path):
    from stockpile.contracts.compile import _drop_stale

    kept = _artifact(tmp_path, "CommodityToken", "contracts/token/CommodityToken.sol")
    gone = _artifact(tmp_path, "Gone", "contracts/Gone.sol")
    fresh = _artifact(tmp_path, "Fresh", "contracts/Fresh.sol")
    _drop_stale(tmp_path, [fresh])
    assert kept.exists() and fresh.exists() and not gone.exists()


def test_the_compiled_keccak_is_optional_where_no_c_compiler_works(tmp_path):
    """setup.py builds stockpile.core._keccak where it can; with a compiler that fails, the build
    goes on without it (Extension(optional=True)) instead of refusing the install."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "CC": "/bin/false", "LDSHARED": "/bin/false"}
    out = subprocess.run([sys.executable, "setup.py", "build_ext", "--build-lib", str(tmp_path / "lib"),
                          "--build-temp", str(tmp_path / "tmp")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "stockpile.core._keccak" in out.stdout + out.stderr  # setuptools names what it left out
    assert not list((tmp_path).rglob("_keccak*.so"))
    out = subprocess.run([sys.executable, "setup.py", "build_ext", "--build-lib", str(tmp_path / "lib"),
                          "--build-temp", str(tmp_path / "tmp")], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and list((tmp_path / "lib").rglob("_keccak*.so")), out.stderr
