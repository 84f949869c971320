"""The CommodityToken and ReserveAttestor ABIs the reconciliation reads and the guardian calls.

They are the compiled artifacts' (shipped inside the package), never a hand-written copy: a copy
lagged behind the contracts (it lacked ``pauseMinting``, so without artifacts the guardian could
only report "refused")."""

from __future__ import annotations

from typing import Any

from stockpile.contracts import load


def token_abi() -> list[dict[str, Any]]:
    return list(load("CommodityToken").abi)


def attestor_abi() -> list[dict[str, Any]]:
    return list(load("ReserveAttestor").abi)
