"""A command whose extra is not installed names the extra in one line and exits 2 (no traceback).

The missing modules are hidden from a fresh interpreter by a meta-path finder, as if the extra
had not been installed; the wheel test (tests/sdk/test_wheel_install.py) checks the same from a
real base install."""

from __future__ import annotations

import subprocess
import sys

import pytest

RUN = """
import sys
hidden = set(sys.argv[1].split(","))
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Hide())
from stockpile.cli import main
main(sys.argv[2:], prog_name="stockpile")
"""


def stockpile(hidden: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", RUN, hidden, *args], capture_output=True, text=True)


@pytest.mark.parametrize(("hidden", "args", "extra"), [
    ("yaml,rich", ["deploy", "validate", "x.yaml"], "deploy"),
    ("yaml,rich", ["deploy", "--help"], "deploy"),
    ("rich", ["basket", "--help"], "deploy"),
    ("yaml,sqlalchemy,httpx", ["oracle", "run-once", "--local-signers", "--config", __file__], "oracle"),
    ("sqlalchemy,alembic", ["reconcile", "ingest", "--db", "sqlite:///x.db", __file__], "reconcile"),
    ("solcx", ["build"], "dev"),
])
def test_missing_extra_is_named_in_one_line(hidden, args, extra):
    out = stockpile(hidden, *args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"needs the [{extra}] extra" in lines[0] and f"pip install 'stockpile[{extra}]'" in lines[0]


def test_help_lists_every_command_when_extras_are_missing():
    out = stockpile("yaml,rich,sqlalchemy,httpx,solcx,ape", "--help")
    assert out.returncode == 0, out.stderr
    assert "deploy     stockpile deploy needs the [deploy] extra" in out.stdout
    assert "reserve" in out.stdout


def test_a_missing_module_of_our_own_is_not_blamed_on_an_extra():
    out = stockpile("stockpile_nonexistent", "--help")
    assert out.returncode == 0
    from stockpile.extras import missing_extra

    assert missing_extra(ModuleNotFoundError("x", name="stockpile.nope"), "deploy") is None
