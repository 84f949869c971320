"""Move admin roles from the deployer to the configured holders.

Contracts with OpenZeppelin's AccessControlDefaultAdminRules (tokens, attestors, price feed)
hand DEFAULT_ADMIN over in two steps: ``beginDefaultAdminTransfer`` here, then the new admin
(a multisig) calls ``acceptDefaultAdminTransfer`` once the delay has passed. Operational admin
roles (registrar) are granted to the configured admin and renounced by the deployer, as are token
roles the deployment file does not give it. The price feed's SIGNER_ADMIN_ROLE and FEED_ADMIN_ROLE
(self-administered: they move price trust) go to the TimelockController; the attestors'
ATTESTOR_MANAGER_ROLE is the timelock's from initialisation. On tokens the
deployer also renounces GOVERNOR_ROLE (held since deployment as bootstrap governor): afterwards only
the TimelockController holds it, so minters, their limits and the reserve attestor change only after
the timelock's delay (``stockpile deploy apply`` schedules and later executes such changes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from eth_typing import ChecksumAddress
from web3 import Web3

from stockpile.contracts import load
from stockpile.deploy.config import Deployment
from stockpile.deploy.engine import DeploymentError
from stockpile.deploy.manifest import Manifest
from stockpile.deploy.steps import BASKET_ROLES, TOKEN_ROLES, role_id
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
    out: list[tuple[str, str, list[str], bool]] = []
    for p in dep.products:
        out.append((f"{p.symbol}.token", "CommodityToken", [], True))
        out.append((f"{p.symbol}.attestor", "ReserveAttestor", [], True))
    for b in dep.baskets:
        out.append((f"baskets.{b.symbol}", "BasketToken", [], True))
    if "price-feed" in manifest.contracts:
        out.append(("price-feed", "PriceFeed", ["SIGNER_ADMIN_ROLE", "FEED_ADMIN_ROLE"], True))
    out.append(("directory", "Directory", ["REGISTRAR_ROLE", "DEFAULT_ADMIN_ROLE"], False))
    return out


def _check_governor(dep: Deployment, w3: Web3, me: str, manifest: Manifest) -> None:
    """Refuse (before anything is sent) to renounce GOVERNOR_ROLE on a token whose timelock does not hold it."""
    governor, timelock = role_id("GOVERNOR_ROLE"), manifest.address("timelock")
    for key, artifact, _, _ in _contracts(dep, manifest):
        if artifact in ("CommodityToken", "BasketToken") and me != timelock:
            c = w3.eth.contract(address=cast(ChecksumAddress, manifest.address(key)), abi=load(artifact).abi)
            if c.functions.hasRole(governor, me).call() and not c.functions.hasRole(governor, timelock).call():
                raise DeploymentError(f"{key}: the timelock does not hold GOVERNOR_ROLE; refusing to renounce it "
                                      "(nothing sent)")


def handover(dep: Deployment, w3: Web3, sender: Sender, manifest: Manifest) -> list[HandoverLine]:
    admin = dep.roles.admin
    me = sender.address
    lines: list[HandoverLine] = []
    _check_governor(dep, w3, me, manifest)
    for key, artifact, extra_roles, two_step in _contracts(dep, manifest):
        c = w3.eth.contract(address=cast(ChecksumAddress, manifest.address(key)), abi=load(artifact).abi)  # as recorded
        # price-trust roles go to the timelock, operational ones to the admin
        holder = manifest.address("timelock") if artifact == "PriceFeed" else admin
        # 1. operational admin roles: grant to their holder, then renounce ours
        for role in extra_roles:
            rid = DEFAULT_ADMIN if role == "DEFAULT_ADMIN_ROLE" else role_id(role)
            if not c.functions.hasRole(rid, holder).call():
                sender.transact(c.functions.grantRole(rid, holder))
                lines.append(HandoverLine(key, role, holder, "granted"))
            else:
                lines.append(HandoverLine(key, role, holder, "already done"))
        # 2. token roles the deployer holds without the file giving them
        if artifact in ("CommodityToken", "BasketToken"):
            for field, role in (TOKEN_ROLES if artifact == "CommodityToken" else BASKET_ROLES).items():
                if me not in getattr(dep.roles, field) and c.functions.hasRole(role_id(role), me).call():
                    sender.transact(c.functions.renounceRole(role_id(role), me))
                    lines.append(HandoverLine(key, role, me, "renounced"))
            governor = role_id("GOVERNOR_ROLE")
            timelock = manifest.address("timelock")
            if me != timelock and c.functions.hasRole(governor, me).call():  # the timelock holds it (_check_governor)
                sender.transact(c.functions.renounceRole(governor, me))
                lines.append(HandoverLine(key, "GOVERNOR_ROLE", me, "renounced (timelock keeps it)"))
        for role in extra_roles:
            if role == "DEFAULT_ADMIN_ROLE" or me == holder:
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
