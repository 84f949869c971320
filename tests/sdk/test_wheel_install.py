"""The wheel, installed into a fresh venv outside the repository with the base install only:
`import stockpile.sdk` pulls in no heavy module, every command group answers (or names its
extra in one line, exit 2), and the README's SDK quickstart runs against an anvil deployment
(deployed by the repository's venv, run by the fresh one).

Speed: the wheel and the sdist are built with `python -m build --no-isolation` (~5 s); the venv is
made without pip (the repository's pip installs into it with --python); the wheel's declared
dependencies are downloaded once per set of Requires-Dist into a wheelhouse under
~/.cache/stockpile/wheelhouse (pip download of the wheel itself: what the wheel declares, nothing
pre-resolved), then installed from there with --no-index, so a dependency the wheel forgets to
declare is missing in the venv and the import fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sdk_helpers import HOLDER, check_quickstart_output, prepare_quickstart, quickstart_code

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("ape", "solcx", "yaml", "sqlalchemy")
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]


def _clean_env(**extra: str) -> dict[str, str]:
    """No STOCKPILE_ROOT, no PYTHONPATH, no venv of the repository on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("STOCKPILE_ROOT", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env.update(extra)
    return env


def _requires(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return [l for l in z.read(meta).decode().splitlines() if l.startswith("Requires-Dist:") and "extra ==" not in l]


def _wheelhouse(wheel: Path) -> Path:
    key = hashlib.sha256("\n".join(_requires(wheel)).encode()).hexdigest()[:16]
    house = Path.home() / ".cache" / "stockpile" / "wheelhouse" / key
    if not (house / ".complete").exists():
        tmp = house.with_name(house.name + f".{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run([*PIP, "download", "--quiet", "--dest", str(tmp), str(wheel)], check=True)
        (tmp / wheel.name).unlink(missing_ok=True)  # the wheel under test is always the one just built
        (tmp / ".complete").touch()
        try:
            tmp.rename(house)
        except OSError:  # another worker finished first
            shutil.rmtree(tmp, ignore_errors=True)
    return house


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory):
    """(venv python, dist folder) with only the wheel's base install."""
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("stockpile-*.whl"))
    venv = tmp_path_factory.mktemp("venv")
    base_python = Path(sys.base_prefix) / "bin" / "python3"  # the interpreter itself, not the repository's venv
    subprocess.run([str(base_python), "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*PIP, "--python", str(python), "install", "--quiet", "--no-compile", "--no-index",
                    "--find-links", str(_wheelhouse(wheel)), str(wheel)], check=True)
    return python, dist


def test_sdist_and_wheel_carry_the_product_artifacts_only(fresh_venv):
    _, dist = fresh_venv
    wheel = next(dist.glob("*.whl"))
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for contract in ("CommodityToken", "ReserveAttestor", "PriceFeed", "PriceFeedAdapter", "Directory", "StockpileProxy"):
        assert f"stockpile/contracts/artifacts/{contract}.json" in names
    assert "stockpile/py.typed" in names
    # the compiled keccak (setup.py) with its types; the wheel is tagged for this platform
    assert any(n.startswith("stockpile/core/_keccak.") and n.endswith(".so") for n in names)
    assert "stockpile/core/_keccak.pyi" in names and not wheel.name.endswith("-none-any.whl")
    for test_contract in ("CommodityTokenV2", "FakeReserveAttestor", "PlainERC20", "TransferSpray"):
        assert f"stockpile/contracts/artifacts/{test_contract}.json" not in names
    import tarfile

    with tarfile.open(next(dist.glob("*.tar.gz"))) as tar:
        members = {m.split("/", 1)[1] for m in tar.getnames() if "/" in m}
    assert "python/stockpile/contracts/artifacts/CommodityToken.json" in members
    assert "python/stockpile/contracts/artifacts/CommodityTokenV2.json" not in members
    assert "python/stockpile/core/_keccak.c" in members  # an sdist install compiles it


def test_the_installed_wheel_hashes_with_its_compiled_keccak(fresh_venv, tmp_path):
    python, _ = fresh_venv
    code = ("from stockpile.core import hashing as h; from stockpile.merkle import keccak; "
            "print(h.ACCELERATED, h.keccak_rows(b'abc' * 9, 3) == keccak(b'abc') * 9)")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert out.returncode == 0, out.stderr
    accelerated, same = out.stdout.split()
    assert accelerated in ("avx512f", "avx2", "scalar") and same == "True"


def test_base_install_imports_no_heavy_module(fresh_venv, tmp_path):
    python, _ = fresh_venv
    code = f"import sys, stockpile.sdk; print(','.join(m for m in {HEAVY!r} if m in sys.modules) or 'none')"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "none"
    # and the installed distribution has none of them at all
    out = subprocess.run([str(python), "-c", "import importlib.util as u; print([m for m in "
                          f"{HEAVY!r} if u.find_spec(m)])"], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert out.stdout.strip() == "[]"


# Each group's `--help` through the installed app, in ONE process of the fresh venv (a process per
# group cost ~1.5 s CPU each): the top-level `--help` and `build` stay runs of the installed
# `stockpile` script. Whatever a group writes goes to its own captured stdout/stderr; an exception
# escaping the app is printed there as a traceback, as the script would print it.
EVERY_GROUP_HELP = """
import contextlib, io, json, sys, traceback
from stockpile.cli import main
seen = {}
for group in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([group, "--help"], prog_name="stockpile")
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    seen[group] = [code, out.getvalue(), err.getvalue()]
print(json.dumps(seen))
"""


def test_every_command_group_answers_or_names_its_extra(fresh_venv, tmp_path):
    python, _ = fresh_venv
    stockpile = python.parent / "stockpile"
    out = subprocess.run([str(stockpile), "--help"], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert out.returncode == 0, out.stderr
    groups = [l.split()[0] for l in out.stdout.split("Commands:", 1)[1].splitlines() if l.strip()]
    assert {"deploy", "reserve", "oracle", "reconcile", "build"} <= set(groups)
    out = subprocess.run([str(python), "-c", EVERY_GROUP_HELP, *groups], capture_output=True, text=True, cwd=tmp_path,
                         env=_clean_env())
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert list(seen) == groups
    for group, (code, stdout, stderr) in seen.items():
        assert "Traceback" not in stderr, (group, stderr)
        if code == 2:
            assert len(stderr.strip().splitlines()) == 1 and "extra" in stderr, (group, stderr)
        else:
            assert code == 0 and "Usage:" in stdout, (group, stderr)
    out = subprocess.run([str(stockpile), "build"], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert out.returncode == 2 and "pip install 'stockpile[dev]'" in out.stderr, out.stderr


def test_readme_quickstart_runs_from_the_wheel(fresh_venv, devnet, operator, tmp_path):
    python, _ = fresh_venv
    url, _ = devnet
    before = prepare_quickstart(operator)
    env = _clean_env(STOCKPILE_RPC_URL=url, STOCKPILE_DIRECTORY=operator.directory, WALLET_KEY=HOLDER)
    out = subprocess.run([str(python), "-c", quickstart_code()], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    check_quickstart_output(out.stdout, before, operator)


def test_installed_sdk_is_typed_for_a_strict_consumer(fresh_venv, tmp_path):
    """py.typed: mypy --strict checks a consumer against the installed wheel (no stub errors)."""
    python, _ = fresh_venv
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        "from decimal import Decimal\n"
        "from stockpile.sdk import Stockpile, errors, to_units\n\n"
        "def base_units(amount: Decimal) -> int:\n"
        "    return to_units(amount, 18)\n\n"
        "def refused(exc: errors.ContractError) -> str:\n"
        "    return exc.name + str(exc.args_dict)\n\n"
        "def connect(url: str) -> Stockpile:\n"
        "    return Stockpile.connect(url, directory='0x0000000000000000000000000000000000000001')\n"
    )
    # and a wrong use is found: the package's types reach the consumer. Both files in one mypy run
    # (~5 s CPU each): every error must be the wrong use's, none the consumer's.
    wrong = tmp_path / "wrong.py"
    wrong.write_text("from stockpile.sdk import to_units\n\nx: str = to_units(1, 18)\n")
    mypy = Path(sys.executable).parent / "mypy"
    out = subprocess.run([str(mypy), "--strict", "--no-incremental", "--python-executable", str(python), "consumer.py",
                          "wrong.py"], capture_output=True, text=True, cwd=tmp_path, env=_clean_env())
    assert out.returncode == 1, out.stdout + out.stderr
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    assert not [l for l in lines if l.startswith("consumer.py")], out.stdout
    assert "wrong.py:3: error: Incompatible types in assignment" in out.stdout, out.stdout
    assert lines[-1].startswith("Found 1 error in 1 file (checked 2 source files)"), out.stdout
