"""`import stockpile.sdk` pulls in no toolchain or service dependency and reads nothing outside the
package: run in a fresh interpreter with STOCKPILE_ROOT pointing at an empty folder."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("ape", "solcx", "yaml", "sqlalchemy")

PROBE = f"""
import json, os, sys
opened = []
sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" and isinstance(args[0], str) else None)
import stockpile, stockpile.sdk
from stockpile.sdk import errors
from stockpile.contracts import load
package = os.path.dirname(stockpile.__file__)
allowed = tuple(os.path.realpath(p) for p in (package, sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)) + ("/dev/",)
name = errors.decode_revert("0xe2517d3f" + "00" * 64).name
print(json.dumps({{
    "heavy": [m for m in {HEAVY!r} if m in sys.modules],
    "outside": sorted({{f for f in opened if not os.path.realpath(f).startswith(allowed)}}),
    "token_abi": len(load("CommodityToken").abi),
    "error": name,
}}))
"""


def test_import_sdk_with_an_empty_project_root(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=tmp_path,
                         env={"STOCKPILE_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["heavy"] == []
    assert result["outside"] == []
    assert result["token_abi"] > 0  # the package's own artifacts, not the (empty) project root
    assert result["error"] == "AccessControlUnauthorizedAccount"
