"""The README's SDK quickstart runs as written."""

from __future__ import annotations

import contextlib
import io

import pytest

from sdk_helpers import HOLDER, check_quickstart_output, prepare_quickstart, quickstart_code

pytestmark = pytest.mark.anvil


def test_readme_quickstart_runs_as_written(devnet, operator, monkeypatch):
    url, manifest = devnet
    before = prepare_quickstart(operator)
    monkeypatch.setenv("STOCKPILE_RPC_URL", url)
    monkeypatch.setenv("STOCKPILE_DIRECTORY", operator.directory)
    monkeypatch.setenv("WALLET_KEY", HOLDER)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(quickstart_code(), "README.md", "exec"), {})
    check_quickstart_output(out.getvalue(), before, operator)
