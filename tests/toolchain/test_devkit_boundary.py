"""Test, demo and benchmark code lives outside the installed package: nothing in python/stockpile
imports devkit, and contracts/ holds product contracts only (test and bench contracts sit next to
their users and are compiled by devkit.contracts)."""

from __future__ import annotations

import ast

from stockpile.toolchain import PROJECT_ROOT


def test_the_package_never_imports_devkit():
    offenders = []
    for path in sorted((PROJECT_ROOT / "python" / "stockpile").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}" for n in names if n.split(".")[0] == "devkit"]
    assert offenders == []


def test_test_and_bench_contracts_are_outside_contracts_and_still_compile():
    from devkit.contracts import dev_artifacts, load

    sources = {p.relative_to(PROJECT_ROOT).as_posix() for p in (PROJECT_ROOT / "contracts").rglob("*.sol")
               if ".cache" not in p.parts}
    assert not [s for s in sources if s.startswith(("contracts/test/", "contracts/bench/")) or s == "contracts/Hello.sol"]
    assert "contracts/interfaces/AggregatorV3Interface.sol" not in sources  # IAggregatorV3 is the one interface
    arts = dev_artifacts()
    assert {"CommodityTokenV2", "FakeReserveAttestor", "PlainERC20", "PlainERC20Permit", "TransferSpray"} <= set(arts)
    assert arts["CommodityTokenV2"].source == "tests/contracts/CommodityTokenV2.sol"
    assert load("CommodityTokenV2").deployed_bytecode.startswith("0x") and len(load("CommodityTokenV2").bytecode) > 1000
    assert load("CommodityToken").source == "contracts/token/CommodityToken.sol"  # product artifacts come from the package
