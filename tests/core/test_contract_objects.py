"""stockpile.contracts.contract: the one way the package makes a web3 contract for a deployed address;
each (w3, artifact, address) is made once, whatever the address' spelling."""

from __future__ import annotations

from web3 import Web3

from stockpile.contracts import contract, load


def test_one_contract_object_per_w3_artifact_and_address():
    w3, other = Web3(), Web3()
    address = "0x" + "ab" * 20
    token = contract(w3, "CommodityToken", address)
    assert token.address == Web3.to_checksum_address(address)
    assert token.abi == load("CommodityToken").abi
    assert contract(w3, "CommodityToken", Web3.to_checksum_address(address)) is token  # any spelling
    assert contract(w3, "CommodityToken", "0x" + "cd" * 20) is not token
    assert contract(w3, "ReserveAttestor", address) is not token
    assert contract(other, "CommodityToken", address) is not token and contract(other, "CommodityToken", address).w3 is other
    assert token.functions.balanceOf(address).abi["name"] == "balanceOf"
