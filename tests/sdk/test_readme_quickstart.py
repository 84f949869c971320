"""The README's SDK quickstart runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from decimal import Decimal

import pytest
from eth_account import Account

from stockpile.toolchain import PROJECT_ROOT
from sdk_helpers import ATTESTOR_KEYS, HOLDER, publish_price

pytestmark = pytest.mark.anvil


def quickstart_code() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## SDK quickstart", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_quickstart_runs_as_written(devnet, operator, monkeypatch):
    url, manifest = devnet
    holder = Account.from_key(HOLDER)
    ndpr = operator.product("NDPR")
    now = operator.w3.eth.get_block("latest")["timestamp"]
    last = ndpr.attestation()
    lots = [("WH-ROTTERDAM-01", "Q-1", "NDPR-OXIDE", "powder", 995_000, 5_000 * 10**18, "SGS-Q1")]
    ndpr.attest(lots, as_of=max(now - 30, (last.as_of + 1) if last else 0), report=b"r",
                signers=[Account.from_key(k) for k in ATTESTOR_KEYS[:2]])
    ndpr.mint(holder.address, Decimal("500"), "quickstart funding")
    publish_price(operator, "NDPR", "64")
    before = ndpr.balance(holder.address).amount

    monkeypatch.setenv("STOCKPILE_RPC_URL", url)
    monkeypatch.setenv("STOCKPILE_DIRECTORY", operator.directory)
    monkeypatch.setenv("WALLET_KEY", HOLDER)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(quickstart_code(), "README.md", "exec"), {})
    text = out.getvalue()
    assert "NDPR | Stockpile NdPr Oxide | NdPr oxide, 1 kg, 99.5%" in text
    assert f"balance: {before} kg" in text
    value, price = re.search(r"value: (\S+) USD at (\S+) USD/kg", text).groups()
    assert Decimal(price) == 64 and Decimal(value) == before * 64
    assert re.search(r"redemption \d+ pending", text)
    assert "backed: True" in text
    assert "refused: AccessControlUnauthorizedAccount True" in text
    assert ndpr.balance(holder.address).amount == before - Decimal("102.5")
