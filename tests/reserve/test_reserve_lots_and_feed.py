"""On-chain lot verification (Python and @openzeppelin/merkle-tree trees), the Chainlink-interface
consumer, and attestation gas independent of the number of lots."""

from __future__ import annotations

import pytest

from stockpile.merkle import lot_leaf, lot_tree
from stockpile.reserve import Attestation, report_hash
from devkit.gas import execution_gas, synthetic_tree

from reserve_helpers import (
    DECIMALS,
    PRODUCT,
    SIGNERS,
    ape_container,
    consumer_artifact,
    custom_error,
    make_attestation,
    oz_tree,
    sample_lots,
    sign,
    submit,
)


def attest(attestor, a, relayer, chain, signers=SIGNERS[:3]):
    return submit(attestor, a, sign(attestor, a, signers, chain.chain_id), sender=relayer)


def verify_lot(attestor, lot, proof) -> bool:
    return attestor.verifyLot(*lot.as_tuple(), proof)


def test_lot_leaf_matches_python(attestor):
    for lot in sample_lots(5):
        assert bytes(attestor.lotLeaf(*lot.as_tuple())) == lot_leaf(lot.as_tuple())


def test_python_tree_lots_verify_on_chain(attestor, relayer, chain, as_of):
    lots = sample_lots(25)
    tree = lot_tree(lots)
    assert not verify_lot(attestor, lots[0], tree.proof(0))  # nothing attested yet
    attest(attestor, Attestation.of_tree(tree, as_of, report_hash("r1")), relayer, chain)
    for i, lot in enumerate(lots):
        assert verify_lot(attestor, lot, tree.proof(i)), lot.lot_id
        assert attestor.verifyLeaf(tree.leaf(i), tree.proof(i))


def test_openzeppelin_js_tree_lots_verify_on_chain(attestor, relayer, chain, as_of):
    lots = sample_lots(17)  # not a power of two: an unbalanced tree
    oz = oz_tree(lots)
    assert bytes.fromhex(oz["root"][2:]) == lot_tree(lots).root
    a = Attestation(merkle_root=oz["root"], total_quantity=sum(l.quantity for l in lots), lot_count=len(lots),
                    as_of=as_of, report_hash=report_hash("oz"))
    attest(attestor, a, relayer, chain)
    for lot, proof in zip(lots, oz["proofs"]):
        assert verify_lot(attestor, lot, proof), lot.lot_id


def test_tampered_lots_and_proofs_are_rejected(attestor, relayer, chain, as_of):
    lots = sample_lots(12)
    tree = lot_tree(lots)
    attest(attestor, Attestation.of_tree(tree, as_of, report_hash("r")), relayer, chain)
    lot, proof = lots[3], tree.proof(3)
    assert verify_lot(attestor, lot, proof)
    for change in [{"quantity": lot.quantity + 1}, {"lot_id": lot.lot_id + "X"}, {"warehouse_id": "WH-OTHER"},
                   {"product_code": "DY-OXIDE"}, {"purity_ppm": lot.purity_ppm + 1}, {"form": "ingot"},
                   {"assay_ref": "forged"}]:
        assert not verify_lot(attestor, lot.model_copy(update=change), proof), change
    bad = list(proof)
    bad[0] = bytes([bad[0][0] ^ 1]) + bad[0][1:]
    assert not verify_lot(attestor, lot, bad)
    assert not verify_lot(attestor, lot, proof[:-1])
    assert not verify_lot(attestor, lot, tree.proof(4))  # another lot's proof
    assert not verify_lot(attestor, lot, [])
    # an inner node is not a lot: its proof is a suffix of a leaf's proof, but leaves are double-hashed
    assert not attestor.verifyLot(*lots[4].as_tuple(), tree.proof(3)[1:])


def test_lots_verify_against_their_round(attestor, relayer, chain, as_of):
    old_lots, new_lots = sample_lots(6), sample_lots(9)[3:]
    old_tree, new_tree = lot_tree(old_lots), lot_tree(new_lots)
    attest(attestor, Attestation.of_tree(old_tree, as_of - 50, report_hash("old")), relayer, chain)
    attest(attestor, Attestation.of_tree(new_tree, as_of, report_hash("new")), relayer, chain)
    gone = 0  # lot 0 left the reserve in round 2
    assert not verify_lot(attestor, old_lots[gone], old_tree.proof(gone))
    assert attestor.verifyLeafAt(1, old_tree.leaf(gone), old_tree.proof(gone))
    assert not attestor.verifyLeafAt(2, old_tree.leaf(gone), old_tree.proof(gone))
    assert attestor.verifyLeafAt(2, new_tree.leaf(0), new_tree.proof(0))
    with custom_error("UnknownRound", roundId=3):
        attestor.verifyLeafAt(3, new_tree.leaf(0), new_tree.proof(0))


def test_chainlink_interface_consumer_reads_the_reserve(attestor, admin, relayer, chain, as_of):
    consumer = admin.deploy(ape_container(consumer_artifact()), attestor.address)
    assert consumer.describe() == f"{PRODUCT} reserves"
    with custom_error("NoAttestation"):  # no data yet: the feed reverts rather than answer 0
        consumer.latest()
    a = make_attestation(sample_lots(8), as_of)
    tx = attest(attestor, a, relayer, chain)
    block_ts = chain.provider.get_block(tx.block_number).timestamp
    assert tuple(consumer.latest()) == (1, a.total_quantity, as_of, block_ts, DECIMALS)
    assert consumer.covers(a.total_quantity, 3600)
    assert not consumer.covers(a.total_quantity + 1, 3600)
    chain.pending_timestamp += 7200
    with custom_error("ReserveStale", asOf=as_of, maxAge=3600):
        consumer.covers(1, 3600)


@pytest.mark.slow
def test_attest_gas_does_not_depend_on_lot_count(attestor, relayer, chain, as_of):
    small, big = synthetic_tree(10), synthetic_tree(1_000_000)
    assert len(small) == 10 and len(big) == 1_000_000
    a_small = Attestation.of_tree(small, as_of - 1, report_hash("10 lots"))
    a_big = Attestation.of_tree(big, as_of, report_hash("1M lots"))
    assert a_big.lot_count == 1_000_000
    tx_small = attest(attestor, a_small, relayer, chain)
    tx_big = attest(attestor, a_big, relayer, chain)

    def split(tx):
        data = bytes(chain.provider.web3.eth.get_transaction(tx.txn_hash)["input"])
        return tx.gas_used, execution_gas(tx.gas_used, data)

    (total_s, exec_s), (total_b, exec_b) = split(tx_small), split(tx_big)
    print(f"attest gas 3-of-5: 10 lots {total_s} (execution {exec_s}), 1,000,000 lots {total_b} (execution {exec_b})")
    assert exec_s == exec_b  # identical execution: only the 32-byte root is stored
    # totals may differ only by calldata pricing (4 gas per zero byte, 16 per non-zero byte): < 0.1 %
    assert abs(total_s - total_b) * 1000 < total_s
    # the million-lot root is real: a lot deep in it verifies on chain (20-hash proof)
    i = 765_432
    assert len(big.proof(i)) in (19, 20)
    assert attestor.verifyLot(*big.values[i], big.proof(i))
