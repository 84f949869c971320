"""`stockpile demo` (what `make demo` runs) does the whole journey and reports a clean, then a
planted, reconciliation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.anvil


def test_demo_runs_the_whole_journey(tmp_path):
    stockpile = Path(sys.executable).parent / "stockpile"
    out = subprocess.run([str(stockpile), "demo"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    text = out.stdout
    assert out.returncode == 0, text + out.stderr
    assert "chain id 31337" in text and "directory 0x" in text
    for product in ("NDPR", "DY", "TB", "LI2CO3", "AG"):
        assert f"{product}: attested" in text
    # attestor nodes as separate processes: the one with a tampered custody copy refuses naming the lot
    assert "NDPR: custodian-3: refused (custody_mismatch)" in text and "WH-ROTTERDAM-01/ROT-" in text
    assert "NDPR: attested" in text and "signed by custodian-1" in text
    assert "(read back from chain" in text
    # oracle operators as separate processes: each round names the nodes that signed it
    assert "4 oracle nodes running as separate processes" in text
    assert "round 1: signed by operator-" in text and "round 2: signed by operator-" in text
    assert "a mint above the attested reserve is refused: ReserveExceeded(" in text
    assert "EIP-2612 permit" in text and "completed by the operator" in text
    assert "accepted by the operator: processing" in text
    assert "the holder's cancel after acceptance is refused: RedemptionNotPending(" in text
    assert "run 1: clean (exit code 0), 0 breaks" in text
    assert "released_lot_backing" in text
    assert "planted discrepancy found and named: True" in text
    # the basket: created with approvals and with permits, redeemed, exactly backed, NAV next to prices
    assert "SMB: holder created 12 shares" in text and "with one EIP-2612 permit per component" in text
    assert "SMB: holder redeemed 5 shares" in text and "fully backed: True" in text
    assert "SMB NAV " in text and "USD per share" in text
