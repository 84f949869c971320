"""Small Ethereum definitions the whole package shares: the zero address, EIP-712 typed data (the
domain type every Stockpile signature uses, EIP-2612's Permit) and the development mnemonic."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
DEV_MNEMONIC = "test test test test test test test test test test test junk"  # anvil's, hardhat's: local chains only

EIP712_DOMAIN_TYPE: list[dict[str, str]] = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]

PERMIT_TYPE: list[dict[str, str]] = [  # EIP-2612
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]


def typed_data(name: str, version: str, chain_id: int, verifying_contract: str, primary_type: str,
               types: dict[str, list[dict[str, str]]], message: dict[str, Any]) -> dict[str, Any]:
    """The full EIP-712 message (``eth_account.messages.encode_typed_data(full_message=...)``)
    for a contract whose domain is (name, version, chainId, verifyingContract)."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN_TYPE, **types},
        "primaryType": primary_type,
        "domain": {"name": name, "version": version, "chainId": int(chain_id),
                   "verifyingContract": to_checksum_address(verifying_contract)},
        "message": message,
    }
