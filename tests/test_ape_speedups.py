"""The two ape shortcuts of tests/conftest.py (`_speed_up_ape`) are safe: no contract logs through
console.log (so skipping ape's per-transaction trace for it hides nothing), and the faster error-class
builder gives exactly what ape's own gives."""

from __future__ import annotations

import re
from pathlib import Path

import ape
import pytest
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


def test_two_run_gas_estimate_succeeds_and_is_close_to_py_evms_search(project, accounts, chain):
    """tests/conftest.py's estimator against py-evm's own binary search on the same transactions: a
    contract deployment (large intrinsic gas), a call that writes storage through nested calls, and a
    reverting call (raised by both)."""
    import eth.chains.base as py_evm_chain
    from eth.estimators.gas import binary_gas_search_exact
    from web3 import Web3

    estimate_gas_in_two_runs = py_evm_chain.get_gas_estimator()
    assert estimate_gas_in_two_runs.__name__ == "estimate_gas_in_two_runs"  # the patch is on
    admin, other = accounts[0], accounts[1]
    w3: Web3 = chain.provider.web3
    py_evm = chain.provider.evm_backend.chain
    directory = admin.deploy(project.Directory, admin)
    deploy_tx = {"from": admin.address, "data": project.Directory.constructor.serialize_transaction(admin).data.hex()}
    register = directory.grantRole.as_transaction(directory.REGISTRAR_ROLE(), other, sender=admin)
    calls = [deploy_tx, {"from": admin.address, "to": directory.address, "data": "0x" + bytes(register.data).hex()}]
    for tx in calls:
        fast = w3.eth.estimate_gas(tx)
        try:
            py_evm_chain.get_gas_estimator = lambda: binary_gas_search_exact
            py_evm.gas_estimator = binary_gas_search_exact
            exact = w3.eth.estimate_gas(tx)
        finally:
            py_evm_chain.get_gas_estimator = lambda: estimate_gas_in_two_runs
            py_evm.gas_estimator = estimate_gas_in_two_runs
        assert exact <= fast <= exact * 64 // 63 + 10_000, (exact, fast)
    # a call that reverts is refused by the estimate, as with py-evm's own
    with pytest.raises(Exception) as refused:
        w3.eth.estimate_gas({"from": other.address, "to": directory.address, "data": "0x" + bytes(register.data).hex()})
    assert refused.type.__name__ in ("ContractLogicError", "TransactionFailed"), refused.value


def test_contract_type_str_is_its_name(project):
    ct = project.Directory.contract_type
    assert str(ct) == "ContractType(Directory)"  # not a dump of the ABI and bytecode
