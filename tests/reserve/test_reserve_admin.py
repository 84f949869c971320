"""Attestor set, quorum, initialisation and upgrades: every privileged path refused without its role."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from reserve_helpers import OUTSIDER_SIGNER, PRODUCT, SIGNERS, custom_error, make_attestation, sample_lots, sign, submit

MANAGER = keccak(text="ATTESTOR_MANAGER_ROLE")
UPGRADER = keccak(text="UPGRADER_ROLE")


def test_role_constants(attestor):
    assert bytes(attestor.ATTESTOR_MANAGER_ROLE()) == MANAGER
    assert bytes(attestor.UPGRADER_ROLE()) == UPGRADER


@pytest.mark.parametrize(
    "call",
    [
        lambda a, s: a.addAttestor(OUTSIDER_SIGNER.address, sender=s),
        lambda a, s: a.removeAttestor(SIGNERS[0].address, sender=s),
        lambda a, s: a.setQuorum(2, sender=s),
    ],
    ids=["addAttestor", "removeAttestor", "setQuorum"],
)
def test_manager_functions_refused_without_role(attestor, outsider, admin, call):
    for who in (outsider, admin):  # the default admin holds no manager role: only the timelock does
        with custom_error("AccessControlUnauthorizedAccount", account=who.address, neededRole=MANAGER):
            call(attestor, who)
    assert attestor.quorum() == 3 and len(attestor.attestors()) == 5


def test_add_attestor(attestor, upgrader, relayer, chain, as_of):
    attestor.setQuorum(4, sender=upgrader)  # 3 of 6 would not be a majority: raise the quorum first
    tx = attestor.addAttestor(OUTSIDER_SIGNER.address, sender=upgrader)
    assert [e.attestor for e in tx.decode_logs(attestor.AttestorAdded)] == [OUTSIDER_SIGNER.address]
    assert attestor.isAttestor(OUTSIDER_SIGNER.address)
    a = make_attestation(sample_lots(3), as_of)
    submit(attestor, a, sign(attestor, a, SIGNERS[:3] + [OUTSIDER_SIGNER], chain.chain_id), sender=relayer)
    assert attestor.latestRoundId() == 1


def test_add_attestor_bad_input(attestor, upgrader):
    with custom_error("AttestorAlreadyRegistered", attestor=SIGNERS[0].address):
        attestor.addAttestor(SIGNERS[0].address, sender=upgrader)
    with custom_error("ZeroAddress"):
        attestor.addAttestor("0x" + "00" * 20, sender=upgrader)
    with custom_error("InvalidQuorum", quorum=3, signers=6):  # 3 of 6 is no strict majority
        attestor.addAttestor(OUTSIDER_SIGNER.address, sender=upgrader)
    assert len(attestor.attestors()) == 5


def test_removed_attestor_can_no_longer_sign(attestor, upgrader, relayer, chain, as_of):
    gone = SIGNERS[0]
    tx = attestor.removeAttestor(gone.address, sender=upgrader)
    assert [e.attestor for e in tx.decode_logs(attestor.AttestorRemoved)] == [gone.address]
    assert not attestor.isAttestor(gone.address)
    a = make_attestation(sample_lots(3), as_of)
    with custom_error("NotSigner", recovered=gone.address):
        submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    submit(attestor, a, sign(attestor, a, SIGNERS[1:4], chain.chain_id), sender=relayer)


def test_remove_attestor_bad_input(attestor, upgrader):
    with custom_error("AttestorNotRegistered", attestor=OUTSIDER_SIGNER.address):
        attestor.removeAttestor(OUTSIDER_SIGNER.address, sender=upgrader)
    attestor.setQuorum(5, sender=upgrader)
    with custom_error("InvalidQuorum", quorum=5, signers=4):  # would leave fewer attestors than the quorum
        attestor.removeAttestor(SIGNERS[0].address, sender=upgrader)
    assert attestor.isAttestor(SIGNERS[0].address)


def test_set_quorum(attestor, upgrader, relayer, chain, as_of):
    tx = attestor.setQuorum(4, sender=upgrader)
    assert [(e.oldQuorum, e.newQuorum) for e in tx.decode_logs(attestor.QuorumChanged)] == [(3, 4)]
    a = make_attestation(sample_lots(3), as_of)
    with custom_error("QuorumNotMet", signatures=3, needed=4):
        submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    submit(attestor, a, sign(attestor, a, SIGNERS[:4], chain.chain_id), sender=relayer)


@pytest.mark.parametrize("q", [0, 1, 2, 6])
def test_set_quorum_out_of_range(attestor, upgrader, q):
    with custom_error("InvalidQuorum", quorum=q, signers=5):
        attestor.setQuorum(q, sender=upgrader)
    assert attestor.quorum() == 3


def test_initialisation_events(attestor, chain, project):
    # the proxy deployment emitted one AttestorAdded per attestor and QuorumChanged(0, 3)
    added = [e.attestor for e in attestor.AttestorAdded.range(0, chain.blocks.head.number + 1) if e.contract_address == attestor.address]
    assert added == [s.address for s in SIGNERS]
    q = [(e.oldQuorum, e.newQuorum) for e in attestor.QuorumChanged.range(0, chain.blocks.head.number + 1) if e.contract_address == attestor.address]
    assert q == [(0, 3)]


@pytest.mark.parametrize(
    "kwargs, error, inputs",
    [
        ({"quorum": 0}, "InvalidQuorum", {"quorum": 0, "signers": 5}),
        ({"quorum": 6}, "InvalidQuorum", {"quorum": 6, "signers": 5}),
        ({"attestors": [], "quorum": 1}, "InvalidQuorum", {"quorum": 1, "signers": 0}),
        ({"quorum": 2}, "InvalidQuorum", {"quorum": 2, "signers": 5}),  # audit L-5: no majority
        ({"attestors": [SIGNERS[0].address, SIGNERS[1].address, SIGNERS[2].address], "quorum": 1},
         "InvalidQuorum", {"quorum": 1, "signers": 3}),
        ({"product": ""}, "EmptyProductCode", {}),
        ({"admin_": "0x" + "00" * 20}, "ZeroAddress", {}),
        ({"upgrader_": "0x" + "00" * 20}, "ZeroAddress", {}),
        ({"attestors": [SIGNERS[0].address, SIGNERS[0].address], "quorum": 1}, "AttestorAlreadyRegistered",
         {"attestor": SIGNERS[0].address}),
        ({"attestors": [SIGNERS[0].address, "0x" + "00" * 20], "quorum": 1}, "ZeroAddress", {}),
    ],
)
def test_initialisation_bad_input(deploy_attestor, kwargs, error, inputs):
    with custom_error(error, **inputs):
        deploy_attestor(**kwargs)


def test_initialize_only_once(attestor, project, admin, outsider):
    args = (PRODUCT, 18, [OUTSIDER_SIGNER.address], 1, outsider.address, 0, outsider.address)
    with custom_error("InvalidInitialization"):
        attestor.initialize(*args, sender=outsider)
    impl = admin.deploy(project.ReserveAttestor)  # the bare implementation cannot be initialised either
    with custom_error("InvalidInitialization"):
        impl.initialize(*args, sender=outsider)
    assert not attestor.isAttestor(OUTSIDER_SIGNER.address)


def test_upgrade_refused_without_upgrader_role(attestor, project, admin, outsider):
    new_impl = admin.deploy(project.ReserveAttestor)
    for who in (outsider, admin):  # even the default admin needs the timelock's role
        with custom_error("AccessControlUnauthorizedAccount", account=who.address, neededRole=UPGRADER):
            attestor.upgradeToAndCall(new_impl.address, b"", sender=who)


def test_upgrade_by_upgrader_keeps_state(attestor, project, admin, upgrader, relayer, chain, as_of):
    a = make_attestation(sample_lots(5), as_of)
    submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    new_impl = admin.deploy(project.ReserveAttestor)
    tx = attestor.upgradeToAndCall(new_impl.address, b"", sender=upgrader)
    slot = int("360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc", 16)
    impl_word = chain.provider.get_storage(attestor.address, slot)
    assert bytes(impl_word)[-20:].hex() == new_impl.address[2:].lower()
    assert tx.status == 1
    assert attestor.productCode() == PRODUCT and attestor.quorum() == 3
    assert tuple(attestor.reserveTotal()) == (a.total_quantity, as_of)
    assert len(attestor.attestors()) == 5


def test_default_admin_handover_is_two_step(attestor, admin, outsider):
    attestor.beginDefaultAdminTransfer(outsider.address, sender=admin)
    assert attestor.defaultAdmin() == admin.address  # nothing changes until accepted
    with custom_error("AccessControlInvalidDefaultAdmin", defaultAdmin=admin.address):
        attestor.acceptDefaultAdminTransfer(sender=admin)
    with custom_error("AccessControlUnauthorizedAccount", account=outsider.address):
        attestor.beginDefaultAdminTransfer(outsider.address, sender=outsider)


def test_state_lives_in_the_erc7201_namespace(attestor, relayer, chain, as_of):
    """The storage location constant is the ERC-7201 formula for "stockpile.storage.ReserveAttestor",
    and the proxy's state is there (not in slot 0..n, where an upgrade could collide)."""
    base = (int.from_bytes(keccak((int.from_bytes(keccak(text="stockpile.storage.ReserveAttestor"), "big") - 1)
                                  .to_bytes(32, "big")), "big")) & ~0xFF
    a = make_attestation(sample_lots(3), as_of)
    submit(attestor, a, sign(attestor, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    word = lambda slot: int.from_bytes(bytes(chain.provider.get_storage(attestor.address, slot)), "big")  # noqa: E731
    # slot base+0: productCode (short string: bytes and length*2); base+1: decimals (uint8) | latestRoundId (uint80)
    assert word(base) == int.from_bytes(PRODUCT.encode().ljust(31, b"\0") + bytes([2 * len(PRODUCT)]), "big")
    assert word(base + 1) == 18 | (1 << 8)
    assert word(base + 2) == 3  # quorum
    assert word(base + 6) == 1  # configVersion, appended after the rounds mapping (set by initialize)
    assert all(word(i) == 0 for i in range(4))  # nothing in the low slots


def test_upgrade_through_a_timelock(deploy_attestor, project, admin, outsider, relayer, chain, as_of):
    """UPGRADER_ROLE held by an OpenZeppelin TimelockController: an upgrade is scheduled, refused
    before its delay, then executed; an outsider can neither schedule nor upgrade directly."""
    from reserve_helpers import ape_container, oz_artifact

    delay = 2 * 24 * 3600
    timelock = admin.deploy(ape_container(oz_artifact("@openzeppelin/contracts/governance/TimelockController.sol",
                                                      "TimelockController")), delay, [admin.address], [admin.address],
                            "0x" + "00" * 20)
    feed = deploy_attestor(upgrader_=timelock.address)
    a = make_attestation(sample_lots(4), as_of)
    submit(feed, a, sign(feed, a, SIGNERS[:3], chain.chain_id), sender=relayer)
    new_impl = admin.deploy(project.ReserveAttestor)
    call = feed.upgradeToAndCall.encode_input(new_impl.address, b"")
    salt, pred = b"\x01" * 32, b"\0" * 32

    with custom_error("AccessControlUnauthorizedAccount", account=admin.address, neededRole=UPGRADER):
        feed.upgradeToAndCall(new_impl.address, b"", sender=admin)
    proposer = keccak(text="PROPOSER_ROLE")
    with custom_error("AccessControlUnauthorizedAccount", account=outsider.address, neededRole=proposer):
        timelock.schedule(feed.address, 0, call, pred, salt, delay, sender=outsider)
    timelock.schedule(feed.address, 0, call, pred, salt, delay, sender=admin)
    with custom_error("TimelockUnexpectedOperationState", abi=timelock.contract_type.model_dump(mode="json")["abi"]):
        timelock.execute(feed.address, 0, call, pred, salt, sender=admin)
    chain.pending_timestamp += delay + 1
    timelock.execute(feed.address, 0, call, pred, salt, sender=admin)
    slot = 0x360894A13BA1A3210667C828492DB98DCA3E2076CC3735A920A3CA505D382BBC
    assert bytes(chain.provider.get_storage(feed.address, slot))[-20:].hex() == new_impl.address[2:].lower()
    assert tuple(feed.reserveTotal()) == (a.total_quantity, as_of)


def test_attack_admin_grants_itself_upgrader_and_upgrades_refused(attestor, project, admin):
    """Audit H-2: UPGRADER_ROLE administers itself, so the default admin cannot grant it to itself
    and upgrade at once."""
    assert bytes(attestor.getRoleAdmin(UPGRADER)) == UPGRADER
    with custom_error("AccessControlUnauthorizedAccount", account=admin.address, neededRole=UPGRADER):
        attestor.grantRole(UPGRADER, admin.address, sender=admin)
    new_impl = admin.deploy(project.ReserveAttestor)
    with custom_error("AccessControlUnauthorizedAccount", account=admin.address, neededRole=UPGRADER):
        attestor.upgradeToAndCall(new_impl.address, b"", sender=admin)
    assert not attestor.hasRole(UPGRADER, admin.address)


def test_attack_admin_adds_itself_as_attestor_with_quorum_1_refused(attestor, admin, relayer, chain, as_of):
    """Audit H-2: the admin adds its own key as attestor, sets quorum 1 and attests 1e30: every step
    needs the timelock's ATTESTOR_MANAGER_ROLE (self-administered), and quorum 1 is no majority anyway."""
    from eth_account import Account

    evil = Account.from_key(keccak(text="admin's own attestor key"))
    assert bytes(attestor.getRoleAdmin(MANAGER)) == MANAGER
    with custom_error("AccessControlUnauthorizedAccount", account=admin.address, neededRole=MANAGER):
        attestor.grantRole(MANAGER, admin.address, sender=admin)
    with custom_error("AccessControlUnauthorizedAccount", account=admin.address, neededRole=MANAGER):
        attestor.addAttestor(evil.address, sender=admin)
    with custom_error("AccessControlUnauthorizedAccount", account=admin.address, neededRole=MANAGER):
        attestor.setQuorum(1, sender=admin)
    a = make_attestation(sample_lots(1), as_of).model_copy(update={"total_quantity": 10**30})
    with custom_error("QuorumNotMet", signatures=1, needed=3):
        submit(attestor, a, sign(attestor, a, [evil], chain.chain_id), sender=relayer)
    assert attestor.latestRoundId() == 0


def test_attack_attestation_signed_under_old_quorum_refused(attestor, upgrader, relayer, chain, as_of):
    """Audit L-1: a 3-of-5 attestation refused under quorum 4 (one attestor disputed it) is not
    accepted after the quorum goes back to 3: it was signed under another config digest."""
    attestor.setQuorum(4, sender=upgrader)
    a = make_attestation(sample_lots(3), as_of)
    old_digest = bytes(attestor.configDigest())
    sigs = sign(attestor, a, SIGNERS[:3], chain.chain_id)
    with custom_error("QuorumNotMet", signatures=3, needed=4):
        submit(attestor, a, sigs, sender=relayer)
    attestor.setQuorum(3, sender=upgrader)
    assert bytes(attestor.configDigest()) != old_digest
    with custom_error("ConfigDigestMismatch", signed=old_digest, current=bytes(attestor.configDigest())):
        submit(attestor, a, sigs, sender=relayer, digest=old_digest)
    assert attestor.latestRoundId() == 0


def test_attack_attestation_signed_before_attestor_set_change_refused(attestor, upgrader, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    old_digest = bytes(attestor.configDigest())
    sigs = sign(attestor, a, SIGNERS[:3], chain.chain_id)
    attestor.setQuorum(4, sender=upgrader)
    attestor.addAttestor(OUTSIDER_SIGNER.address, sender=upgrader)
    attestor.removeAttestor(OUTSIDER_SIGNER.address, sender=upgrader)
    attestor.setQuorum(3, sender=upgrader)  # back to the same set and quorum: still a new configuration
    assert attestor.configVersion() == 5
    with custom_error("ConfigDigestMismatch", signed=old_digest):
        submit(attestor, a, sigs, sender=relayer, digest=old_digest)


def test_attack_attestation_past_its_deadline_refused(attestor, relayer, chain, as_of):
    a = make_attestation(sample_lots(3), as_of)
    deadline = chain.pending_timestamp + 60
    sigs = sign(attestor, a, SIGNERS[:3], chain.chain_id, deadline=deadline)
    chain.pending_timestamp = deadline + 1
    with custom_error("SignatureExpired", deadline=deadline):
        submit(attestor, a, sigs, sender=relayer, deadline=deadline)
    assert attestor.latestRoundId() == 0


def test_attestor_changes_go_through_the_timelock(deploy_attestor, admin, relayer, chain, as_of):
    """ATTESTOR_MANAGER_ROLE held by an OpenZeppelin TimelockController: a quorum change waits for the delay."""
    from reserve_helpers import ape_container, oz_artifact

    delay = 3600
    timelock = admin.deploy(ape_container(oz_artifact("@openzeppelin/contracts/governance/TimelockController.sol",
                                                      "TimelockController")), delay, [admin.address], [admin.address],
                            "0x" + "00" * 20)
    feed = deploy_attestor(upgrader_=timelock.address)
    assert feed.hasRole(MANAGER, timelock.address) and not feed.hasRole(MANAGER, admin.address)
    call = feed.setQuorum.encode_input(4)
    salt, pred = b"\x02" * 32, b"\0" * 32
    timelock.schedule(feed.address, 0, call, pred, salt, delay, sender=admin)
    with custom_error("TimelockUnexpectedOperationState", abi=timelock.contract_type.model_dump(mode="json")["abi"]):
        timelock.execute(feed.address, 0, call, pred, salt, sender=admin)
    chain.pending_timestamp += delay + 1
    timelock.execute(feed.address, 0, call, pred, salt, sender=admin)
    assert feed.quorum() == 4
