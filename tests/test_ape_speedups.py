"""The two ape shortcuts of tests/conftest.py (`_speed_up_ape`) are safe: no contract logs through
console.log (so skipping ape's per-transaction trace for it hides nothing), and the faster error-class
builder gives exactly what ape's own gives."""

from __future__ import annotations

import re
from pathlib import Path

import ape
from ape.contracts.base import ContractInstance

ROOT = Path(__file__).resolve().parents[1]


def test_no_console_log_in_contracts():
    sources = [p for p in (ROOT / "contracts").rglob("*.sol") if ".cache" not in p.parts]
    sources += list((ROOT / "tests").rglob("*.sol")) + list((ROOT / "bench").rglob("*.sol"))
    assert len(sources) > 20
    offenders = [str(p.relative_to(ROOT)) for p in sources
                 if re.search(r"console(2)?\.sol|console\.log\s*\(", p.read_text())]
    assert not offenders, offenders


def test_error_classes_are_the_ones_ape_builds(project, accounts):
    assert ContractInstance._stockpile_ape_errors_ is not None
    assert ContractInstance.__dict__["_errors_"].func is not ContractInstance._stockpile_ape_errors_  # the patch is on
    admin = accounts[0]
    directory = admin.deploy(project.Directory, admin)
    fast = directory._errors_
    assert {"AccessControlUnauthorizedAccount", "UnknownBasket", "NotABasket"} <= set(fast)
    # ape's own builder on a second instance at the same address: same names, same signatures, same classes
    again = ContractInstance._stockpile_ape_errors_(ape.Contract(directory.address, contract_type=directory.contract_type))
    assert {k: [c.abi.signature for c in v] for k, v in again.items()} == \
        {k: [c.abi.signature for c in v] for k, v in fast.items()}
    assert all(a is b for k in fast for a, b in zip(fast[k], again[k], strict=True))
    # and the first build on a fresh address through ape's builder matches the fast one's names
    other = admin.deploy(project.Directory, admin)
    slow = ContractInstance._stockpile_ape_errors_(other)
    assert {k: [c.abi.signature for c in v] for k, v in slow.items()} == \
        {k: [c.abi.signature for c in v] for k, v in fast.items()}
    with ape.reverts(directory.AccessControlUnauthorizedAccount, account=accounts[1].address):
        directory.registerBasket("SMB", admin, admin, sender=accounts[1])
