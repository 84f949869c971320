"""One root for every exception of the package, contract errors as classes the ABIs declare, and
one shape for a decoded contract error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import stockpile
from stockpile.errors import StockpileError
from stockpile.sdk import errors


def package_exceptions() -> dict[str, type[BaseException]]:
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(stockpile.__path__, "stockpile."):
        if ".migrations" in info.name:  # alembic environment scripts: run by alembic, not importable alone
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = obj
    return found


def test_every_exception_of_the_package_derives_from_stockpile_error():
    found = package_exceptions()
    assert len(found) >= 25  # the walk did find the package's exceptions
    strays = sorted(name for name, cls in found.items() if not issubclass(cls, StockpileError))
    assert not strays, f"not derived from StockpileError: {strays}"


def test_built_in_bases_are_kept_for_callers_that_catch_them():
    from stockpile.contracts import ArtifactNotFound
    from stockpile.deploy.config import DeploymentFileError
    from stockpile.sdk.units import QuantityError

    assert issubclass(DeploymentFileError, ValueError) and issubclass(QuantityError, ValueError)
    assert issubclass(ArtifactNotFound, FileNotFoundError)
    assert errors.StockpileError is StockpileError


def test_a_declared_contract_error_is_a_class_and_a_typo_is_an_attribute_error():
    cls = errors.ReserveExceeded
    assert issubclass(cls, errors.ContractError) and cls is errors.ReserveExceeded
    assert "ReserveExceeded" in errors.declared_errors() and "ReserveExceeded" in dir(errors)
    assert issubclass(errors.ERC20InsufficientBalance, StockpileError)  # OpenZeppelin's, from the same ABIs
    with pytest.raises(AttributeError, match="ReserveExceded"):
        errors.ReserveExceded  # noqa: B018 - the typo from issue 15
    assert not hasattr(errors, "NoSuchError")
    with pytest.raises(AttributeError):
        errors.error_class("NoSuchError")


def test_one_shape_for_a_decoded_error():
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector

    from stockpile.oracle.chain import decode_error

    data = function_signature_to_4byte_selector("QuorumNotMet(uint256,uint256)") + encode(["uint256", "uint256"], [2, 3])
    for err in (errors.decode_revert(data), decode_error("0x" + data.hex())):
        assert type(err) is errors.QuorumNotMet
        assert err.name == "QuorumNotMet" and err.args_dict == {"signatures": 2, "needed": 3} and err.data == data
        assert str(err) == "QuorumNotMet(signatures=2, needed=3)"
    assert not hasattr(err, "args_by_name")


def test_one_transaction_failure():
    import stockpile.oracle
    import devkit.devnet as devnet
    from stockpile.sdk.transactions import TransactionFailed

    assert not hasattr(devnet, "TxFailed")  # the dev helpers raise the SDK's TransactionFailed too
    assert not hasattr(stockpile.oracle, "PriceFeedError")
    failed = TransactionFailed("0xab", {"blockNumber": 7}, "gasUsed 1 of limit 2")
    assert str(failed) == "transaction 0xab reverted (block 7; gasUsed 1 of limit 2)"
