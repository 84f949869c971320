"""The project's `solc` over solc-js behaves like the native CLI for the tools that call it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import solcx
from solcx.wrapper import get_solc_version

from stockpile.toolchain import PROJECT_ROOT, SOLC_VERSION, solc_shim

SHIM = str(solc_shim())
OZ_IMPORT = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {ERC20Permit, ERC20} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
contract Probe is ERC20Permit {
    constructor() ERC20("Probe", "PRB") ERC20Permit("Probe") {}
}
"""


def run(args, stdin=None, env=None):
    return subprocess.run([SHIM, *args], input=stdin, capture_output=True, text=True, cwd=PROJECT_ROOT, env=env)


def test_version_is_native_looking_and_parsed_by_py_solc_x():
    out = run(["--version"])
    assert out.returncode == 0
    assert out.stdout.startswith("solc, the solidity compiler commandline interface\nVersion: ")
    assert str(get_solc_version(SHIM)) == SOLC_VERSION
    with_commit = get_solc_version(SHIM, with_commit_hash=True)
    assert str(with_commit).startswith(f"{SOLC_VERSION}+commit.")


def test_version_answer_is_kept_per_package_and_asked_again_when_the_package_changes(tmp_path):
    env = dict(os.environ, STOCKPILE_SOLC_CACHE=str(tmp_path))  # not the checkout's: other workers read that
    first = run(["--version"], env=env)
    assert first.returncode == 0 and f"Version: {SOLC_VERSION}+commit." in first.stdout
    (kept,) = tmp_path.glob("*-version.json")
    data = json.loads(kept.read_text())
    assert data["version"] in first.stdout
    # the kept answer is what the next call prints (planted here to tell the two apart)
    kept.write_text(json.dumps({**data, "version": f"{SOLC_VERSION}+commit.00000000.Linux.g++"}))
    assert "commit.00000000" in run(["--version"], env=env).stdout
    # kept for another package (or another soljson.js): solc-js is asked again, and the answer replaced
    kept.write_text(json.dumps({"key": "another solc-js", "version": "0.8.1+commit.00000000.Linux.g++"}))
    assert run(["--version"], env=env).stdout == first.stdout
    assert json.loads(kept.read_text()) == data


def test_decoded_wasm_is_kept_and_a_damaged_copy_is_decoded_again(tmp_path):
    env = dict(os.environ, STOCKPILE_SOLC_CACHE=str(tmp_path))
    src = {"language": "Solidity", "sources": {"C.sol": {"content": "pragma solidity ^0.8.0; contract C {}"}},
           "settings": {"outputSelection": {"*": {"*": ["evm.bytecode.object"]}}}}
    first = run(["--standard-json"], stdin=json.dumps(src), env=env)
    (wasm,) = tmp_path.glob("*.wasm")
    assert wasm.read_bytes()[:4] == b"\0asm"
    wasm.write_bytes(b"\0asm" + b"\0" * 100)  # a cut-short copy
    again = run(["--standard-json"], stdin=json.dumps(src), env=env)
    assert again.returncode == 0 and json.loads(again.stdout) == json.loads(first.stdout)
    assert json.loads(first.stdout)["contracts"]["C.sol"]["C"]["evm"]["bytecode"]["object"]
    assert wasm.stat().st_size > 1_000_000  # decoded from soljson.js again, and kept


def test_help_lists_combined_json_outputs_where_py_solc_x_reads_them():
    outputs = solcx.main._get_combined_json_outputs(SHIM).split(",")
    for key in ("abi", "bin", "bin-runtime", "ast", "srcmap", "hashes", "storage-layout"):
        assert key in outputs


def test_standard_json_resolves_openzeppelin_from_node_modules(tmp_path):
    src = {"language": "Solidity", "sources": {"Probe.sol": {"content": OZ_IMPORT}},
           "settings": {"outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}}}}
    out = run(["--standard-json", "--base-path", str(tmp_path), "--include-path", str(PROJECT_ROOT / "node_modules")],
              stdin=json.dumps(src))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert not [e for e in result.get("errors", []) if e["severity"] == "error"], result.get("errors")
    assert "@openzeppelin/contracts/token/ERC20/ERC20.sol" in result["sources"]
    assert result["contracts"]["Probe.sol"]["Probe"]["evm"]["bytecode"]["object"]


def test_standard_json_import_not_found_is_reported_in_json(tmp_path):
    src = {"language": "Solidity", "sources": {"Probe.sol": {"content": OZ_IMPORT}},
           "settings": {"outputSelection": {"*": {"*": ["abi"]}}}}
    out = run(["--standard-json", "--base-path", str(tmp_path)], stdin=json.dumps(src))
    assert out.returncode == 0  # like native solc: errors travel inside the JSON
    errors = json.loads(out.stdout)["errors"]
    assert any(e["severity"] == "error" and "@openzeppelin/contracts" in e["message"] for e in errors)


def test_py_solc_x_compile_standard_through_the_shim():
    out = solcx.compile_standard(
        {"language": "Solidity", "sources": {"Probe.sol": {"content": OZ_IMPORT}},
         "settings": {"remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
                      "outputSelection": {"*": {"*": ["abi"]}}}},
        solc_binary=SHIM, base_path=str(PROJECT_ROOT), allow_paths=[str(PROJECT_ROOT)],
    )
    names = {item.get("name") for item in out["contracts"]["Probe.sol"]["Probe"]["abi"]}
    assert {"permit", "nonces", "DOMAIN_SEPARATOR", "transfer"} <= names


def test_combined_json_through_py_solc_x_compile_files(tmp_path):
    src = tmp_path / "Probe.sol"
    src.write_text(OZ_IMPORT)
    out = solcx.compile_files(
        [src], output_values=["abi", "bin", "bin-runtime", "ast", "hashes"], solc_binary=SHIM,
        import_remappings={"@openzeppelin/": str(PROJECT_ROOT / "node_modules/@openzeppelin") + "/"},
        allow_paths=[str(PROJECT_ROOT / "node_modules"), str(tmp_path)],
    )
    key = next(k for k in out if k.endswith(":Probe"))
    assert out[key]["bin"] and out[key]["bin-runtime"]
    assert out[key]["hashes"]["transfer(address,uint256)"] == "a9059cbb"
    assert out[key]["ast"]["nodeType"] == "SourceUnit"


def test_combined_json_from_stdin_via_compile_source():
    out = solcx.compile_source(
        "pragma solidity ^0.8.0; contract C { function f() external pure returns (uint) { return 7; } }",
        output_values=["abi", "bin"], solc_binary=SHIM,
    )
    assert out["<stdin>:C"]["abi"][0]["name"] == "f"


def test_output_larger_than_64_kib_arrives_whole():
    src = {"language": "Solidity", "sources": {"Probe.sol": {"content": OZ_IMPORT}},
           "settings": {"outputSelection": {"*": {"*": ["*"], "": ["ast"]}}}}
    out = subprocess.run([SHIM, "--standard-json", "--include-path", "node_modules", "--base-path", "."],
                         input=json.dumps(src).encode(), capture_output=True, cwd=PROJECT_ROOT)
    assert out.returncode == 0
    assert len(out.stdout) > 4 * 65536
    parsed = json.loads(out.stdout)  # a truncated pipe would fail here
    assert "Probe" in parsed["contracts"]["Probe.sol"]


def test_compile_error_exits_1_with_the_compiler_message(tmp_path):
    bad = tmp_path / "Bad.sol"
    bad.write_text("pragma solidity ^0.8.0;\ncontract Bad { function f( }\n")
    out = run(["--combined-json", "abi", str(bad)])
    assert out.returncode == 1
    assert "ParserError" in out.stderr
    assert out.stdout == ""
    with pytest.raises(solcx.exceptions.SolcError, match="ParserError"):
        solcx.compile_files([bad], output_values=["abi"], solc_binary=SHIM)


def test_unknown_option_is_refused_like_native_solc():
    out = run(["--combined-json", "abi", "--no-such-flag", "x.sol"])
    assert out.returncode == 1
    assert "unrecognised option '--no-such-flag'" in out.stderr


def test_remappings_are_positional_prefix_equals_path(tmp_path):
    src = tmp_path / "Probe.sol"
    src.write_text(OZ_IMPORT)
    out = run(["--combined-json", "abi", f"@openzeppelin/={PROJECT_ROOT}/node_modules/@openzeppelin/", str(src),
               "--allow-paths", f"{PROJECT_ROOT},{tmp_path}"])
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert any(k.endswith(":Probe") for k in data["contracts"])
    assert data["version"].startswith(SOLC_VERSION)
