"""``stockpile basket composition | nav | create | redeem`` against the sample deployment on anvil;
a user's mistake is one line naming it, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from basket_helpers import HOLDER, KEYS
from devkit.cli import run

STOCKPILE = str(Path(sys.executable).parent / "stockpile")


@pytest.fixture(scope="module")
def cli_env(sp, deployed, anvil):
    manifest = deployed.manifest_dir / f"{sp.chain_id}.json"
    return {"STOCKPILE_RPC_URL": anvil.url, "STOCKPILE_MANIFEST": str(manifest), "HOLDER_KEY": KEYS[HOLDER]}


@pytest.fixture(scope="module")
def cli(cli_env):
    """``stockpile basket ...`` in-process (devkit.cli.run: click's runner over the same ``stockpile.cli`` app,
    milliseconds instead of the ~1.5 s CPU of starting a process); no STOCKPILE_* variable of the test's own
    environment."""
    env = {**dict.fromkeys(k for k in os.environ if k.startswith("STOCKPILE_")), **cli_env}

    def basket(*args):
        return run("basket", *args, env=env)
    return basket


@pytest.fixture(scope="module")
def entry_point(cli_env):
    """``stockpile basket ...`` as a user runs it: the installed entry point in its own process, with nothing
    but these variables (what its exit code and output streams are is what test_installed_entry_point checks)."""
    env = {**cli_env, "PATH": str(Path(sys.executable).parent)}

    def run(*args):
        return subprocess.run([STOCKPILE, "basket", *map(str, args)], capture_output=True, text=True, env=env,
                              timeout=120)
    return run


def test_installed_entry_point(entry_point, sp):
    """The one real process of this file: the installed ``stockpile`` command prints the composition (exit 0)
    and turns a mistake into one line on stderr, exit 2, in a process of its own; the other tests run the
    same app in-process."""
    out = entry_point("composition", "SMB", "--json")
    assert out.returncode == 0, out.stderr
    assert [c["symbol"] for c in json.loads(out.stdout)["components"]] == ["NDPR", "DY", "TB", "LI2CO3", "AG"]
    out = entry_point("nav", "XYZ")
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr.strip() == "error: unknown basket 'XYZ'; the manifest has ['SMB']" and out.stdout == ""


def test_composition_and_nav(cli, sp):
    out = cli("composition", "SMB", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [c["symbol"] for c in data["components"]] == ["NDPR", "DY", "TB", "LI2CO3", "AG"]
    assert data["components"][0]["units"] == 5 * 10**17
    table = cli("composition", "SMB")
    assert table.returncode == 0 and "LI2CO3" in table.stdout
    out = cli("nav", "SMB", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["nav"] == str(sp.basket("SMB").nav().nav)
    assert "NAV" in cli("nav", "SMB").stdout


def test_create_and_redeem(cli, sp):
    smb = sp.basket("SMB")
    before = smb.balance(sp.address).units
    out = cli("create", "SMB", "2", "--account", "env:HOLDER_KEY")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("created 2 SMB share(s)") and smb.balance(sp.address).units == before + 2
    out = cli("create", "SMB", "1", "--account", "env:HOLDER_KEY", "--permit")
    assert out.returncode == 0, out.stderr
    out = cli("create", "SMB", "2", "--account", "env:HOLDER_KEY", "--authorization")
    assert out.returncode == 0 and out.stdout.startswith("created 2 SMB share(s)"), out.stderr
    assert smb.balance(sp.address).units == before + 5
    out = cli("redeem", "SMB", "5", "--account", "env:HOLDER_KEY")
    assert out.returncode == 0 and out.stdout.startswith("redeemed 5"), out.stderr
    assert smb.balance(sp.address).units == before


@pytest.mark.parametrize("args,message", [
    (("nav", "XYZ"), "error: unknown basket 'XYZ'; the manifest has ['SMB']"),
    (("redeem", "SMB", "1000000", "--account", "env:HOLDER_KEY"), "error: refused by the contract: ERC20InsufficientBalance"),
    (("create", "SMB", "0.5", "--account", "env:HOLDER_KEY"), "has more than 0 decimal places"),
    (("create", "SMB", "1000", "--account", "env:HOLDER_KEY"), "1000 share(s) need 500000000000000000000 NDPR base units"),
    (("create", "SMB", "abc", "--account", "env:HOLDER_KEY"), "error: shares must be a number, got 'abc'"),
    (("create", "SMB", "1", "--account", "env:NOPE"), "error:"),
    (("composition", "SMB", "--manifest", "/nonexistent.json"), "error: manifest not found: /nonexistent.json"),
    (("create", "SMB", "1", "--account", "env:HOLDER_KEY", "--permit", "--authorization"),
     "error: give --permit or --authorization, not both"),
    (("redeem", "SMB", "1", "--account", "env:HOLDER_KEY", "--authorization"),
     "error: --authorization applies to create only"),
])
def test_mistakes_are_one_line_exit_2(cli, args, message):
    out = cli(*args)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert message in out.stderr and "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
