"""Move admin roles from the deployer to the configured holders.

Contracts with OpenZeppelin's AccessControlDefaultAdminRules (tokens, attestors, price feed)
hand DEFAULT_ADMIN over in two steps: ``beginDefaultAdminTransfer`` here, then the new admin
(a multisig) calls ``acceptDefaultAdminTransfer`` once the delay has passed. Operational admin
roles (attestor manager, feed/signer admin, registrar) are granted to the configured admin and
renounced by the deployer, as are token roles the deployment file does not give it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from stockpile.contracts import load
from stockpile.deploy.config import Deployment
from stockpile.deploy.manifest import Manifest
from stockpile.deploy.steps import TOKEN_ROLES, role_id
from stockpile.sdk.transactions import Sender

DEFAULT_ADMIN = bytes(32)


@dataclass
class HandoverLine:
    contract: str
    role: str
    holder: str
    status: str  # "granted", "renounced", "transfer begun (accept after T)", "already done", "pending acceptance"


def _contracts(dep: Deployment, manifest: Manifest):
    """(manifest key, artifact, extra admin roles, two-step?) for every contract with roles."""
    out: list[Any] = []
    for p in dep.products:
        out.append((f"{p.symbol}.token", "CommodityToken", [], True))
        out.append((f"{p.symbol}.attestor", "ReserveAttestor", ["ATTESTOR_MANAGER_ROLE"], True))
    if "price-feed" in manifest.contracts:
        out.append(("price-feed", "PriceFeed", ["SIGNER_ADMIN_ROLE", "FEED_ADMIN_ROLE"], True))
    out.append(("directory", "Directory", ["REGISTRAR_ROLE", "DEFAULT_ADMIN_ROLE"], False))
    return out


def handover(dep: Deployment, w3: Web3, sender: Sender, manifest: Manifest) -> list[HandoverLine]:
    admin = dep.roles.admin
    me = sender.address
    lines: list[HandoverLine] = []
    for key, artifact, extra_roles, two_step in _contracts(dep, manifest):
        c = w3.eth.contract(address=Web3.to_checksum_address(manifest.address(key)), abi=load(artifact).abi)
        # 1. operational admin roles: grant to admin, then renounce ours
        for role in extra_roles:
            rid = DEFAULT_ADMIN if role == "DEFAULT_ADMIN_ROLE" else role_id(role)
            if not c.functions.hasRole(rid, admin).call():
                sender.transact(c.functions.grantRole(rid, admin))
                lines.append(HandoverLine(key, role, admin, "granted"))
            else:
                lines.append(HandoverLine(key, role, admin, "already done"))
        # 2. token roles the deployer holds without the file giving them
        if artifact == "CommodityToken":
            for field, role in TOKEN_ROLES.items():
                if me not in getattr(dep.roles, field) and c.functions.hasRole(role_id(role), me).call():
                    sender.transact(c.functions.renounceRole(role_id(role), me))
                    lines.append(HandoverLine(key, role, me, "renounced"))
        for role in extra_roles:
            if role == "DEFAULT_ADMIN_ROLE" or me == admin:
                continue
            rid = role_id(role)
            if c.functions.hasRole(rid, me).call():
                sender.transact(c.functions.renounceRole(rid, me))
                lines.append(HandoverLine(key, role, me, "renounced"))
        # 3. default admin
        if two_step:
            current = c.functions.defaultAdmin().call()
            if current == admin:
                lines.append(HandoverLine(key, "DEFAULT_ADMIN_ROLE", admin, "already done"))
                continue
            pending, schedule = c.functions.pendingDefaultAdmin().call()
            if pending != admin:
                sender.transact(c.functions.beginDefaultAdminTransfer(admin))
                pending, schedule = c.functions.pendingDefaultAdmin().call()
                lines.append(HandoverLine(key, "DEFAULT_ADMIN_ROLE", admin, f"transfer begun (accept after {schedule})"))
            else:
                lines.append(HandoverLine(key, "DEFAULT_ADMIN_ROLE", admin, f"pending acceptance (after {schedule})"))
        elif me != admin and c.functions.hasRole(DEFAULT_ADMIN, me).call():
            sender.transact(c.functions.renounceRole(DEFAULT_ADMIN, me))
            lines.append(HandoverLine(key, "DEFAULT_ADMIN_ROLE", me, "renounced"))
    return lines
