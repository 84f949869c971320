"""`stockpile portal serve` refuses a set-up it cannot serve with one line and exit code 2.

The first refusal runs the installed `stockpile` script (the entry point's exit code and stderr as
a user sees them); the others run the same app in-process (devkit.cli), ~1.5 s CPU less each."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devkit.cli import run
from stockpile.toolchain.anvil import free_port

STOCKPILE = Path(sys.executable).parent / "stockpile"


def serve(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(STOCKPILE), "portal", "serve", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_unreachable_node_is_one_line_exit_2(tmp_path):
    products = tmp_path / "products.yaml"
    url = f"http://127.0.0.1:{free_port()}"
    products.write_text(f"rpc_url: {url}\ndirectory: '0x{'11' * 20}'\n")
    out = serve("--products", str(products), "--db", str(tmp_path / "c.db"), cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"portal: cannot reach the node at {url}"]


def test_missing_database_directory_is_one_line_exit_2(tmp_path):
    products = tmp_path / "products.yaml"
    products.write_text("rpc_url: http://127.0.0.1:1\ndirectory: '0x" + "11" * 20 + "'\n")
    out = run("portal", "serve", "--products", products, "--db", tmp_path / "no" / "c.db")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "database directory" in out.stderr and "does not exist" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_products_file_without_rpc_url_is_one_line_exit_2(tmp_path):
    products = tmp_path / "products.yaml"
    products.write_text("directory: '0x" + "11" * 20 + "'\n")
    out = run("portal", "serve", "--products", products, "--db", tmp_path / "c.db")
    assert out.returncode == 2 and "no rpc_url" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
