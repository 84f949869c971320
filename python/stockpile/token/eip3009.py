"""EIP-2612 permit and EIP-3009 transfer-authorization typed data of CommodityToken, and the token's
ABI with the EIP-3009 entries that its fallback serves from CommodityTokenAuthorizations."""

from __future__ import annotations

from typing import cast

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from stockpile.contracts import load


def permit_typed_data(token_name: str, chain_id: int, token: str, owner: str, spender: str, value: int,
                      nonce: int, deadline: int) -> dict:
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
            ],
            "Permit": [
                {"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
                {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
                {"name": "deadline", "type": "uint256"},
            ],
        },
        "primaryType": "Permit",
        "domain": {"name": token_name, "version": "1", "chainId": chain_id, "verifyingContract": token},
        "message": {"owner": owner, "spender": spender, "value": value, "nonce": nonce, "deadline": deadline},
    }


def sign_transfer_authorization(key: str | bytes, *, token_name: str, chain_id: int, token: str, to: str, value: int,
                                valid_after: int, valid_before: int, nonce: bytes,
                                kind: str = "TransferWithAuthorization") -> tuple[int, bytes, bytes]:
    """(v, r, s) of an EIP-3009 TransferWithAuthorization (or ReceiveWithAuthorization) in the token's
    EIP-712 domain (the permit domain: name, version "1"), signed with eth-account typed-data signing."""
    owner = Account.from_key(key).address
    fields = [{"name": "from", "type": "address"}, {"name": "to", "type": "address"},
              {"name": "value", "type": "uint256"}, {"name": "validAfter", "type": "uint256"},
              {"name": "validBefore", "type": "uint256"}, {"name": "nonce", "type": "bytes32"}]
    typed = permit_typed_data(token_name, chain_id, token, owner, to, value, 0, 0)
    typed["types"] = {"EIP712Domain": typed["types"]["EIP712Domain"], kind: fields}
    typed["primaryType"] = kind
    typed["message"] = {"from": owner, "to": to, "value": value, "validAfter": valid_after,
                        "validBefore": valid_before, "nonce": nonce}
    signed = Account.sign_message(encode_typed_data(full_message=typed), key)
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


# What CommodityToken's fallback serves from CommodityTokenAuthorizations (IERC3009), with its events and errors.
EIP3009_NAMES = frozenset({
    "transferWithAuthorization", "receiveWithAuthorization", "cancelAuthorization", "authorizationState",
    "AuthorizationUsed", "AuthorizationCanceled", "AuthorizationNotYetValid", "AuthorizationExpired",
    "AuthorizationAlreadyUsed", "InvalidAuthorizationSignature", "CallerNotPayee",
})


def token_abi_with_authorizations(token_abi: list[dict], authorizations_abi: list[dict]) -> list[dict]:
    """CommodityToken's ABI plus the EIP-3009 entries of CommodityTokenAuthorizations' ABI."""
    return list(token_abi) + [a for a in authorizations_abi if a.get("name") in EIP3009_NAMES]


def token_with_authorizations(w3: Web3, address: str) -> Contract:
    """The token at ``address`` with the EIP-3009 functions (IERC3009, served by its fallback) in its ABI."""
    abi = token_abi_with_authorizations(load("CommodityToken").abi, load("CommodityTokenAuthorizations").abi)
    return w3.eth.contract(address=cast(ChecksumAddress, address), abi=abi)  # as given (web3 checks it)
