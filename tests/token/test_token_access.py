"""Every privileged function is refused for an account without its role, with OpenZeppelin's
AccessControlUnauthorizedAccount(account, neededRole); and the default admin handover is two-step and delayed."""

from __future__ import annotations

import ape
import pytest

from devkit.ape_stack import UNIT, Views, mint_id

DEFAULT_ADMIN = b"\0" * 32

# (function, role getter name or None for DEFAULT_ADMIN_ROLE, args builder). Changes that only make things
# safer (SAFER) are also open to DEFAULT_ADMIN_ROLE at once; everyone else needs GOVERNOR_ROLE (the timelock).
PRIVILEGED = [
    ("mint", "MINTER_ROLE", lambda s: (s.alice, UNIT, mint_id("x"))),
    ("setMinterLimit", "GOVERNOR_ROLE", lambda s: (s.stranger, UNIT, 1)),
    ("setReserveAttestor", "GOVERNOR_ROLE", lambda s: (s.attestor,)),
    ("setMaxAttestationAge", "GOVERNOR_ROLE", lambda s: (60 * 86_400,)),
    ("setMintDestinationsRestricted", "GOVERNOR_ROLE", lambda s: (s.minter, False)),
    ("setMintDestination", "GOVERNOR_ROLE", lambda s: (s.minter, s.alice, True)),
    ("lower:setMaxAttestationAge", "GOVERNOR_ROLE", lambda s: (60,)),
    ("lower:setMinterLimit", "GOVERNOR_ROLE", lambda s: (s.minter, UNIT, 0)),
    ("lower:revokeMinter", "GOVERNOR_ROLE", lambda s: (s.minter,)),
    ("lower:setMintDestinationsRestricted", "GOVERNOR_ROLE", lambda s: (s.minter, True)),
    ("lower:setMintDestination", "GOVERNOR_ROLE", lambda s: (s.minter, s.alice, False)),
    ("setMinimumRedemption", None, lambda s: (1,)),
    ("acceptRedemption", "REDEMPTION_OPERATOR_ROLE", lambda s: (1,)),
    ("completeRedemption", "REDEMPTION_OPERATOR_ROLE", lambda s: (1,)),
    ("rejectRedemption", "REDEMPTION_OPERATOR_ROLE", lambda s: (1, b"\x01" * 32)),
    ("forcedTransfer", "ASSET_PROTECTION_ROLE", lambda s: (s.alice, s.bob, UNIT)),
    ("setFrozenTokens", "ASSET_PROTECTION_ROLE", lambda s: (s.alice, UNIT)),
    ("setAddressFrozen", "ASSET_PROTECTION_ROLE", lambda s: (s.alice, True)),
    ("pause", "PAUSER_ROLE", lambda s: ()),
    ("unpause", None, lambda s: ()),
    ("pauseMinting", "PAUSER_ROLE", lambda s: ()),
    ("unpauseMinting", None, lambda s: ()),
    ("setAllowlistMode", "COMPLIANCE_ROLE", lambda s: (True,)),
    ("setAllowlisted", "COMPLIANCE_ROLE", lambda s: (s.alice, True)),
    ("upgradeToAndCall", "UPGRADER_ROLE", lambda s: (s.token.address, b"")),
    ("grantRole", "GOVERNOR_ROLE", lambda s: (s.token.MINTER_ROLE(), s.stranger)),
    ("revokeRole", "GOVERNOR_ROLE", lambda s: (s.token.MINTER_ROLE(), s.minter)),
    ("grantRole", "UPGRADER_ROLE", lambda s: (s.token.UPGRADER_ROLE(), s.stranger)),
    ("grantRole", "GOVERNOR_ROLE", lambda s: (s.token.GOVERNOR_ROLE(), s.stranger)),
    ("grantRole", None, lambda s: (s.token.PAUSER_ROLE(), s.stranger)),
    ("beginDefaultAdminTransfer", None, lambda s: (s.stranger,)),
    ("cancelDefaultAdminTransfer", None, lambda s: ()),
    ("changeDefaultAdminDelay", None, lambda s: (10,)),
    ("rollbackDefaultAdminDelay", None, lambda s: ()),
]


class TestRefusedWithoutRole:
    """Every privileged function. The views each test reads (who holds the role, supply and balance before and
    after) are batched into one eth_call each time (devkit.ape_stack.Views, deployed once for the class; ape's
    class isolation takes it away after)."""

    @pytest.fixture(scope="class")
    def views(self, stack, chain):
        return Views(stack.admin, chain)

    @pytest.mark.parametrize("fn,role,args", PRIVILEGED, ids=[f"{p[0]}-{p[1]}" for p in PRIVILEGED])
    def test_privileged_function_refused_without_role(self, stack, views, funded, fn, role, args):
        token = stack.token
        safer, fn = fn.startswith("lower:"), fn.removeprefix("lower:")
        needed = getattr(token, role)() if role else DEFAULT_ADMIN
        callers = [stack.stranger, stack.alice]
        # Holders of the other roles are refused too (roles do not overlap); the admin multisig is refused
        # everything that needs the timelock, except changes that only make things safer.
        holders = [stack.minter, stack.operator, stack.protector, stack.pauser, stack.compliance]
        if not safer:
            holders.append(stack.admin)
        supply_and_alice = [(token.totalSupply,), (token.balanceOf, stack.alice)]
        *has_role, supply, alice = views([*[(token.hasRole, needed, a) for a in holders], *supply_and_alice])
        callers += [a for a, has in zip(holders, has_role, strict=True) if not has]
        for caller in callers:
            with ape.reverts(token.AccessControlUnauthorizedAccount, account=caller.address, neededRole=needed):
                getattr(token, fn)(*args(stack), sender=caller)
        assert views(supply_and_alice) == [supply, alice]


def test_roles_are_held_as_configured(stack):
    t = stack.token
    assert t.hasRole(DEFAULT_ADMIN, stack.admin) and t.defaultAdmin() == stack.admin.address
    assert t.hasRole(t.UPGRADER_ROLE(), stack.timelock) and not t.hasRole(t.UPGRADER_ROLE(), stack.admin)
    assert t.hasRole(t.GOVERNOR_ROLE(), stack.timelock) and not t.hasRole(t.GOVERNOR_ROLE(), stack.admin)
    # The timelock-held roles administer themselves; minters are granted by the governor (timelock).
    assert t.getRoleAdmin(t.UPGRADER_ROLE()) == t.UPGRADER_ROLE()
    assert t.getRoleAdmin(t.GOVERNOR_ROLE()) == t.GOVERNOR_ROLE()
    assert t.getRoleAdmin(t.MINTER_ROLE()) == t.GOVERNOR_ROLE()
    for role in ("REDEMPTION_OPERATOR_ROLE", "ASSET_PROTECTION_ROLE", "PAUSER_ROLE", "COMPLIANCE_ROLE"):
        assert t.getRoleAdmin(getattr(t, role)()) == DEFAULT_ADMIN
    assert t.hasRole(t.MINTER_ROLE(), stack.minter)
    assert t.hasRole(t.REDEMPTION_OPERATOR_ROLE(), stack.operator)
    assert t.hasRole(t.ASSET_PROTECTION_ROLE(), stack.protector)
    assert t.hasRole(t.PAUSER_ROLE(), stack.pauser)
    assert t.hasRole(t.COMPLIANCE_ROLE(), stack.compliance)
    assert t.defaultAdminDelay() == 86_400


def test_default_admin_cannot_be_granted_directly(stack):
    t = stack.token
    with ape.reverts(t.AccessControlEnforcedDefaultAdminRules):
        t.grantRole(DEFAULT_ADMIN, stack.stranger, sender=stack.admin)


def test_default_admin_handover_is_two_step_and_delayed(stack, chain):
    t, new_admin = stack.token, stack.carol
    t.beginDefaultAdminTransfer(new_admin, sender=stack.admin)
    pending, schedule = t.pendingDefaultAdmin()
    assert pending == new_admin.address
    with ape.reverts(t.AccessControlEnforcedDefaultAdminDelay):
        t.acceptDefaultAdminTransfer(sender=new_admin)
    chain.pending_timestamp = schedule + 1
    with ape.reverts(t.AccessControlInvalidDefaultAdmin, defaultAdmin=stack.stranger.address):
        t.acceptDefaultAdminTransfer(sender=stack.stranger)
    t.acceptDefaultAdminTransfer(sender=new_admin)
    assert t.defaultAdmin() == new_admin.address
    assert not t.hasRole(DEFAULT_ADMIN, stack.admin)
    with ape.reverts(t.AccessControlUnauthorizedAccount, account=stack.admin.address, neededRole=DEFAULT_ADMIN):
        t.setMinimumRedemption(1, sender=stack.admin)
    t.setMinimumRedemption(1, sender=new_admin)


def test_initialize_cannot_run_twice(stack):
    t = stack.token
    params = ("X", "X", 18, "P", "U", stack.stranger.address, 0, stack.stranger.address, stack.stranger.address,
              stack.attestor.address, 1, 0)
    with ape.reverts(t.InvalidInitialization):
        t.initialize(params, sender=stack.stranger)
