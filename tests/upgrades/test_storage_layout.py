"""The committed storage-layout snapshots match the sources, and the checker catches reordered,
retyped and removed members on deliberately broken copies of CommodityToken (appending is fine)."""

from __future__ import annotations

import json

import pytest

from devkit.cli import run
from stockpile.toolchain import PROJECT_ROOT
from stockpile.token.storage_layout import (
    SNAPSHOT_DIR, check_against_snapshots, compare, compile_layouts, erc7201_slot, snapshot,
)

TOKEN_SRC = "contracts/token/CommodityToken.sol"
CORE_SRC = "contracts/token/CommodityTokenCore.sol"  # the namespace struct is declared here
V2_SRC = "tests/contracts/CommodityTokenV2.sol"
CORE_IMPORT = 'import {CommodityTokenCore} from "./CommodityTokenCore.sol";'


def _variant(token: str, core: str, name: str, edits: list[tuple[str, str]]) -> tuple[str, str]:
    """Broken copies of the token and of its core (the token importing the broken core); each edit is
    applied to the file that holds its old text."""
    token = token.replace(CORE_IMPORT, CORE_IMPORT.replace("CommodityTokenCore.sol", f"CommodityTokenCore_{name}.sol"))
    for old, new in edits:
        if old in core:
            core = core.replace(old, new)
        else:
            assert old in token, old
            token = token.replace(old, new)
    return token, core


# Broken (and harmless) copies of CommodityToken that still compile: (old, new) replacements.
EDITS = {
    "reorder": [("        uint256 minimumRedemption;\n        uint256 redemptionCount;\n",
                 "        uint256 redemptionCount;\n        uint256 minimumRedemption;\n")],
    "retype": [("        uint256 redemptionCount;\n", "        uint128 redemptionCount;\n")],
    "remove": [("        string unitDescription;\n        mapping(address account",
                "        mapping(address account"),
               ("        $.unitDescription = p.unitDescription;\n", ""),
               ("return _s().unitDescription;", 'return "";')],
    "rename": [("        uint256 totalEscrowed;\n", "        uint256 escrowTotal;\n"),
               ("$.totalEscrowed", "$.escrowTotal"), ("_s().totalEscrowed", "_s().escrowTotal")],
    "inline_struct_append": [("        bool mintingPaused;\n    }",
                              "        bool mintingPaused;\n        bool extra;\n    }")],  # the slot is full
    "inline_struct_reorder": [("        bool paused;\n        bool allowlistMode;\n",
                               "        bool allowlistMode;\n        bool paused;\n")],
    "mapped_struct_retype": [("        uint64 updatedAt;\n", "        uint128 updatedAt;\n")],
    "namespace_moved": [("erc7201:stockpile.storage.CommodityToken\n", "erc7201:stockpile.storage.CommodityTokenV9\n")],
    "append": [("        mapping(address authorizer => mapping(bytes32 nonce => bool)) authorizations; // EIP-3009\n",
                "        mapping(address authorizer => mapping(bytes32 nonce => bool)) authorizations;\n"
                "        uint256 newCounter;\n")],
    "mapped_struct_append": [("        bool destinationsRestricted;\n", "        bool destinationsRestricted;\n        bool extra;\n")],
}


@pytest.fixture(scope="module")
def variants():
    """One compile holding the test upgrade target (tests/contracts, importing the real CommodityToken)
    and broken copies of CommodityToken (same contract name). The other product contracts stay out:
    nothing here reads them (~1.8 s CPU of solc-js less)."""
    sources = {V2_SRC: {"content": (PROJECT_ROOT / V2_SRC).read_text()}}
    base, core = (PROJECT_ROOT / TOKEN_SRC).read_text(), (PROJECT_ROOT / CORE_SRC).read_text()
    for name, edits in EDITS.items():
        token_v, core_v = _variant(base, core, name, edits)
        sources[f"contracts/token/CommodityToken_{name}.sol"] = {"content": token_v}
        sources[f"contracts/token/CommodityTokenCore_{name}.sol"] = {"content": core_v}
    out = compile_layouts(sources)
    committed = json.loads((SNAPSHOT_DIR / "CommodityToken.json").read_text())
    return {name: compare(committed, snapshot("CommodityToken", out, f"contracts/token/CommodityToken_{name}.sol"))
            for name in EDITS} | {"_out": out, "_committed": committed}


def test_committed_snapshots_match_the_sources():
    report = check_against_snapshots()
    assert set(report) == {"BasketToken", "CommodityToken", "ReserveAttestor"}
    assert report == {name: [] for name in report}


def test_snapshot_records_the_namespace_and_members():
    snap = json.loads((SNAPSHOT_DIR / "CommodityToken.json").read_text())
    (ns,) = [n for n in snap["namespaces"] if n["id"] == "stockpile.storage.CommodityToken"]
    assert ns["slot"] == erc7201_slot("stockpile.storage.CommodityToken")
    assert ns["slot"] == "0xd3e228778c55a906ab8ae1c39565f487c99f97b4e0188e9659a48d92959cc500"
    assert [m["name"] for m in ns["members"]][:4] == ["hot", "minimumRedemption", "redemptionCount", "totalEscrowed"]
    assert {"openzeppelin.storage.ERC20", "openzeppelin.storage.AccessControl"} <= {n["id"] for n in snap["namespaces"]}
    assert snap["structs"]["CommodityTokenCore.HotConfig"]["usage"] == "inline"
    assert snap["structs"]["CommodityTokenCore.MinterLimit"]["usage"] == "indirect"
    assert snap["storage"] == []  # everything namespaced


def test_erc7201_slot_matches_openzeppelin():
    # ERC20Upgradeable's documented constant
    assert erc7201_slot("openzeppelin.storage.ERC20") == \
        "0x52c63247e1f47db19d5ce0460030c497f067ca4cebf71ba98eeadabe20bace00"


@pytest.mark.parametrize("name,needle", [
    ("reorder", "member #1 name changed 'minimumRedemption' -> 'redemptionCount'"),
    ("retype", "member #2 type changed 'uint256' -> 'uint128'"),
    ("remove", "member #5 name changed 'unitDescription'"),
    ("rename", "member #3 name changed 'totalEscrowed' -> 'escrowTotal'"),
    ("inline_struct_append", "struct CommodityTokenCore.HotConfig: members appended to a struct stored inline (6 -> 7)"),
    ("inline_struct_reorder", "struct CommodityTokenCore.HotConfig: member #2 name changed 'paused' -> 'allowlistMode'"),
    ("mapped_struct_retype", "struct CommodityTokenCore.MinterLimit: member #3 type changed 'uint64' -> 'uint128'"),
    ("namespace_moved", "namespace stockpile.storage.CommodityToken: removed"),
])
def test_checker_flags_broken_copies(variants, name, needle):
    problems = variants[name]
    assert any(needle in p for p in problems), problems


@pytest.mark.parametrize("name", ["append", "mapped_struct_append"])
def test_appending_is_allowed(variants, name):
    assert variants[name] == []


def test_upgrade_target_v2_is_compatible(variants):
    v2 = snapshot("CommodityTokenV2", variants["_out"])
    assert compare(variants["_committed"], v2) == []


def test_cli_check_passes_on_the_committed_tree():
    # in-process (devkit.cli.run): the command and its exit code are the point, not a new process;
    # compile_layouts() answers from the compile test_committed_snapshots_match_the_sources made
    out = run("layout", "check")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "CommodityToken: ok" in out.stdout


def _inline(members):
    return {"storage": [], "namespaces": [],
            "structs": {"T.Hot": {"usage": "inline", "members": [{"name": n, "type": t} for n, t in members]}}}


HOT_V1 = [("reserveAttestor", "address"), ("maxAttestationAge", "uint64"), ("paused", "bool"),
          ("allowlistMode", "bool"), ("decimals", "uint8")]  # 31 bytes: one slot


def test_inline_struct_may_grow_inside_its_last_slot():
    """HotConfig gained `mintingPaused` in the byte its slot had free: nothing after it moves."""
    assert compare(_inline(HOT_V1), _inline(HOT_V1 + [("mintingPaused", "bool")])) == []
    spill = compare(_inline(HOT_V1), _inline(HOT_V1 + [("extra", "uint16")]))  # 33 bytes: a second slot
    assert spill and "appended to a struct stored inline" in spill[0]
    unknown = compare(_inline(HOT_V1 + [("name", "string")]), _inline(HOT_V1 + [("name", "string"), ("x", "bool")]))
    assert unknown, "a struct with a reference-type member may not grow inline"
