"""The same contract over JSON-RPC on a real node (anvil), with web3.py and eth-account only:
what the SDK, deploy tooling and reconciliation will do."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3.exceptions import ContractCustomError

from stockpile.merkle import lot_tree
from stockpile.reserve import Attestation, attestation_digest, report_hash, sign_by_quorum
from stockpile.reserve.signing import default_deadline
from devkit.reserve import deploy_reserve_attestor, send, submit_attestation
from devkit.gas import attestation_gas

from reserve_helpers import (
    DECIMALS,
    OUTSIDER_SIGNER,
    PRODUCT,
    SIGNERS,
    consumer_artifact,
    decode_custom_error,
    oz_tree,
    sample_lots,
)

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def keys(anvil_keys):
    return {"admin": anvil_keys[0], "relayer": anvil_keys[1], "outsider": anvil_keys[2], "upgrader": anvil_keys[3]}


@pytest.fixture(scope="module")
def feed(w3, keys):
    return deploy_reserve_attestor(w3, keys["admin"], PRODUCT, DECIMALS, [s.address for s in SIGNERS], 3,
                                   upgrader=Account.from_key(keys["upgrader"]).address)


@pytest.fixture(scope="module")
def clock(w3):
    """Strictly increasing as-of times, just behind the chain's clock."""
    state = {"t": w3.eth.get_block("latest")["timestamp"] - 3000}

    def next_as_of() -> int:
        state["t"] += 1
        return state["t"]

    return next_as_of


def expect_error(abi, name, fn, sender=None, **inputs):
    """The call reverts with the custom error ``name`` (decoded from the node's revert data)."""
    with pytest.raises(ContractCustomError) as info:
        fn.call({"from": sender} if sender else {})
    got, args = decode_custom_error(abi, info.value.data)
    assert got == name, f"expected {name}, got {got}{args}"
    for k, v in inputs.items():
        a = args[k]
        if isinstance(v, str):
            a, v = str(a).lower(), v.lower()
        assert a == v, f"{name}.{k}: expected {v!r}, got {a!r}"
    return args


def signed(w3, feed, a, accts=SIGNERS[:3], chain_id=None):
    return sign_by_quorum(accts, chain_id or w3.eth.chain_id, feed.address, a, feed.functions.configDigest().call(),
                          default_deadline(a))


def _recover(w3, feed, a, sig):
    from eth_account import Account

    h = attestation_digest(w3.eth.chain_id, feed.address, a, feed.functions.configDigest().call(), default_deadline(a))
    r, vs = (int.from_bytes(bytes(x), "big") for x in sig)
    return Account._recover_hash(h, vrs=(27 + (vs >> 255), r, vs & ((1 << 255) - 1)))


def test_attest_on_anvil_and_read_it_back(w3, feed, keys, clock):
    lots = sample_lots(20)
    a = Attestation.of_lots(lots, clock(), report_hash("anvil report"))
    digest = feed.functions.configDigest().call()
    assert feed.functions.attestationDigest(a.as_tuple(), digest, default_deadline(a)).call() == attestation_digest(
        w3.eth.chain_id, feed.address, a, digest, default_deadline(a))
    round_before = feed.functions.latestRoundId().call()
    receipt = submit_attestation(w3, keys["relayer"], feed, a, digest, default_deadline(a), signed(w3, feed, a))
    (ev,) = feed.events.ReserveAttested().process_receipt(receipt)
    assert ev.args.roundId == round_before + 1
    assert (ev.args.merkleRoot, ev.args.totalQuantity, ev.args.lotCount, ev.args.asOf, ev.args.reportHash) == a.as_tuple()
    assert feed.functions.reserveTotal().call() == [a.total_quantity, a.as_of]
    att, rid, attested_at = feed.functions.latestAttestation().call()
    assert Attestation.from_chain(att) == a and rid == ev.args.roundId
    assert attested_at == w3.eth.get_block(receipt.blockNumber)["timestamp"]
    assert feed.functions.latestRoundData().call() == [rid, a.total_quantity, a.as_of, attested_at, rid]

    tree = lot_tree(lots)
    oz = oz_tree(lots)
    for i, lot in enumerate(lots):
        assert feed.functions.verifyLot(*lot.as_tuple(), tree.proof(i)).call()
        assert feed.functions.verifyLot(*lot.as_tuple(), oz["proofs"][i]).call()
    tampered = lots[0].model_copy(update={"quantity": lots[0].quantity * 2})
    assert not feed.functions.verifyLot(*tampered.as_tuple(), tree.proof(0)).call()


def test_chainlink_consumer_on_anvil(w3, feed, keys, clock):
    art = consumer_artifact()
    receipt = send(w3, keys["admin"], w3.eth.contract(abi=art.abi, bytecode=art.bytecode).constructor(feed.address))
    consumer = w3.eth.contract(address=receipt.contractAddress, abi=art.abi)
    a = Attestation.of_lots(sample_lots(4), clock(), report_hash("consumer"))
    submit_attestation(w3, keys["relayer"], feed, a, feed.functions.configDigest().call(), default_deadline(a),
                       signed(w3, feed, a))
    rid, answer, started, updated, dec = consumer.functions.latest().call()
    assert (answer, started, dec) == (a.total_quantity, a.as_of, DECIMALS)
    assert consumer.functions.describe().call() == f"{PRODUCT} reserves"
    assert consumer.functions.covers(a.total_quantity, 10**6).call()
    assert not consumer.functions.covers(a.total_quantity + 1, 10**6).call()


def test_refusals_on_anvil(w3, feed, keys, clock):
    abi = feed.abi
    a = Attestation.of_lots(sample_lots(3), clock(), report_hash("refusals"))
    attest = lambda sigs, att=a: feed.functions.attest(  # noqa: E731
        att.as_tuple(), feed.functions.configDigest().call(), default_deadline(att), sigs)
    expect_error(abi, "QuorumNotMet", attest(signed(w3, feed, a, SIGNERS[:2])), signatures=2, needed=3)
    expect_error(abi, "NotSigner", attest(signed(w3, feed, a, SIGNERS[:2] + [OUTSIDER_SIGNER])),
                 recovered=OUTSIDER_SIGNER.address)
    wrong_chain = signed(w3, feed, a, chain_id=1)
    expect_error(abi, "NotSigner", attest(wrong_chain),
                 recovered=_recover(w3, feed, a, wrong_chain[0]))
    good = signed(w3, feed, a)
    expect_error(abi, "DuplicateSigner", attest([good[0], good[1], good[1]]))
    expect_error(abi, "SignersNotOrdered", attest([good[1], good[0], good[2]]))
    future_t = w3.eth.get_block("latest")["timestamp"] + 3600
    future = a.model_copy(update={"as_of": future_t})
    expect_error(abi, "AsOfInFuture", attest(signed(w3, feed, future), future), asOf=future_t)

    submit_attestation(w3, keys["relayer"], feed, a, feed.functions.configDigest().call(), default_deadline(a), good)
    expect_error(abi, "AsOfNotNewer", attest(good), asOf=a.as_of, currentAsOf=a.as_of)  # replay

    outsider = Account.from_key(keys["outsider"]).address
    manager = feed.functions.ATTESTOR_MANAGER_ROLE().call()
    upgrader_role = feed.functions.UPGRADER_ROLE().call()
    for fn in (feed.functions.addAttestor(outsider), feed.functions.removeAttestor(SIGNERS[0].address),
               feed.functions.setQuorum(1)):
        expect_error(abi, "AccessControlUnauthorizedAccount", fn, sender=outsider, account=outsider, neededRole=manager)
    expect_error(abi, "AccessControlUnauthorizedAccount", feed.functions.upgradeToAndCall(feed.address, b""),
                 sender=outsider, account=outsider, neededRole=upgrader_role)
    # the refused transactions changed nothing
    assert feed.functions.quorum().call() == 3 and len(feed.functions.attestors().call()) == 5


def test_attest_gas_10_vs_a_million_lots_on_anvil(w3, keys):
    rows = attestation_gas(w3, keys["admin"], lot_counts=(10, 1_000_000))
    by = {(r["lots"], "execution" in r["metric"]): r["value"] for r in rows}
    assert by[(10, True)] == by[(1_000_000, True)]
    # the totals differ only by calldata pricing (4 gas per zero byte, 16 per non-zero byte of the values
    # and signatures): well under 0.1 %
    assert abs(by[(10, False)] - by[(1_000_000, False)]) * 1000 < by[(10, False)]
    print({r["metric"]: r["value"] for r in rows})
