"""Test helpers for the token stack on ape's network (used by tests/token, tests/upgrades).

Functions take ape's ``project``/accounts objects; nothing here imports ape.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_utils import keccak

from stockpile.token.devnet import sign_attestation, token_init_params

UNIT = 10**18
RESERVE = 1_000_000 * UNIT
MAX_AGE = 7 * 86_400
MIN_REDEMPTION = 5 * UNIT
TIMELOCK_DELAY = 3_600
ATTESTOR_KEYS = ["0x" + keccak(text=f"stockpile test attestor {i}").hex() for i in range(5)]
ZERO_ADDRESS = "0x" + "00" * 20


def mint_id(label: str) -> bytes:
    return keccak(text=f"mint:{label}")


@dataclass
class Stack:
    token: object
    attestor: object
    timelock: object
    admin: object
    minter: object
    operator: object
    protector: object
    pauser: object
    compliance: object
    alice: object
    bob: object
    carol: object
    stranger: object


class Attest:
    """Sign (EIP-712, eth-account) and submit attestations to the real ReserveAttestor."""

    def __init__(self, attestor, chain, sender, project_chain_id: int):
        self.attestor, self.chain, self.sender, self.chain_id = attestor, chain, sender, project_chain_id
        self.count = 0

    def __call__(self, total: int, as_of: int | None = None, lots: int = 10):
        self.count += 1
        if as_of is None:
            as_of = self.chain.pending_timestamp - 1
        att = {"merkleRoot": keccak(text=f"root {self.count}") if lots else b"\0" * 32,
               "totalQuantity": total, "lotCount": lots, "asOf": as_of,
               "reportHash": keccak(text=f"report {self.count}")}
        args = sign_attestation(ATTESTOR_KEYS[:3], self.chain_id, self.attestor.address, att,
                                bytes(self.attestor.configDigest()))
        return self.attestor.attest(*args, sender=self.sender)


def deploy_token(project, admin, upgrader, attestor, **overrides):
    impl = admin.deploy(project.CommodityToken)
    params = token_init_params(**{
        "name": "Stockpile NdPr Oxide", "symbol": "sNDPR", "decimals": 18, "product_code": "NDPR-OX-995",
        "unit_description": "NdPr oxide, 1 kg, 99.5%", "admin": admin.address, "admin_transfer_delay": 86_400,
        "upgrader": upgrader, "reserve_attestor": attestor, "max_attestation_age": MAX_AGE,
        "minimum_redemption": MIN_REDEMPTION, **overrides,
    })
    data = impl.initialize.encode_input(params)
    proxy = admin.deploy(project.StockpileProxy, impl.address, data)
    return project.CommodityToken.at(proxy.address)



def build_stack(project, accounts, chain) -> Stack:
    """Timelock, ReserveAttestor (5 attestors, quorum 3) and CommodityToken behind proxies; roles on
    accounts[0..5]; a minter bucket; a first attestation of RESERVE."""
    admin, minter, operator, protector, pauser, compliance, alice, bob, carol, stranger = accounts[:10]
    timelock = admin.deploy(project.StockpileTimelock, TIMELOCK_DELAY, [admin.address], [admin.address], ZERO_ADDRESS)
    att_impl = admin.deploy(project.ReserveAttestor)
    att_data = att_impl.initialize.encode_input(
        "NDPR-OX-995", 18, [Account.from_key(k).address for k in ATTESTOR_KEYS], 3, admin.address, 86_400,
        timelock.address,
    )
    attestor = project.ReserveAttestor.at(admin.deploy(project.StockpileProxy, att_impl.address, att_data).address)
    token = deploy_token(project, admin, timelock.address, attestor.address)
    for role, who in (("MINTER_ROLE", minter), ("REDEMPTION_OPERATOR_ROLE", operator),
                      ("ASSET_PROTECTION_ROLE", protector), ("PAUSER_ROLE", pauser),
                      ("COMPLIANCE_ROLE", compliance)):
        token.grantRole(getattr(token, role)(), who, sender=admin)
    token.setMinterLimit(minter, 100_000 * UNIT, 10 * UNIT, sender=admin)
    s = Stack(token, attestor, timelock, admin, minter, operator, protector, pauser, compliance, alice, bob,
              carol, stranger)
    Attest(attestor, chain, admin, chain.chain_id)(RESERVE)
    return s
