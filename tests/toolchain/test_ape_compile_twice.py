"""ape sees every contract on every run, not only the first.

ape 0.8.51 lists sources by walking at most 500 files of the contracts folder, and ape-solidity
copies the dependencies (OpenZeppelin and OpenZeppelin upgradeable: ~700 files) into
``contracts/.cache``. That folder is a symlink to ``.ape-dependencies/`` (outside the contracts
folder), and ape's walk does not follow symlinks, so the copies never count against the 500.
Each test compiles a copy of the project, so it never rewrites the checkout's ``.build`` while
other test workers read it.

Speed: a full compile through solc-js costs ~20 s CPU. The copy starts from the checkout's
compiled ``.build`` (made by ``make setup`` from the same sources), and the first compile is a
forced compile of one source importing OpenZeppelin: enough for ape-solidity to unpack both
dependencies (~700 files) into ``contracts/.cache``. The second, plain compile and the forced
recompile of the touched CommodityToken then run with the filled cache, as a user's second and
third would.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from stockpile.toolchain import PROJECT_ROOT

APE_WALK_LIMIT = 500  # max_files of ape's get_all_files_in_directory (ape/managers/project.py)
DECLARATION = re.compile(r"^(?:abstract\s+)?(?:contract|interface|library)\s+(\w+)", re.MULTILINE)
VENV_BIN = Path(sys.executable).parent


def declared_contracts(contracts: Path) -> set[str]:
    names: set[str] = set()
    for sol in contracts.rglob("*.sol"):  # rglob does not follow the .cache symlink either
        names.update(DECLARATION.findall(sol.read_text()))
    return names


def copy_project(dest: Path) -> Path:
    """The parts of the checkout that ape reads, with contracts/.cache linked the same way (and an
    empty dependency cache), plus the checkout's compiled project."""
    shutil.copytree(PROJECT_ROOT / "contracts", dest / "contracts", symlinks=True)
    shutil.copy(PROJECT_ROOT / "ape-config.yaml", dest)
    (dest / ".ape-dependencies").mkdir()
    (dest / "node_modules").symlink_to(PROJECT_ROOT / "node_modules")
    (dest / ".build").mkdir()
    shutil.copy(PROJECT_ROOT / ".build" / "__local__.json", dest / ".build")
    return dest


def ape_env() -> dict[str, str]:
    """As typed in an activated .venv: PATH has the venv and system tools only."""
    return {"HOME": os.environ["HOME"], "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin"}


def ape(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([str(VENV_BIN / "ape"), *args], cwd=cwd, env=ape_env(), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


LIST_CONTRACTS = """
import json
from ape import project
print(json.dumps({"sources": len(list(project.sources.paths)),
                  "contracts": sorted(project.contracts), "loaded": project.CommodityToken.contract_type.name}))
"""


def ape_view(cwd: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", LIST_CONTRACTS], cwd=cwd, env=ape_env(), capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_dependency_cache_lives_outside_the_contracts_folder():
    cache = PROJECT_ROOT / "contracts" / ".cache"
    assert cache.is_symlink()
    assert cache.resolve() == (PROJECT_ROOT / ".ape-dependencies").resolve()


def test_ape_sees_every_contract_after_compiling_twice(tmp_path):
    root = copy_project(tmp_path)
    expected = declared_contracts(root / "contracts")
    sources = len(list((root / "contracts").rglob("*.sol")))
    assert {"CommodityToken", "ReserveAttestor", "PriceFeed", "Directory"} <= expected

    assert not list((root / ".ape-dependencies").rglob("*.sol"))
    first = ape("compile", "--force", "contracts/directory/Directory.sol", cwd=root)
    assert "compiled" in first.stdout + first.stderr
    assert shutil.which("solc", path=ape_env()["PATH"])  # the shim, linked into the venv
    assert shutil.which("anvil", path=ape_env()["PATH"])  # for ape-foundry
    # the first compile filled the dependency cache: more files than ape walks
    cached = [p for p in (root / ".ape-dependencies").rglob("*.*") if p.is_file()]
    assert len(cached) > APE_WALK_LIMIT

    ape("compile", cwd=root)  # second run, as a user would type it
    seen = ape_view(root)
    assert seen["sources"] == sources
    assert set(seen["contracts"]) == expected
    assert seen["loaded"] == "CommodityToken"

    # a changed source recompiles, and ape still sees every contract. ape goes by content hashes, not
    # times, so the touched file is forced; alone (with its imports: both OpenZeppelin packages from
    # the filled cache), as the rest did not change: ~8 s CPU less than recompiling everything.
    (root / "contracts" / "token" / "CommodityToken.sol").touch()
    third = ape("compile", "--force", "contracts/token/CommodityToken.sol", cwd=root)
    assert "contracts/token/CommodityToken.sol" in third.stdout + third.stderr  # compiled again
    seen = ape_view(root)
    assert seen["sources"] == sources
    assert set(seen["contracts"]) == expected
