"""The basket's ERC-7201 namespace in the committed snapshot is where the source puts it."""

from __future__ import annotations

import json

from stockpile.token.storage_layout import SNAPSHOT_DIR, check_against_snapshots, erc7201_slot


def test_basket_snapshot_records_its_namespace_and_matches_the_source():
    snap = json.loads((SNAPSHOT_DIR / "BasketToken.json").read_text())
    ns = next(n for n in snap["namespaces"] if n["id"] == "stockpile.storage.BasketToken")
    assert ns["slot"] == erc7201_slot("stockpile.storage.BasketToken")
    assert [m["name"] for m in ns["members"]] == ["decimals", "allowlistMode", "successor", "components",
                                                  "indexPlusOne", "accounts"]
    assert check_against_snapshots()["BasketToken"] == []
