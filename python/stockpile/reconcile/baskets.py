"""Basket holdings tie to the basket's shares: for every component, the balance the basket holds at the
confirmed block must be at least totalSupply x units per share (equal unless someone sent the basket
component tokens directly). A shortfall (e.g. a component issuer's forced transfer out of the basket)
is a critical ``basket_under_backed`` break; a surplus (a donation) is reported as ``basket_surplus`` (info).
"""

from __future__ import annotations

from web3 import Web3
from web3.types import BlockIdentifier

from stockpile.contracts import load
from stockpile.reconcile.breaks.model import Break, make


def check_basket(w3: Web3, basket: str, block: BlockIdentifier = "latest") -> tuple[dict, list[Break]]:
    """(summary, breaks) of one BasketToken at ``block``."""
    b = w3.eth.contract(address=Web3.to_checksum_address(basket), abi=load("BasketToken").abi)
    symbol = b.functions.symbol().call(block_identifier=block)
    supply = b.functions.totalSupply().call(block_identifier=block)
    components, breaks = [], []
    for token, units, *_ in b.functions.composition().call(block_identifier=block):
        t = w3.eth.contract(address=token, abi=load("CommodityToken").abi)
        code = t.functions.productCode().call(block_identifier=block)
        held = t.functions.balanceOf(b.address).call(block_identifier=block)
        required = supply * units
        components.append({"product": code, "token": token, "units_per_share": str(units), "held": str(held),
                           "required": str(required)})
        evidence = {"basket": b.address, "component": token, "product_code": code, "total_supply": supply,
                    "units_per_share": units, "held": held, "required": required, "block": block}
        if held < required:
            breaks.append(make(symbol, "basket_under_backed", amount=required - held, evidence=evidence,
                               message=f"basket {symbol} holds {held} {code} base units, its {supply} shares need "
                                       f"{required}: short by {required - held}"))
        elif held > required:
            breaks.append(make(symbol, "basket_surplus", amount=held - required, evidence=evidence,
                               message=f"basket {symbol} holds {held - required} {code} base units above its "
                                       f"backing (sent to it directly; not paid out by redemptions)"))
    summary = {"basket": symbol, "address": b.address, "total_supply": str(supply), "components": components,
               "backed": not any(x.kind == "basket_under_backed" for x in breaks)}
    return summary, breaks


def check_baskets(w3: Web3, baskets: list[str], block: BlockIdentifier = "latest") -> tuple[list[dict], list[Break]]:
    summaries, breaks = [], []
    for address in baskets:
        summary, found = check_basket(w3, address, block)
        summaries.append(summary)
        breaks.extend(found)
    return summaries, breaks
