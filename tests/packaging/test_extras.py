"""A command whose extra is not installed names the extra in one line and exits 2 (no traceback).

The missing modules are hidden by a meta-path finder, as if the extra had not been installed, in a
fork of an interpreter that has imported only the CLI and web3 (none of the hidden modules); the
wheel test (tests/sdk/test_wheel_install.py) checks the same from a real base install."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# One interpreter imports the CLI and the base install's web3 once; each case runs in a fork of it
# (~0.3 s CPU of imports less per case). A fork that hides a module not yet imported sees exactly what a fresh interpreter with
# that module missing sees: the server first reports which of the hidden modules the CLI's import
# already loaded (none, asserted below), since hiding those after the fact would prove nothing.
SERVER = """
import json, os, sys, traceback
import stockpile.cli
import web3, eth_account  # the base install's heavy imports, which every case below makes
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in set(sys.argv[1].split(",")))), flush=True)
for line in sys.stdin:
    hidden, args, out_path, err_path = json.loads(line)
    pid = os.fork()
    if pid == 0:
        for fd, path in ((1, out_path), (2, err_path)):
            os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        hidden = set(hidden)
        class Hide:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in hidden:
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        sys.meta_path.insert(0, Hide())
        try:  # as the interpreter ends a script: SystemExit's code, else the traceback and 1
            stockpile.cli.main(args, prog_name="stockpile")
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
"""
EVERY_HIDDEN = "yaml,rich,sqlalchemy,httpx,solcx,ape,alembic,stockpile_nonexistent"


class Forks:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, EVERY_HIDDEN], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.preloaded = json.loads(self.proc.stdout.readline())
        self.runs = 0

    def run(self, hidden: str, *args: str) -> subprocess.CompletedProcess[str]:
        self.runs += 1
        out, err = self.tmp / f"{self.runs}.out", self.tmp / f"{self.runs}.err"
        self.proc.stdin.write(json.dumps([hidden.split(","), list(args), str(out), str(err)]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the fork server exited with {self.proc.poll()}"
        return subprocess.CompletedProcess(["stockpile", *args], int(line), out.read_text(), err.read_text())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def forks(tmp_path_factory):
    server = Forks(tmp_path_factory.mktemp("extras"))
    assert server.preloaded == [], "importing stockpile.cli or web3 loads modules of an extra"
    yield server
    server.close()


@pytest.fixture
def stockpile(forks):
    return forks.run


@pytest.mark.parametrize(("hidden", "args", "extra"), [
    ("yaml,rich", ["deploy", "validate", "x.yaml"], "deploy"),
    ("yaml,rich", ["deploy", "--help"], "deploy"),
    ("rich", ["basket", "--help"], "deploy"),
    ("yaml,sqlalchemy,httpx", ["oracle", "run-once", "--local-signers", "--config", __file__], "oracle"),
    ("sqlalchemy,alembic", ["reconcile", "ingest", "--db", "sqlite:///x.db", __file__], "reconcile"),
    ("solcx", ["build"], "dev"),
])
def test_missing_extra_is_named_in_one_line(stockpile, hidden, args, extra):
    out = stockpile(hidden, *args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"needs the [{extra}] extra" in lines[0] and f"pip install 'stockpile[{extra}]'" in lines[0]


def test_help_lists_every_command_when_extras_are_missing(stockpile):
    out = stockpile("yaml,rich,sqlalchemy,httpx,solcx,ape", "--help")
    assert out.returncode == 0, out.stderr
    assert "deploy     stockpile deploy needs the [deploy] extra" in out.stdout
    assert "reserve" in out.stdout


def test_a_missing_module_of_our_own_is_not_blamed_on_an_extra(stockpile):
    out = stockpile("stockpile_nonexistent", "--help")
    assert out.returncode == 0
    from stockpile.extras import missing_extra

    assert missing_extra(ModuleNotFoundError("x", name="stockpile.nope"), "deploy") is None
